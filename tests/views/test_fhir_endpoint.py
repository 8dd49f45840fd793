"""The public FHIR endpoint: the live Questionnaire, and any published version, at the canonical address."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import User
from django.test import Client
from fhir.resources.R4B.questionnaire import Questionnaire

from screening import drafts, publishing
from screening.engine import RuleSet
from screening.fhir import questionnaire, questionnaire_url
from screening.models import PublishedRuleSet, Question
from tests.support.documents import item_of

LIVE = urlsplit(questionnaire_url()).path


def history(version: object) -> str:
    return f"{LIVE}/_history/{version}"


def resource_of(response: Any) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(response.content)
    return found


def publish_a_new_wording(clinician: User) -> PublishedRuleSet:
    Question.objects.filter(identifier="allergy").update(text="Have you ever reacted badly to ruxolitinib cream?")
    return publishing.publish(user=clinician, note="Clearer allergy question")


def test_the_endpoint_path_is_the_path_of_the_canonical_url_under_the_default_setting() -> None:
    assert questionnaire_url() == "http://127.0.0.1:8000/fhir/Questionnaire/ruxolitinib-cream"
    assert LIVE == "/fhir/Questionnaire/ruxolitinib-cream"


def test_anyone_gets_the_live_questionnaire_as_fhir_json_without_signing_in(
    client: Client, published_rules: RuleSet
) -> None:
    response = client.get(LIVE)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/fhir+json; charset=utf-8"
    resource = resource_of(response)
    Questionnaire.model_validate(resource)
    live = PublishedRuleSet.objects.get(version=published_rules.version)
    assert resource == questionnaire(
        live.document,
        version=live.version,
        date=live.published_at.date().isoformat(),
        second_review=live.second_review,
    )
    assert resource["url"] == questionnaire_url()
    assert resource["version"] == str(published_rules.version)


def test_form_fillers_on_other_sites_may_read_it_and_keep_it_a_minute(client: Client, published_rules: RuleSet) -> None:
    response = client.get(LIVE, headers={"Origin": "https://forms.example.org"})
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "max-age=60" in response["Cache-Control"]
    assert "public" in response["Cache-Control"]
    assert response["ETag"].startswith('"')
    assert response["Last-Modified"].endswith("GMT")


def test_it_sets_no_cookie_and_reads_no_session(client: Client, published_rules: RuleSet) -> None:
    response = client.get(LIVE)
    assert response.cookies == {}
    assert "Cookie" not in response.get("Vary", "")


def test_a_filler_holding_the_same_version_gets_not_modified_with_leave_to_read(
    client: Client, published_rules: RuleSet
) -> None:
    first = client.get(LIVE)
    again = client.get(LIVE, headers={"If-None-Match": first["ETag"]})
    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == first["ETag"]
    assert again["Access-Control-Allow-Origin"] == "*"


def test_head_gives_the_headers_without_the_body(client: Client, published_rules: RuleSet) -> None:
    response = client.head(LIVE)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/fhir+json; charset=utf-8"
    assert response.content == b""


def test_a_new_publication_is_served_at_once_and_the_old_version_stays_in_its_history(
    client: Client, published_rules: RuleSet, clinician: User
) -> None:
    old = published_rules.version
    new = publish_a_new_wording(clinician)
    live = resource_of(client.get(LIVE))
    assert live["version"] == str(new.version) == live["meta"]["versionId"]
    new_text = "Have you ever reacted badly to ruxolitinib cream?"
    assert item_of(live, "item", "allergy", key="linkId")["text"] == new_text
    earlier = client.get(history(old))
    assert earlier.status_code == 200
    assert "max-age=86400" in earlier["Cache-Control"]
    before = resource_of(earlier)
    Questionnaire.model_validate(before)
    assert before["version"] == str(old)
    assert item_of(before, "item", "allergy", key="linkId")["text"] != new_text
    assert resource_of(client.get(history(new.version))) == live


@pytest.mark.parametrize("version", ["99", "0", "v1", "1.0", "-1", "\uff11", "99999999999999999999999", "1%00"])
def test_a_version_never_published_is_not_found(client: Client, published_rules: RuleSet, version: str) -> None:
    response = client.get(history(version))
    assert response.status_code == 404
    assert "application/fhir+json" not in response["Content-Type"]


def test_before_anything_is_published_the_questionnaire_is_not_found(client: Client, db: None) -> None:
    # Published versions refuse deletion; a new installation has none (the test rolls this back).
    PublishedRuleSet.objects.all()._raw_delete(using="default")
    assert not PublishedRuleSet.objects.exists()
    assert client.get(LIVE).status_code == 404


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_it_is_read_only(client: Client, published_rules: RuleSet, method: str) -> None:
    for address in (LIVE, history(published_rules.version)):
        response = getattr(client, method)(address, data="{}", content_type="application/fhir+json")
        assert response.status_code == 405, (method, address)
        assert set(response["Allow"].replace(" ", "").split(",")) == {"GET", "HEAD"}
    assert PublishedRuleSet.objects.count() == 1


def test_the_chinese_prefix_does_not_serve_it(client: Client, published_rules: RuleSet) -> None:
    # The resource has one address; its Chinese texts are translation extensions inside it.
    assert client.get(f"/zh-hans{LIVE}").status_code == 404


def test_the_draft_is_never_served(client: Client, published_rules: RuleSet) -> None:
    Question.objects.filter(identifier="allergy").update(text="A draft question patients do not see yet?")
    assert "A draft question" in json.dumps(drafts.draft_document())
    assert "A draft question" not in client.get(LIVE).content.decode()
