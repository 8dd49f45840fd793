"""Marks a text that a page shows in a language other than the page's own (WCAG 3.1.2)."""

from __future__ import annotations

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import get_language

from screening.translations import ENGLISH

register = template.Library()

# Citations name their documents as those documents do; they are not translated.
ALWAYS_ENGLISH = frozenset({"document"})


@register.simple_tag
def english_lang(item: object, field: str) -> SafeString:
    """` lang="en"` when the item's `field` is shown in English on a page in another language."""
    if (get_language() or ENGLISH) == ENGLISH:
        return SafeString("")
    if field in ALWAYS_ENGLISH or field in getattr(item, "untranslated", ()):
        return format_html(' lang="{}"', ENGLISH)
    return SafeString("")
