"""Turning the draft models into published snapshots, and reading the current one cheaply."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, Prefetch

from screening.documents import FORMAT, document_problems
from screening.engine import RuleSet, ruleset_from_document
from screening.models import (
    Condition,
    GuidanceSection,
    Option,
    PublishedRuleSet,
    Question,
    Rule,
    ShowWhen,
    Source,
)

DEFAULT_RULESET_PATH = Path(__file__).with_name("default_ruleset.json")

_cache_lock = threading.Lock()
_ruleset_cache: dict[tuple[int, str], RuleSet] = {}


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
            {"code": s.code, "document": s.document, "url": s.url, "summary": s.summary} for s in Source.objects.all()
        ],
        "sections": [
            {"id": s.identifier, "title": s.title, "body": s.body_lines(), "sources": [x.code for x in s.sources.all()]}
            for s in GuidanceSection.objects.prefetch_related("sources")
        ],
        "questions": [
            {
                "id": q.identifier,
                "text": q.text,
                "help_text": q.help_text,
                "multiple": q.multiple,
                "active": q.active,
                "options": [{"id": o.identifier, "label": o.label, "exclusive": o.exclusive} for o in q.options.all()],
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
                "conditions": [
                    {"question": c.question.identifier, "options": _option_ids(c.question, c.options.all())}
                    for c in r.conditions.all()
                ],
                "message": r.message,
                "next_steps": r.next_steps,
                "rationale": r.rationale,
                "sources": sorted((s.code for s in r.sources.all()), key=_source_sort_key),
            }
            for r in rules
        ],
    }


def _option_ids(question: Question, options: Any) -> list[str]:
    # An option of another question is kept, prefixed, so that validation can name it.
    return [o.identifier if o.question_id == question.pk else f"{o.question_id}:{o.identifier}" for o in options]


def _source_sort_key(code: str) -> tuple[str, int]:
    return (code[:1], int(code[1:]) if code[1:].isdigit() else 0)


@transaction.atomic
def load_document(document: dict[str, Any]) -> None:
    """Create the draft models from a document. The caller makes sure the draft is empty."""
    problems = document_problems(document)
    if problems:
        raise ValidationError(problems)
    sources = {
        s["code"]: Source.objects.create(
            code=s["code"], document=s["document"], url=s.get("url", ""), summary=s.get("summary", ""), order=i
        )
        for i, s in enumerate(document.get("sources", []))
    }
    for i, s in enumerate(document.get("sections", [])):
        section = GuidanceSection.objects.create(
            identifier=s["id"], title=s["title"], body="\n".join(s.get("body", [])), order=i
        )
        section.sources.set([sources[c] for c in s.get("sources", [])])
    questions: dict[str, Question] = {}
    options: dict[tuple[str, str], Option] = {}
    for i, q in enumerate(document.get("questions", [])):
        question = Question.objects.create(
            identifier=q["id"],
            text=q["text"],
            help_text=q.get("help_text", ""),
            multiple=q.get("multiple", False),
            active=q.get("active", True),
            order=(i + 1) * 10,
        )
        questions[q["id"]] = question
        for j, o in enumerate(q["options"]):
            options[q["id"], o["id"]] = Option.objects.create(
                question=question, identifier=o["id"], label=o["label"], exclusive=o.get("exclusive", False), order=j
            )
        for condition in q.get("show_when", []):
            show_when = ShowWhen.objects.create(question=question, depends_on=questions[condition["question"]])
            show_when.options.set([options[condition["question"], o] for o in condition["options"]])
    for i, r in enumerate(document.get("rules", [])):
        rule = Rule.objects.create(
            identifier=r["id"],
            title=r["title"],
            level=r["level"],
            message=r.get("message", ""),
            next_steps=r.get("next_steps", ""),
            rationale=r.get("rationale", ""),
            active=r.get("active", True),
            order=(i + 1) * 10,
        )
        rule.sources.set([sources[c] for c in r.get("sources", [])])
        for c in r["conditions"]:
            condition = Condition.objects.create(rule=rule, question=questions[c["question"]])
            condition.options.set([options[c["question"], o] for o in c["options"]])


def default_document() -> dict[str, Any]:
    return json.loads(DEFAULT_RULESET_PATH.read_text(encoding="utf-8"))


def ensure_default_rules() -> bool:
    """Load and publish the default rule set if the draft is empty; never touch an edited one."""
    with transaction.atomic():
        if Question.objects.exists() or Rule.objects.exists():
            created = False
        else:
            load_document(default_document())
            created = True
    if created or not PublishedRuleSet.objects.exists():
        publish(note="Default rule set" if created else "First publication of the existing draft")
    return created


@transaction.atomic
def publish(*, user: AbstractBaseUser | None = None, note: str = "") -> PublishedRuleSet:
    """Validate the draft and make it the live rule set under the next version number."""
    document = draft_document()
    problems = document_problems(document)
    if problems:
        raise ValidationError(problems)
    # Locking the latest row serialises concurrent publishers on databases that support it.
    latest = PublishedRuleSet.objects.select_for_update().order_by("-version").first()
    version = (latest.version if latest else 0) + 1
    return PublishedRuleSet.objects.create(
        version=version,
        document=document,
        published_by=user if user is not None and user.is_authenticated else None,
        note=note,
    )


def current_version() -> int | None:
    """The live version number: one small query."""
    return PublishedRuleSet.objects.aggregate(latest=Max("version"))["latest"]


def current_ruleset() -> RuleSet:
    """The live rule set, built once per process and version: one small query when warm.

    Raises PublishedRuleSet.DoesNotExist when nothing was ever published.
    """
    latest = PublishedRuleSet.objects.order_by("-version").values_list("version", "published_at").first()
    if latest is None:
        raise PublishedRuleSet.DoesNotExist("No rule set has been published yet.")
    # The publication time is part of the key so that a rebuilt database never serves a stale copy.
    key = (latest[0], latest[1].isoformat())
    cached = _ruleset_cache.get(key)
    if cached is not None:
        return cached
    snapshot = PublishedRuleSet.objects.get(version=latest[0])
    ruleset = ruleset_from_document(snapshot.document, version=snapshot.version, published_at=key[1])
    with _cache_lock:
        _ruleset_cache.clear()  # only the live version is ever read, so older ones can go
        _ruleset_cache[key] = ruleset
    return ruleset
