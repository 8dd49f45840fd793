"""Rule-set documents for tests: the shipped defaults as the draft holds them, and their items."""

from __future__ import annotations

from typing import Any

from screening import defaults

Document = dict[str, Any]


def default_document() -> Document:
    """The shipped defaults as the draft holds them: the content, without which shipped version it is."""
    document = defaults.default_document()
    del document["content_version"]
    return document


def item_of(document: Document, collection: str, identifier: str, key: str = "id") -> dict[str, Any]:
    return next(item for item in document[collection] if item[key] == identifier)
