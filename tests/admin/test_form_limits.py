"""The admin refuses what an import refuses: the same limits whichever way a change comes in."""

from __future__ import annotations

import json

from django.test import Client
from django.urls import reverse

from screening.engine import RuleSet
from screening.models import Option, Question, Rule, Scenario
from screening.validation import LONG_TEXT_MAX_LENGTH
from tests.support.admin_forms import admin_form_data


def test_a_rule_message_longer_than_an_import_allows_is_refused(
    clinician_client: Client, published_rules: RuleSet
) -> None:
    rule = Rule.objects.get(identifier="allergy")
    url = reverse("admin:screening_rule_change", args=[rule.pk])
    page = clinician_client.get(url)
    assert f'maxlength="{LONG_TEXT_MAX_LENGTH}"' in page.content.decode()
    data = admin_form_data(page, reason="A very long message")
    data["message"] = "Word " * (LONG_TEXT_MAX_LENGTH // 5 + 1)
    response = clinician_client.post(url, data)
    assert response.status_code == 200
    assert "Ensure this value has at most" in response.content.decode()
    assert Rule.objects.get(pk=rule.pk).message == rule.message


def test_a_second_none_of_these_option_is_refused(clinician_client: Client, published_rules: RuleSet) -> None:
    question = Question.objects.get(identifier="side_effects")
    assert question.options.filter(exclusive=True).count() == 1
    url = reverse("admin:screening_question_change", args=[question.pk])
    data = admin_form_data(clinician_client.get(url), reason="Two ways to say none")
    index = next(i for i, option in enumerate(question.options.all()) if not option.exclusive)
    data[f"options-{index}-exclusive"] = "on"
    response = clinician_client.post(url, data)
    assert response.status_code == 200
    assert "Only one option of a question can be “none of these”." in response.content.decode()
    assert Option.objects.filter(question=question, exclusive=True).count() == 1


def test_test_patient_answers_must_be_answers_by_question(clinician_client: Client, published_rules: RuleSet) -> None:
    scenario = Scenario.objects.order_by("name").first()
    assert scenario is not None
    url = reverse("admin:screening_scenario_change", args=[scenario.pk])
    data = admin_form_data(clinician_client.get(url), reason=None)
    data["answers"] = json.dumps(["allergy", "no"])
    response = clinician_client.post(url, data)
    assert response.status_code == 200
    assert "Answers: should be an object of question identifiers and answers, not a list." in response.content.decode()
    assert Scenario.objects.get(pk=scenario.pk).answers == scenario.answers
    # And a run of every test patient still works.
    assert clinician_client.post(reverse("admin:screening_scenario_run")).status_code == 200
