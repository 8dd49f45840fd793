"""Every language helper in one place: which texts are translated, their names, and the content language.

Pure apart from reading the active interface language: no ORM query, request or template here.
"""

from __future__ import annotations

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
