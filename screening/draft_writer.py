"""Writing a document into the draft in place: objects keep their ids and their history, and only what
differs is saved (so an unchanged object gets no history row). A translation whose English changes
while it does not is marked out of date (screening.translations.translation_fields)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from django.db import models

from screening.documents import COLLECTIONS
from screening.models import Condition, GuidanceSection, Option, Question, Rule, Scenario, ShowWhen, Source
from screening.translations import outdated_name, translated_name, translation_fields


def write_draft(*, ours: Mapping[str, Any], merged: Mapping[str, Any], reason: str) -> None:
    """Make the draft hold `merged`, changing only what differs from `ours` (the draft as it is)."""
    before = {collection: {i[key]: i for i in ours[collection]} for collection, key, _ in COLLECTIONS}
    sources = _write_sources(merged["sources"], reason=reason)
    _write_sections(merged["sections"], before=before["sections"], sources=sources, reason=reason)
    questions, options = _write_questions(merged["questions"], reason=reason)
    _write_show_when(
        merged["questions"], before=before["questions"], questions=questions, options=options, reason=reason
    )
    _write_rules(
        merged["rules"], before=before["rules"], sources=sources, questions=questions, options=options, reason=reason
    )
    _write_scenarios(merged["scenarios"])
    # Removing comes last, so nothing kept ever loses a row through a cascade midway.
    _remove(Rule.objects.exclude(identifier__in=[r["id"] for r in merged["rules"]]), reason=reason)
    _remove(Option.objects.exclude(pk__in=[o.pk for o in options.values()]), reason=reason)
    _remove(Question.objects.exclude(identifier__in=list(questions)), reason=reason)
    _remove(GuidanceSection.objects.exclude(identifier__in=[s["id"] for s in merged["sections"]]), reason=reason)
    _remove(Source.objects.exclude(code__in=list(sources)), reason=reason)
    Scenario.objects.exclude(name__in=[s["name"] for s in merged["scenarios"]]).delete()


def _put[M: models.Model](instance: M, values: Mapping[str, Any], *, reason: str) -> M:
    """Set the values and save, only when something differs, so unchanged rows get no history."""
    changed = [name for name, value in values.items() if getattr(instance, name) != value]
    if instance.pk is None or changed:
        for name, value in values.items():
            setattr(instance, name, value)
        instance._change_reason = reason  # type: ignore[attr-defined]  # simple-history reads it
        instance.save()
    return instance


def _translations(item: Mapping[str, Any], collection: str, *, current: models.Model | None) -> dict[str, Any]:
    """The item's translations as model fields, each marked out of date when the English changes alone."""
    return translation_fields(item, collection, current=current, in_step_before=_in_step_before(current))


def _in_step_before(instance: models.Model | None) -> Callable[[str, str, str, str], bool] | None:
    """Whether the object's history holds this English text with this translation, not out of date: a
    document that brings back an earlier English beside the translation written for it (a restore) leaves
    that translation in step."""
    if instance is None:
        return None

    def in_step(name: str, language: str, english: str, translation: str) -> bool:
        history: Any = getattr(instance, "history", None)
        if history is None:
            return False
        pair = {name: english, translated_name(name, language): translation, outdated_name(name, language): False}
        return bool(history.filter(**pair).exists())

    return in_step


def _remove(instances: Iterable[models.Model], *, reason: str) -> None:
    for instance in list(instances):
        instance._change_reason = reason  # type: ignore[attr-defined]  # simple-history reads it
        instance.delete()


def _write_sources(items: list[dict[str, Any]], *, reason: str) -> dict[str, Source]:
    existing = {s.code: s for s in Source.objects.all()}
    return {
        s["code"]: _put(
            existing.get(s["code"]) or Source(code=s["code"]),
            {
                "document": s["document"],
                "url": s["url"],
                "summary": s["summary"],
                **_translations(s, "sources", current=existing.get(s["code"])),
                "order": i,
            },
            reason=reason,
        )
        for i, s in enumerate(items)
    }


def _write_sections(
    items: list[dict[str, Any]], *, before: Mapping[str, Any], sources: Mapping[str, Source], reason: str
) -> None:
    existing = {s.identifier: s for s in GuidanceSection.objects.all()}
    for i, s in enumerate(items):
        values = {
            "title": s["title"],
            "body": "\n".join(s["body"]),
            **_translations(s, "sections", current=existing.get(s["id"])),
            "order": i,
        }
        section = _put(existing.get(s["id"]) or GuidanceSection(identifier=s["id"]), values, reason=reason)
        if before.get(s["id"], {}).get("sources") != s["sources"]:
            section.sources.set([sources[c] for c in s["sources"]])


def _write_questions(
    items: list[dict[str, Any]], *, reason: str
) -> tuple[dict[str, Question], dict[tuple[str, str], Option]]:
    existing = {q.identifier: q for q in Question.objects.all()}
    existing_options = {(o.question.identifier, o.identifier): o for o in Option.objects.select_related("question")}
    questions: dict[str, Question] = {}
    options: dict[tuple[str, str], Option] = {}
    for i, q in enumerate(items):
        values = {
            "text": q["text"],
            "help_text": q["help_text"],
            **_translations(q, "questions", current=existing.get(q["id"])),
            "multiple": q["multiple"],
            "active": q["active"],
            "order": (i + 1) * 10,
        }
        question = questions[q["id"]] = _put(
            existing.get(q["id"]) or Question(identifier=q["id"]), values, reason=reason
        )
        for j, o in enumerate(q["options"]):
            current = existing_options.get((q["id"], o["id"]))
            option = current or Option(question=question, identifier=o["id"])
            values = {
                "label": o["label"],
                **_translations(o, "options", current=current),
                "exclusive": o["exclusive"],
                "order": j,
            }
            options[q["id"], o["id"]] = _put(option, values, reason=reason)
    return questions, options


def _write_show_when(
    items: list[dict[str, Any]],
    *,
    before: Mapping[str, Any],
    questions: Mapping[str, Question],
    options: Mapping[tuple[str, str], Option],
    reason: str,
) -> None:
    for q in items:
        if before.get(q["id"], {}).get("show_when") == q["show_when"]:
            continue
        _remove(ShowWhen.objects.filter(question=questions[q["id"]]), reason=reason)
        for condition in q["show_when"]:
            show_when = _put(
                ShowWhen(question=questions[q["id"]], depends_on=questions[condition["question"]]), {}, reason=reason
            )
            show_when.options.set([options[condition["question"], o] for o in condition["options"]])


def _write_rules(
    items: list[dict[str, Any]],
    *,
    before: Mapping[str, Any],
    sources: Mapping[str, Source],
    questions: Mapping[str, Question],
    options: Mapping[tuple[str, str], Option],
    reason: str,
) -> None:
    existing = {r.identifier: r for r in Rule.objects.all()}
    for i, r in enumerate(items):
        values = {
            "title": r["title"],
            "level": r["level"],
            "message": r["message"],
            "next_steps": r["next_steps"],
            "education_text": r["education_text"],
            **_translations(r, "rules", current=existing.get(r["id"])),
            "ends_check": r["ends_check"],
            "rationale": r["rationale"],
            "active": r["active"],
            "order": (i + 1) * 10,
        }
        rule = _put(existing.get(r["id"]) or Rule(identifier=r["id"]), values, reason=reason)
        old = before.get(r["id"], {})
        if old.get("sources") != r["sources"]:
            rule.sources.set([sources[c] for c in r["sources"]])
        if old.get("conditions") != r["conditions"]:
            _remove(Condition.objects.filter(rule=rule), reason=reason)
            for c in r["conditions"]:
                condition = _put(Condition(rule=rule, question=questions[c["question"]]), {}, reason=reason)
                condition.options.set([options[c["question"], o] for o in c["options"]])


def _write_scenarios(items: list[dict[str, Any]]) -> None:
    existing = {s.name: s for s in Scenario.objects.all()}
    for sc in items:
        values = {
            "answers": sc["answers"],
            "expected_overall": sc["expected_overall"],
            "expected_rules": sc["expected_rules"],
            "active": sc["active"],
        }
        scenario = existing.get(sc["name"]) or Scenario(name=sc["name"])
        if scenario.pk is None or any(getattr(scenario, n) != v for n, v in values.items()):
            for name, value in values.items():
                setattr(scenario, name, value)
            scenario.save()
