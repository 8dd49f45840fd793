"""The clinician's workflow in the admin: reasons and history, revert, test patients, publishing,
published versions, compare and restore, the preview, wording checks, and staff sign-in.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.apps import apps
from django.contrib.auth.models import Group, User
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection
from django.http import HttpResponse
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from screening import defaults, drafts, live, publishing
from screening.engine import RuleSet, ruleset_from_document
from screening.models import Condition, Option, PublishedRuleSet, Question, Rule, Scenario
from screening.scenarios import uncovered_rules
from screening.visit import PREVIEW_SESSION_KEY, SESSION_KEY
from tests.support import patients
from tests.support.admin_forms import admin_form_data
from tests.support.client import page_text as text
from tests.support.client import patient_session
from tests.support.patients import as_lists, walk_check

# How the run reports the allergy test patient once its rule is lowered to "take care".
ALLERGY_DIFFERENCE = (
    "Overall result is “Points to take care with while using it”, "
    "expected “Do not use it unless your doctor decides otherwise”."
)

PASSWORD = "a long enough password"
ALLERGY_SCENARIO = "Fires allergy: Allergy to the cream: do not use it"
LONG_SAFE_MESSAGE = (
    "Individuals experiencing persistent immunological complications should consult their prescribing "
    "dermatologist regarding the appropriateness of continued topical application, which is otherwise "
    "considered safe."
)
PREVIEW_BANNER = "Preview of the draft rule set"

HEALTHY_ADULT: dict[str, list[str]] = as_lists(patients.HEALTHY_ADULT)


@pytest.fixture(autouse=True)
def single_clinician_publishing(settings: Any) -> None:
    """These tests publish through the publish page, which does so only where one clinician may publish alone."""
    settings.RUXGUIDE_SINGLE_CLINICIAN_PUBLISH = True


# ---------------------------------------------------------------------------------------------
# Fixtures and helpers
# ---------------------------------------------------------------------------------------------


def rule_change_url(identifier: str) -> str:
    return reverse("admin:screening_rule_change", args=[Rule.objects.get(identifier=identifier).pk])


def change_rule_in_admin(client: Client, identifier: str, reason: str | None, **changes: str) -> HttpResponse:
    url = rule_change_url(identifier)
    data = admin_form_data(client.get(url), reason=reason)
    data.update(changes)
    return client.post(url, data)


def change_in_draft(instance: Any, reason: str, **changes: Any) -> None:
    for name, value in changes.items():
        setattr(instance, name, value)
    instance._change_reason = reason
    instance.save()


def live_rule(identifier: str) -> Any:
    return next(rule for rule in live.current_ruleset().rules if rule.id == identifier)


def walk(client: Client, namespace: str, answers: dict[str, list[str]]) -> Iterator[HttpResponse]:
    """Follow the questions from `begin` to "check your answers", as a patient would, yielding each page."""
    for _, page in walk_check(client, answers, namespace=namespace):
        yield page


def walk_to_result(client: Client, namespace: str, answers: dict[str, list[str]]) -> HttpResponse:
    for _ in walk(client, namespace, answers):
        pass
    return client.get(reverse(f"{namespace}:result"))


# ---------------------------------------------------------------------------------------------
# A reason for every change, and the audit history
# ---------------------------------------------------------------------------------------------


def test_a_change_without_a_reason_is_refused_and_nothing_is_saved(clinician_client: Client, published_rules) -> None:
    rule = Rule.objects.get(identifier="allergy")
    history_before = rule.history.count()
    response = change_rule_in_admin(clinician_client, "allergy", None, message="Wording nobody explained.")
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["change_reason"] == ["Give the reason for this change."]
    rule.refresh_from_db()
    assert rule.message != "Wording nobody explained."
    assert rule.history.count() == history_before


def test_a_blank_reason_is_refused_too(clinician_client: Client, published_rules: RuleSet) -> None:
    response = change_rule_in_admin(clinician_client, "allergy", "   ", message="Wording nobody explained.")
    assert response.status_code == 200
    assert "change_reason" in response.context["adminform"].form.errors
    assert Rule.objects.get(identifier="allergy").message != "Wording nobody explained."


def test_the_rule_history_records_who_changed_it_when_and_why(
    clinician: User, clinician_client: Client, published_rules
):
    before = timezone.now()
    response = change_rule_in_admin(
        clinician_client, "allergy", "Clearer wording agreed with dermatology", message="Do not use the cream."
    )
    assert response.status_code == 302
    record = Rule.objects.get(identifier="allergy").history.latest()
    assert record.history_type == "~"
    assert record.history_user == clinician
    assert record.history_change_reason == "Clearer wording agreed with dermatology"
    assert before <= record.history_date <= timezone.now()
    assert record.message == "Do not use the cream."
    assert record.prev_record.message != "Do not use the cream."


def test_the_admin_history_page_of_a_rule_lists_the_change_with_its_reason(clinician_client: Client, published_rules):
    change_rule_in_admin(clinician_client, "allergy", "Clearer wording agreed with dermatology", message="New.")
    rule = Rule.objects.get(identifier="allergy")
    response = clinician_client.get(reverse("admin:screening_rule_history", args=[rule.pk]))
    assert response.status_code == 200
    page = text(response)
    assert "Clearer wording agreed with dermatology" in page
    assert "clinician" in page
    assert "Default rule set loaded" in page


def test_the_change_log_shows_every_change_with_who_and_why(clinician_client: Client, published_rules) -> None:
    change_rule_in_admin(clinician_client, "allergy", "Clearer wording agreed with dermatology", message="New.")
    response = clinician_client.get(reverse("admin:screening_change_log"))
    assert response.status_code == 200
    table = re.search(r'<table class="change-log">.*?<tbody>(.*?)</tbody>', text(response), re.S).group(1)
    newest = re.findall(r"<tr>(.*?)</tr>", table, re.S)[0]
    assert "clinician" in newest
    assert "Rule: allergy" in newest
    assert "Clearer wording agreed with dermatology" in newest


def test_changing_an_option_label_records_the_reason_on_the_option(
    clinician: User, clinician_client: Client, published_rules
):
    question = Question.objects.get(identifier="allergy")
    url = reverse("admin:screening_question_change", args=[question.pk])
    data = admin_form_data(clinician_client.get(url), reason="Plainer option label")
    index = next(i for i in range(int(data["options-TOTAL_FORMS"])) if data[f"options-{i}-identifier"] == "not_sure")
    data[f"options-{index}-label"] = "I do not know"
    assert clinician_client.post(url, data).status_code == 302
    record = Option.objects.get(question=question, identifier="not_sure").history.latest()
    assert (record.label, record.history_change_reason, record.history_user) == (
        "I do not know",
        "Plainer option label",
        clinician,
    )


def test_changing_a_condition_records_the_reason_on_the_condition(
    clinician: User, clinician_client: Client, published_rules
):
    unsure = Option.objects.get(question__identifier="allergy", identifier="not_sure")
    response = change_rule_in_admin(
        clinician_client, "allergy", "Unsure counts as allergic", **{"conditions-0-options": [str(unsure.pk)]}
    )
    assert response.status_code == 302
    condition = Condition.objects.get(rule__identifier="allergy")
    assert list(condition.options.values_list("identifier", flat=True)) == ["not_sure"]
    record = condition.history.latest()
    assert (record.history_change_reason, record.history_user) == ("Unsure counts as allergic", clinician)


def test_reverting_to_an_earlier_version_restores_the_old_message_and_is_itself_in_the_history(
    clinician: User, clinician_client: Client, published_rules: RuleSet
) -> None:
    rule = Rule.objects.get(identifier="allergy")
    original = rule.history.latest()
    change_rule_in_admin(clinician_client, "allergy", "Trying shorter wording", message="Do not use it.")
    assert Rule.objects.get(pk=rule.pk).message == "Do not use it."

    url = reverse("admin:screening_rule_simple_history", args=[rule.pk, original.history_id])
    form_page = clinician_client.get(url)
    assert form_page.status_code == 200
    assert original.message in text(form_page)
    response = clinician_client.post(url, admin_form_data(form_page, reason="Back to the agreed wording"))
    assert response.status_code == 302

    rule.refresh_from_db()
    assert rule.message == original.message
    latest = rule.history.latest()
    assert (latest.message, latest.history_change_reason, latest.history_user) == (
        original.message,
        "Back to the agreed wording",
        clinician,
    )
    assert [r.history_change_reason for r in rule.history.all()[:3]] == [
        "Back to the agreed wording",
        "Trying shorter wording",
        original.history_change_reason,
    ]


def test_a_revert_without_a_reason_is_refused(clinician_client: Client, published_rules: RuleSet) -> None:
    rule = Rule.objects.get(identifier="allergy")
    original = rule.history.latest()
    change_rule_in_admin(clinician_client, "allergy", "Trying shorter wording", message="Do not use it.")
    url = reverse("admin:screening_rule_simple_history", args=[rule.pk, original.history_id])
    response = clinician_client.post(url, admin_form_data(clinician_client.get(url), reason=None))
    assert response.status_code == 200
    assert "change_reason" in response.context["adminform"].form.errors
    assert Rule.objects.get(pk=rule.pk).message == "Do not use it."


# ---------------------------------------------------------------------------------------------
# Test patients (scenarios)
# ---------------------------------------------------------------------------------------------


def test_the_default_rule_set_has_a_test_patient_for_every_active_rule(default_ruleset: RuleSet) -> None:
    document = defaults.default_document()
    assert len(document["scenarios"]) == 42
    assert uncovered_rules(default_ruleset, publishing.scenario_specs(document)) == []


def test_every_default_test_patient_passes_against_the_default_rules() -> None:
    results = publishing.run_document_scenarios(defaults.default_document())
    assert len(results) == 42
    assert [(r.scenario.name, r.differences) for r in results if not r.passed] == []


def test_a_rule_no_test_patient_expects_is_reported_as_uncovered() -> None:
    document = defaults.default_document()
    specs = [s for s in publishing.scenario_specs(document) if "allergy" not in s.expected_rules]
    assert uncovered_rules(ruleset_from_document(document), specs) == ["allergy"]


def test_running_all_test_patients_with_one_click_shows_each_passing_and_records_it(
    clinician_client: Client, published_rules: RuleSet
) -> None:
    assert Scenario.objects.count() == 42
    before = timezone.now()
    response = clinician_client.post(reverse("admin:screening_scenario_run"))
    assert response.status_code == 200
    page = text(response)
    assert page.count('data-passed="true"') == 42
    assert 'data-passed="false"' not in page
    assert "42 test patients run against the draft" in page
    assert Scenario.objects.filter(last_passed=True, last_run_at__gte=before, last_report="Passed.").count() == 42


def test_the_scenario_list_offers_the_one_click_run(clinician_client: Client, published_rules: RuleSet) -> None:
    response = clinician_client.get(reverse("admin:screening_scenario_changelist"))
    assert response.status_code == 200
    assert f'action="{reverse("admin:screening_scenario_run")}"' in text(response)
    assert "Run all test patients against the draft" in text(response)


def test_a_run_against_a_changed_draft_shows_the_failing_test_patient_and_why(
    clinician_client, published_rules
) -> None:
    change_in_draft(Rule.objects.get(identifier="allergy"), "Trying a milder level", level="take_care")
    page = text(clinician_client.post(reverse("admin:screening_scenario_run")))
    failed = re.findall(r'data-scenario="([^"]+)" data-passed="false"', page)
    assert failed == [ALLERGY_SCENARIO]
    assert ALLERGY_DIFFERENCE in page
    assert Scenario.objects.get(name=ALLERGY_SCENARIO).last_passed is False
    assert (
        "expected “Do not use it unless your doctor decides otherwise”"
        in Scenario.objects.get(name=ALLERGY_SCENARIO).last_report
    )


# ---------------------------------------------------------------------------------------------
# Publishing
# ---------------------------------------------------------------------------------------------


def test_a_failing_test_patient_blocks_the_publish_and_a_fixed_one_lets_it_through(
    clinician: User, clinician_client: Client, published_rules: RuleSet
) -> None:
    assert change_rule_in_admin(clinician_client, "allergy", "Milder level", level="take_care").status_code == 302
    publish_url = reverse("admin:screening_publishedruleset_publish")

    blocked = clinician_client.post(publish_url, {"note": "Milder allergy advice"})
    assert blocked.status_code == 200
    page = text(blocked)
    assert "Not published." in page
    assert f"Patients still see version {published_rules.version}." in page
    assert re.findall(r'<li data-scenario="([^"]+)">', page) == [ALLERGY_SCENARIO]
    assert ALLERGY_DIFFERENCE in page
    assert PublishedRuleSet.objects.count() == 1
    assert live_rule("allergy").level == "do_not_use"

    # The clinician agrees with the new outcome and updates the test patient.
    scenario = Scenario.objects.get(name=ALLERGY_SCENARIO)
    scenario_url = reverse("admin:screening_scenario_change", args=[scenario.pk])
    data = admin_form_data(clinician_client.get(scenario_url), reason="The milder advice is agreed")
    data["expected_overall"] = "take_care"
    assert clinician_client.post(scenario_url, data).status_code == 302

    before = timezone.now()
    published = clinician_client.post(publish_url, {"note": "Milder allergy advice"})
    assert published.status_code == 302
    assert published["Location"] == reverse("admin:screening_publishedruleset_changelist")
    version = PublishedRuleSet.objects.get(version=published_rules.version + 1)
    assert version.published_by == clinician
    assert version.note == "Milder allergy advice"
    assert before <= version.published_at <= timezone.now()
    assert live_rule("allergy").level == "take_care"

    listing = text(clinician_client.get(published["Location"]))
    assert f"Published version {version.version}. Patients now see it." in listing
    [row] = [row for row in re.findall(r"<tr[^>]*>(.*?)</tr>", listing, re.S) if "Milder allergy advice" in row]
    assert f">{version.version}<" in row
    assert "clinician" in row


def test_publishing_needs_a_note(clinician_client: Client, published_rules: RuleSet) -> None:
    response = clinician_client.post(reverse("admin:screening_publishedruleset_publish"), {"note": ""})
    assert response.status_code == 200
    assert response.context["form"].errors["note"] == ["This field is required."]
    assert PublishedRuleSet.objects.count() == 1


def test_the_publish_page_shows_what_the_draft_changes(clinician_client: Client, published_rules: RuleSet) -> None:
    change_in_draft(Rule.objects.get(identifier="allergy"), "Shorter", message="Do not use it.")
    page = text(clinician_client.get(reverse("admin:screening_publishedruleset_publish")))
    assert 'data-change="Rule:allergy"' in page
    assert "Do not use it." in page
    assert f"Patients now see version {published_rules.version}" in page


def test_publish_is_atomic_and_a_failure_half_way_leaves_the_old_version_live(clinician: User, published_rules) -> None:
    change_in_draft(Rule.objects.get(identifier="allergy"), "Shorter", message="Do not use it.")
    live_before = live.current_ruleset()
    last_runs = list(Scenario.objects.values_list("name", "last_run_at", "last_passed"))
    statements: list[str] = []

    def refuse_scenario_updates(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        statements.append(sql)
        if sql.lstrip().upper().startswith("UPDATE") and "screening_scenario" in sql:
            raise DatabaseError("The database refused the write.")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(refuse_scenario_updates), pytest.raises(DatabaseError, match="refused"):
        publishing.publish(user=clinician, note="Half-way failure")

    # The new version had been written before the failure...
    assert any(s.lstrip().upper().startswith("INSERT") and "screening_publishedruleset" in s for s in statements)
    # ...and none of it stayed.
    assert list(PublishedRuleSet.objects.values_list("version", flat=True)) == [published_rules.version]
    assert live.current_version() == published_rules.version
    assert live.current_ruleset() == live_before
    assert live_rule("allergy").message != "Do not use it."
    assert list(Scenario.objects.values_list("name", "last_run_at", "last_passed")) == last_runs


def test_published_versions_cannot_be_changed_through_the_model(published_rules: RuleSet) -> None:
    snapshot = PublishedRuleSet.objects.get(version=published_rules.version)
    snapshot.note = "Tampered"
    snapshot.document = {}
    with pytest.raises(ValidationError, match="cannot be changed"):
        snapshot.save()
    stored = PublishedRuleSet.objects.get(version=published_rules.version)
    assert stored.note != "Tampered"
    assert stored.document["questions"]


def test_published_versions_cannot_be_changed_or_deleted_in_the_admin(clinician_client, published_rules) -> None:
    snapshot = PublishedRuleSet.objects.get(version=published_rules.version)
    url = reverse("admin:screening_publishedruleset_change", args=[snapshot.pk])
    response = clinician_client.get(url)
    assert response.status_code == 200
    fields = re.findall(r'<(?:input|textarea|select)[^>]*name="([^"]+)"', response.content.decode())
    assert set(fields) <= {"csrfmiddlewaretoken"}
    assert clinician_client.post(url, {"note": "Tampered"}).status_code == 403
    assert (
        clinician_client.post(reverse("admin:screening_publishedruleset_delete", args=[snapshot.pk])).status_code == 403
    )
    assert clinician_client.get(reverse("admin:screening_publishedruleset_add")).status_code == 403
    assert PublishedRuleSet.objects.get(pk=snapshot.pk).note == snapshot.note


# ---------------------------------------------------------------------------------------------
# Compare versions, and restore an earlier one as the draft
# ---------------------------------------------------------------------------------------------


def test_the_compare_view_shows_a_changed_rules_old_and_new_message(clinician_client: Client, published_rules) -> None:
    old_message = Rule.objects.get(identifier="allergy").message
    change_in_draft(Rule.objects.get(identifier="allergy"), "Shorter", message="Do not use it. Ask your doctor.")
    response = clinician_client.get(
        reverse("admin:screening_publishedruleset_compare") + f"?from={published_rules.version}&to=draft"
    )
    assert response.status_code == 200
    rows = re.findall(r'<tr data-change="Rule:allergy">(.*?)</tr>', text(response), re.S)
    [row] = rows
    assert re.search(r'<td class="diff-old">(.*?)</td>', row).group(1) == old_message
    assert re.search(r'<td class="diff-new">(.*?)</td>', row).group(1) == "Do not use it. Ask your doctor."


def test_comparing_two_published_versions_shows_what_the_later_one_changed(
    clinician, clinician_client, published_rules
):
    change_in_draft(Rule.objects.get(identifier="allergy"), "Shorter", message="Do not use it.")
    publishing.publish(user=clinician, note="Shorter allergy message")
    v1, v2 = published_rules.version, published_rules.version + 1
    url = reverse("admin:screening_publishedruleset_compare")
    assert 'data-change="Rule:allergy"' in text(clinician_client.get(f"{url}?from={v1}&to={v2}"))
    assert "No differences." in text(clinician_client.get(f"{url}?from={v2}&to=draft"))
    assert clinician_client.get(f"{url}?from=99&to=draft").status_code == 404


@pytest.mark.slow
def test_restoring_an_earlier_version_makes_it_the_draft_but_not_the_live_version(
    clinician: User, clinician_client: Client, published_rules: RuleSet
) -> None:
    v1 = PublishedRuleSet.objects.get(version=published_rules.version)
    change_in_draft(Rule.objects.get(identifier="allergy"), "Shorter", message="Do not use it.")
    v2 = publishing.publish(user=clinician, note="Shorter allergy message")

    url = reverse("admin:screening_publishedruleset_restore", args=[v1.version])
    assert f"Restore version {v1.version} as the draft" in text(clinician_client.get(url))
    response = clinician_client.post(url)
    assert response.status_code == 302

    assert drafts.draft_document() == v1.document
    assert live.current_version() == v2.version
    assert live_rule("allergy").message == "Do not use it."
    record = Rule.objects.get(identifier="allergy").history.latest()
    assert record.history_change_reason == f"Restored version {v1.version} as the draft"
    assert record.history_user == clinician
    follow = text(clinician_client.get(response["Location"]))
    assert f"The draft is now a copy of version {v1.version}" in follow


@pytest.mark.slow
def test_a_restored_version_publishes_as_a_new_version(clinician: User, clinician_client, published_rules) -> None:
    change_in_draft(Rule.objects.get(identifier="allergy"), "Shorter", message="Do not use it.")
    publishing.publish(user=clinician, note="Shorter allergy message")
    clinician_client.post(reverse("admin:screening_publishedruleset_restore", args=[published_rules.version]))
    v3 = publishing.publish(user=clinician, note="Back to version 1")
    assert v3.version == published_rules.version + 2
    assert v3.document == PublishedRuleSet.objects.get(version=published_rules.version).document
    assert live_rule("allergy").message != "Do not use it."


@pytest.mark.slow
# ---------------------------------------------------------------------------------------------
# Preview of the draft
# ---------------------------------------------------------------------------------------------


def test_a_clinician_walks_the_draft_in_the_preview_clearly_marked_as_a_preview(clinician_client, published_rules):
    new_text = "Do you have any of these warning signs right now? (draft wording)"
    change_in_draft(Question.objects.get(identifier="urgent_symptoms"), "Draft wording", text=new_text)

    start = clinician_client.get(reverse("preview:start"))
    assert start.status_code == 200
    assert PREVIEW_BANNER in text(start)

    pages = list(walk(clinician_client, "preview", HEALTHY_ADULT))
    assert new_text in text(pages[0])
    assert all(PREVIEW_BANNER in text(page) for page in pages)
    answers = clinician_client.get(reverse("preview:check_answers"))
    assert answers.status_code == 200
    assert PREVIEW_BANNER in text(answers)
    assert new_text in text(answers)
    result = clinician_client.get(reverse("preview:result"))
    assert result.status_code == 200
    assert PREVIEW_BANNER in text(result)
    assert "Save these answers as a test patient" in text(result)


def test_the_preview_shows_the_drafts_result_while_patients_get_the_live_one(clinician_client, published_rules) -> None:
    live_message = Rule.objects.get(identifier="allergy").message
    change_in_draft(Rule.objects.get(identifier="allergy"), "Draft wording", message="Draft: please do not use it.")
    allergic = {**HEALTHY_ADULT, "allergy": ["yes"]}

    preview = walk_to_result(clinician_client, "preview", allergic)
    assert "Draft: please do not use it." in text(preview)

    patient = walk_to_result(Client(), "screening", allergic)
    assert patient.status_code == 200
    assert live_message in text(patient)
    assert "Draft: please do not use it." not in text(patient)
    assert PREVIEW_BANNER not in text(patient)


def test_an_anonymous_visitor_is_sent_to_the_admin_sign_in_from_the_preview(client: Client, published_rules) -> None:
    for url in [reverse("preview:start"), reverse("preview:begin"), reverse("preview:question", args=["allergy"])]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("admin:login")), url


def test_walking_the_preview_never_changes_what_patients_see(clinician_client: Client, published_rules) -> None:
    new_text = "Do you have any of these warning signs right now? (draft wording)"
    old_text = Question.objects.get(identifier="urgent_symptoms").text
    change_in_draft(Question.objects.get(identifier="urgent_symptoms"), "Draft wording", text=new_text)

    walk_to_result(clinician_client, "preview", HEALTHY_ADULT)

    assert PublishedRuleSet.objects.count() == 1
    assert live.current_version() == published_rules.version
    patient = Client().get(reverse("screening:question", args=["urgent_symptoms"]))
    assert patient.status_code == 200
    assert old_text in text(patient)
    assert new_text not in text(patient)


def test_the_preview_and_a_patient_visit_in_one_browser_keep_separate_answers(clinician_client, published_rules):
    patient_step = reverse("screening:question", args=["urgent_symptoms"])
    preview_step = reverse("preview:question", args=["urgent_symptoms"])

    # The patient visit is in the patient's cookie; the preview in the clinician's (staff) session.
    assert clinician_client.post(patient_step, {"urgent_symptoms": ["no"]}).status_code == 302
    patient_visit = patient_session(clinician_client)[SESSION_KEY]
    assert patient_visit["answers"] == {"urgent_symptoms": ["no"]}

    assert clinician_client.post(preview_step, {"urgent_symptoms": ["yes"]}).status_code == 302
    assert patient_session(clinician_client)[SESSION_KEY] == patient_visit
    assert clinician_client.session[PREVIEW_SESSION_KEY]["answers"] == {"urgent_symptoms": ["yes"]}
    assert SESSION_KEY not in clinician_client.session
    preview_visit = clinician_client.session[PREVIEW_SESSION_KEY]

    condition_step = reverse("screening:question", args=["condition"])
    assert clinician_client.post(condition_step, {"condition": ["vitiligo"]}).status_code == 302
    assert clinician_client.session[PREVIEW_SESSION_KEY] == preview_visit
    assert patient_session(clinician_client)[SESSION_KEY]["answers"] == {
        "urgent_symptoms": ["no"],
        "condition": ["vitiligo"],
    }

    # Clearing the preview forgets only the preview, and the clinician stays signed in.
    assert clinician_client.post(reverse("preview:clear")).status_code == 302
    assert PREVIEW_SESSION_KEY not in clinician_client.session
    assert patient_session(clinician_client)[SESSION_KEY]["answers"]["condition"] == ["vitiligo"]
    assert clinician_client.get(reverse("admin:index")).status_code == 200


def test_the_preview_result_offers_to_save_the_answers_as_a_test_patient(clinician_client, published_rules) -> None:
    allergic = {**HEALTHY_ADULT, "allergy": ["yes"]}
    result = text(walk_to_result(clinician_client, "preview", allergic))
    link = re.search(r'href="([^"]*)">Save these answers as a test patient', result).group(1)
    assert link.startswith(reverse("admin:screening_scenario_add") + "?")
    form = clinician_client.get(link)
    assert form.status_code == 200
    initial = form.context["adminform"].form.initial
    assert initial["answers"] == allergic
    assert initial["expected_overall"] == "do_not_use"
    assert initial["expected_rules"] == ["allergy"]


# ---------------------------------------------------------------------------------------------
# Readability help
# ---------------------------------------------------------------------------------------------


def test_the_rule_page_shows_a_wording_check_with_a_reading_grade_per_text(clinician_client, published_rules) -> None:
    page = text(clinician_client.get(rule_change_url("allergy")))
    assert "Wording check" in page
    table = re.search(r'<table class="wording-check">(.*?)</table>', page, re.S).group(1)
    assert "Reading grade (Flesch-Kincaid for English; aim for 8 or lower)" in table
    rows = dict(re.findall(r'<th scope="row">([^<]+)</th><td>([^<]+)</td>', table))
    english = {"Title", "Message", "What to do next"}
    # The education page's general statement is checked too, in each language.
    education = {"General statement (education page)", "General statement (education page) (简体中文)"}
    assert set(rows) == english | {f"{label} (简体中文)" for label in english} | education
    assert re.fullmatch(r"-?\d+(\.\d)?", rows["General statement (education page)"]), rows
    assert rows["General statement (education page) (简体中文)"] == "—"
    assert re.fullmatch(r"-?\d+(\.\d)?", rows["Message"]), rows
    # A grade has no meaning for Chinese: its check is sentence length and words to avoid.
    assert rows["Message (简体中文)"] == "—"


def test_the_question_page_checks_the_question_and_each_option_label(clinician_client, published_rules) -> None:
    question = Question.objects.get(identifier="allergy")
    page = text(clinician_client.get(reverse("admin:screening_question_change", args=[question.pk])))
    table = re.search(r'<table class="wording-check">(.*?)</table>', page, re.S).group(1)
    labels = re.findall(r'<th scope="row">([^<]+)</th>', table)
    assert labels[0] == "Text"
    assert {"Option “yes”", "Option “no”", "Option “not_sure”"} <= set(labels)


def test_saving_hard_wording_with_a_promise_word_warns_about_the_grade_and_the_word(clinician_client, published_rules):
    response = change_rule_in_admin(clinician_client, "allergy", "Testing the wording check", message=LONG_SAFE_MESSAGE)
    assert response.status_code == 302
    assert Rule.objects.get(identifier="allergy").message == LONG_SAFE_MESSAGE  # a warning, not a refusal

    page = clinician_client.get(response["Location"])
    warnings = [str(m) for m in page.context["messages"] if m.level_tag == "warning"]
    grade = re.search(r"Message: Reading grade ([\d.]+) is above 8", " ".join(warnings))
    assert grade, warnings
    assert float(grade.group(1)) > 8
    assert "Message: “safe” can read as a promise to patients. Describe what to do instead." in warnings
    assert not any(w.startswith(("Title:", "What to do next:")) for w in warnings)

    again = text(clinician_client.get(rule_change_url("allergy")))
    assert f"Reading grade {grade.group(1)} is above 8" in again


@pytest.mark.parametrize("phrase", ["guaranteed", "no risk", "safe"])
def test_each_promise_word_is_named_in_a_warning(clinician_client: Client, published_rules, phrase: str) -> None:
    response = change_rule_in_admin(clinician_client, "allergy", "Testing", message=f"This is {phrase} for you.")
    warnings = [str(m) for m in clinician_client.get(response["Location"]).context["messages"]]
    assert f"Message: “{phrase}” can read as a promise to patients. Describe what to do instead." in warnings


def test_plain_wording_saves_without_warnings(clinician_client: Client, published_rules: RuleSet) -> None:
    response = change_rule_in_admin(
        clinician_client, "allergy", "Testing", message="Do not use the cream. Ask your doctor."
    )
    assert response.status_code == 302
    said = list(clinician_client.get(response["Location"]).context["messages"])
    # The only warning is that the Chinese message is now out of date: none about the wording.
    warnings = [str(m) for m in said if m.level_tag == "warning"]
    assert [w for w in warnings if "translation is out of date" not in w] == [], warnings
    assert "info" in [m.level_tag for m in said]  # "Saved to the draft…"


# ---------------------------------------------------------------------------------------------
# Staff sign-in and the admin's privacy
# ---------------------------------------------------------------------------------------------


def sign_in(client: Client, username: str, password: str) -> HttpResponse:
    return client.post(reverse("admin:login"), {"username": username, "password": password, "next": "/admin/"})


def test_five_failed_sign_ins_lock_the_user_name_out_even_with_the_right_password(clinician: User) -> None:
    client = Client()
    for _ in range(5):
        assert sign_in(client, "clinician", "a wrong guess").status_code in {200, 429}
    response = sign_in(client, "clinician", PASSWORD)
    assert response.status_code == 429
    assert "Sign-in locked" in text(response)
    assert "_auth_user_id" not in client.session
    assert client.get(reverse("admin:index"))["Location"].startswith(reverse("admin:login"))


def test_four_failed_sign_ins_still_let_the_right_password_in(clinician: User) -> None:
    client = Client()
    for _ in range(4):
        assert sign_in(client, "clinician", "a wrong guess").status_code == 200
    assert sign_in(client, "clinician", PASSWORD).status_code == 302
    assert client.get(reverse("admin:index")).status_code == 200


def test_a_locked_out_user_name_does_not_lock_out_a_colleague(clinician: User) -> None:
    User.objects.create_user("colleague", password=PASSWORD, is_staff=True)
    for _ in range(5):
        sign_in(Client(), "clinician", "a wrong guess")
    colleague = Client()
    assert sign_in(colleague, "colleague", PASSWORD).status_code == 302
    assert colleague.get(reverse("admin:index")).status_code == 200


def admin_pages() -> list[str]:
    rule = Rule.objects.get(identifier="allergy")
    return [
        reverse("admin:index"),
        reverse("admin:login"),
        reverse("admin:screening_rule_changelist"),
        reverse("admin:screening_rule_change", args=[rule.pk]),
        reverse("admin:screening_rule_history", args=[rule.pk]),
        reverse("admin:screening_scenario_changelist"),
        reverse("admin:screening_publishedruleset_changelist"),
        reverse("admin:screening_publishedruleset_publish"),
        reverse("admin:screening_publishedruleset_compare") + "?from=1&to=draft",
        reverse("admin:screening_publishedruleset_import"),
        reverse("admin:screening_change_log"),
        reverse("preview:start"),
    ]


def test_admin_pages_may_only_talk_to_their_own_server(admin_client: Client, published_rules: RuleSet) -> None:
    for url in admin_pages():
        response = admin_client.get(url)
        assert response.status_code in {200, 302}, url
        policy = dict(
            (part.split()[0], part.split()[1:])
            for part in response["Content-Security-Policy"].split(";")
            if part.strip()
        )
        assert policy["connect-src"] == ["'self'"], url
        assert policy["script-src"] == ["'self'"], url
        assert policy["style-src"] == ["'self'"], url
        assert policy["default-src"] == ["'self'"], url
        assert policy["form-action"] == ["'self'"], url


def test_admin_pages_load_no_script_style_or_image_from_elsewhere(admin_client: Client, published_rules) -> None:
    external = re.compile(r"<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)=\"(?:https?:)?//", re.I)
    external_form = re.compile(r"<form\b[^>]*\baction=\"(?:https?:)?//", re.I)
    for url in admin_pages():
        page = admin_client.get(url).content.decode()
        assert not external.search(page), url
        assert not external_form.search(page), url
        assert '<script src="http' not in page, url


# ---------------------------------------------------------------------------------------------
# The Clinical editor group
# ---------------------------------------------------------------------------------------------


def test_the_clinical_editor_group_can_edit_every_part_of_the_draft(db: None) -> None:
    group = Group.objects.get(name="Clinical editor")
    granted = set(group.permissions.values_list("content_type__model", "codename"))
    draft = [m._meta.model_name for m in apps.get_app_config("screening").get_models()]
    draft = [
        model
        for model in draft
        if not model.startswith("historical") and model not in {"publishedruleset", "defaultcontentversion", "review"}
    ]
    assert {"scenario", "rule", "condition", "option"} <= set(draft)
    for model in draft:
        for action in ("add", "change", "delete", "view"):
            assert (model, f"{action}_{model}") in granted


def test_the_clinical_editor_group_has_no_permission_outside_the_screening_app(db: None) -> None:
    group = Group.objects.get(name="Clinical editor")
    assert set(group.permissions.values_list("content_type__app_label", flat=True)) == {"screening"}


def test_a_clinical_editor_can_use_every_workflow_page(clinician_client: Client, published_rules: RuleSet) -> None:
    rule = Rule.objects.get(identifier="allergy")
    for url in [
        reverse("admin:screening_scenario_changelist"),
        reverse("admin:screening_scenario_add"),
        reverse("admin:screening_rule_history", args=[rule.pk]),
        reverse("admin:screening_publishedruleset_publish"),
        reverse("admin:screening_publishedruleset_compare"),
        reverse("admin:screening_publishedruleset_import"),
        reverse("admin:screening_publishedruleset_restore", args=[published_rules.version]),
        reverse("admin:screening_publishedruleset_export"),
        reverse("admin:screening_publishedruleset_fhir"),
        reverse("admin:screening_change_log"),
        reverse("preview:start"),
    ]:
        assert clinician_client.get(url).status_code == 200, url
