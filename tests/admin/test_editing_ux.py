"""Editing that fits a clinician: conditions picked as checkboxes under their question, a new option placed
after the others with "none of these" last, errors in plain words, delete pages that say what is affected
and ask why, and a reason for every change to a test patient.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from screening.drafts import draft_document
from screening.engine import RuleSet
from screening.models import Condition, Option, Question, Rule, Scenario
from tests.support.admin_forms import admin_form_data
from tests.support.client import page_text

pytestmark = pytest.mark.usefixtures("published_rules")


def rule_url(identifier: str = "allergy") -> str:
    return reverse("admin:screening_rule_change", args=[Rule.objects.get(identifier=identifier).pk])


def question_url(identifier: str, view: str = "change") -> str:
    return reverse(f"admin:screening_question_{view}", args=[Question.objects.get(identifier=identifier).pk])


def fieldsets(html: str) -> list[str]:
    return re.findall(r"<fieldset[^>]*>.*?</fieldset>", html, flags=re.S)


# ---------------------------------------------------------------------------------------------
# The condition picker
# ---------------------------------------------------------------------------------------------


def test_the_condition_picker_shows_each_questions_options_as_checkboxes_under_its_question(
    clinician_client: Client,
) -> None:
    html = page_text(clinician_client.get(rule_url()))
    allergy = Question.objects.get(identifier="allergy")
    groups = [f for f in fieldsets(html) if 'name="conditions-0-options"' in f]
    assert len(groups) == Question.objects.count()
    mine = next(g for g in groups if f"<legend>{allergy.text}" in g)
    boxes = re.findall(r'<input type="checkbox" name="conditions-0-options" value="(\d+)"[^>]*>', mine)
    assert sorted(map(int, boxes)) == sorted(allergy.options.values_list("pk", flat=True))
    yes = allergy.options.get(identifier="yes")
    assert re.search(rf'value="{yes.pk}"[^>]*checked', mine)
    assert "<select" not in html.split('name="conditions-0-options"')[0].rsplit("<td", 1)[-1]


def test_the_condition_picker_still_refuses_an_option_of_another_question(clinician_client: Client) -> None:
    page = clinician_client.get(rule_url())
    data = admin_form_data(page)
    other = Option.objects.get(question__identifier="pregnancy", identifier="pregnant")
    data["conditions-0-options"] = [str(other.pk)]
    response = clinician_client.post(rule_url(), data)
    assert response.status_code == 200
    assert "belong to another question" in page_text(response)


# ---------------------------------------------------------------------------------------------
# Where a new option goes
# ---------------------------------------------------------------------------------------------


def add_option(client: Client, question: str, **row: str) -> Any:
    url = question_url(question)
    data = admin_form_data(client.get(url), reason="A new answer patients asked for")
    index = int(data["options-TOTAL_FORMS"])
    data["options-TOTAL_FORMS"] = str(index + 1)
    data.update({f"options-{index}-{name}": value for name, value in row.items()})
    return client.post(url, data)


def test_a_new_option_with_the_order_left_alone_goes_after_the_others_and_none_of_these_stays_last(
    clinician_client: Client,
) -> None:
    response = add_option(
        clinician_client, "other_medicines", identifier="cream_for_acne", label="A cream for acne", order="0"
    )
    assert response.status_code == 302, page_text(response)[:3000]
    order = list(Option.objects.filter(question__identifier="other_medicines").values_list("identifier", flat=True))
    assert order[-2:] == ["cream_for_acne", "none"]
    question = next(q for q in draft_document()["questions"] if q["id"] == "other_medicines")
    assert [o["id"] for o in question["options"]][-2:] == ["cream_for_acne", "none"]


def test_a_new_option_with_a_high_order_still_comes_before_none_of_these(clinician_client: Client) -> None:
    response = add_option(clinician_client, "other_medicines", identifier="cream_for_acne", label="Acne", order="65")
    assert response.status_code == 302, page_text(response)[:3000]
    order = list(Option.objects.filter(question__identifier="other_medicines").values_list("identifier", flat=True))
    assert order[-1] == "none"


def test_an_option_a_rule_uses_cannot_be_deleted_and_the_page_names_the_rule(clinician_client: Client) -> None:
    url = question_url("allergy")
    page = clinician_client.get(url)
    data = admin_form_data(page, reason="Tidy up")
    yes = Option.objects.get(question__identifier="allergy", identifier="yes")
    index = next(i for i in range(int(data["options-TOTAL_FORMS"])) if data[f"options-{i}-id"] == str(yes.pk))
    data[f"options-{index}-DELETE"] = "on"
    response = clinician_client.post(url, data)
    assert response.status_code == 200
    rule = Rule.objects.get(identifier="allergy")
    assert f"The option “Yes” is used by the rule “{rule.title}”" in page_text(response)
    assert Option.objects.filter(pk=yes.pk).exists()


# ---------------------------------------------------------------------------------------------
# Errors in plain words
# ---------------------------------------------------------------------------------------------


def test_a_rule_without_conditions_says_what_it_needs_in_plain_words(clinician_client: Client) -> None:
    page = clinician_client.get(rule_url())
    data = admin_form_data(page)
    for index in range(int(data["conditions-TOTAL_FORMS"])):
        data[f"conditions-{index}-DELETE"] = "on"
    response = clinician_client.post(rule_url(), data)
    assert response.status_code == 200
    text = page_text(response)
    assert "A rule needs at least one condition: add the answer that makes it apply." in text
    assert "Please submit at least" not in text
    assert Condition.objects.filter(rule__identifier="allergy").exists()


def test_a_missing_required_field_is_named_in_its_error(clinician_client: Client) -> None:
    data = admin_form_data(clinician_client.get(rule_url()))
    data["title"] = ""
    text = page_text(clinician_client.post(rule_url(), data))
    assert "This field is required." not in text
    assert "Enter the title." in text


# ---------------------------------------------------------------------------------------------
# Delete pages
# ---------------------------------------------------------------------------------------------


def test_deleting_a_question_lists_the_rules_that_lose_conditions_and_the_test_patients_that_answer_it(
    clinician_client: Client,
) -> None:
    text = page_text(clinician_client.get(question_url("allergy", "delete")))
    rule = Rule.objects.get(identifier="allergy")
    assert rule.title in text
    answering = [s.name for s in Scenario.objects.all() if "allergy" in s.answers]
    assert answering and all(name in text for name in answering)
    assert "object (" not in text
    assert 'name="change_reason"' in text


def test_deleting_a_question_requires_a_reason_that_the_history_keeps(clinician_client: Client) -> None:
    url = question_url("breastfeeding", "delete")
    refused = clinician_client.post(url, {"post": "yes"})
    assert refused.status_code == 200
    assert "Give the reason for this change." in page_text(refused)
    assert Question.objects.filter(identifier="breastfeeding").exists()

    reason = "Covered by the pregnancy question now"
    deleted = clinician_client.post(url, {"post": "yes", "change_reason": reason})
    assert deleted.status_code == 302
    assert not Question.objects.filter(identifier="breastfeeding").exists()
    record = Question.history.filter(identifier="breastfeeding").latest("history_date")
    assert (record.history_type, record.history_change_reason) == ("-", reason)
    assert record.history_user is not None and record.history_user.username == "clinician"
    conditions = Condition.history.filter(question_id=record.id, history_type="-")
    assert conditions.exists() and {c.history_change_reason for c in conditions} == {reason}


def test_deleting_a_rule_names_the_test_patients_that_expect_it(clinician_client: Client) -> None:
    rule = Rule.objects.get(identifier="allergy")
    text = page_text(clinician_client.get(reverse("admin:screening_rule_delete", args=[rule.pk])))
    expecting = [s.name for s in Scenario.objects.all() if "allergy" in s.expected_rules]
    assert expecting and all(name in text for name in expecting)
    assert "object (" not in text


def test_deleting_in_bulk_from_a_list_is_not_offered_because_it_would_ask_no_reason(
    clinician_client: Client,
) -> None:
    for model in ("question", "rule", "source", "guidancesection", "scenario"):
        text = page_text(clinician_client.get(reverse(f"admin:screening_{model}_changelist")))
        assert "delete_selected" not in text, model


# ---------------------------------------------------------------------------------------------
# Test patients: a reason for every change
# ---------------------------------------------------------------------------------------------


def test_a_history_page_says_who_and_why_in_words(clinician_client: Client) -> None:
    data = admin_form_data(clinician_client.get(rule_url()), reason="Shorter title")
    data["title"] = "Allergy to the cream"
    data["sources"] = []
    assert clinician_client.post(rule_url(), data).status_code == 302
    rule = Rule.objects.get(identifier="allergy")
    text = page_text(clinician_client.get(reverse("admin:screening_rule_history", args=[rule.pk])))
    assert "Shorter title" in text and "clinician" in text
    assert "this object" not in text and ">None<" not in text.replace(" ", "").replace("\n", "")
    assert "Title:" in text and "Sources:" in text and "[]" not in text


def test_a_test_patient_change_needs_a_reason_that_its_history_keeps(clinician_client: Client) -> None:
    scenario = Scenario.objects.order_by("name").first()
    assert scenario is not None
    url = reverse("admin:screening_scenario_change", args=[scenario.pk])
    page = clinician_client.get(url)
    refused = clinician_client.post(url, {**admin_form_data(page, reason=None), "active": ""})
    assert refused.status_code == 200
    assert "Reason for this change" in page_text(refused)
    assert Scenario.objects.get(pk=scenario.pk).active is True

    reason = "Guards a rule we retired"
    saved = clinician_client.post(url, {**admin_form_data(page, reason=reason), "active": ""})
    assert saved.status_code == 302
    record = Scenario.history.filter(id=scenario.pk).latest("history_date")
    assert (record.active, record.history_change_reason) == (False, reason)
    history = page_text(clinician_client.get(reverse("admin:screening_scenario_history", args=[scenario.pk])))
    assert reason in history


def test_deleting_a_test_patient_requires_a_reason_that_the_history_keeps(clinician_client: Client) -> None:
    scenario = Scenario.objects.order_by("name").first()
    assert scenario is not None
    url = reverse("admin:screening_scenario_delete", args=[scenario.pk])
    assert clinician_client.post(url, {"post": "yes"}).status_code == 200
    assert Scenario.objects.filter(pk=scenario.pk).exists()
    assert clinician_client.post(url, {"post": "yes", "change_reason": "A duplicate"}).status_code == 302
    record = Scenario.history.filter(id=scenario.pk).latest("history_date")
    assert (record.history_type, record.history_change_reason) == ("-", "A duplicate")


# ---------------------------------------------------------------------------------------------
# No Django words on the workflow's pages
# ---------------------------------------------------------------------------------------------


def workflow_pages() -> list[str]:
    objects = {
        "question": Question.objects.get(identifier="allergy").pk,
        "rule": Rule.objects.get(identifier="allergy").pk,
        "source": Rule.objects.get(identifier="allergy").sources.values_list("pk", flat=True)[0],
        "scenario": Scenario.objects.order_by("name").values_list("pk", flat=True)[0],
    }
    pages = [reverse("admin:index")]
    for model, pk in objects.items():
        pages.append(reverse(f"admin:screening_{model}_changelist"))
        pages.append(reverse(f"admin:screening_{model}_add"))
        pages += [reverse(f"admin:screening_{model}_{view}", args=[pk]) for view in ("change", "history", "delete")]
    return pages


def test_no_page_of_the_editing_workflow_speaks_django(clinician_client: Client, published_rules: RuleSet) -> None:
    # Give every object a history worth showing: save the rule and a test patient once.
    data = admin_form_data(clinician_client.get(rule_url()))
    data["conditions-0-options"] = [str(Option.objects.get(question__identifier="allergy", identifier="yes").pk)]
    clinician_client.post(rule_url(), data)
    for url in workflow_pages():
        text = page_text(clinician_client.get(url))
        for django_words in ("object (", "Please submit at least"):
            assert django_words not in text, (url, django_words)
