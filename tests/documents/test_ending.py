"""A rule that ends the check, in the documents: snapshot, export and `manage.py screen` carry the flag."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fhir.resources.R4B.questionnaire import Questionnaire

from screening.defaults import default_document
from screening.fhir import questionnaire
from tests.support.commands import screen_from_stdin
from tests.support.patients import HEALTHY_ADULT, as_lists

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
    return json.loads(screen_from_stdin(monkeypatch, answers))


def test_screen_lists_the_answers_after_an_ending_rule_as_ignored(published_rules, monkeypatch) -> None:
    answers = as_lists({**HEALTHY_ADULT, "urgent_symptoms": ("yes",), "allergy": ("yes",)})
    result = screen(answers, monkeypatch)
    assert result["overall"] == "urgent"
    assert [o["rule"] for o in result["outcomes"]] == ["urgent-symptoms"]
    assert result["ignored"] == [q for q in answers if q != "urgent_symptoms"]
