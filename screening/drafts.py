"""The draft models as a document (the export format) and back: export, import and restore."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction

from screening.documents import COLLECTIONS, FORMAT, document_problems
from screening.history import change_reason
from screening.models import (
    Condition,
    GuidanceSection,
    Option,
    Question,
    Rule,
    Scenario,
    ShowWhen,
    Source,
)
from screening.translations import translation_fields, translations_of


def draft_document() -> dict[str, Any]:
    """The draft rule set held in the models, as a document (the export format).

    Eight queries whatever the size of the draft: one per table, the links read by identifier.
    """
    sources = list(Source.objects.all())
    code_of = {source.pk: source.code for source in sources}
    cited = _cited_sources(code_of, order=[source.pk for source in sources])
    questions, option_of = _questions_with_options()
    show_when = _links(
        ShowWhen.objects.values_list("question_id", "id", "depends_on_id", "options").order_by("id", "options")
    )
    conditions = _links(
        Condition.objects.values_list("rule_id", "id", "question_id", "options").order_by("id", "options")
    )
    identifier_of = {question["pk"]: question["id"] for question in questions}
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
            for s in sources
        ],
        "sections": [
            {
                "id": s.identifier,
                "title": s.title,
                "body": s.body_lines(),
                **translations_of(s, "sections"),
                "sources": cited.get(("sections", s.pk), []),
            }
            for s in GuidanceSection.objects.all()
        ],
        "questions": [
            {
                **{key: value for key, value in question.items() if key != "pk"},
                "show_when": [
                    {"question": identifier_of[target], "options": _option_ids(target, options, option_of)}
                    for target, options in show_when.get(question["pk"], [])
                ],
            }
            for question in questions
        ],
        "rules": [
            {
                "id": r.identifier,
                "title": r.title,
                "level": r.level,
                "active": r.active,
                "ends_check": r.ends_check,
                "conditions": [
                    {"question": identifier_of[target], "options": _option_ids(target, options, option_of)}
                    for target, options in conditions.get(r.pk, [])
                ],
                "message": r.message,
                "next_steps": r.next_steps,
                "education_text": r.education_text,
                **translations_of(r, "rules"),
                "rationale": r.rationale,
                "sources": cited.get(("rules", r.pk), []),
            }
            for r in Rule.objects.all()
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


class _Fields:
    """A values() row read like a model instance, for the prefixed fields of one model in a joined row."""

    def __init__(self, row: Mapping[str, Any], prefix: str = "") -> None:
        self._row, self._prefix = row, prefix

    def __getattr__(self, name: str) -> Any:
        return self._row[self._prefix + name]


OPTION_FIELDS = ("id", "identifier", "label", "exclusive", "question_id")


def _questions_with_options() -> tuple[list[dict[str, Any]], dict[int, tuple[str, int]]]:
    """Every question with its options as document items (one joined query), and each option's
    (identifier, question) by primary key, for the skip rules and conditions that name them."""
    text_fields = [f.name for f in Question._meta.concrete_fields if f.name not in ("id", "order")]
    option_fields = [f.name for f in Option._meta.concrete_fields if f.name not in ("question", "order")]
    rows = Question.objects.order_by("order", "identifier", "options__order", "options__identifier").values(
        "id", *text_fields, *(f"options__{name}" for name in option_fields), "options__question_id"
    )
    questions: dict[int, dict[str, Any]] = {}
    option_of: dict[int, tuple[str, int]] = {}
    for row in rows:
        question = _Fields(row)
        if row["id"] not in questions:
            questions[row["id"]] = {
                "pk": row["id"],
                "id": question.identifier,
                "text": question.text,
                "help_text": question.help_text,
                **translations_of(question, "questions"),
                "multiple": question.multiple,
                "active": question.active,
                "options": [],
            }
        if row["options__id"] is None:  # a question without options (validation names it)
            continue
        option = _Fields(row, "options__")
        option_of[option.id] = (option.identifier, option.question_id)
        questions[row["id"]]["options"].append(
            {
                "id": option.identifier,
                "label": option.label,
                **translations_of(option, "options"),
                "exclusive": option.exclusive,
            }
        )
    return list(questions.values()), option_of


def _links(rows: Iterable[tuple[int, int, int, int | None]]) -> dict[int, list[tuple[int, list[int]]]]:
    """Skip rules or conditions by their owner: (the question they read, the option keys they name)."""
    by_link: dict[int, tuple[int, int, list[int]]] = {}
    for owner, link, target, option in rows:
        by_link.setdefault(link, (owner, target, []))[2].extend([option] if option is not None else [])
    grouped: dict[int, list[tuple[int, list[int]]]] = {}
    for owner, target, options in by_link.values():
        grouped.setdefault(owner, []).append((target, options))
    return grouped


def _cited_sources(code_of: Mapping[int, str], *, order: list[int]) -> dict[tuple[str, int], list[str]]:
    """The source codes each section and rule cites, in the sources' own order (one query for both)."""
    text = models.CharField()
    sections = GuidanceSection.sources.through.objects.values_list(
        models.Value("sections", output_field=text), "guidancesection_id", "source_id"
    )
    rules = Rule.sources.through.objects.values_list(models.Value("rules", output_field=text), "rule_id", "source_id")
    position = {pk: index for index, pk in enumerate(order)}
    cited: dict[tuple[str, int], list[int]] = {}
    for collection, owner, source in sections.union(rules, all=True):
        cited.setdefault((collection, owner), []).append(source)
    return {key: [code_of[pk] for pk in sorted(pks, key=position.__getitem__)] for key, pks in cited.items()}


def _option_ids(question: int, options: list[int], option_of: Mapping[int, tuple[str, int]]) -> list[str]:
    # An option of another question is kept, prefixed, so that validation can name it.
    return [
        identifier if owner == question else f"{owner}:{identifier}"
        for identifier, owner in (option_of[option] for option in options)
    ]


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


# Writing a document into the draft in place: objects keep their ids and their history.


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
                **translation_fields(s, "sources"),
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
        values = {"title": s["title"], "body": "\n".join(s["body"]), **translation_fields(s, "sections"), "order": i}
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
            **translation_fields(q, "questions"),
            "multiple": q["multiple"],
            "active": q["active"],
            "order": (i + 1) * 10,
        }
        question = questions[q["id"]] = _put(
            existing.get(q["id"]) or Question(identifier=q["id"]), values, reason=reason
        )
        for j, o in enumerate(q["options"]):
            option = existing_options.get((q["id"], o["id"])) or Option(question=question, identifier=o["id"])
            values = {"label": o["label"], **translation_fields(o, "options"), "exclusive": o["exclusive"], "order": j}
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
            **translation_fields(r, "rules"),
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
