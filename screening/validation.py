"""One validation for every way into the draft: the admin import, the default-content update and publishing.

A rule-set document is checked against the draft models themselves (each value through its model
field's own `clean()`: lengths, identifier patterns, http(s)-only addresses), so a rule lives in
one place. No query: it reads `_meta` and the URL patterns only. Problems are sentences for a
clinician that say where, e.g. "Question 3 (“con/dition”), identifier: Use lower-case letters, …".
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any, cast

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.validators import MaxLengthValidator
from django.db import models
from django.urls import NoReverseMatch, reverse

from screening.documents import FORMAT, content_problems
from screening.merge import FIELD_DEFAULTS
from screening.models import GuidanceSection, Option, Question, Rule, Scenario, Source
from screening.translations import TRANSLATED_TEXTS, TRANSLATIONS, checked_name, outdated_name, translated_name

# A long text field has no length in the database; no patient-facing text comes near this one.
LONG_TEXT_MAX_LENGTH = 10_000
LONG_TEXT_LIMIT = MaxLengthValidator(LONG_TEXT_MAX_LENGTH)
DEFAULT_MAX_IMPORT_BYTES = 2 * 1024 * 1024
# How many problems a page lists before it only counts the rest.
SHOWN_PROBLEMS = 10
# How much of an identifier a message repeats.
NAME_LENGTH = 40

Problems = list[str]


# Reading an uploaded file ------------------------------------------------------------------------


def max_import_bytes() -> int:
    limit: int = getattr(settings, "RUXGUIDE_MAX_IMPORT_BYTES", DEFAULT_MAX_IMPORT_BYTES)
    return limit


def read_document(upload: UploadedFile[bytes]) -> dict[str, Any]:
    """The rule set in an uploaded file: refused unread when too large, then strict UTF-8 and JSON."""
    limit = max_import_bytes()
    if upload.size is None or upload.size > limit:
        raise ValidationError(f"The file could not be read: it is larger than {_bytes_words(limit)}.")
    raw = upload.read(limit + 1)
    if len(raw) > limit:
        raise ValidationError(f"The file could not be read: it is larger than {_bytes_words(limit)}.")
    try:
        # A byte order mark, as some editors write, is allowed; any other encoding is not guessed.
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ValidationError(
            f"The file could not be read: it is not UTF-8 text (byte {error.start + 1} is not). "
            "Save it as UTF-8, or export the rule set again."
        ) from error
    try:
        document = json.loads(text, object_pairs_hook=_object_without_repeats, parse_constant=_no_constant)
    except json.JSONDecodeError as error:
        raise ValidationError(
            f"The file could not be read: it is not valid JSON (line {error.lineno}, column {error.colno}: "
            f"{error.msg})."
        ) from error
    except RecursionError as error:
        raise ValidationError("The file could not be read: it is nested too deeply.") from error
    except ValueError as error:
        raise ValidationError(f"The file could not be read: it is not valid JSON ({error}).") from error
    if not isinstance(document, dict):
        raise ValidationError(
            f"The file could not be read: the file is not a rule set (it holds {_kind(document)}, not an object)."
        )
    return document


def _object_without_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found = dict(pairs)
    if len(found) < len(pairs):
        repeated = next(key for key, count in Counter(key for key, _ in pairs).items() if count > 1)
        raise ValueError(f"an object names {_short(repeated)!r} twice")
    return found


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _bytes_words(count: int) -> str:
    if count % (1024 * 1024) == 0:
        return f"{count // (1024 * 1024)} MB"
    if count % 1024 == 0:
        return f"{count // 1024} KB"
    return f"{count} bytes"


def first_problems(problems: Problems, limit: int = SHOWN_PROBLEMS) -> Problems:
    """The first problems, and how many more there are, for a page that must stay readable."""
    if len(problems) <= limit:
        return problems
    return [*problems[:limit], f"… and {len(problems) - limit} more."]


# The document's shape: every key's type, and every value through its model field ---------------


class Text:
    """A text stored in a model field: a string, never null, a list or a number (`problems`), that the
    model field itself accepts (`clean`)."""

    def __init__(self, model: type[models.Model], name: str) -> None:
        self.field = cast("models.Field[Any, Any]", model._meta.get_field(name))
        self.label = str(self.field.verbose_name)

    def problems(self, value: Any) -> Problems:
        if not isinstance(value, str):
            return [f"should be text, not {_kind(value)}."]
        return _string_problems(value)

    def clean(self, value: str) -> Problems:
        try:
            self.field.clean(value, None)
            if isinstance(self.field, models.TextField):
                LONG_TEXT_LIMIT(value)
        except ValidationError as error:
            return [message if message.endswith(".") else f"{message}." for message in error.messages]
        return []


class Lines(Text):
    """A text the document holds as a list of lines (a section's body)."""

    def problems(self, value: Any) -> Problems:
        if not isinstance(value, list):
            return [f"should be a list of lines, not {_kind(value)}."]
        return _list_of_strings_problems(value)


class Choice(Text):
    """A text that must be one of its field's choices; `checked_elsewhere` when documents.py names it."""

    def __init__(self, model: type[models.Model], name: str, *, checked_elsewhere: bool = False) -> None:
        super().__init__(model, name)
        self.checked_elsewhere = checked_elsewhere

    def clean(self, value: str) -> Problems:
        if not self.checked_elsewhere:
            return super().clean(value)
        # Still no longer than the column, which PostgreSQL enforces.
        try:
            MaxLengthValidator(self.field.max_length or LONG_TEXT_MAX_LENGTH)(value)
        except ValidationError as error:
            return error.messages
        return []


class Flag(Text):
    """A yes-or-no field: true or false, never "yes", 1 or null."""

    def problems(self, value: Any) -> Problems:
        return [] if isinstance(value, bool) else [f"should be true or false, not {_kind(value)}."]


class Codes:
    """A list of identifiers naming other items (the sources cited, the rules a test patient expects)."""

    def __init__(self, label: str) -> None:
        self.label = label

    def problems(self, value: Any) -> Problems:
        if not isinstance(value, list):
            return [f"should be a list, not {_kind(value)}."]
        return _list_of_strings_problems(value)


class Items:
    """A list of objects, each checked against its own schema (options, skip rules, conditions)."""

    def __init__(self, label: str, kind: str, schema: Callable[[], Schema]) -> None:
        self.label, self.kind, self.schema = label, kind, schema

    def problems(self, value: Any) -> Problems:
        return [] if isinstance(value, list) else [f"should be a list, not {_kind(value)}."]


class Answers:
    """A test patient's answers: each question's identifier with an option identifier or a list of them."""

    label = "answers"

    def problems(self, value: Any) -> Problems:
        if not isinstance(value, dict):
            return [f"should be an object of question identifiers and answers, not {_kind(value)}."]
        found: Problems = []
        for question, answer in value.items():
            found += [f"question identifier {_short(question)!r} {p}" for p in _string_problems(question)]
            if isinstance(answer, str):
                found += [f"the answer to {_short(question)!r} {p}" for p in _string_problems(answer)]
            elif isinstance(answer, list):
                found += [f"answers to {_short(question)!r}: {p}" for p in _list_of_strings_problems(answer)]
            else:
                found.append(f"the answer to {_short(question)!r} should be text or a list, not {_kind(answer)}.")
        return found


Check = Text | Codes | Items | Answers
Schema = dict[str, Check]


def _with_translations(model: type[models.Model], collection: str, schema: Schema) -> Schema:
    """The schema with each text's version in every other language, its checked and out-of-date flags."""
    for name in TRANSLATED_TEXTS[collection]:
        for language in TRANSLATIONS:
            kind = Lines if name == "body" else Text
            schema[translated_name(name, language)] = kind(model, translated_name(name, language))
            schema[checked_name(name, language)] = Flag(model, checked_name(name, language))
            outdated = schema[outdated_name(name, language)] = Flag(model, outdated_name(name, language))
            outdated.label = f"{schema[translated_name(name, language)].label} out of date"
    return schema


# Each schema is built once (its checks read only the models' `_meta`, which never changes while the
# app runs), not once per item: an import checks every option and condition of the document.
@cache
def source_schema() -> Schema:
    schema: Schema = {name: Text(Source, name) for name in ("code", "document", "url", "summary")}
    return _with_translations(Source, "sources", schema)


@cache
def section_schema() -> Schema:
    schema: Schema = {
        "id": Text(GuidanceSection, "identifier"),
        "title": Text(GuidanceSection, "title"),
        "body": Lines(GuidanceSection, "body"),
        "sources": Codes("sources"),
    }
    return _with_translations(GuidanceSection, "sections", schema)


@cache
def option_schema() -> Schema:
    schema: Schema = {
        "id": Text(Option, "identifier"),
        "label": Text(Option, "label"),
        "exclusive": Flag(Option, "exclusive"),
    }
    return _with_translations(Option, "options", schema)


@cache
def link_schema() -> Schema:
    """A skip rule or a rule's condition: a question and some of its options."""
    return {"question": Text(Question, "identifier"), "options": Codes("options")}


@cache
def question_schema() -> Schema:
    schema: Schema = {
        "id": Text(Question, "identifier"),
        "text": Text(Question, "text"),
        "help_text": Text(Question, "help_text"),
        "multiple": Flag(Question, "multiple"),
        "active": Flag(Question, "active"),
        "options": Items("options", "option", option_schema),
        "show_when": Items("skip rules", "skip rule", link_schema),
    }
    return _with_translations(Question, "questions", schema)


@cache
def rule_schema() -> Schema:
    schema: Schema = {
        "id": Text(Rule, "identifier"),
        "title": Text(Rule, "title"),
        # documents.py names an unknown level in its own words, for withdrawn rules too.
        "level": Choice(Rule, "level", checked_elsewhere=True),
        "active": Flag(Rule, "active"),
        "ends_check": Flag(Rule, "ends_check"),
        "conditions": Items("conditions", "condition", link_schema),
        **{name: Text(Rule, name) for name in ("message", "next_steps", "education_text", "rationale")},
        "sources": Codes("sources"),
    }
    return _with_translations(Rule, "rules", schema)


@cache
def scenario_schema() -> Schema:
    return {
        "name": Text(Scenario, "name"),
        "answers": Answers(),
        "expected_overall": Choice(Scenario, "expected_overall"),
        "expected_rules": Codes("expected rules"),
        "active": Flag(Scenario, "active"),
    }


# (collection, what people call an item, its identifying key, its schema), in the document's order.
COLLECTION_SCHEMAS: tuple[tuple[str, str, str, Callable[[], Schema]], ...] = (
    ("sources", "Source", "code", source_schema),
    ("sections", "Section", "id", section_schema),
    ("questions", "Question", "id", question_schema),
    ("rules", "Rule", "id", rule_schema),
    ("scenarios", "Test patient", "name", scenario_schema),
)
# What an absent key means (the model field's default); a key with none must be there.
ITEM_DEFAULTS: dict[str, dict[str, Any]] = {**FIELD_DEFAULTS, "links": {"options": []}}


def shape_problems(document: Any) -> Problems:
    """What makes the document unreadable as a rule set: wrong types, missing keys, the format marker.

    Only a document without these can be checked further (references, order, duplicates).
    """
    if not isinstance(document, Mapping):
        return [f"This is not a Ruxguide rule set: it holds {_kind(document)}, not an object."]
    if document.get("format") != FORMAT:
        return [wrong_format(document)]
    problems: Problems = []
    version = document.get("content_version", 1)
    if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version < 2**31:
        problems.append(f"The rule set's content version should be a whole number from 1, not {_kind(version)}.")
    for collection, kind, key, schema in COLLECTION_SCHEMAS:
        items = document.get(collection, [])
        if not isinstance(items, list):
            problems.append(f"The rule set's {collection}: should be a list, not {_kind(items)}.")
            continue
        problems += _items_problems(items, kind=kind, key=key, schema=schema(), defaults=ITEM_DEFAULTS[collection])
    return problems


def value_problems(document: Mapping[str, Any]) -> Problems:
    """Each value its model field refuses (lengths, identifier patterns, addresses, choices)."""
    problems: Problems = []
    for collection, kind, key, schema in COLLECTION_SCHEMAS:
        problems += _items_problems(
            document.get(collection, []),
            kind=kind,
            key=key,
            schema=schema(),
            defaults=ITEM_DEFAULTS[collection],
            values=True,
        )
    return problems


def _items_problems(
    items: list[Any],
    *,
    kind: str,
    key: str,
    schema: Schema,
    defaults: Mapping[str, Any],
    values: bool = False,
    within: str = "",
) -> Problems:
    """Types (or with `values`, the model fields' own checks) of each item of a list, and of the lists it holds."""
    problems: Problems = []
    for index, item in enumerate(items, start=1):
        where = f"{within}{kind if not within else kind.lower()} {index}"
        if not isinstance(item, dict):
            if not values:
                problems.append(f"{where}: should be an object, not {_kind(item)}.")
            continue
        identifier = item.get(key)
        if isinstance(identifier, str):
            where += f" (“{_short(identifier)}”)"
        for name, check in schema.items():
            if name not in item and name not in defaults and not name.endswith(FLAGS) and not _translation(name):
                if not values:
                    problems.append(f"{where} has no {check.label}.")
                continue
            value = item[name] if name in item else _default(name, defaults)
            if values:
                # A text a document may leave out (canonical's defaults) may be empty; an identifier may not.
                optional = name in defaults or _translation(name)
                if optional and value in ("", []):
                    continue
                if isinstance(check, Text) and not isinstance(check, Flag) and _readable(check, value):
                    text = "\n".join(value) if isinstance(value, list) else value
                    problems += [f"{where}, {check.label}: {p}" for p in check.clean(text)]
            else:
                problems += [f"{where}, {check.label}: {p}" for p in check.problems(value)]
            if isinstance(check, Items) and isinstance(value, list):
                defaults_of = ITEM_DEFAULTS["options" if check.kind == "option" else "links"]
                problems += _items_problems(
                    value,
                    kind=check.kind,
                    key="id" if check.kind == "option" else "question",
                    schema=check.schema(),
                    defaults=defaults_of,
                    values=values,
                    within=f"{where}, ",
                )
    return problems


def _default(name: str, defaults: Mapping[str, Any]) -> Any:
    """What an absent key means: the model's default, an empty translation, an unchecked flag."""
    if name in defaults:
        return defaults[name]
    if name.endswith(FLAGS):
        return False
    return [] if name.startswith("body_") else ""


# A translation's flags may be left out: absent means unchecked, and not out of date.
FLAGS = ("_checked", "_outdated")


@cache
def _translation(name: str) -> bool:
    return any(name.endswith(f"_{suffix}") for suffix in TRANSLATIONS.values())


def _readable(check: Text, value: Any) -> bool:
    if isinstance(check, Lines):
        return isinstance(value, list) and not _list_of_strings_problems(value)
    return isinstance(value, str) and not _string_problems(value)


def wrong_format(document: Mapping[str, Any]) -> str:
    return f"This is not a Ruxguide rule set: its format is {_short_value(document.get('format'))}, not {FORMAT!r}."


def validation_problems(document: Any) -> Problems:
    """Every reason the document cannot go into the draft or live, in plain words (document_problems)."""
    problems = shape_problems(document)
    if problems:
        return problems
    problems = value_problems(document) + content_problems(document) + consistency_problems(document)
    # The same problem can be found by two checks; say it once.
    return list(dict.fromkeys(problems))


# What patients meet: references, order, duplicates the database refuses, addresses ---------------


def consistency_problems(document: Mapping[str, Any]) -> Problems:
    """What document_problems' checks of the active items leave out, for a well-shaped document.

    Withdrawn items are written to the draft too, so what they name must exist; identifiers the
    database keeps unique must be; and every question must have an address on the patient pages.
    """
    problems: Problems = []
    questions = document.get("questions", [])
    problems += _repeated("section identifier", [s["id"] for s in document.get("sections", [])])
    problems += _repeated("test patient name", [s["name"] for s in document.get("scenarios", [])])
    options_of = {q["id"]: [o["id"] for o in q.get("options", [])] for q in questions}
    position = {q["id"]: index for index, q in enumerate(questions)}
    codes = {s["code"] for s in document.get("sources", [])}
    for question in questions:
        exclusive = [o for o in question.get("options", []) if o.get("exclusive", False)]
        if len(exclusive) > 1:
            problems.append(
                f"Question {_short(question['id'])!r} has {len(exclusive)} “none of these” options; "
                "it can have one at most."
            )
        if question.get("active", True):
            problems += _address_problems(question["id"])
            continue
        # A withdrawn question: document_problems checks only the active ones.
        problems += _repeated(f"option of question '{_short(question['id'])}' identifier", options_of[question["id"]])
        where = f"Skip rule of question '{_short(question['id'])}'"
        for link in question.get("show_when", []):
            target = link["question"]
            if target not in position:
                problems.append(f"{where} names '{_short(target)}', which the rule set does not have.")
            elif position[target] >= position[question["id"]]:
                problems.append(f"{where} points at '{_short(target)}'; it can only use an earlier question.")
            else:
                problems += _missing_options(where, target, link.get("options", []), options_of)
    for rule in document.get("rules", []):
        if rule.get("active", True):
            continue
        where = f"Rule '{_short(rule['id'])}'"
        for link in rule.get("conditions", []):
            if link["question"] not in options_of:
                problems.append(f"{where} names '{_short(link['question'])}', which the rule set does not have.")
            else:
                problems += _missing_options(where, link["question"], link.get("options", []), options_of)
        problems += [f"{where} cites unknown source '{_short(c)}'." for c in rule.get("sources", []) if c not in codes]
    return problems


def _address_problems(identifier: str) -> Problems:
    """A question every patient page must be able to link to, in the live and the preview pages alike."""
    try:
        for namespace in ("screening", "preview"):
            reverse(f"{namespace}:question", args=[identifier])
    except NoReverseMatch:
        return [f"Question '{_short(identifier)}': the patient pages cannot link to this identifier."]
    return []


def _missing_options(where: str, question: str, options: list[str], options_of: Mapping[str, list[str]]) -> Problems:
    missing = [o for o in options if o not in options_of[question]]
    if missing:
        return [f"{where} names {', '.join(repr(_short(o)) for o in missing)}, not an option of '{_short(question)}'."]
    return []


def _repeated(what: str, identifiers: list[str]) -> Problems:
    return [f"The {what} '{_short(i)}' is used {n} times." for i, n in Counter(identifiers).items() if n > 1]


# Plain values -----------------------------------------------------------------------------------


def _string_problems(value: str) -> Problems:
    """A text no database can store: a null character, or half of a surrogate pair."""
    if "\x00" in value:
        return ["contains a character that cannot be stored (a null character)."]
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return ["contains a character that cannot be stored (half of a surrogate pair)."]
    return []


def _list_of_strings_problems(values: list[Any]) -> Problems:
    problems: Problems = []
    for index, value in enumerate(values, start=1):
        if not isinstance(value, str):
            problems.append(f"item {index} should be text, not {_kind(value)}.")
        else:
            problems += [f"item {index} {p}" for p in _string_problems(value)]
    return problems


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    return "an object"


def _short(value: Any) -> str:
    """An identifier as a message repeats it: never thousands of characters."""
    text = value if isinstance(value, str) else str(value)
    text = text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")
    return text if len(text) <= NAME_LENGTH else f"{text[:NAME_LENGTH]}…"


def _short_value(value: Any) -> str:
    return repr(_short(value)) if isinstance(value, str) else _short(repr(value))
