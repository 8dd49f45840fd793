"""Unit and property tests of the pure rule engine and of the document checks. No database here."""

from __future__ import annotations

import copy
import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from screening.defaults import default_document
from screening.documents import FORMAT, document_problems
from screening.engine import (
    NO_CAUTION,
    AnswerError,
    AnswerIn,
    Level,
    Option,
    Question,
    Rule,
    RuleSet,
    clean_answer,
    counted_answers,
    evaluate,
    next_question,
    ruleset_from_document,
    shown_questions,
    walk,
)
from tests.support.patients import HEALTHY_ADULT
from tests.support.strategies import answer_to, some_answers

DEFAULT = ruleset_from_document(default_document())

FAST = settings(max_examples=200, deadline=None)

# ---------------------------------------------------------------------------------------------
# The default rule set as /work/shared/clinical/facts.md gives it, hard-coded on purpose.
# ---------------------------------------------------------------------------------------------

ADULT_AGES = ("12_to_17", "18_to_64", "65_or_over")
# Pregnancy and breastfeeding are asked of 12 to 64 year olds (version 2).
CHILDBEARING_AGES = ("12_to_17", "18_to_64")
STARTED = ("under_8_weeks", "8_weeks_or_more")

# question id -> (options in order, multiple, show_when as {question: options})
FACTS_QUESTIONS: dict[str, tuple[tuple[str, ...], bool, dict[str, set[str]]]] = {
    "urgent_symptoms": (("yes", "no"), False, {}),
    "condition": (("atopic_dermatitis", "vitiligo", "psoriasis", "other", "not_sure"), False, {}),
    "age_group": (("under_2", "2_to_11", "12_to_17", "18_to_64", "65_or_over"), False, {}),
    "allergy": (("yes", "no", "not_sure"), False, {}),
    "pregnancy": (("pregnant", "trying", "could_be", "no"), False, {"age_group": set(CHILDBEARING_AGES)}),
    "breastfeeding": (("yes", "no"), False, {"age_group": set(CHILDBEARING_AGES)}),
    "weakened_immunity": (("yes", "no", "not_sure"), False, {}),
    "other_medicines": (
        (
            "immunosuppressant_tablets",
            "biologic_injections",
            "jak_inhibitor_tablets",
            "steroid_on_skin",
            "other_skin_products",
            "strong_cyp3a4_inhibitors",
            "none",
        ),
        True,
        {},
    ),
    "infection_now": (("yes", "no", "not_sure"), False, {}),
    "infection_history": (("tuberculosis", "hepatitis_b_or_c", "shingles", "fungal_region", "none"), True, {}),
    "health_conditions": (
        ("heart_or_stroke", "blood_clots", "cancer", "smoker", "diabetes", "lung_disease", "high_cholesterol", "none"),
        True,
        {},
    ),
    "skin_to_treat": (("broken_or_infected", "near_eyes_mouth_genitals", "none"), True, {}),
    "area_size": (("up_to_10_palms", "10_to_20_palms", "more_than_20_palms", "not_sure"), False, {}),
    "treatment_stage": (("not_started", "under_8_weeks", "8_weeks_or_more"), False, {}),
    "amount": (("within_limit", "over_limit", "not_sure"), False, {"treatment_stage": set(STARTED)}),
    "side_effects": (
        ("skin_reaction", "infection_signs", "shingles_or_cold_sores", "bleeding_bruising_tiredness", "none"),
        True,
        {"treatment_stage": set(STARTED)},
    ),
}

# rule id -> (level, conditions as {question: options}), in the order of facts.md
FACTS_RULES: dict[str, tuple[str, dict[str, set[str]]]] = {
    "urgent-symptoms": ("urgent", {"urgent_symptoms": {"yes"}}),
    "allergy": ("do_not_use", {"allergy": {"yes"}}),
    "allergy-unsure": ("talk_first", {"allergy": {"not_sure"}}),
    "pregnancy": ("do_not_use", {"pregnancy": {"pregnant", "trying", "could_be"}}),
    "breastfeeding": ("do_not_use", {"breastfeeding": {"yes"}}),
    "weakened-immunity": ("do_not_use", {"weakened_immunity": {"yes"}}),
    "weakened-immunity-unsure": ("talk_first", {"weakened_immunity": {"not_sure"}}),
    "combined-immunosuppressants": (
        "do_not_use",
        {"other_medicines": {"immunosuppressant_tablets", "biologic_injections", "jak_inhibitor_tablets"}},
    ),
    "other-skin-medicines": ("talk_first", {"other_medicines": {"steroid_on_skin", "other_skin_products"}}),
    "cyp3a4-inhibitors": ("talk_first", {"other_medicines": {"strong_cyp3a4_inhibitors"}}),
    "active-infection": ("talk_first", {"infection_now": {"yes", "not_sure"}}),
    "infection-while-using": ("stop_and_call", {"infection_now": {"yes"}, "treatment_stage": set(STARTED)}),
    "infection-history": (
        "talk_first",
        {"infection_history": {"tuberculosis", "hepatitis_b_or_c", "shingles", "fungal_region"}},
    ),
    "heart-clot-risk": ("talk_first", {"health_conditions": {"heart_or_stroke", "blood_clots", "smoker"}}),
    "cancer-history": ("talk_first", {"health_conditions": {"cancer"}}),
    "diabetes-or-lung-disease": ("talk_first", {"health_conditions": {"diabetes", "lung_disease"}}),
    "high-cholesterol": ("take_care", {"health_conditions": {"high_cholesterol"}}),
    "older-adult": ("take_care", {"age_group": {"65_or_over"}}),
    "older-adult-with-conditions": (
        "talk_first",
        {
            "age_group": {"65_or_over"},
            "health_conditions": {"heart_or_stroke", "blood_clots", "cancer", "diabetes", "lung_disease"},
        },
    ),
    "child-2-to-11": ("talk_first", {"age_group": {"2_to_11"}}),
    "under-2": ("do_not_use", {"age_group": {"under_2"}}),
    "vitiligo-under-12": ("do_not_use", {"condition": {"vitiligo"}, "age_group": {"under_2", "2_to_11"}}),
    "not-approved-condition": ("talk_first", {"condition": {"psoriasis", "other", "not_sure"}}),
    "broken-or-infected-skin": ("talk_first", {"skin_to_treat": {"broken_or_infected"}}),
    "eyes-mouth-mucosa": ("take_care", {"skin_to_treat": {"near_eyes_mouth_genitals"}}),
    "large-area": (
        "talk_first",
        {"condition": {"atopic_dermatitis", "psoriasis", "other", "not_sure"}, "area_size": {"more_than_20_palms"}},
    ),
    "vitiligo-large-area": (
        "talk_first",
        {"condition": {"vitiligo"}, "area_size": {"10_to_20_palms", "more_than_20_palms"}},
    ),
    "area-unsure": ("take_care", {"area_size": {"not_sure"}}),
    "long-term-use": ("take_care", {"treatment_stage": {"8_weeks_or_more"}}),
    "eczema-long-use": ("talk_first", {"condition": {"atopic_dermatitis"}, "treatment_stage": {"8_weeks_or_more"}}),
    "over-weekly-limit": ("talk_first", {"amount": {"over_limit", "not_sure"}}),
    "skin-reaction": ("stop_and_call", {"side_effects": {"skin_reaction"}}),
    "infection-signs": ("stop_and_call", {"side_effects": {"infection_signs"}}),
    "shingles-signs": ("stop_and_call", {"side_effects": {"shingles_or_cold_sores"}}),
    "blood-count-signs": ("stop_and_call", {"side_effects": {"bleeding_bruising_tiredness"}}),
}

SOURCE_CODES = [f"S{n}" for n in range(1, 12)] + [f"L{n}" for n in range(1, 12)]


def patient(**changes: tuple[str, ...] | None) -> dict[str, tuple[str, ...]]:
    """The healthy adult with some answers changed; None removes an answer."""
    answers = dict(HEALTHY_ADULT)
    for question_id, value in changes.items():
        if value is None:
            answers.pop(question_id, None)
        else:
            answers[question_id] = value
    return answers


def shown_ids(ruleset: RuleSet, answers: dict[str, tuple[str, ...]]) -> list[str]:
    return [q.id for q in shown_questions(ruleset, answers)]


def fired_ids(ruleset: RuleSet, answers: dict[str, tuple[str, ...]]) -> list[str]:
    return [rule.id for rule in evaluate(ruleset, answers).fired]


# ---------------------------------------------------------------------------------------------
# Level
# ---------------------------------------------------------------------------------------------


def test_it_orders_levels_from_urgent_down_to_take_care() -> None:
    assert Level.URGENT > Level.STOP_AND_CALL > Level.DO_NOT_USE > Level.TALK_FIRST > Level.TAKE_CARE
    assert Level.TAKE_CARE < Level.TALK_FIRST < Level.DO_NOT_USE < Level.STOP_AND_CALL < Level.URGENT
    assert not Level.TAKE_CARE > Level.URGENT
    assert not Level.URGENT < Level.URGENT


def test_it_sorts_levels_least_severe_first_and_finds_the_most_severe() -> None:
    levels = list(Level)
    random.Random(4).shuffle(levels)
    assert sorted(levels) == [Level.TAKE_CARE, Level.TALK_FIRST, Level.DO_NOT_USE, Level.STOP_AND_CALL, Level.URGENT]
    assert sorted(levels, reverse=True) == list(Level)
    assert max(levels) is Level.URGENT
    assert min(levels) is Level.TAKE_CARE


def test_it_gives_a_higher_severity_to_every_more_severe_level() -> None:
    severities = [level.severity for level in Level]
    assert severities == sorted(severities, reverse=True)
    assert len(set(severities)) == len(severities)


def test_it_keeps_the_level_values_used_in_documents() -> None:
    assert Level.values == ["urgent", "stop_and_call", "do_not_use", "talk_first", "take_care"]
    assert NO_CAUTION == "none"
    assert NO_CAUTION not in Level.values


def test_it_compares_levels_with_le_and_ge_by_severity_too() -> None:
    assert Level.DO_NOT_USE >= Level.TAKE_CARE
    assert not Level.DO_NOT_USE <= Level.TAKE_CARE
    assert Level.URGENT >= Level.STOP_AND_CALL
    assert Level.TAKE_CARE <= Level.TALK_FIRST


# ---------------------------------------------------------------------------------------------
# shown_questions and next_question on the default rule set
# ---------------------------------------------------------------------------------------------


def test_it_asks_urgent_symptoms_first() -> None:
    assert next_question(DEFAULT, {}).id == "urgent_symptoms"
    assert shown_ids(DEFAULT, {})[0] == "urgent_symptoms"


def test_it_asks_the_questions_in_the_order_of_the_rule_set() -> None:
    answers: dict[str, tuple[str, ...]] = {}
    asked = []
    while (question := next_question(DEFAULT, answers)) is not None:
        asked.append(question.id)
        answers[question.id] = HEALTHY_ADULT[question.id]
    assert asked == list(FACTS_QUESTIONS)


@pytest.mark.parametrize("age", ["under_2", "2_to_11"])
def test_it_hides_pregnancy_and_breastfeeding_for_young_children(age: str) -> None:
    shown = shown_ids(DEFAULT, {"age_group": (age,)})
    assert "pregnancy" not in shown
    assert "breastfeeding" not in shown
    assert "weakened_immunity" in shown


@pytest.mark.parametrize("age", CHILDBEARING_AGES)
def test_it_shows_pregnancy_and_breastfeeding_from_age_12_to_64(age: str) -> None:
    shown = shown_ids(DEFAULT, {"age_group": (age,)})
    assert "pregnancy" in shown
    assert "breastfeeding" in shown


def test_it_does_not_ask_people_65_or_over_about_pregnancy_or_breastfeeding() -> None:
    shown = shown_ids(DEFAULT, {"age_group": ("65_or_over",)})
    assert "pregnancy" not in shown
    assert "breastfeeding" not in shown
    assert "weakened_immunity" in shown


def test_it_hides_pregnancy_and_breastfeeding_until_the_age_is_known() -> None:
    shown = shown_ids(DEFAULT, {})
    assert "pregnancy" not in shown
    assert "breastfeeding" not in shown


def test_it_hides_amount_and_side_effects_before_treatment_starts() -> None:
    shown = shown_ids(DEFAULT, {"treatment_stage": ("not_started",)})
    assert "amount" not in shown
    assert "side_effects" not in shown
    assert shown[-1] == "treatment_stage"


@pytest.mark.parametrize("stage", STARTED)
def test_it_shows_amount_and_side_effects_once_treatment_has_started(stage: str) -> None:
    shown = shown_ids(DEFAULT, {"treatment_stage": (stage,)})
    assert shown[-2:] == ["amount", "side_effects"]


def test_it_skips_hidden_questions_when_choosing_the_next_one() -> None:
    answers = {q: HEALTHY_ADULT[q] for q in ("urgent_symptoms", "condition", "allergy")}
    answers["age_group"] = ("2_to_11",)
    assert next_question(DEFAULT, answers).id == "weakened_immunity"
    answers["age_group"] = ("18_to_64",)
    assert next_question(DEFAULT, answers).id == "pregnancy"


def test_it_has_no_next_question_when_every_shown_question_is_answered() -> None:
    child = patient(age_group=("2_to_11",), pregnancy=None, breastfeeding=None)
    child.update(treatment_stage=("not_started",))
    del child["amount"], child["side_effects"]
    assert next_question(DEFAULT, child) is None
    assert next_question(DEFAULT, HEALTHY_ADULT) is None
    assert next_question(DEFAULT, patient(side_effects=None)).id == "side_effects"


def test_it_counts_only_the_answers_to_shown_questions() -> None:
    answers = patient(age_group=("2_to_11",), treatment_stage=("not_started",))
    counted = counted_answers(DEFAULT, answers)
    assert set(answers) - set(counted) == {"pregnancy", "breastfeeding", "amount", "side_effects"}
    assert all(counted[q] == answers[q] for q in counted)


def test_it_does_not_let_a_hidden_answer_show_a_later_question() -> None:
    gate = Question("gate", "Gate?", (Option("open", "Open"), Option("shut", "Shut")))
    middle = Question(
        "middle",
        "Middle?",
        (Option("on", "On"), Option("off", "Off")),
        show_when=(AnswerIn("gate", frozenset({"open"})),),
    )
    last = Question(
        "last", "Last?", (Option("x", "X"), Option("y", "Y")), show_when=(AnswerIn("middle", frozenset({"on"})),)
    )
    ruleset = RuleSet(questions=(gate, middle, last), rules=())
    assert shown_ids(ruleset, {"gate": ("shut",), "middle": ("on",)}) == ["gate"]
    assert shown_ids(ruleset, {"gate": ("open",), "middle": ("on",)}) == ["gate", "middle", "last"]


# ---------------------------------------------------------------------------------------------
# evaluate
# ---------------------------------------------------------------------------------------------


def test_it_ignores_an_answer_to_a_hidden_question_and_fires_no_rule_from_it() -> None:
    outcome = evaluate(DEFAULT, {"age_group": ("2_to_11",), "pregnancy": ("pregnant",)})
    assert outcome.ignored == ("pregnancy",)
    assert [rule.id for rule in outcome.fired] == ["child-2-to-11"]
    assert outcome.overall == "talk_first"


def test_it_ignores_the_amount_before_treatment_starts() -> None:
    answers = {"treatment_stage": ("not_started",), "amount": ("over_limit",), "side_effects": ("skin_reaction",)}
    outcome = evaluate(DEFAULT, answers)
    assert outcome.ignored == ("amount", "side_effects")
    assert outcome.fired == ()
    assert outcome.overall == NO_CAUTION


def test_it_ignores_an_answer_to_a_question_the_rule_set_does_not_have() -> None:
    outcome = evaluate(DEFAULT, {"favourite_colour": ("blue",), "allergy": ("yes",)})
    assert outcome.ignored == ("favourite_colour",)
    assert [rule.id for rule in outcome.fired] == ["allergy"]


def test_it_lists_outcomes_most_severe_first_and_in_rule_order_within_a_level() -> None:
    answers = patient(
        pregnancy=("pregnant",),
        allergy=("yes",),
        infection_now=("yes",),
        skin_to_treat=("broken_or_infected", "near_eyes_mouth_genitals"),
        treatment_stage=("8_weeks_or_more",),
        side_effects=("skin_reaction", "bleeding_bruising_tiredness"),
    )
    outcome = evaluate(DEFAULT, answers)
    assert [rule.id for rule in outcome.fired] == [
        "infection-while-using",
        "skin-reaction",
        "blood-count-signs",
        "allergy",
        "pregnancy",
        "active-infection",
        "broken-or-infected-skin",
        "eczema-long-use",
        "eyes-mouth-mucosa",
        "long-term-use",
    ]
    assert outcome.overall == "stop_and_call"
    assert [(level, [r.id for r in rules]) for level, rules in outcome.by_level()] == [
        (Level.STOP_AND_CALL, ["infection-while-using", "skin-reaction", "blood-count-signs"]),
        (Level.DO_NOT_USE, ["allergy", "pregnancy"]),
        (Level.TALK_FIRST, ["active-infection", "broken-or-infected-skin", "eczema-long-use"]),
        (Level.TAKE_CARE, ["eyes-mouth-mucosa", "long-term-use"]),
    ]
    assert outcome.ignored == ()


def test_its_overall_is_none_when_nothing_fires() -> None:
    outcome = evaluate(DEFAULT, HEALTHY_ADULT)
    assert outcome.fired == ()
    assert outcome.overall == "none"
    assert outcome.by_level() == []
    assert evaluate(DEFAULT, {}).overall == "none"


def test_a_rule_without_conditions_never_fires() -> None:
    rule = Rule("empty", "Empty", Level.URGENT, conditions=())
    assert not rule.fires({})
    assert not rule.fires({"anything": ("yes",)})


def test_a_rule_fires_only_when_every_condition_holds() -> None:
    rule = DEFAULT.rules[[r.id for r in DEFAULT.rules].index("vitiligo-under-12")]
    assert rule.fires({"condition": ("vitiligo",), "age_group": ("2_to_11",)})
    assert not rule.fires({"condition": ("vitiligo",), "age_group": ("18_to_64",)})
    assert not rule.fires({"condition": ("atopic_dermatitis",), "age_group": ("under_2",)})
    assert not rule.fires({"condition": ("vitiligo",)})


# ---------------------------------------------------------------------------------------------
# clean_answer
# ---------------------------------------------------------------------------------------------


def question(question_id: str) -> Question:
    found = DEFAULT.question(question_id)
    assert found is not None
    return found


@pytest.mark.parametrize(
    ("question_id", "values", "words"),
    [
        ("urgent_symptoms", ["maybe"], "is not an option"),
        ("other_medicines", ["steroid_on_skin", "aspirin"], "is not an option"),
        ("age_group", ["18_to_64", "65_or_over"], "one answer only"),
        ("other_medicines", ["steroid_on_skin", "steroid_on_skin"], "twice"),
        ("allergy", ["yes", "yes"], "twice"),
        ("other_medicines", ["none", "steroid_on_skin"], "cannot be chosen together"),
        ("side_effects", ["skin_reaction", "none"], "cannot be chosen together"),
        ("urgent_symptoms", [True], "must be option identifiers"),
        ("urgent_symptoms", [1], "must be option identifiers"),
        ("urgent_symptoms", [None], "must be option identifiers"),
        ("other_medicines", [["none"]], "must be option identifiers"),
        ("other_medicines", ["steroid_on_skin", {"id": "none"}], "must be option identifiers"),
        ("urgent_symptoms", [], "Choose an answer"),
        ("other_medicines", [], "Choose an answer"),
    ],
)
def test_it_rejects_an_answer_that_cannot_belong_to_the_question(
    question_id: str, values: list[Any], words: str
) -> None:
    with pytest.raises(AnswerError, match=words):
        clean_answer(question(question_id), values)


def test_an_answer_error_is_a_value_error() -> None:
    assert issubclass(AnswerError, ValueError)


def test_it_returns_several_options_in_the_order_of_the_question() -> None:
    cleaned = clean_answer(question("other_medicines"), ["strong_cyp3a4_inhibitors", "steroid_on_skin"])
    assert cleaned == ("steroid_on_skin", "strong_cyp3a4_inhibitors")
    assert clean_answer(question("health_conditions"), ("lung_disease", "heart_or_stroke", "cancer")) == (
        "heart_or_stroke",
        "cancer",
        "lung_disease",
    )


def test_it_accepts_one_option_and_an_exclusive_option_alone() -> None:
    assert clean_answer(question("age_group"), ["65_or_over"]) == ("65_or_over",)
    assert clean_answer(question("other_medicines"), ["none"]) == ("none",)


# ---------------------------------------------------------------------------------------------
# document_problems
# ---------------------------------------------------------------------------------------------


def small_document() -> dict[str, Any]:
    return {
        "format": FORMAT,
        "sources": [{"code": "S1", "document": "Article"}, {"code": "L1", "document": "Label"}],
        "sections": [{"id": "use", "title": "How to use", "body": ["Thin layer."], "sources": ["L1"]}],
        "questions": [
            {
                "id": "age",
                "text": "Age?",
                "options": [{"id": "child", "label": "Child"}, {"id": "adult", "label": "Adult"}],
            },
            {
                "id": "pregnant",
                "text": "Pregnant?",
                "options": [{"id": "yes", "label": "Yes"}, {"id": "no", "label": "No"}],
                "show_when": [{"question": "age", "options": ["adult"]}],
            },
            {
                "id": "medicines",
                "text": "Medicines?",
                "multiple": True,
                "options": [
                    {"id": "steroid", "label": "Steroid"},
                    {"id": "none", "label": "None", "exclusive": True},
                ],
            },
        ],
        "rules": [
            {
                "id": "pregnancy",
                "title": "Pregnancy",
                "level": "do_not_use",
                "conditions": [{"question": "pregnant", "options": ["yes"]}],
                "sources": ["S1", "L1"],
            },
            {
                "id": "child",
                "title": "Child",
                "level": "talk_first",
                "conditions": [{"question": "age", "options": ["child"]}],
                "sources": ["L1"],
            },
        ],
    }


def test_it_finds_no_problem_in_a_sound_small_document() -> None:
    assert document_problems(small_document()) == []


def test_it_finds_no_problem_in_the_default_document() -> None:
    assert document_problems(default_document()) == []


def _rule_named(document: dict[str, Any], rule_id: str) -> dict[str, Any]:
    return next(rule for rule in document["rules"] if rule["id"] == rule_id)


def _question_named(document: dict[str, Any], question_id: str) -> dict[str, Any]:
    return next(q for q in document["questions"] if q["id"] == question_id)


def _condition_with_foreign_option(document: dict[str, Any]) -> None:
    _rule_named(document, "pregnancy")["conditions"] = [{"question": "pregnant", "options": ["yes", "adult"]}]


def _skip_rule_with_foreign_option(document: dict[str, Any]) -> None:
    _question_named(document, "pregnant")["show_when"] = [{"question": "age", "options": ["yes"]}]


def _skip_rule_forward(document: dict[str, Any]) -> None:
    _question_named(document, "age")["show_when"] = [{"question": "medicines", "options": ["steroid"]}]


def _skip_rule_at_itself(document: dict[str, Any]) -> None:
    _question_named(document, "medicines")["show_when"] = [{"question": "medicines", "options": ["steroid"]}]


def _skip_rule_at_unknown_question(document: dict[str, Any]) -> None:
    _question_named(document, "pregnant")["show_when"] = [{"question": "sex", "options": ["female"]}]


def _skip_rule_at_inactive_question(document: dict[str, Any]) -> None:
    _question_named(document, "medicines")["show_when"] = [{"question": "pregnant", "options": ["no"]}]
    _question_named(document, "pregnant")["active"] = False
    _rule_named(document, "pregnancy")["active"] = False


def _skip_rule_without_options(document: dict[str, Any]) -> None:
    _question_named(document, "pregnant")["show_when"] = [{"question": "age", "options": []}]


def _duplicate_question(document: dict[str, Any]) -> None:
    document["questions"].append(copy.deepcopy(_question_named(document, "pregnant")))


def _duplicate_rule(document: dict[str, Any]) -> None:
    document["rules"].append(copy.deepcopy(_rule_named(document, "child")))


def _duplicate_source(document: dict[str, Any]) -> None:
    document["sources"].append({"code": "L1", "document": "Label again"})


def _duplicate_option(document: dict[str, Any]) -> None:
    _question_named(document, "age")["options"].append({"id": "child", "label": "Young"})


def _question_without_options(document: dict[str, Any]) -> None:
    document["questions"].append({"id": "empty", "text": "Empty?", "options": []})


def _rule_without_conditions(document: dict[str, Any]) -> None:
    _rule_named(document, "child")["conditions"] = []


def _rule_with_unknown_level(document: dict[str, Any]) -> None:
    _rule_named(document, "child")["level"] = "panic"


def _rule_with_unknown_source(document: dict[str, Any]) -> None:
    _rule_named(document, "child")["sources"] = ["L1", "X9"]


def _rule_on_unknown_question(document: dict[str, Any]) -> None:
    _rule_named(document, "child")["conditions"] = [{"question": "height", "options": ["tall"]}]


def _rule_on_inactive_question(document: dict[str, Any]) -> None:
    _question_named(document, "pregnant")["active"] = False


def _condition_without_options(document: dict[str, Any]) -> None:
    _rule_named(document, "child")["conditions"] = [{"question": "age", "options": []}]


@pytest.mark.parametrize(
    ("break_it", "words"),
    [
        (_condition_with_foreign_option, "'adult', not an option of 'pregnant'"),
        (_skip_rule_with_foreign_option, "'yes', not an option of 'age'"),
        (_skip_rule_forward, "points forward to 'medicines'"),
        (_skip_rule_at_itself, "points at the question itself"),
        (_skip_rule_at_unknown_question, "'sex', which is not an active question"),
        (_skip_rule_at_inactive_question, "'pregnant', which is not an active question"),
        (_skip_rule_without_options, "names no options of 'age'"),
        (_duplicate_question, "question identifier 'pregnant' is used 2 times"),
        (_duplicate_rule, "rule identifier 'child' is used 2 times"),
        (_duplicate_source, "source identifier 'L1' is used 2 times"),
        (_duplicate_option, "identifier 'child' is used 2 times"),
        (_question_without_options, "'empty' has no options"),
        (_rule_without_conditions, "'child' has no conditions"),
        (_rule_with_unknown_level, "unknown level 'panic'"),
        (_rule_with_unknown_source, "unknown source 'X9'"),
        (_rule_on_unknown_question, "'height', which is not an active question"),
        (_rule_on_inactive_question, "'pregnant', which is not an active question"),
        (_condition_without_options, "names no options of 'age'"),
    ],
)
def test_it_reports_each_problem_of_a_document_once_in_plain_words(break_it: Any, words: str) -> None:
    document = small_document()
    break_it(document)
    problems = document_problems(document)
    assert len(problems) == 1, problems
    assert words in problems[0]


def test_it_does_not_check_inactive_rules() -> None:
    document = small_document()
    _rule_named(document, "child").update(active=False, level="panic", conditions=[])
    assert document_problems(document) == []


def test_it_reports_a_section_that_cites_an_unknown_source() -> None:
    document = small_document()
    document["sections"][0]["sources"] = ["L1", "X9"]
    problems = document_problems(document)
    assert any("X9" in problem for problem in problems)


def test_it_builds_a_rule_set_from_the_active_questions_and_rules_only() -> None:
    document = small_document()
    _rule_named(document, "child")["active"] = False
    document["questions"].append(
        {"id": "old", "text": "Old?", "active": False, "options": [{"id": "yes", "label": "Yes"}]}
    )
    ruleset = ruleset_from_document(document, version=3, published_at="2025-01-01T00:00:00")
    assert [q.id for q in ruleset.questions] == ["age", "pregnant", "medicines"]
    assert [r.id for r in ruleset.rules] == ["pregnancy"]
    assert ruleset.question("medicines").multiple
    assert ruleset.question("medicines").option("none").exclusive
    assert ruleset.question("old") is None
    assert ruleset.rules[0].level is Level.DO_NOT_USE
    assert ruleset.rules[0].sources == ("S1", "L1")
    assert ruleset.source("L1").document == "Label"
    assert ruleset.section("use").sources == ("L1",)
    assert (ruleset.version, ruleset.published_at) == (3, "2025-01-01T00:00:00")


# ---------------------------------------------------------------------------------------------
# The default rule set against facts.md
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", SOURCE_CODES)
def test_every_source_of_facts_md_is_cited_by_an_active_rule(code: str) -> None:
    assert DEFAULT.source(code) is not None
    assert any(code in rule.sources for rule in DEFAULT.rules), f"no active rule cites {code}"


@pytest.mark.parametrize("rule_id", list(FACTS_RULES))
def test_every_rule_of_facts_md_is_active_with_its_level_and_conditions(rule_id: str) -> None:
    level, conditions = FACTS_RULES[rule_id]
    rules = {rule.id: rule for rule in DEFAULT.rules}
    assert rule_id in rules, f"{rule_id} is missing or inactive"
    rule = rules[rule_id]
    assert rule.level == level
    assert {c.question: set(c.options) for c in rule.conditions} == conditions
    assert len(rule.conditions) == len(conditions)


def test_only_the_warning_signs_rule_ends_the_check() -> None:
    assert [rule.id for rule in DEFAULT.rules if rule.ends_check] == ["urgent-symptoms"]


def test_large_area_never_fires_for_vitiligo_so_a_patient_sees_one_limit() -> None:
    for area in ("10_to_20_palms", "more_than_20_palms"):
        fired = fired_ids(DEFAULT, patient(condition=("vitiligo",), area_size=(area,)))
        assert "large-area" not in fired
        assert "vitiligo-large-area" in fired


def test_the_default_rules_keep_the_order_of_facts_md() -> None:
    order = [rule.id for rule in DEFAULT.rules if rule.id in FACTS_RULES]
    assert order == list(FACTS_RULES)


@pytest.mark.parametrize("question_id", list(FACTS_QUESTIONS))
def test_every_question_of_facts_md_is_active_with_its_options_and_skip_rule(question_id: str) -> None:
    options, multiple, show_when = FACTS_QUESTIONS[question_id]
    found = DEFAULT.question(question_id)
    assert found is not None, f"{question_id} is missing or inactive"
    assert found.option_ids == options
    assert found.multiple is multiple
    assert {c.question: set(c.options) for c in found.show_when} == show_when
    exclusive = {option.id for option in found.options if option.exclusive}
    assert exclusive == ({"none"} if multiple else set())


def test_the_default_questions_keep_the_order_of_facts_md() -> None:
    assert [q.id for q in DEFAULT.questions] == list(FACTS_QUESTIONS)


# ---------------------------------------------------------------------------------------------
# Property tests
# ---------------------------------------------------------------------------------------------


def draw_subset(draw: st.DrawFn, option_ids: tuple[str, ...]) -> frozenset[str]:
    """A non-empty subset, drawn as one bit mask to keep generation cheap."""
    mask = draw(st.integers(1, 2 ** len(option_ids) - 1))
    return frozenset(option for bit, option in enumerate(option_ids) if mask >> bit & 1)


def draw_condition(draw: st.DrawFn, questions: list[Question]) -> AnswerIn:
    q = questions[draw(st.integers(0, len(questions) - 1))]
    return AnswerIn(q.id, draw_subset(draw, q.option_ids))


@st.composite
def synthetic_cases(draw: st.DrawFn) -> tuple[RuleSet, dict[str, tuple[str, ...]]]:
    """A small rule set whose skip rules only use earlier questions (as document_problems demands), and answers."""
    questions: list[Question] = []
    for i in range(draw(st.integers(1, 5))):
        multiple = draw(st.booleans())
        options = [Option(f"o{j}", f"Option {j}") for j in range(draw(st.integers(1, 4)))]
        if multiple and draw(st.booleans()):
            options.append(Option("none", "None of these", exclusive=True))
        show_when = tuple(draw_condition(draw, questions) for _ in range(draw(st.integers(0, 2)))) if questions else ()
        questions.append(Question(f"q{i}", f"Question {i}?", tuple(options), multiple=multiple, show_when=show_when))
    rules = [
        Rule(
            id=f"r{i}",
            title=f"Rule {i}",
            level=draw(st.sampled_from(list(Level))),
            conditions=tuple(draw_condition(draw, questions) for _ in range(draw(st.integers(1, 3)))),
        )
        for i in range(draw(st.integers(0, 6)))
    ]
    ruleset = RuleSet(questions=tuple(questions), rules=tuple(rules))
    return ruleset, draw(some_answers(ruleset))


DEFAULT_CASES = st.tuples(st.just(DEFAULT), some_answers(DEFAULT))
CASES = st.one_of(DEFAULT_CASES, synthetic_cases())


@FAST
@given(CASES)
def test_the_generated_answers_are_valid_answers(case: tuple[RuleSet, dict[str, tuple[str, ...]]]) -> None:
    ruleset, answers = case
    for question_id, answer in answers.items():
        q = ruleset.question(question_id)
        assert clean_answer(q, list(reversed(answer))) == answer


@FAST
@given(CASES)
def test_a_question_is_shown_exactly_when_its_skip_rules_hold_on_the_counted_answers(
    case: tuple[RuleSet, dict[str, tuple[str, ...]]],
) -> None:
    ruleset, answers = case
    shown = shown_ids(ruleset, answers)
    counted = counted_answers(ruleset, answers)
    assert counted == {q: answers[q] for q in shown if q in answers}
    # Up to an answer that ends the check (tests/engine/test_ending.py covers what comes after it).
    ended_at = walk(ruleset, answers).ended_at
    reached = ruleset.questions if ended_at is None else ruleset.questions[: ruleset.questions.index(ended_at) + 1]
    for q in reached:
        holds = all(set(c.options) & set(counted.get(c.question, ())) for c in q.show_when)
        assert (q.id in shown) == holds


@FAST
@given(CASES)
def test_a_rule_fires_exactly_when_all_its_conditions_hold_on_the_counted_answers(
    case: tuple[RuleSet, dict[str, tuple[str, ...]]],
) -> None:
    ruleset, answers = case
    counted = counted_answers(ruleset, answers)
    expected = {
        rule.id
        for rule in ruleset.rules
        if rule.conditions and all(set(c.options) & set(counted.get(c.question, ())) for c in rule.conditions)
    }
    outcome = evaluate(ruleset, answers)
    assert {rule.id for rule in outcome.fired} == expected
    assert len(outcome.fired) == len(expected)
    assert set(outcome.ignored) == set(answers) - set(counted)


@FAST
@given(CASES, st.data())
def test_hidden_questions_never_change_the_outcome(
    case: tuple[RuleSet, dict[str, tuple[str, ...]]], data: st.DataObject
) -> None:
    ruleset, answers = case
    fired = fired_ids(ruleset, answers)
    shown = shown_ids(ruleset, answers)
    hidden = [q for q in ruleset.questions if q.id not in shown]
    for q in hidden:
        without = {k: v for k, v in answers.items() if k != q.id}
        changed = {**answers, q.id: data.draw(answer_to(q), label=f"new answer to {q.id}")}
        for variant in (without, changed):
            assert fired_ids(ruleset, variant) == fired
            assert shown_ids(ruleset, variant) == shown
        assert q.id in evaluate(ruleset, changed).ignored
        assert q.id not in evaluate(ruleset, without).ignored


@FAST
@given(CASES)
def test_the_overall_result_is_the_most_severe_fired_level_or_none(
    case: tuple[RuleSet, dict[str, tuple[str, ...]]],
) -> None:
    ruleset, answers = case
    outcome = evaluate(ruleset, answers)
    if outcome.fired:
        assert outcome.overall == max(rule.level for rule in outcome.fired).value
    else:
        assert outcome.overall == "none"
    assert (outcome.overall == "none") == (not outcome.fired)
    severities = [rule.level.severity for rule in outcome.fired]
    assert severities == sorted(severities, reverse=True)
    rule_order = [rule.id for rule in ruleset.rules]
    for _level, rules in outcome.by_level():
        positions = [rule_order.index(rule.id) for rule in rules]
        assert positions == sorted(positions)


@FAST
@given(CASES, st.data())
def test_adding_an_option_to_a_multiple_choice_answer_never_removes_an_outcome(
    case: tuple[RuleSet, dict[str, tuple[str, ...]]], data: st.DataObject
) -> None:
    ruleset, answers = case
    before = fired_ids(ruleset, answers)
    shown = shown_ids(ruleset, answers)
    for q in ruleset.questions:
        answer = answers.get(q.id, ())
        if not (q.multiple and q.id in shown and answer) or any(q.option(o).exclusive for o in answer):
            continue
        extra = [o.id for o in q.options if not o.exclusive and o.id not in answer]
        if not extra:
            continue
        added = data.draw(st.sampled_from(extra), label=f"option added to {q.id}")
        bigger = clean_answer(q, [*answer, added])
        after = fired_ids(ruleset, {**answers, q.id: bigger})
        assert set(before) <= set(after)
        assert q.id in shown_ids(ruleset, {**answers, q.id: bigger})
        if ruleset is DEFAULT:
            # No default question depends on a multiple-choice one, so nothing else can change.
            assert shown_ids(ruleset, {**answers, q.id: bigger}) == shown


@FAST
@given(CASES, st.data())
def test_answering_the_next_question_in_turn_ends_the_check_within_one_pass(
    case: tuple[RuleSet, dict[str, tuple[str, ...]]], data: st.DataObject
) -> None:
    ruleset, answers = case
    answers = dict(answers)
    for _step in range(len(ruleset.questions) + 1):
        q = next_question(ruleset, answers)
        if q is None:
            break
        assert q.id in shown_ids(ruleset, answers)
        assert q.id not in answers
        answers[q.id] = data.draw(answer_to(q), label=f"answer to {q.id}")
    else:
        pytest.fail("next_question still asks after every question had its turn")
    assert all(q.id in answers for q in shown_questions(ruleset, answers))


@FAST
@given(CASES, st.randoms(use_true_random=False))
def test_evaluate_is_deterministic_and_independent_of_the_order_of_answers(
    case: tuple[RuleSet, dict[str, tuple[str, ...]]], rnd: random.Random
) -> None:
    ruleset, answers = case
    items = list(answers.items())
    rnd.shuffle(items)
    shuffled = dict(items)
    first, again, other = evaluate(ruleset, answers), evaluate(ruleset, answers), evaluate(ruleset, shuffled)
    assert first == again
    assert first.fired == other.fired
    assert first.overall == other.overall
    assert sorted(first.ignored) == sorted(other.ignored)
    assert shown_questions(ruleset, answers) == shown_questions(ruleset, shuffled)
