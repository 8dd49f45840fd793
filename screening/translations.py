"""Every language helper in one place: which texts are translated, their names, and the content language.

Pure apart from reading the active interface language: no ORM query, request or template here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django.utils import translation

ENGLISH = "en"
# Each content language other than English, and the suffix its texts carry in documents and models.
TRANSLATIONS = {"zh-hans": "zh_hans"}
# Patient-facing texts, by the document collection that holds them; each has a version per language.
TRANSLATED_TEXTS = {
    "questions": ("text", "help_text"),
    "options": ("label",),
    "rules": ("title", "message", "next_steps", "education_text"),
    "sections": ("title", "body"),
    "sources": ("summary",),
}
# Each text as clinicians call it (the admin's labels).
TEXT_NAMES = {
    "text": "question",
    "help_text": "help text",
    "label": "label",
    "title": "title",
    "message": "message",
    "next_steps": "what to do next",
    "education_text": "general statement (education page)",
    "body": "body",
    "summary": "summary",
}


def translated_name(name: str, language: str) -> str:
    """The document key (and model field) of a text in a language: `text`, `text_zh_hans`."""
    return name if language == ENGLISH else f"{name}_{TRANSLATIONS[language]}"


def checked_name(name: str, language: str) -> str:
    """The key of the flag a clinician sets once the translation of a text is checked."""
    return f"{translated_name(name, language)}_checked"


def outdated_name(name: str, language: str) -> str:
    """The key of the flag set when the English text changed after the translation was written."""
    return f"{translated_name(name, language)}_outdated"


def text_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def translations_of(instance: Any, collection: str) -> dict[str, Any]:
    """A model's texts in every other language, with their checked flags, as document keys.

    The out-of-date flag is written only when set, as scenarios' `active` is: documents written before
    it existed (earlier snapshots, the defaults) read the same, so comparing them shows no change.
    """
    found: dict[str, Any] = {}
    for language in TRANSLATIONS:
        for name in TRANSLATED_TEXTS[collection]:
            text = getattr(instance, translated_name(name, language))
            found[translated_name(name, language)] = text_lines(text) if name == "body" else text
            found[checked_name(name, language)] = getattr(instance, checked_name(name, language))
            if getattr(instance, outdated_name(name, language)):
                found[outdated_name(name, language)] = True
    return found


def translation_fields(
    item: Mapping[str, Any],
    collection: str,
    *,
    current: Any = None,
    in_step_before: Callable[[str, str, str, str], bool] | None = None,
) -> dict[str, Any]:
    """Model field values for a document item's translations (absent ones are empty, unchecked).

    `current` is the model instance the item is written over (None for a new one). When the document
    says whether a translation is out of date, that is kept; when it does not (an export writes the
    flag only when set), a translation left as the draft holds it is out of date once the item changes
    its English text (it was written for the English being replaced), unless `in_step_before(name,
    language, english, translation)` says the draft once held this very pair in step (an earlier
    version restored); and it stays as the draft had it while the English is unchanged. An out-of-date
    translation is never checked.
    """
    found: dict[str, Any] = {}
    for language in TRANSLATIONS:
        for name in TRANSLATED_TEXTS[collection]:
            key, flag = translated_name(name, language), outdated_name(name, language)
            text = _as_field(name, item.get(key))
            if flag in item:
                outdated = bool(item[flag])
            elif current is None or not text or not _same_words(text, getattr(current, key)):
                outdated = False
            elif _same_words(english := _as_field(name, item.get(name)), getattr(current, name)):
                outdated = getattr(current, flag)
            else:
                outdated = in_step_before is None or not in_step_before(name, language, english, text)
            found[key] = text
            found[checked_name(name, language)] = bool(item.get(checked_name(name, language), False)) and not outdated
            found[flag] = outdated
    return found


def _same_words(one: str, other: str) -> bool:
    # The admin keeps a text area's line breaks as the browser sent them (CRLF): the same words are no change.
    return text_lines(one) == text_lines(other)


def _as_field(name: str, value: Any) -> str:
    """A document text as its model field holds it: a body's lines joined, an absent text empty."""
    if name == "body":
        return "\n".join(value or [])
    return str(value or "")


def outdated_translations(document: Mapping[str, Any]) -> list[dict[str, str]]:
    """Each translation written for an earlier English text, in the order a document lists them.

    Each is a dict: `item` ("Rule 'allergy'"), `field` (the text in words), `name` (its document key),
    `language`, `english` (the English now) and `translation` (as it is, written for an earlier English).
    """
    # Imported here: screening.documents reads this module's names when it loads.
    from screening.documents import translated_items

    found: list[dict[str, str]] = []
    for collection, item_name, item in translated_items(document):
        for name in TRANSLATED_TEXTS[collection]:
            for language in TRANSLATIONS:
                if item.get(outdated_name(name, language)):
                    found.append(
                        {
                            "item": item_name,
                            "field": TEXT_NAMES[name],
                            "name": name,
                            "language": language,
                            "english": _as_field(name, item.get(name)),
                            "translation": _as_field(name, item.get(translated_name(name, language))),
                        }
                    )
    return found


def content_language() -> str:
    """The content language for the active interface language (English when it has none)."""
    active = (translation.get_language() or ENGLISH).lower()
    return active if active in TRANSLATIONS else ENGLISH
