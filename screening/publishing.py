"""Publishing: the draft becomes the next live version only when it is valid and every test patient passes."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db import transaction
from django.utils import timezone
from django.utils.timesince import timesince

from screening.documents import document_problems
from screening.drafts import draft_document
from screening.engine import ruleset_from_document
from screening.live import forget_live_ruleset
from screening.merge import canonical
from screening.models import PublishedRuleSet, Scenario
from screening.scenarios import ScenarioResult, ScenarioSpec, run_scenarios


class PublishBlocked(Exception):
    """The draft cannot go live: it has problems, or a test patient's outcome changed."""

    def __init__(self, problems: list[str], failures: list[ScenarioResult]) -> None:
        super().__init__("; ".join(problems + [f"{f.scenario.name}: {' '.join(f.differences)}" for f in failures]))
        self.problems = problems
        self.failures = failures


def scenario_specs(document: dict[str, Any]) -> list[ScenarioSpec]:
    return [ScenarioSpec.from_document(item) for item in document.get("scenarios", []) if item.get("active", True)]


def run_document_scenarios(document: dict[str, Any]) -> list[ScenarioResult]:
    """The document's active test patients run against the document's own rules."""
    withdrawn = frozenset(q["id"] for q in document.get("questions", []) if not q.get("active", True))
    return run_scenarios(ruleset_from_document(document), scenario_specs(document), withdrawn=withdrawn)


def run_draft_scenarios() -> list[ScenarioResult]:
    """Run every active test patient against the draft and remember each one's result."""
    results = run_document_scenarios(draft_document())
    _record_results(results)
    return results


def _record_results(results: list[ScenarioResult]) -> None:
    now = timezone.now()
    for result in results:
        Scenario.objects.filter(name=result.scenario.name).update(
            last_run_at=now,
            last_passed=result.passed,
            last_report="\n".join(result.differences) if result.differences else "Passed.",
        )


def draft_fingerprint(document: dict[str, Any]) -> str:
    """A short digest of a draft document: equal for equal drafts, whatever order the keys come in."""
    text = json.dumps(canonical(document), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class PublishConflict(Exception):
    """What the clinician reviewed is no longer what would be published: nothing was published.

    `published` is the newest version when another was published since the review (else None), and
    `draft_changed` says whether the draft differs from the one reviewed.
    """

    def __init__(self, *, published: PublishedRuleSet | None, draft_changed: bool) -> None:
        self.published = published
        self.draft_changed = draft_changed
        super().__init__(" ".join(self.messages()))

    def messages(self) -> list[str]:
        """What happened, in the clinician's words, most important first."""
        said: list[str] = []
        if self.published is not None:
            by = f" by {_name(self.published.published_by)}" if self.published.published_by else ""
            said.append(
                f"Version {self.published.version} was published{by} {_how_long_ago(self.published)}; "
                "review the draft again."
            )
        if self.draft_changed:
            said.append("The draft changed since you opened this page: review the changes again.")
        return said


def _name(user: User) -> str:
    return user.get_full_name() or user.get_username()


def _how_long_ago(published: PublishedRuleSet) -> str:
    if timezone.now() - published.published_at < timedelta(minutes=1):
        return "a moment ago"
    return f"{timesince(published.published_at)} ago"


# Any constant of 64 bits: PostgreSQL's advisory locks are named by number. The one lock every publish takes.
PUBLISH_LOCK = 0x52757867_5075626C  # "RuxgPubl"


def _lock_publishing() -> None:
    """Wait until no other publish is running; the lock is held until this transaction ends.

    PostgreSQL: a transaction-level advisory lock (no table privilege needed, readers never wait).
    SQLite: the transaction already holds the database's write lock from its start (BEGIN IMMEDIATE,
    see ruxguide/settings.py), so another publish waits at its own BEGIN.
    """
    connection = transaction.get_connection()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [PUBLISH_LOCK])


def publish(
    *,
    user: User | AnonymousUser | None = None,
    note: str = "",
    expected_version: int | None = None,
    reviewed_draft: str | None = None,
    author: User | None = None,
    author_note: str = "",
    sent_at: datetime | None = None,
    second_review: bool = False,
) -> PublishedRuleSet:
    """Validate the draft, run its test patients, and make it the live rule set under the next version.

    All of it happens in one transaction, one publish at a time: if anything fails, the version that
    was live stays live. With `expected_version` (the live version the clinician saw, 0 for none) and
    `reviewed_draft` (the fingerprint of the draft they reviewed), it refuses with PublishConflict when
    another version went live or the draft changed since. `author`, `author_note`, `sent_at` and
    `second_review` record the review it went through (screening.review); without them the version
    says it was published without a second review.
    """
    with transaction.atomic():
        _lock_publishing()
        # Read only under the lock: a publish that waited sees the version the other one made.
        latest = PublishedRuleSet.objects.select_related("published_by").order_by("-version").first()
        document = draft_document()
        live = latest.version if latest else 0
        newer = latest if expected_version is not None and live != expected_version else None
        changed = reviewed_draft is not None and reviewed_draft != draft_fingerprint(document)
        if newer is not None or changed:
            raise PublishConflict(published=newer, draft_changed=changed)
        problems = document_problems(document)
        results = run_document_scenarios(document)
        failures = [result for result in results if not result.passed]
        if problems or failures:
            raise PublishBlocked(problems, failures)
        published = PublishedRuleSet.objects.create(
            version=live + 1,
            document=document,
            published_by=user if user is not None and user.is_authenticated else None,
            note=note,
            author=author,
            author_note=author_note,
            sent_at=sent_at,
            second_review=second_review,
        )
        _record_results(results)
    forget_live_ruleset()
    return published
