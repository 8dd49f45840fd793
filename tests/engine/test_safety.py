"""The safety net: which changes from the live rule set to the draft weaken it (pure, no database)."""

from __future__ import annotations

import copy

from hypothesis import given
from hypothesis import strategies as st

from screening.safety import QUESTION, RULE, TEST_PATIENT, guards, safety_items
from tests.support.documents import Document, default_document, item_of

LIVE = default_document()
GUARDING_RULES = [rule["id"] for rule in LIVE["rules"] if guards(rule)]
OTHER_RULES = [rule["id"] for rule in LIVE["rules"] if not guards(rule)]
TEST_PATIENTS = [scenario["name"] for scenario in LIVE["scenarios"]]


def draft() -> Document:
    return copy.deepcopy(LIVE)


def keys(document: Document) -> list[str]:
    return [item.key for item in safety_items(LIVE, document)]


def test_an_unchanged_draft_weakens_nothing() -> None:
    assert safety_items(LIVE, draft()) == []


def test_the_urgent_rule_and_the_warning_signs_question_are_part_of_the_safety_net() -> None:
    assert "urgent-symptoms" in GUARDING_RULES
    assert "skin-reaction" in GUARDING_RULES  # stop and call
    assert "allergy" in OTHER_RULES  # do not use: not the safety net


def test_deactivating_the_urgent_rule_is_named_in_words() -> None:
    document = draft()
    item_of(document, "rules", "urgent-symptoms")["active"] = False
    [item] = safety_items(LIVE, document)
    assert item.key == "rule:urgent-symptoms:deactivated"
    assert item.concerns == RULE
    assert item.target == "urgent-symptoms"
    assert "Get medical help now" in item.sentence
    assert "switched off" in item.sentence
    assert "urgent" not in item.sentence.replace("urgent-symptoms", "")


def test_removing_a_stop_and_call_rule_is_reported() -> None:
    document = draft()
    document["rules"] = [rule for rule in document["rules"] if rule["id"] != "skin-reaction"]
    assert keys(document) == ["rule:skin-reaction:removed"]


def test_lowering_a_rule_from_stop_and_call_is_reported_with_the_new_level_in_words() -> None:
    document = draft()
    item_of(document, "rules", "skin-reaction")["level"] = "take_care"
    [item] = safety_items(LIVE, document)
    assert item.key == "rule:skin-reaction:lowered"
    assert "“Points to take care with while using it”" in item.sentence


def test_raising_a_rule_or_changing_its_wording_is_not_a_weakening() -> None:
    document = draft()
    item_of(document, "rules", "allergy")["level"] = "urgent"
    item_of(document, "rules", "urgent-symptoms")["message"] = "Call 999 now."
    assert safety_items(LIVE, document) == []


def test_a_rule_that_no_longer_ends_the_check_is_reported() -> None:
    document = draft()
    item_of(document, "rules", "urgent-symptoms")["ends_check"] = False
    assert keys(document) == ["rule:urgent-symptoms:no-longer-ends-check"]


def test_a_rule_that_ends_the_check_guards_whatever_its_level() -> None:
    live = draft()
    item_of(live, "rules", "allergy")["ends_check"] = True
    document = copy.deepcopy(live)
    item_of(document, "rules", "allergy")["active"] = False
    assert [item.key for item in safety_items(live, document)] == ["rule:allergy:deactivated"]


def test_switching_off_the_question_an_urgent_rule_reads_is_reported() -> None:
    document = draft()
    item_of(document, "questions", "urgent_symptoms")["active"] = False
    [item] = safety_items(LIVE, document)
    assert item.key == "question:urgent_symptoms:deactivated"
    assert item.concerns == QUESTION
    assert "urgent-symptoms" in item.sentence


def test_removing_a_question_only_milder_rules_read_is_not_a_safety_net_change() -> None:
    document = draft()
    item_of(document, "questions", "allergy")["active"] = False
    assert safety_items(LIVE, document) == []


def test_a_test_patient_removed_switched_off_or_expecting_something_else_is_reported() -> None:
    first, second, third = TEST_PATIENTS[:3]
    document = draft()
    document["scenarios"] = [s for s in document["scenarios"] if s["name"] != first]
    item_of(document, "scenarios", second, key="name")["active"] = False
    item_of(document, "scenarios", third, key="name")["expected_overall"] = "take_care"
    items = safety_items(LIVE, document)
    assert [item.key for item in items] == [
        f"test-patient:{first}:removed",
        f"test-patient:{second}:deactivated",
        f"test-patient:{third}:expectation",
    ]
    assert {item.concerns for item in items} == {TEST_PATIENT}
    assert "“Points to take care with while using it”" in items[2].sentence


def test_a_test_patient_expecting_the_same_rules_in_another_order_is_unchanged() -> None:
    document = draft()
    patient = next(s for s in document["scenarios"] if len(s["expected_rules"]) > 1)
    patient["expected_rules"] = list(reversed(patient["expected_rules"]))
    assert safety_items(LIVE, document) == []


def test_the_whole_safety_net_switched_off_lists_every_guard_rules_first() -> None:
    document = draft()
    for rule in document["rules"]:
        rule["active"] = False
    items = safety_items(LIVE, document)
    assert [item.target for item in items if item.concerns == RULE] == GUARDING_RULES
    assert items[0].concerns == RULE
    assert len({item.key for item in items}) == len(items)


@given(st.sampled_from(GUARDING_RULES), st.sampled_from(["deactivate", "remove", "lower"]))
def test_any_single_weakening_of_a_guarding_rule_is_always_reported(rule_id: str, how: str) -> None:
    document = draft()
    rule = item_of(document, "rules", rule_id)
    if how == "deactivate":
        rule["active"] = False
    elif how == "remove":
        document["rules"].remove(rule)
    else:
        rule["level"] = "take_care"
        rule["ends_check"] = False
    reported = [item for item in safety_items(LIVE, document) if item.target == rule_id]
    assert reported, (rule_id, how)
    assert all(item.concerns == RULE for item in reported)


@given(st.sampled_from(OTHER_RULES), st.sampled_from(["deactivate", "remove", "lower"]))
def test_weakening_a_rule_outside_the_safety_net_reports_nothing(rule_id: str, how: str) -> None:
    document = draft()
    rule = item_of(document, "rules", rule_id)
    if how == "deactivate":
        rule["active"] = False
    elif how == "remove":
        document["rules"].remove(rule)
    else:
        rule["level"] = "take_care"
    assert safety_items(LIVE, document) == []


@given(st.permutations(range(len(LIVE["rules"]))))
def test_the_order_of_the_draft_does_not_change_what_is_reported(order: list[int]) -> None:
    document = draft()
    document["rules"] = [document["rules"][index] for index in order]
    assert safety_items(LIVE, document) == []
