"""The draft models as a document (the export format) and back: export, import and restore."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction

from screening.documents import FORMAT, document_problems
from screening.draft_writer import write_draft
from screening.history import change_reason
from screening.merge import canonical
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
from screening.translations import translations_of


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


@transaction.atomic
def load_document(document: dict[str, Any], *, reason: str) -> None:
    """Create the draft models from a document. The caller makes sure the draft is empty.

    The same writer as an update in place, starting from nothing, so a document is written one way.
    """
    problems = document_problems(document)
    if problems:
        raise ValidationError(problems)
    write_draft(ours=canonical({}), merged=canonical(document), reason=reason)


@transaction.atomic
def replace_draft(document: dict[str, Any], *, reason: str) -> None:
    """Make the draft exactly the document (an import, or an earlier version restored), in place.

    Objects the document names by identifier keep their ids, their admin links and their history, and
    get a history row (with the reason) only when something of theirs changed; objects the document
    lacks are deleted and new ones created, with the reason too. Every changed object's edit version
    goes up, so a form opened before this cannot be saved over it.
    """
    problems = document_problems(document)
    if problems:
        raise ValidationError(problems)
    with change_reason(reason):
        # The draft as it is, read in this transaction: the writer saves only what differs from it.
        write_draft(ours=canonical(draft_document()), merged=canonical(document), reason=reason)
