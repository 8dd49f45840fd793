"""A patient's visit: their answers, kept only in their own session and never with identity."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, field

from django.contrib.sessions.backends.base import SessionBase

from screening import page_cache
from screening.engine import AnswerError, RuleSet, Walk, clean_answer, walk

SESSION_KEY = "visit"
# A clinician's walk through the draft never mixes with a patient's visit in the same browser.
PREVIEW_SESSION_KEY = "preview_visit"


@dataclass
class Visit:
    answers: dict[str, tuple[str, ...]] = field(default_factory=dict)
    started: bool = False
    rules_changed: bool = False


def load_visit(session: SessionBase, ruleset: RuleSet, *, key: str = SESSION_KEY) -> tuple[Visit, Walk]:
    """The visit in this session, brought up to the live rule set version, and where it stands.

    When clinicians published a new version mid-visit, the answers that still fit it are kept
    and the rest are dropped, and the visit says so, so the patient can be told.
    """
    stored = session.get(key)
    if not isinstance(stored, dict) or not isinstance(stored.get("answers"), dict):
        return Visit(), known_walk(ruleset, {})
    where = _stored_walk(ruleset, stored["answers"])
    changed = stored.get("version") != ruleset.version
    visit = Visit(answers=where.kept, started=True, rules_changed=changed)
    if changed:
        save_visit(session, ruleset, visit, key=key, where=where)
    return visit, where


def known_walk(ruleset: RuleSet, answers: dict[str, tuple[str, ...]]) -> Walk:
    """walk(), kept per published version for answers already seen: every page of a visit walks its answers.

    A Walk is never changed once made, so one can serve every request with the same answers.
    """
    if not ruleset.published_at:  # the draft changes without a new version: walked afresh
        return walk(ruleset, answers)
    return _kept_walk(ruleset, tuple(answers.items()), lambda: walk(ruleset, answers))


def _kept_walk(ruleset: RuleSet, key: Hashable, make: Callable[[], Walk]) -> Walk:
    """The walk kept for `key` over this very rule set object.

    Views compare a walk's questions with the request's own by identity, and a version is loaded
    again as a new object now and then (by each thread, or after the live check), so the key names
    the object and the walk kept holds on to it: its id cannot be reused while it is kept.
    """
    kept_over, where = page_cache.walks.get((id(ruleset), key), lambda: (ruleset, make()))
    if kept_over is not ruleset:
        return make()
    return where


def _stored_walk(ruleset: RuleSet, stored: dict[str, object]) -> Walk:
    """Where the answers kept in a session stand: those that no longer fit the rule set are left out."""
    try:
        key = tuple((question_id, tuple(values)) for question_id, values in stored.items() if isinstance(values, list))
        hash(key)
    except TypeError:  # a value no answer has: cleaned below, not kept
        key = None
    if key is None or not ruleset.published_at:
        return walk(ruleset, _cleaned(ruleset, stored))
    return _kept_walk(ruleset, ("stored", key), lambda: walk(ruleset, _cleaned(ruleset, stored)))


def _cleaned(ruleset: RuleSet, stored: dict[str, object]) -> dict[str, tuple[str, ...]]:
    answers: dict[str, tuple[str, ...]] = {}
    for question_id, values in stored.items():
        question = ruleset.question(question_id)
        if question is None or not isinstance(values, list):
            continue
        try:
            answers[question_id] = clean_answer(question, values)
        except AnswerError:
            continue
    return answers


def save_visit(session: SessionBase, ruleset: RuleSet, visit: Visit, *, key: str, where: Walk) -> None:
    """Store the answers worth keeping (`where.kept`) against the live version.

    Those are the answers that count, and those after an answer that ended the check, which count
    again if the patient changes that answer; answers the skip logic hides are dropped.
    """
    visit.answers = where.kept
    stored = {"version": ruleset.version, "answers": {q: list(v) for q, v in where.kept.items()}}
    # Unchanged answers (a step answered again the same) leave the session as it is: sealing it
    # again is the costliest part of a step, and the cookie it would send says nothing new.
    if session.get(key) != stored:
        session[key] = stored


def clear_visit(session: SessionBase, *, key: str = SESSION_KEY) -> None:
    """Forget the answers. A patient's whole session goes; a preview keeps the clinician signed in."""
    if key == SESSION_KEY:
        session.flush()
    else:
        session.pop(key, None)
