"""Checks on a rule-set document (the JSON shape shared by snapshots, export and the defaults).

Pure apart from document_problems, which hands over to screening.validation (it reads the models'
fields): the rest reads plain dicts and lists, so it can vet a draft, an import or a fixture alike.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from screening.engine import Level
from screening.translations import ENGLISH, TRANSLATED_TEXTS, TRANSLATIONS, checked_name, translated_name

FORMAT = "ruxguide.ruleset/1"


def document_problems(document: Mapping[str, Any]) -> list[str]:
    """Every reason this document cannot be published or written into the draft, in plain words for a clinician.

    One validation for every way in (publishing, import, restore, the default-content update):
    screening.validation checks the shape and each value against the draft models, then this
    module's checks of what patients meet.
    """
    # Imported here: validation reads the models, and this module stays importable without them.
    from screening.validation import validation_problems

    return validation_problems(document)


def content_problems(document: Mapping[str, Any]) -> list[str]:
    """What patients would meet that cannot work: references, skip-rule order, duplicates, levels.

    Reads a document whose shape screening.validation has already checked.
    """
    problems: list[str] = []
    questions = [q for q in document.get("questions", []) if q.get("active", True)]
    if not questions:
        problems.append("The rule set has no active questions.")
    if not [r for r in document.get("rules", []) if r.get("active", True)]:
        problems.append("The rule set has no active rules.")
    rules = [r for r in document.get("rules", []) if r.get("active", True)]
    source_codes = {s["code"] for s in document.get("sources", [])}

    problems += _duplicates("question", [q["id"] for q in document.get("questions", [])])
    problems += _duplicates("rule", [r["id"] for r in document.get("rules", [])])
    problems += _duplicates("source", [s["code"] for s in document.get("sources", [])])

    options_of: dict[str, set[str]] = {}
    position: dict[str, int] = {}
    for index, question in enumerate(questions):
        option_ids = [o["id"] for o in question.get("options", [])]
        problems += _duplicates(f"option of question '{question['id']}'", option_ids)
        if not option_ids:
            problems.append(f"Question '{question['id']}' has no options.")
        options_of[question["id"]] = set(option_ids)
        position[question["id"]] = index

    for question in questions:
        for condition in question.get("show_when", []):
            target = condition["question"]
            where = f"Skip rule of question '{question['id']}'"
            if target == question["id"]:
                problems.append(f"{where} points at the question itself.")
            elif target not in position:
                problems.append(f"{where} names '{target}', which is not an active question.")
            elif position[target] > position[question["id"]]:
                problems.append(f"{where} points forward to '{target}'; it can only use an earlier question.")
            else:
                problems += _foreign_options(where, target, condition.get("options", []), options_of)

    for section in document.get("sections", []):
        for code in section.get("sources", []):
            if code not in source_codes:
                problems.append(f"Section '{section['id']}' cites unknown source '{code}'.")

    for rule in rules:
        where = f"Rule '{rule['id']}'"
        if rule.get("level") not in Level.values:
            problems.append(f"{where} has an unknown level '{rule.get('level')}'.")
        if not rule.get("conditions"):
            problems.append(f"{where} has no conditions, so it would never fire.")
        for condition in rule.get("conditions", []):
            target = condition["question"]
            if target not in options_of:
                problems.append(f"{where} names '{target}', which is not an active question.")
            else:
                problems += _foreign_options(where, target, condition.get("options", []), options_of)
        for code in rule.get("sources", []):
            if code not in source_codes:
                problems.append(f"{where} cites unknown source '{code}'.")
    return problems


LANGUAGE_NAMES = {ENGLISH: "English", "zh-hans": "Chinese"}
KINDS = {"questions": "Question", "options": "Option", "rules": "Rule", "sections": "Section", "sources": "Source"}


def translated_items(document: Mapping[str, Any]) -> list[tuple[str, str, Mapping[str, Any]]]:
    """Every item with patient-facing texts: (collection, a name for people, the item)."""
    items: list[tuple[str, str, Mapping[str, Any]]] = []
    for question in document.get("questions", []):
        items.append(("questions", f"Question '{question['id']}'", question))
        items += [
            # An option is seen exactly when its question is.
            (
                "options",
                f"Option '{question['id']} = {option['id']}'",
                {**option, "active": question.get("active", True)},
            )
            for option in question.get("options", [])
        ]
    items += [("rules", f"Rule '{rule['id']}'", rule) for rule in document.get("rules", [])]
    items += [("sections", f"Section '{section['id']}'", section) for section in document.get("sections", [])]
    items += [("sources", f"Source '{source['code']}'", source) for source in document.get("sources", [])]
    return items


def translation_gaps(document: Mapping[str, Any]) -> list[str]:
    """Each patient-facing text that one language has and another lacks, in plain words.

    Shown before publishing: a page in the language that lacks a text shows the other one.
    Inactive questions and rules are left out, since patients never see them.
    """
    gaps: list[str] = []
    for collection, name, item in translated_items(document):
        if not item.get("active", True):
            continue
        for field in TRANSLATED_TEXTS[collection]:
            versions = {language: item.get(translated_name(field, language)) for language in (ENGLISH, *TRANSLATIONS)}
            if not any(versions.values()):
                continue
            for language, text in versions.items():
                if not text:
                    gaps.append(f"{name}: the {field.replace('_', ' ')} has no {LANGUAGE_NAMES[language]} version.")
    return gaps


def unchecked_translations(document: Mapping[str, Any]) -> list[str]:
    """Each text written in both languages that a clinician has not yet marked as checked."""
    unchecked: list[str] = []
    for collection, name, item in translated_items(document):
        for field in TRANSLATED_TEXTS[collection]:
            for language in TRANSLATIONS:
                both = item.get(field) and item.get(translated_name(field, language))
                if both and not item.get(checked_name(field, language)):
                    unchecked.append(f"{name}: {LANGUAGE_NAMES[language]} {field.replace('_', ' ')}")
    return unchecked


def _duplicates(kind: str, identifiers: list[str]) -> list[str]:
    return [f"The {kind} identifier '{i}' is used {n} times." for i, n in Counter(identifiers).items() if n > 1]


def _foreign_options(where: str, question_id: str, options: list[str], options_of: dict[str, set[str]]) -> list[str]:
    if not options:
        return [f"{where} names no options of '{question_id}'."]
    foreign = [o for o in options if o not in options_of[question_id]]
    if foreign:
        return [f"{where} names {', '.join(repr(o) for o in foreign)}, not an option of '{question_id}'."]
    return []


# (collection, identifying key, what people call an item), in the order a document lists them.
COLLECTIONS = (
    ("sources", "code", "Source"),
    ("sections", "id", "Section"),
    ("questions", "id", "Question"),
    ("rules", "id", "Rule"),
    ("scenarios", "name", "Test patient"),
)
# A list of changes leads with what patients meet first.
CHANGES_ORDER = ("questions", "rules", "sections", "sources", "scenarios")


def document_diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[dict[str, Any]]:
    """What changed from one rule-set document to another, item by item and field by field."""
    changes: list[dict[str, Any]] = []
    for collection, key, kind in sorted(COLLECTIONS, key=lambda c: CHANGES_ORDER.index(c[0])):
        before = {item[key]: item for item in old.get(collection, [])}
        after = {item[key]: item for item in new.get(collection, [])}
        for identifier in [*before, *(i for i in after if i not in before)]:
            if identifier not in after:
                changes.append({"kind": kind, "id": identifier, "change": "removed", "fields": []})
            elif identifier not in before:
                changes.append({"kind": kind, "id": identifier, "change": "added", "fields": []})
            else:
                fields = [
                    {"field": name, "old": before[identifier].get(name), "new": after[identifier].get(name)}
                    for name in dict.fromkeys([*before[identifier], *after[identifier]])
                    if name != key and before[identifier].get(name) != after[identifier].get(name)
                ]
                if fields:
                    changes.append({"kind": kind, "id": identifier, "change": "changed", "fields": fields})
        if list(before) != [i for i in after if i in before] and set(before) & set(after):
            kept_order = [i for i in after if i in before]
            if [i for i in before if i in after] != kept_order:
                changes.append({"kind": kind, "id": "(order)", "change": "reordered", "fields": []})
    return changes
