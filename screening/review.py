"""Review before publish: one clinician sends the draft; a second approves it (which publishes) or sends it back.

Plain functions with keyword-only arguments; the admin pages (screening.admin.review) only read forms
and call these. Every refusal is an exception carrying sentences in the clinician's words.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.db import IntegrityError, transaction
from django.utils import timezone

from screening import drafts, publishing
from screening.documents import document_diff, document_problems, translation_gaps, unchecked_translations
from screening.live import forget_live_ruleset
from screening.models import PublishedRuleSet, Review
from screening.safety import SafetyItem, safety_items
from screening.scenarios import ScenarioResult
from screening.translations import outdated_translations

APPROVE_PERMISSION = "screening.approve_publication"
SEND_PERMISSION = "screening.publish_draft"

ALREADY_WAITING = "The draft is already waiting for review"
STALE = "The draft changed after it was sent"


def single_clinician_publishing() -> bool:
    """Whether this installation lets one clinician publish alone (RUXGUIDE_SINGLE_CLINICIAN_PUBLISH)."""
    return bool(getattr(settings, "RUXGUIDE_SINGLE_CLINICIAN_PUBLISH", False))


def reason_field(key: str) -> str:
    """The form field that holds the author's reason for one safety-net item (keys hold any characters)."""
    return "reason-" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:12]


class ReviewRefused(Exception):
    """Nothing was sent, approved or sent back; `messages` say why. `status` is the page's HTTP status."""

    def __init__(self, messages: list[str], *, status: int = 200, failures: Iterable[ScenarioResult] = ()) -> None:
        super().__init__(" ".join(messages))
        self.messages = messages
        self.status = status
        self.failures = list(failures)


class NotAllowed(Exception):
    """This clinician may not do this to this review (their own, or not theirs); the page answers 403."""


@dataclass
class DraftState:
    """Everything a clinician reads before sending or approving: the draft against the live version."""

    live: PublishedRuleSet | None
    document: dict[str, Any]
    fingerprint: str
    changes: list[Any]
    safety: list[SafetyItem]
    problems: list[str]
    results: list[ScenarioResult]
    outdated: list[dict[str, Any]]
    gaps: list[str]
    unchecked: int
    failures: list[ScenarioResult] = field(init=False)

    def __post_init__(self) -> None:
        self.failures = [result for result in self.results if not result.passed]

    @property
    def live_version(self) -> int:
        return self.live.version if self.live else 0

    @property
    def passing(self) -> int:
        return len(self.results) - len(self.failures)


def latest_version() -> PublishedRuleSet | None:
    return PublishedRuleSet.objects.select_related("published_by", "author").order_by("-version").first()


def draft_state() -> DraftState:
    """The draft as it is now, against the version patients see, with its test patients run."""
    live = latest_version()
    document = drafts.draft_document()
    before: Mapping[str, Any] = live.document if live else {}
    return DraftState(
        live=live,
        document=document,
        fingerprint=publishing.draft_fingerprint(document),
        changes=document_diff(dict(before), document),
        safety=safety_items(before, document),
        problems=document_problems(document),
        results=publishing.run_document_scenarios(document),
        outdated=list(outdated_translations(document)),
        gaps=translation_gaps(document),
        unchecked=len(unchecked_translations(document)),
    )


def waiting_review() -> Review | None:
    return Review.objects.select_related("author").filter(status=Review.Status.WAITING).first()


def _name(user: User | None) -> str:
    return (user.get_full_name() or user.get_username()) if user is not None else "a clinician"


def already_waiting_message(review: Review | None) -> str:
    if review is None:
        return f"{ALREADY_WAITING}: a second clinician decides on it first."
    return (
        f"{ALREADY_WAITING} (sent by {_name(review.author)} at {timezone.localtime(review.sent_at):%H:%M on %d %b %Y})"
        ": a second clinician decides on it first, or its author withdraws it."
    )


def send_for_review(
    *,
    author: User,
    note: str,
    reasons: Mapping[str, str],
    state: DraftState | None = None,
    reviewed_draft: str | None = None,
) -> Review:
    """Send the draft for a second clinician's review: refused unless it is changed, valid, every test
    patient passes and every safety-net change has its written reason."""
    state = state or draft_state()
    if reviewed_draft and reviewed_draft != state.fingerprint:
        raise ReviewRefused(["The draft changed since you opened this page: read the changes again."], status=409)
    if not state.changes:
        raise ReviewRefused([f"The draft is the same as version {state.live_version}: there is nothing to review."])
    missing = [item.sentence for item in state.safety if not reasons.get(item.key, "").strip()]
    if missing:
        raise ReviewRefused(["Write why you make each change to the safety net:", *missing])
    if state.problems or state.failures:
        raise ReviewRefused(state.problems, failures=state.failures)
    try:
        with transaction.atomic():
            # SQLite queues writers at BEGIN, so the second of two sends sees the first here;
            # PostgreSQL lets both through to the unique constraint, which refuses the second.
            waiting = waiting_review()
            if waiting is not None:
                raise ReviewRefused([already_waiting_message(waiting)])
            return Review.objects.create(
                status=Review.Status.WAITING,
                draft_fingerprint=state.fingerprint,
                live_version=state.live_version,
                author=author,
                author_note=note,
                safety_reasons={item.key: reasons[item.key].strip() for item in state.safety},
            )
    except IntegrityError:
        raise ReviewRefused([already_waiting_message(waiting_review())]) from None


def may_approve(review: Review, user: User | AnonymousUser) -> str:
    """Why this user cannot approve or send back this review, or an empty string when they can."""
    if review.author_id is not None and review.author_id == user.pk:
        return "You sent this draft for review, so another clinician must approve it or send it back."
    if not user.has_perm(APPROVE_PERMISSION):
        return "Only a clinician who may approve drafts for publishing can approve it or send it back."
    return ""


def _decidable(review: Review, user: User | AnonymousUser) -> Review:
    """The review, locked for this transaction, if this user may decide on it now."""
    reason = may_approve(review, user)
    if reason:
        raise NotAllowed(reason)
    locked = Review.objects.select_for_update().get(pk=review.pk)
    if locked.status != Review.Status.WAITING:
        raise ReviewRefused([f"This review is no longer waiting: {locked.get_status_display().lower()}."])
    return locked


def approve(*, review: Review, reviewer: User, note: str, acknowledged: Iterable[str]) -> PublishedRuleSet:
    """A second clinician approves: the draft, still as it was sent, becomes the next live version."""
    ticked = set(acknowledged)
    with transaction.atomic():
        locked = _decidable(review, reviewer)
        state = draft_state()
        if state.fingerprint != locked.draft_fingerprint:
            raise ReviewRefused([f"{STALE}: its author can withdraw it and send the draft as it is now."], status=409)
        unticked = [item.sentence for item in state.safety if item.key not in ticked]
        if unticked:
            raise ReviewRefused(
                ["Tick each change to the safety net to say you have read it and accept it:", *unticked]
            )
        try:
            published = publishing.publish(
                user=reviewer,
                note=note,
                expected_version=locked.live_version,
                reviewed_draft=locked.draft_fingerprint,
                author=locked.author,
                author_note=locked.author_note,
                sent_at=locked.sent_at,
                second_review=True,
            )
        except publishing.PublishConflict as error:
            raise ReviewRefused(error.messages(), status=409) from None
        except publishing.PublishBlocked as error:
            raise ReviewRefused(error.problems, failures=error.failures) from None
        locked.status = Review.Status.APPROVED
        locked.reviewer = reviewer
        locked.reviewer_note = note
        locked.acknowledged = sorted(item.key for item in state.safety)
        locked.reviewed_at = timezone.now()
        locked.published = published
        locked.save()
    forget_live_ruleset()
    return published


def send_back(*, review: Review, reviewer: User, comment: str) -> Review:
    """A second clinician returns the draft to editing with a comment; nothing is published."""
    with transaction.atomic():
        locked = _decidable(review, reviewer)
        locked.status = Review.Status.RETURNED
        locked.reviewer = reviewer
        locked.reviewer_note = comment
        locked.reviewed_at = timezone.now()
        locked.save()
    return locked


def withdraw(*, review: Review, user: User | AnonymousUser) -> Review:
    """The author takes the review back (to change the draft and send it again)."""
    with transaction.atomic():
        locked = Review.objects.select_for_update().get(pk=review.pk)
        if locked.author_id is None or locked.author_id != user.pk:
            raise NotAllowed("Only the clinician who sent this draft for review can withdraw it.")
        if locked.status != Review.Status.WAITING:
            raise ReviewRefused([f"This review is no longer waiting: {locked.get_status_display().lower()}."])
        locked.status = Review.Status.WITHDRAWN
        locked.save()
    return locked
