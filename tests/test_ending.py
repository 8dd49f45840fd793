"""A rule that ends the check: the engine stops its walk, the next page is the result, exports agree."""

from __future__ import annotations

import io
import json
import re
import sys
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from fhir.resources.R4B.questionnaire import Questionnaire
from hypothesis import given, settings
from hypothesis import strategies as st

from screening.defaults import default_document
from screening.engine import AnswerIn, Level, Option, Question, Rule, RuleSet, evaluate, ruleset_from_document, walk
from screening.fhir import questionnaire
from tests.patients import HEALTHY_ADULT, as_lists

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


def answer_to(question: Question) -> st.SearchStrategy[tuple[str, ...]]:
    """A valid answer: one option, or a non-empty set that respects exclusive options."""
    if not question.multiple:
        return st.sampled_from(question.option_ids).map(lambda option: (option,))
    plain = [o.id for o in question.options if not o.exclusive]
    exclusive = [o.id for o in question.options if o.exclusive]
    choices = [
        st.sets(st.sampled_from(plain), min_size=1).map(lambda c: tuple(o for o in question.option_ids if o in c))
    ]
    choices += [st.sampled_from(exclusive).map(lambda option: (option,))] if exclusive else []
    return st.one_of(choices)


def some_answers(ruleset: RuleSet) -> st.SearchStrategy[dict[str, tuple[str, ...]]]:
    """Answers to any subset of the questions, hidden ones included."""
    return st.fixed_dictionaries({}, optional={q.id: answer_to(q) for q in ruleset.questions})


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


# ---------------------------------------------------------------------------------------------
# The documents: snapshot, import and export carry the flag
# ---------------------------------------------------------------------------------------------


def test_the_default_document_marks_only_the_warning_signs_rule_as_ending_the_check() -> None:
    flags = {r["id"]: r.get("ends_check") for r in default_document()["rules"]}
    assert flags.pop("urgent-symptoms") is True
    assert set(flags.values()) == {False}


def test_the_fhir_questionnaire_enables_later_questions_only_without_the_ending_answer() -> None:
    resource = questionnaire(default_document())
    Questionnaire.model_validate(resource)
    first, group = resource["item"]
    assert first["linkId"] == "urgent_symptoms"
    assert group["type"] == "group"
    assert group["enableBehavior"] == "all"
    assert [(c["question"], c["operator"], c["answerCoding"]["code"]) for c in group["enableWhen"]] == [
        ("urgent_symptoms", "!=", "yes")
    ]
    link_ids = [item["linkId"] for item in group["item"]]
    assert link_ids[0] == "condition"
    assert "side_effects" in link_ids


def test_a_questionnaire_without_ending_rules_has_no_wrapper_group() -> None:
    document = default_document()
    for item in document["rules"]:
        item["ends_check"] = False
    resource = questionnaire(document)
    assert [item["linkId"] for item in resource["item"]][:2] == ["urgent_symptoms", "condition"]


# ---------------------------------------------------------------------------------------------
# manage.py screen
# ---------------------------------------------------------------------------------------------


def screen(answers: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps(answers)))
    out = io.StringIO()
    call_command("screen", stdout=out)
    return json.loads(out.getvalue())


def test_screen_lists_the_answers_after_an_ending_rule_as_ignored(published_rules, monkeypatch) -> None:
    answers = as_lists({**HEALTHY_ADULT, "urgent_symptoms": ("yes",), "allergy": ("yes",)})
    result = screen(answers, monkeypatch)
    assert result["overall"] == "urgent"
    assert [o["rule"] for o in result["outcomes"]] == ["urgent-symptoms"]
    assert result["ignored"] == [q for q in answers if q != "urgent_symptoms"]


# ---------------------------------------------------------------------------------------------
# The web flow, without JavaScript and with htmx
# ---------------------------------------------------------------------------------------------

FIRST = "/check/question/urgent_symptoms/"


def test_yes_to_the_warning_signs_goes_straight_to_the_result_without_javascript(
    client: Client, published_rules
) -> None:
    assert client.get("/check/")["Location"] == FIRST
    response = client.post(FIRST, {"urgent_symptoms": "yes"})
    assert response.status_code == 302
    assert response["Location"] == "/check/result/"
    page = client.get("/check/result/").content.decode()
    assert 'data-level="urgent"' in page
    assert 'data-ended-by="urgent-symptoms"' in page
    assert "I answered this by mistake" in page
    assert f'href="{FIRST}"' in page
    # What to do now leads the page, before the warning signs and the way back.
    assert page.index("Call your local emergency number") < page.index("I answered this by mistake")


def test_with_htmx_the_urgent_result_is_the_next_partial_and_its_address_is_pushed(
    client: Client, published_rules
) -> None:
    client.get("/check/")
    response = client.post(FIRST, {"urgent_symptoms": "yes"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response["HX-Push-Url"] == "/check/result/"
    page = response.content.decode()
    assert 'data-ended-by="urgent-symptoms"' in page
    assert "<html" not in page


def test_an_ended_check_has_no_check_your_answers_page_and_no_later_question(client: Client, published_rules) -> None:
    client.get("/check/")
    client.post(FIRST, {"urgent_symptoms": "yes"})
    assert client.get("/check/answers/")["Location"] == "/check/result/"
    assert client.get("/check/question/condition/")["Location"] == "/check/result/"


def test_changing_the_ending_answer_goes_on_with_the_check_and_loses_nothing(client: Client, published_rules) -> None:
    client.get("/check/")
    for question, options in list(HEALTHY_ADULT.items())[:4]:
        client.post(f"/check/question/{question}/", {question: list(options)})
    client.post(FIRST, {"urgent_symptoms": "yes"})
    assert client.get("/check/result/").status_code == 200
    # "I answered this by mistake": the answer changes, and the check goes on where it was.
    response = client.post(FIRST, {"urgent_symptoms": "no"})
    assert response["Location"] == "/check/question/pregnancy/"
    page = client.get("/check/question/allergy/").content.decode()
    assert re.search(r'value="no" checked', page)


def test_the_printout_of_an_ended_check_says_it_stopped_early_and_why(client: Client, published_rules) -> None:
    client.get("/check/")
    client.post(FIRST, {"urgent_symptoms": "yes"})
    page = client.get("/check/result/print/").content.decode()
    assert "This check stopped early" in page
    assert "the other questions were not asked" in page
    assert 'data-ended-by="urgent-symptoms"' in page


def test_the_urgent_result_in_chinese_is_the_next_page_too(client: Client, published_rules) -> None:
    client.get("/zh-hans/check/")
    response = client.post("/zh-hans/check/question/urgent_symptoms/", {"urgent_symptoms": "yes"})
    assert response["Location"] == "/zh-hans/check/result/"
    page = client.get("/zh-hans/check/result/").content.decode()
    assert 'data-ended-by="urgent-symptoms"' in page
    assert 'lang="zh-hans"' in page
