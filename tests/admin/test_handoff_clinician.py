"""The clinician's side of the hand-off code: who may open it, what it shows, and the FHIR download."""

from __future__ import annotations

import json
import re

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from screening import fhir, handoff
from screening.engine import RuleSet, evaluate, walk
from screening.live import current_ruleset
from screening.models import PublishedRuleSet
from screening.permissions import CLINICAL_EDITOR, CLINICAL_REVIEWER, OPEN_HANDOFF, TREATING_CLINICIAN
from screening.translations import ENGLISH
from tests.support import patients
from tests.support.browser import MANY_CAUTIONS
from tests.support.client import page_text
from tests.support.handoff import code_of, download_of, finish_check, local, make_code
from tests.support.staff import signed_in


@pytest.fixture
def treating_clinician(db: None) -> Client:
    user = User.objects.create_user("doctor", password="a long enough password", is_staff=True)
    user.groups.add(Group.objects.get(name=TREATING_CLINICIAN))
    return signed_in(user)


# ---------------------------------------------------------------------------------------------
# The clinician's side
# ---------------------------------------------------------------------------------------------


def test_the_clinician_sees_the_answers_the_result_each_rule_with_its_rationale_and_sources(
    client: Client, clinician_client: Client, published_rules: RuleSet
) -> None:
    finish_check(client, MANY_CAUTIONS)
    address = make_code(client)
    response = clinician_client.get(local(address))
    assert response.status_code == 200
    page = page_text(response)
    outcome = evaluate(published_rules, MANY_CAUTIONS)
    assert f"What the patient saw: version {published_rules.version}" in page
    assert str(outcome.fired[0].level.label) in page
    for question_id, chosen in walk(published_rules, MANY_CAUTIONS).counted.items():
        question = published_rules.question(question_id)
        assert question is not None
        assert f'<th scope="row">{question.text}</th>' in page
        for option_id in chosen:
            assert question.option(option_id).label in page  # type: ignore[union-attr]
    for rule in outcome.fired:
        assert f'data-rule="{rule.id}"' in page
        assert rule.rationale and rule.rationale in page
        for code in rule.sources:
            assert published_rules.source(code).document in page  # type: ignore[union-attr]
    assert "still the live version" in page
    assert re.search(r'href="/admin/handoff/questionnaire-response/\?code=[\w-]+" download', page)


def test_the_clinician_sees_what_the_live_version_says_when_it_changed(
    clinician_client: Client, published_rules: RuleSet
) -> None:
    counted = walk(published_rules, MANY_CAUTIONS).counted
    code = handoff.make_code(published_rules, counted, language=ENGLISH)
    # A new live version without the "amount" question (and so without the rules that read it).
    document = PublishedRuleSet.objects.get(version=published_rules.version).document
    document = {**document, "questions": [q for q in document["questions"] if q["id"] != "amount"]}
    document["rules"] = [r for r in document["rules"] if all(c["question"] != "amount" for c in r["conditions"])]
    PublishedRuleSet.objects.create(version=published_rules.version + 1, document=document)
    live = current_ruleset()
    assert live.version == published_rules.version + 1
    page = page_text(clinician_client.get(f"/admin/handoff/?code={code}"))
    assert f"What the live version {live.version} says now for the same answers" in page
    assert "Questions this version does not have" in page and "<code>amount</code>" in page
    live_section = page.split("What the live version", 1)[1]
    for rule in evaluate(live, counted).fired:
        assert f'data-rule="{rule.id}"' in live_section
    gone = [rule for rule in evaluate(published_rules, counted).fired if rule not in evaluate(live, counted).fired]
    assert gone and all(f'data-rule="{rule.id}"' not in live_section for rule in gone)


def test_someone_not_signed_in_gets_the_sign_in_page_and_nothing_more(client: Client, published_rules: RuleSet) -> None:
    finish_check(client, MANY_CAUTIONS)
    address = make_code(client)
    for path in (local(address), download_of(address)):
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/?next=")
        page = page_text(client.get(response["Location"]))
        assert "Log in" in page or "Sign in" in page
        for question_id in MANY_CAUTIONS:
            assert published_rules.question(question_id).text not in page  # type: ignore[union-attr]


def test_staff_without_the_permission_get_403(client: Client, published_rules: RuleSet) -> None:
    finish_check(client, MANY_CAUTIONS)
    address = make_code(client)
    user = User.objects.create_user("receptionist", password="a long enough password", is_staff=True)
    staff = signed_in(user)
    for path in (local(address), download_of(address)):
        response = staff.get(path)
        assert response.status_code == 403
        page = page_text(response)
        assert "You do not have permission to open a patient's hand-off code" in page
        assert published_rules.question("condition").text not in page  # type: ignore[union-attr]


def test_the_treating_clinician_group_opens_codes_and_nothing_of_the_editor(
    client: Client, treating_clinician: Client, published_rules: RuleSet
) -> None:
    finish_check(client, patients.HEALTHY_ADULT)
    assert treating_clinician.get(local(make_code(client))).status_code == 200
    assert treating_clinician.get("/admin/screening/rule/").status_code == 403


def test_the_questionnaire_response_download_holds_only_the_counted_answers_in_order(
    client: Client, clinician_client: Client, published_rules: RuleSet
) -> None:
    finish_check(client, MANY_CAUTIONS)
    address = make_code(client)
    response = clinician_client.get(download_of(address))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/fhir+json"
    assert response["Content-Disposition"].startswith('attachment; filename="ruxguide-questionnaire-response-v')
    resource = json.loads(response.content)
    QuestionnaireResponse.model_validate(resource)
    assert resource["questionnaire"] == f"{fhir.questionnaire_url()}|{published_rules.version}"
    assert resource["status"] == "completed" and resource["language"] == "en"
    held = handoff.open_code(code_of(address))
    assert resource["authored"] == held.made_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    counted = walk(published_rules, MANY_CAUTIONS).counted
    assert [item["linkId"] for item in resource["item"]] == list(counted)
    for item in resource["item"]:
        question = published_rules.question(item["linkId"])
        assert item["text"] == question.text  # type: ignore[union-attr]
        assert [answer["valueCoding"] for answer in item["answer"]] == [
            {
                "system": fhir.answer_system(question.id),  # type: ignore[union-attr]
                "code": option_id,
                "display": question.option(option_id).label,  # type: ignore[union-attr]
            }
            for option_id in counted[item["linkId"]]
        ]


def test_the_questionnaire_response_leaves_out_answers_that_do_not_count(published_rules: RuleSet) -> None:
    answers = {**patients.HEALTHY_ADULT, "age_group": ("65_or_over",), "pregnancy": ("pregnant",)}
    resource = handoff.questionnaire_response(published_rules, answers)
    QuestionnaireResponse.model_validate(resource)
    assert "pregnancy" not in [item["linkId"] for item in resource["item"]]


def test_both_clinical_groups_may_open_codes_and_the_treating_clinician_group_only_that(db: None) -> None:
    for name in (CLINICAL_EDITOR, CLINICAL_REVIEWER):
        assert Group.objects.get(name=name).permissions.filter(codename=OPEN_HANDOFF).exists(), name
    treating = Group.objects.get(name=TREATING_CLINICIAN)
    assert list(treating.permissions.values_list("content_type__app_label", "codename")) == [
        ("screening", OPEN_HANDOFF)
    ]


def test_a_code_for_a_version_this_server_does_not_hold_gets_a_clear_404_page(
    clinician_client: Client, published_rules: RuleSet
) -> None:
    from dataclasses import replace

    code = handoff.make_code(replace(published_rules, version=published_rules.version + 40), {}, language=ENGLISH)
    response = clinician_client.get(f"/admin/handoff/?code={code}")
    assert response.status_code == 404
    assert f"version {published_rules.version + 40} of the check, which this service does not hold" in page_text(
        response
    )


def test_a_head_request_to_the_clinicians_view_is_answered_without_a_body(
    client: Client, clinician_client: Client, published_rules: RuleSet
) -> None:
    finish_check(client, patients.HEALTHY_ADULT)
    response = clinician_client.head(local(make_code(client)))
    assert response.status_code == 200 and response.content == b""


def test_the_clinicians_view_takes_no_post(client: Client, clinician_client: Client, published_rules: RuleSet) -> None:
    finish_check(client, patients.HEALTHY_ADULT)
    assert clinician_client.post(local(make_code(client))).status_code == 405


def test_a_failed_sign_in_from_a_codes_link_keeps_no_trace_of_the_code(
    client: Client, published_rules: RuleSet
) -> None:
    from axes.models import AccessAttempt

    finish_check(client, patients.HEALTHY_ADULT)
    address = make_code(client)
    sign_in = Client().get(local(address))["Location"]
    assert sign_in.startswith("/admin/login/?next=")
    Client().post(sign_in, {"username": "doctor", "password": "wrong", "next": local(address)})
    kept = " ".join(f"{attempt.get_data} {attempt.post_data}" for attempt in AccessAttempt.objects.all())
    assert kept.strip(), "axes kept no record of the failed sign-in"
    assert code_of(address) not in kept
