"""A rule that ends the check, in the documents: snapshot, export and `manage.py screen` carry the flag."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fhir.resources.R4B.questionnaire import Questionnaire

from screening.defaults import default_document
from screening.fhir import ENABLE_WHEN_EXPRESSION_EXTENSION, questionnaire
from tests.support.commands import screen_from_stdin
from tests.support.patients import HEALTHY_ADULT, as_lists

# ---------------------------------------------------------------------------------------------
# The documents: snapshot, import and export carry the flag
# ---------------------------------------------------------------------------------------------


def test_the_default_document_marks_only_the_warning_signs_rule_as_ending_the_check() -> None:
    flags = {r["id"]: r.get("ends_check") for r in default_document()["rules"]}
    assert flags.pop("urgent-symptoms") is True
    assert set(flags.values()) == {False}


ENDED = "%resource.item.where(linkId = 'urgent_symptoms').answer.value.where(code = 'yes').exists()"


def enable_when_expression(item: dict[str, Any]) -> str | None:
    found = [e for e in item.get("extension", []) if e["url"] == ENABLE_WHEN_EXPRESSION_EXTENSION]
    if not found:
        return None
    [extension] = found
    assert extension["valueExpression"]["language"] == "text/fhirpath"
    expression: str = extension["valueExpression"]["expression"]
    return expression


def test_the_fhir_questionnaire_enables_later_questions_only_without_the_ending_answer() -> None:
    resource = questionnaire(default_document())
    Questionnaire.model_validate(resource)
    first, *later = resource["item"]
    assert first["linkId"] == "urgent_symptoms"
    assert "enableWhen" not in first
    assert enable_when_expression(first) is None
    # Every later question stays a top-level item (no wrapper group), disabled once the check ended.
    assert [item["type"] for item in later] == ["choice"] * len(later)
    assert later[0]["linkId"] == "condition"
    assert "side_effects" in [item["linkId"] for item in later]
    for item in later:
        assert "enableWhen" not in item
        assert (enable_when_expression(item) or "").endswith(f"({ENDED}).not()"), item["linkId"]


def test_an_ending_rule_disables_only_the_questions_after_the_one_where_it_fires() -> None:
    document = default_document()
    # The warning signs asked third instead of first: the two questions before them know nothing of it.
    questions = document["questions"]
    questions.insert(2, questions.pop(0))
    items = questionnaire(document)["item"]
    assert [item["linkId"] for item in items][:3] == ["condition", "age_group", "urgent_symptoms"]
    assert [enable_when_expression(item) for item in items[:3]] == [None, None, None]
    assert all(f"({ENDED}).not()" in (enable_when_expression(item) or "") for item in items[3:])


def test_a_questionnaire_without_ending_rules_needs_no_expressions() -> None:
    document = default_document()
    for item in document["rules"]:
        item["ends_check"] = False
    resource = questionnaire(document)
    assert [item["linkId"] for item in resource["item"]][:2] == ["urgent_symptoms", "condition"]
    assert ENABLE_WHEN_EXPRESSION_EXTENSION not in json.dumps(resource)


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
