"""Checks on a rule-set document (the JSON shape shared by snapshots, export and the defaults).

Pure apart from document_problems, which hands over to screening.validation (it reads the models'
fields): the rest reads plain dicts and lists, so it can vet a draft, an import or a fixture alike.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from screening.engine import Level
from screening.translations import ENGLISH, TRANSLATED_TEXTS, TRANSLATIONS, checked_name, translated_name

# How a published version says whether a second clinician approved it (admin, its JSON, the FHIR export).
REVIEW_WORDS = {True: "Approved by a second clinician", False: "Published without a second review"}

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
    """What changed from one rule-set document to another, item by item and field by field.

    Each change is the plain data (kind, id, change, fields) and carries its words for people.
    """
    words = _Words(old, new)
    changes: list[dict[str, Any]] = []
    for collection, key, kind in sorted(COLLECTIONS, key=lambda c: CHANGES_ORDER.index(c[0])):
        before = {item[key]: item for item in old.get(collection, [])}
        after = {item[key]: item for item in new.get(collection, [])}
        for identifier in [*before, *(i for i in after if i not in before)]:
            if identifier not in after:
                item = before[identifier]
                changes.append(
                    Change(
                        kind, identifier, "removed", [], words.title(collection, item), words.details(collection, item)
                    )
                )
            elif identifier not in before:
                item = after[identifier]
                changes.append(
                    Change(
                        kind, identifier, "added", [], words.title(collection, item), words.details(collection, item)
                    )
                )
            else:
                fields = [
                    {"field": name, "old": before[identifier].get(name), "new": after[identifier].get(name)}
                    for name in dict.fromkeys([*before[identifier], *after[identifier]])
                    if name != key and before[identifier].get(name) != after[identifier].get(name)
                ]
                if fields:
                    title = words.title(collection, after[identifier])
                    changes.append(Change(kind, identifier, "changed", fields, title, rows=words.rows(fields)))
        if list(before) != [i for i in after if i in before] and set(before) & set(after):
            kept_order = [i for i in after if i in before]
            if [i for i in before if i in after] != kept_order:
                order = Row(
                    "Order",
                    "\n".join(words.title(collection, before[i]) for i in before if i in after),
                    "\n".join(words.title(collection, after[i]) for i in kept_order),
                )
                changes.append(Change(kind, "(order)", "reordered", [], PLURALS[collection], rows=[order]))
    return changes


# ---------------------------------------------------------------------------------------------
# Changes and documents in words, for the admin's pages
# ---------------------------------------------------------------------------------------------

PLURALS = {
    "questions": "Questions",
    "rules": "Rules",
    "sections": "Guidance sections",
    "sources": "Sources",
    "scenarios": "Test patients",
}
VERBS = {"added": "added", "removed": "removed", "changed": "changed", "reordered": "in a new order"}
# Each document field as the admin's forms call it.
FIELD_LABELS = {
    "text": "Question",
    "help_text": "Help text",
    "multiple": "Several answers allowed",
    "active": "Active",
    "options": "Options",
    "show_when": "Shown only when",
    "label": "Label",
    "exclusive": "None of these (clears the other answers)",
    "title": "Title",
    "level": "Level",
    "ends_check": "Ends the check",
    "conditions": "Applies when",
    "message": "Message",
    "next_steps": "What to do next",
    "education_text": "General statement (education page)",
    "rationale": "Clinician rationale",
    "sources": "Sources",
    "body": "Text",
    "document": "Document",
    "url": "Link",
    "summary": "Summary",
    "name": "Name",
    "answers": "Answers",
    "expected_overall": "Expected overall result",
    "expected_rules": "Rules expected to fire",
}
NO_CAUTION_WORDS = "No cautions"


@dataclass(frozen=True)
class Row:
    """One line of a change: what changed, before and after, in words (lang names a Chinese text)."""

    what: str
    before: str = ""
    after: str = ""
    lang: str = ""


@dataclass(frozen=True)
class Detail:
    """One field of an added or removed item, or of a published version's item: its label and lines."""

    label: str
    lines: list[str]
    lang: str = ""


class Change(dict[str, Any]):
    """One item's change: the plain data (kind, id, change, fields) and, as attributes, its words.

    Still a dict equal to the plain data, so the default-content update report and tests read it as
    before; templates read `title`, `verb`, `rows` (a changed item) and `details` (an added or removed one).
    """

    def __init__(
        self,
        kind: str,
        identifier: str,
        change: str,
        fields: list[dict[str, Any]],
        title: str,
        details: list[Detail] | None = None,
        rows: list[Row] | None = None,
    ) -> None:
        super().__init__(kind=kind, id=identifier, change=change, fields=fields)
        self.title = title
        self.verb = VERBS[change]
        self.details = details or []
        self.rows = rows or []


def level_words(level: str | None) -> str:
    """A level, or a test patient's "none", as clinicians read it."""
    if level == "none":
        return NO_CAUTION_WORDS
    return str(Level(level).label) if level in Level.values else str(level or "—")


def field_label(name: str) -> tuple[str, str]:
    """A document key as the admin calls it, and the language of its text: `message_zh_hans` is Message (Chinese)."""
    for language, suffix in TRANSLATIONS.items():
        for flag, words in (("_checked", "checked by a clinician"), ("_outdated", "out of date")):
            if name.endswith(f"_{suffix}{flag}"):
                base = name.removesuffix(f"_{suffix}{flag}")
                return f"{FIELD_LABELS.get(base, base)} ({LANGUAGE_NAMES[language]}) {words}", ""
        if name.endswith(f"_{suffix}"):
            base = name.removesuffix(f"_{suffix}")
            return f"{FIELD_LABELS.get(base, base)} ({LANGUAGE_NAMES[language]})", "zh-Hans"
    return FIELD_LABELS.get(name, name.replace("_", " ").capitalize()), ""


# The flags a document may leave out, and what their absence means.
ABSENT_FLAGS = {"active": True, "ends_check": False, "multiple": False, "exclusive": False}


def _is_flag(name: str) -> bool:
    return name.endswith(("_checked", "_outdated"))


class _Words:
    """Names for a document's items, looked up in the newer document first, then the older one."""

    def __init__(self, old: Mapping[str, Any], new: Mapping[str, Any]) -> None:
        self.old = old
        self.new = new
        self.questions = {q["id"]: q for q in [*old.get("questions", []), *new.get("questions", [])]}
        self.rules = {r["id"]: r for r in [*old.get("rules", []), *new.get("rules", [])]}
        self.sources = {s["code"]: s for s in [*old.get("sources", []), *new.get("sources", [])]}

    def title(self, collection: str, item: Mapping[str, Any]) -> str:
        if collection == "questions":
            return f"Question “{item.get('text', '')}” ({item['id']})"
        if collection == "rules":
            return f"Rule “{item.get('title', '')}” ({item['id']})"
        if collection == "sections":
            return f"Guidance section “{item.get('title', '')}” ({item['id']})"
        if collection == "sources":
            return f"Source {item['code']}: “{item.get('document', '')}”"
        return f"Test patient “{item.get('name', '')}”"

    def question(self, identifier: str) -> str:
        question = self.questions.get(identifier)
        return f"Question “{question['text']}”" if question else f"Question {identifier} (no longer in the rule set)"

    def option(self, question: str, option: str) -> str:
        options = {o["id"]: o for o in self.questions.get(question, {}).get("options", [])}
        return f"{options[option]['label']}" if option in options else option

    def condition(self, condition: Mapping[str, Any]) -> str:
        """`Question “Are you allergic…?” is one of: Yes` (or "includes any of" for several answers)."""
        question = condition.get("question", "")
        several = self.questions.get(question, {}).get("multiple", False)
        options = ", ".join(self.option(question, o) for o in condition.get("options", []))
        return f"{self.question(question)} {'includes any of' if several else 'is one of'}: {options}"

    def rule(self, identifier: str) -> str:
        rule = self.rules.get(identifier)
        return f"“{rule['title']}” ({identifier})" if rule else identifier

    def answers(self, answers: Mapping[str, Any]) -> list[str]:
        return [
            f"{self.question(question)}: {', '.join(self.option(question, o) for o in chosen)}"
            for question, chosen in answers.items()
        ]

    def lines(self, name: str, value: Any) -> list[str]:
        """A field's value as lines of words: never a Python list or dict."""
        if value is None and (name in ABSENT_FLAGS or _is_flag(name)):
            # A document leaves a flag out when it has its usual value: an absent "active" is Yes.
            value = ABSENT_FLAGS.get(name, False)
        if value is None or value == "":
            return ["—"]
        if isinstance(value, bool):
            return ["Yes" if value else "No"]
        if name == "level" or name == "expected_overall":
            return [level_words(value)]
        if name in ("conditions", "show_when"):
            return [self.condition(c) for c in value] or ["—"]
        if name == "options":
            return [self.option_words(o) for o in value] or ["—"]
        if name == "expected_rules":
            return [self.rule(r) for r in value] or ["none"]
        if name == "answers":
            return self.answers(value) or ["—"]
        if name == "sources":
            return [f"{code}: {self.sources.get(code, {}).get('document', '')}".rstrip(": ") for code in value] or ["—"]
        if isinstance(value, list):
            return [str(v) for v in value]
        return [str(value)]

    @staticmethod
    def option_words(option: Mapping[str, Any]) -> str:
        exclusive = ", clears the other answers" if option.get("exclusive") else ""
        return f"“{option.get('label', '')}” ({option['id']}{exclusive})"

    def rows(self, fields: list[dict[str, Any]]) -> list[Row]:
        """A changed item's rows: texts and settings first, translation flags last."""
        rows: list[Row] = []
        for field in sorted(fields, key=lambda f: _is_flag(f["field"])):
            name, old, new = field["field"], field["old"], field["new"]
            if name == "options":
                rows += self.option_rows(old or [], new or [])
            elif name in ("conditions", "show_when"):
                rows += self.condition_rows(FIELD_LABELS[name], old or [], new or [])
            elif name == "answers":
                rows += self.answer_rows(old or {}, new or {})
            else:
                label, lang = field_label(name)
                rows.append(Row(label, "\n".join(self.lines(name, old)), "\n".join(self.lines(name, new)), lang))
        return rows

    def option_rows(self, old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[Row]:
        before = {o["id"]: o for o in old}
        after = {o["id"]: o for o in new}
        rows: list[Row] = []
        for identifier, option in after.items():
            if identifier not in before:
                rows.append(
                    Row(f"Option “{option.get('label', '')}” ({identifier}) added", "—", self.option_words(option))
                )
        for identifier, option in before.items():
            if identifier not in after:
                rows.append(
                    Row(f"Option “{option.get('label', '')}” ({identifier}) removed", self.option_words(option), "—")
                )
        for identifier, option in after.items():
            if identifier in before and before[identifier] != option:
                names = dict.fromkeys([*before[identifier], *option])
                for name in sorted((n for n in names if before[identifier].get(n) != option.get(n)), key=_is_flag):
                    label, lang = field_label(name)
                    was, now = before[identifier].get(name), option.get(name)
                    what = f"Option “{before[identifier].get('label', '')}” ({identifier}): {label.lower()}"
                    rows.append(Row(what, "\n".join(self.lines(name, was)), "\n".join(self.lines(name, now)), lang))
        kept = [i for i in after if i in before]
        if [i for i in before if i in after] != kept:
            rows.append(
                Row(
                    "Order of the options",
                    "\n".join(self.option_words(before[i]) for i in before if i in after),
                    "\n".join(self.option_words(after[i]) for i in kept),
                )
            )
        return rows

    def condition_rows(self, label: str, old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[Row]:
        """Conditions (or skip rules) by the question they ask about: added, removed, or other answers."""
        before = {c.get("question"): c for c in old}
        after = {c.get("question"): c for c in new}
        rows: list[Row] = []
        for question in dict.fromkeys([*before, *after]):
            if before.get(question) == after.get(question):
                continue
            was = self.condition(before[question]) if question in before else "—"
            now = self.condition(after[question]) if question in after else "—"
            verb = "added" if question not in before else "removed" if question not in after else "changed"
            rows.append(Row(f"{label}: condition {verb}", was, now))
        return rows

    def answer_rows(self, old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Row]:
        rows: list[Row] = []
        for question in dict.fromkeys([*old, *new]):
            if old.get(question) != new.get(question):
                was = ", ".join(self.option(question, o) for o in old.get(question, [])) or "no answer"
                now = ", ".join(self.option(question, o) for o in new.get(question, [])) or "no answer"
                rows.append(Row(f"Answer to {self.question(question).removeprefix('Question ')}", was, now))
        return rows

    def details(self, collection: str, item: Mapping[str, Any]) -> list[Detail]:
        """Every field of an item in words, English texts before Chinese ones.

        Left out: what its title already says, its identifier and the translation flags.
        """
        details: list[Detail] = []
        for name, value in item.items():
            if name in ("id", "code", "name", TITLE_FIELDS.get(collection)) or _is_flag(name):
                continue
            label, lang = field_label(name)
            details.append(Detail(label, self.lines(name, value), lang))
        return sorted(details, key=lambda d: bool(d.lang))


# The field each kind of item is named by in its title.
TITLE_FIELDS = {"questions": "text", "rules": "title", "sections": "title", "sources": "document", "scenarios": "name"}


def readable_document(document: Mapping[str, Any]) -> dict[str, Any]:
    """A rule-set document in sections for people: questions, rules by level, sections, sources, test patients."""
    words = _Words(document, document)
    rules_by_level = [
        {
            "level": str(level.label),
            "rules": [
                {
                    "title": words.title("rules", rule),
                    "active": rule.get("active", True),
                    "details": words.details("rules", rule),
                }
                for rule in document.get("rules", [])
                if rule.get("level") == level.value
            ],
        }
        for level in Level
    ]
    return {
        "questions": [
            {
                "title": words.title("questions", q),
                "active": q.get("active", True),
                "details": words.details("questions", q),
            }
            for q in document.get("questions", [])
        ],
        "levels": [group for group in rules_by_level if group["rules"]],
        "sections": [
            {"title": words.title("sections", s), "details": words.details("sections", s)}
            for s in document.get("sections", [])
        ],
        "sources": [
            {"title": words.title("sources", s), "details": words.details("sources", s)}
            for s in document.get("sources", [])
        ],
        "scenarios": [
            {
                "title": words.title("scenarios", s),
                "active": s.get("active", True),
                "details": words.details("scenarios", s),
            }
            for s in document.get("scenarios", [])
        ],
    }
