"""Turning the draft models into published snapshots, and reading the current one cheaply."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, Prefetch
from django.utils import timezone, translation

from screening.documents import FORMAT, document_problems
from screening.engine import (
    ENGLISH,
    TRANSLATED_TEXTS,
    TRANSLATIONS,
    RuleSet,
    checked_name,
    ruleset_from_document,
    translated_name,
)
from screening.history import change_reason
from screening.models import (
    Condition,
    GuidanceSection,
    Option,
    PublishedRuleSet,
    Question,
    Rule,
    Scenario,
    ShowWhen,
    Source,
    text_lines,
)
from screening.scenarios import ScenarioResult, ScenarioSpec, run_scenarios

DEFAULT_RULESET_PATH = Path(__file__).with_name("default_ruleset.json")

_cache_lock = threading.Lock()
_ruleset_cache: dict[tuple[int, str, str], RuleSet] = {}
# (when it was checked, the live version's key), for current_ruleset's short-lived answer.
_live: tuple[float, tuple[int, str]] | None = None


def translations_of(instance: Any, collection: str) -> dict[str, Any]:
    """A model's texts in every other language, with their checked flags, as document keys."""
    found: dict[str, Any] = {}
    for language in TRANSLATIONS:
        for name in TRANSLATED_TEXTS[collection]:
            text = getattr(instance, translated_name(name, language))
            found[translated_name(name, language)] = text_lines(text) if name == "body" else text
            found[checked_name(name, language)] = getattr(instance, checked_name(name, language))
    return found


def translation_fields(item: dict[str, Any], collection: str) -> dict[str, Any]:
    """Model field values for a document item's translations (absent ones are empty, unchecked)."""
    found: dict[str, Any] = {}
    for language in TRANSLATIONS:
        for name in TRANSLATED_TEXTS[collection]:
            text = item.get(translated_name(name, language)) or ""
            found[translated_name(name, language)] = "\n".join(text) if name == "body" else text
            found[checked_name(name, language)] = bool(item.get(checked_name(name, language), False))
    return found


def content_language() -> str:
    """The content language for the active interface language (English when it has none)."""
    active = (translation.get_language() or ENGLISH).lower()
    return active if active in TRANSLATIONS else ENGLISH


def draft_document() -> dict[str, Any]:
    """The draft rule set held in the models, as a document (the export format)."""
    option_ids = Prefetch("options", queryset=Option.objects.order_by("id").only("identifier"))
    questions = Question.objects.prefetch_related(
        "options",
        Prefetch("show_when", queryset=ShowWhen.objects.select_related("depends_on").prefetch_related(option_ids)),
    )
    rules = Rule.objects.prefetch_related(
        "sources",
        Prefetch("conditions", queryset=Condition.objects.select_related("question").prefetch_related(option_ids)),
    )
    return {
        "format": FORMAT,
        "sources": [
            {
                "code": s.code,
                "document": s.document,
                "url": s.url,
                "summary": s.summary,
                **translations_of(s, "sources"),
            }
            for s in Source.objects.all()
        ],
        "sections": [
            {
                "id": s.identifier,
                "title": s.title,
                "body": s.body_lines(),
                **translations_of(s, "sections"),
                "sources": [x.code for x in s.sources.all()],
            }
            for s in GuidanceSection.objects.prefetch_related("sources")
        ],
        "questions": [
            {
                "id": q.identifier,
                "text": q.text,
                "help_text": q.help_text,
                **translations_of(q, "questions"),
                "multiple": q.multiple,
                "active": q.active,
                "options": [
                    {"id": o.identifier, "label": o.label, **translations_of(o, "options"), "exclusive": o.exclusive}
                    for o in q.options.all()
                ],
                "show_when": [
                    {"question": s.depends_on.identifier, "options": _option_ids(s.depends_on, s.options.all())}
                    for s in q.show_when.all()
                ],
            }
            for q in questions
        ],
        "rules": [
            {
                "id": r.identifier,
                "title": r.title,
                "level": r.level,
                "active": r.active,
                "ends_check": r.ends_check,
                "conditions": [
                    {"question": c.question.identifier, "options": _option_ids(c.question, c.options.all())}
                    for c in r.conditions.all()
                ],
                "message": r.message,
                "next_steps": r.next_steps,
                "education_text": r.education_text,
                **translations_of(r, "rules"),
                "rationale": r.rationale,
                "sources": [s.code for s in r.sources.all()],
            }
            for r in rules
        ],
        "scenarios": [
            {
                "name": sc.name,
                "answers": sc.answers,
                "expected_overall": sc.expected_overall,
                "expected_rules": list(sc.expected_rules),
                **({} if sc.active else {"active": False}),
            }
            for sc in Scenario.objects.all()
        ],
    }


def _option_ids(question: Question, options: Any) -> list[str]:
    # An option of another question is kept, prefixed, so that validation can name it.
    return [o.identifier if o.question_id == question.pk else f"{o.question_id}:{o.identifier}" for o in options]


def _save(instance: Any, reason: str) -> Any:
    instance._change_reason = reason  # recorded in the audit history
    instance.save()
    return instance


@transaction.atomic
def load_document(document: dict[str, Any], *, reason: str) -> None:
    """Create the draft models from a document. The caller makes sure the draft is empty."""
    problems = document_problems(document)
    if problems:
        raise ValidationError(problems)
    sources = {
        s["code"]: _save(
            Source(
                code=s["code"],
                document=s["document"],
                url=s.get("url", ""),
                summary=s.get("summary", ""),
                **translation_fields(s, "sources"),
                order=i,
            ),
            reason,
        )
        for i, s in enumerate(document.get("sources", []))
    }
    for i, s in enumerate(document.get("sections", [])):
        section = _save(
            GuidanceSection(
                identifier=s["id"],
                title=s["title"],
                body="\n".join(s.get("body", [])),
                **translation_fields(s, "sections"),
                order=i,
            ),
            reason,
        )
        section.sources.set([sources[c] for c in s.get("sources", [])])
    questions: dict[str, Question] = {}
    options: dict[tuple[str, str], Option] = {}
    for i, q in enumerate(document.get("questions", [])):
        question = _save(
            Question(
                identifier=q["id"],
                text=q["text"],
                help_text=q.get("help_text", ""),
                **translation_fields(q, "questions"),
                multiple=q.get("multiple", False),
                active=q.get("active", True),
                order=(i + 1) * 10,
            ),
            reason,
        )
        questions[q["id"]] = question
        for j, o in enumerate(q["options"]):
            options[q["id"], o["id"]] = _save(
                Option(
                    question=question,
                    identifier=o["id"],
                    label=o["label"],
                    **translation_fields(o, "options"),
                    exclusive=o.get("exclusive", False),
                    order=j,
                ),
                reason,
            )
        for condition in q.get("show_when", []):
            show_when = _save(ShowWhen(question=question, depends_on=questions[condition["question"]]), reason)
            show_when.options.set([options[condition["question"], o] for o in condition["options"]])
    for i, r in enumerate(document.get("rules", [])):
        rule = _save(
            Rule(
                identifier=r["id"],
                title=r["title"],
                level=r["level"],
                message=r.get("message", ""),
                next_steps=r.get("next_steps", ""),
                education_text=r.get("education_text", ""),
                **translation_fields(r, "rules"),
                ends_check=r.get("ends_check", False),
                rationale=r.get("rationale", ""),
                active=r.get("active", True),
                order=(i + 1) * 10,
            ),
            reason,
        )
        rule.sources.set([sources[c] for c in r.get("sources", [])])
        for c in r["conditions"]:
            condition = _save(Condition(rule=rule, question=questions[c["question"]]), reason)
            condition.options.set([options[c["question"], o] for o in c["options"]])
    for sc in document.get("scenarios", []):
        Scenario.objects.create(
            name=sc["name"],
            answers={q: list(v) if isinstance(v, list) else [v] for q, v in sc.get("answers", {}).items()},
            expected_overall=sc["expected_overall"],
            expected_rules=list(sc.get("expected_rules", [])),
            active=sc.get("active", True),
        )


@transaction.atomic
def replace_draft(document: dict[str, Any], *, reason: str) -> None:
    """Make the draft exactly the document (an import, or an earlier version restored)."""
    problems = document_problems(document)
    if problems:
        raise ValidationError(problems)
    with change_reason(reason):
        for model in (Rule, ShowWhen, Question, GuidanceSection, Source):
            for instance in model.objects.all():
                instance.delete()
        Scenario.objects.all().delete()
        load_document(document, reason=reason)


def default_document() -> dict[str, Any]:
    return json.loads(DEFAULT_RULESET_PATH.read_text(encoding="utf-8"))


class PublishBlocked(Exception):
    """The draft cannot go live: it has problems, or a test patient's outcome changed."""

    def __init__(self, problems: list[str], failures: list[ScenarioResult]) -> None:
        super().__init__("; ".join(problems + [f"{f.scenario.name}: {' '.join(f.differences)}" for f in failures]))
        self.problems = problems
        self.failures = failures


def draft_ruleset(language: str | None = None) -> RuleSet:
    """The draft as the engine sees it (for the preview and the scenario runs): never cached."""
    return ruleset_from_document(draft_document(), language=language or content_language())


def scenario_specs(document: dict[str, Any]) -> list[ScenarioSpec]:
    return [ScenarioSpec.from_document(item) for item in document.get("scenarios", []) if item.get("active", True)]


def run_document_scenarios(document: dict[str, Any]) -> list[ScenarioResult]:
    """The document's active test patients run against the document's own rules."""
    withdrawn = frozenset(q["id"] for q in document.get("questions", []) if not q.get("active", True))
    return run_scenarios(ruleset_from_document(document), scenario_specs(document), withdrawn=withdrawn)


def run_draft_scenarios() -> list[ScenarioResult]:
    """Run every active test patient against the draft and remember each one's result."""
    results = run_document_scenarios(draft_document())
    _record_results(results)
    return results


def _record_results(results: list[ScenarioResult]) -> None:
    now = timezone.now()
    for result in results:
        Scenario.objects.filter(name=result.scenario.name).update(
            last_run_at=now,
            last_passed=result.passed,
            last_report="\n".join(result.differences) if result.differences else "Passed.",
        )


def publish(*, user: AbstractBaseUser | None = None, note: str = "") -> PublishedRuleSet:
    """Validate the draft, run its test patients, and make it the live rule set under the next version.

    All of it happens in one transaction: if anything fails, the version that was live stays live.
    """
    with transaction.atomic():
        document = draft_document()
        problems = document_problems(document)
        results = run_document_scenarios(document)
        failures = [result for result in results if not result.passed]
        if problems or failures:
            raise PublishBlocked(problems, failures)
        # Locking the latest row serialises concurrent publishers on databases that support it.
        latest = PublishedRuleSet.objects.select_for_update().order_by("-version").first()
        published = PublishedRuleSet.objects.create(
            version=(latest.version if latest else 0) + 1,
            document=document,
            published_by=user if user is not None and user.is_authenticated else None,
            note=note,
        )
        _record_results(results)
    forget_live_ruleset()
    return published


def current_version() -> int | None:
    """The live version number: one small query."""
    return PublishedRuleSet.objects.aggregate(latest=Max("version"))["latest"]


def current_ruleset(language: str | None = None) -> RuleSet:
    """The live rule set in a content language (the active one by default), built once per process.

    Which version is live is asked of the database at most every LIVE_CHECK_SECONDS (one small
    query), so other app servers serve a new publication within that time; a publication made in
    this process is seen at once.

    Raises PublishedRuleSet.DoesNotExist when nothing was ever published.
    """
    language = language or content_language()
    now = time.monotonic()
    live = _live
    if live is not None and now - live[0] < settings.RUXGUIDE_LIVE_CHECK_SECONDS:
        cached = _ruleset_cache.get((*live[1], language))
        if cached is not None:
            return cached
    latest = PublishedRuleSet.objects.order_by("-version").values_list("version", "published_at").first()
    if latest is None:
        raise PublishedRuleSet.DoesNotExist("No rule set has been published yet.")
    # The publication time is part of the key so that a rebuilt database never serves a stale copy.
    key = (latest[0], latest[1].isoformat())
    ruleset = _ruleset_cache.get((*key, language))
    if ruleset is None:
        snapshot = PublishedRuleSet.objects.get(version=latest[0])
        ruleset = ruleset_from_document(
            snapshot.document, version=snapshot.version, published_at=key[1], language=language
        )
        with _cache_lock:
            # Only the live version is ever read, so older ones can go.
            for stale in [k for k in _ruleset_cache if k[:2] != key]:
                del _ruleset_cache[stale]
            _ruleset_cache[(*key, language)] = ruleset
    _remember_live(now, key)
    return ruleset


def _remember_live(checked_at: float, key: tuple[int, str]) -> None:
    global _live
    _live = (checked_at, key)


def forget_live_ruleset() -> None:
    """Ask the database again on the next request (after a publication in this process)."""
    global _live
    _live = None
