"""A patient's visit: their answers, kept only in their own session and never with identity."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib.sessions.backends.base import SessionBase

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
        return Visit(), walk(ruleset, {})
    answers: dict[str, tuple[str, ...]] = {}
    for question_id, values in stored["answers"].items():
        question = ruleset.question(question_id)
        if question is None or not isinstance(values, list):
            continue
        try:
            answers[question_id] = clean_answer(question, values)
        except AnswerError:
            continue
    where = walk(ruleset, answers)
    changed = stored.get("version") != ruleset.version
    visit = Visit(answers=where.kept, started=True, rules_changed=changed)
    if changed:
        save_visit(session, ruleset, visit, key=key, where=where)
    return visit, where


def save_visit(session: SessionBase, ruleset: RuleSet, visit: Visit, *, key: str, where: Walk) -> None:
    """Store the answers worth keeping (`where.kept`) against the live version.

    Those are the answers that count, and those after an answer that ended the check, which count
    again if the patient changes that answer; answers the skip logic hides are dropped.
    """
    visit.answers = where.kept
    session[key] = {"version": ruleset.version, "answers": {q: list(v) for q, v in where.kept.items()}}


def clear_visit(session: SessionBase, *, key: str = SESSION_KEY) -> None:
    """Forget the answers. A patient's whole session goes; a preview keeps the clinician signed in."""
    if key == SESSION_KEY:
        session.flush()
    else:
        session.pop(key, None)
