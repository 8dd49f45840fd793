"""The rule set patients read: the live published version, built once per process, or the draft in the preview."""

from __future__ import annotations

import threading
import time

from django.conf import settings
from django.db.models import Max

from screening.drafts import draft_document
from screening.engine import RuleSet, ruleset_from_document
from screening.models import PublishedRuleSet
from screening.translations import content_language

_cache_lock = threading.Lock()
_ruleset_cache: dict[tuple[int, str, str], RuleSet] = {}
# (when it was checked, the live version's key), for current_ruleset's short-lived answer.
_live: tuple[float, tuple[int, str]] | None = None


def draft_ruleset(language: str | None = None) -> RuleSet:
    """The draft as the engine sees it (for the preview and the scenario runs): never cached."""
    return ruleset_from_document(draft_document(), language=language or content_language())


def current_version() -> int | None:
    """The live version number: one small query."""
    latest: int | None = PublishedRuleSet.objects.aggregate(latest=Max("version"))["latest"]
    return latest


def current_ruleset(language: str | None = None) -> RuleSet:
    """The live rule set in a content language (the active one by default), built once per process.

    Which version is live is asked of the database at most every LIVE_CHECK_SECONDS (one small
    query), so other app servers serve a new publication within that time; a publication made in
    this process is seen at once.

    Raises PublishedRuleSet.DoesNotExist when nothing was ever published.
    """
    language = language or content_language()
    now = time.monotonic()
    live = _live
    if live is not None and now - live[0] < settings.RUXGUIDE_LIVE_CHECK_SECONDS:
        cached = _ruleset_cache.get((*live[1], language))
        if cached is not None:
            return cached
    latest = PublishedRuleSet.objects.order_by("-version").values_list("version", "published_at").first()
    if latest is None:
        raise PublishedRuleSet.DoesNotExist("No rule set has been published yet.")
    # The publication time is part of the key so that a rebuilt database never serves a stale copy.
    key = (latest[0], latest[1].isoformat())
    ruleset = _ruleset_cache.get((*key, language))
    if ruleset is None:
        snapshot = PublishedRuleSet.objects.get(version=latest[0])
        ruleset = ruleset_from_document(
            snapshot.document, version=snapshot.version, published_at=key[1], language=language
        )
        with _cache_lock:
            # Only the live version is ever read, so older ones can go.
            for stale in [k for k in _ruleset_cache if k[:2] != key]:
                del _ruleset_cache[stale]
            _ruleset_cache[(*key, language)] = ruleset
    _remember_live(now, key)
    return ruleset


def _remember_live(checked_at: float, key: tuple[int, str]) -> None:
    global _live
    _live = (checked_at, key)


def forget_live_ruleset() -> None:
    """Ask the database again on the next request (after a publication in this process)."""
    global _live
    _live = None
