"""A rule that ends the check, in the engine: the walk stops, later answers are ignored, the result is next."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings

from screening.defaults import default_document
from screening.engine import AnswerIn, Level, Option, Question, Rule, RuleSet, evaluate, ruleset_from_document, walk
from tests.support.patients import HEALTHY_ADULT
from tests.support.strategies import some_answers

DEFAULT = ruleset_from_document(default_document())
WARNING_SIGNS = {"urgent_symptoms": ("yes",)}


def yes_no(question_id: str, **extra: Any) -> Question:
    return Question(question_id, f"{question_id}?", (Option("yes", "Yes"), Option("no", "No")), **extra)


def rule(rule_id: str, *conditions: tuple[str, str], ends_check: bool = False) -> Rule:
    return Rule(
        rule_id,
        rule_id,
        Level.URGENT if ends_check else Level.TALK_FIRST,
        tuple(AnswerIn(q, frozenset({o})) for q, o in conditions),
        ends_check=ends_check,
    )


# first -> second -> third (shown when second is yes) -> fourth; "stop" ends the check at second=yes.
SMALL = RuleSet(
    questions=(
        yes_no("first"),
        yes_no("second"),
        yes_no("third", show_when=(AnswerIn("second", frozenset({"yes"})),)),
        yes_no("fourth"),
    ),
    rules=(rule("stop", ("second", "yes"), ends_check=True), rule("first-yes", ("first", "yes"))),
)

# ---------------------------------------------------------------------------------------------
# The engine
# ---------------------------------------------------------------------------------------------


def test_the_walk_stops_at_the_answer_that_ends_the_check() -> None:
    where = walk(SMALL, {"first": ("yes",), "second": ("yes",)})
    assert [q.id for q in where.shown] == ["first", "second"]
    assert where.upcoming is None
    assert where.complete
    assert where.ended_by is not None and where.ended_by.id == "stop"
    assert where.ended_at is not None and where.ended_at.id == "second"


def test_answers_after_the_ending_are_ignored_but_kept_for_a_change_of_mind() -> None:
    answers = {"first": ("no",), "second": ("yes",), "third": ("no",), "fourth": ("yes",)}
    where = walk(SMALL, answers)
    assert where.counted == {"first": ("no",), "second": ("yes",)}
    assert where.ignored == ("third", "fourth")
    assert where.kept == answers
    # Changing the ending answer brings the later answers back, minus those the skip logic hides.
    after = walk(SMALL, {**answers, "second": ("no",)})
    assert after.ended_by is None
    assert after.counted == {"first": ("no",), "second": ("no",), "fourth": ("yes",)}


def test_rules_on_answers_before_the_ending_still_fire_and_later_ones_do_not() -> None:
    outcome = evaluate(SMALL, {"first": ("yes",), "second": ("yes",)})
    assert [r.id for r in outcome.fired] == ["stop", "first-yes"]
    assert outcome.ended_by is not None and outcome.ended_by.id == "stop"


def test_a_rule_that_does_not_end_the_check_never_stops_the_walk() -> None:
    where = walk(DEFAULT, {**HEALTHY_ADULT, "allergy": ("yes",)})
    assert where.ended_by is None
    assert [q.id for q in where.shown] == list(HEALTHY_ADULT)


def test_yes_to_the_warning_signs_is_the_last_question_and_the_result_comes_next() -> None:
    where = walk(DEFAULT, WARNING_SIGNS)
    assert [q.id for q in where.shown] == ["urgent_symptoms"]
    assert where.upcoming is None
    assert [r.id for r in evaluate(DEFAULT, WARNING_SIGNS).fired] == ["urgent-symptoms"]


@settings(max_examples=300, deadline=None)
@given(answers=some_answers(DEFAULT))
def test_whenever_an_ending_rule_fires_no_later_question_is_shown_and_the_result_is_next(
    answers: dict[str, tuple[str, ...]],
) -> None:
    where = walk(DEFAULT, answers)
    outcome = evaluate(DEFAULT, answers)
    ending = [r for r in outcome.fired if r.ends_check]
    if not ending:
        assert where.ended_by is None
        return
    assert where.ended_by in ending
    assert where.upcoming is None
    # Nothing after the question whose answer ended the check is shown or counted.
    assert where.ended_at is not None and where.shown[-1] is where.ended_at
    later = [q.id for q in DEFAULT.questions[DEFAULT.questions.index(where.ended_at) + 1 :]]
    assert not set(later) & set(where.counted)
    assert set(later) & set(answers) <= set(where.ignored)


@settings(max_examples=300, deadline=None)
@given(answers=some_answers(SMALL))
def test_the_walk_stops_for_any_ending_rule_in_any_rule_set(answers: dict[str, tuple[str, ...]]) -> None:
    where = walk(SMALL, answers)
    stops = answers.get("second") == ("yes",)
    assert (where.ended_by is not None) is stops
    if stops:
        assert [q.id for q in where.shown] == ["first", "second"]
        assert where.upcoming is None
