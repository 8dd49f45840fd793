"""The patient-education page, built from the live rule set."""

from __future__ import annotations

import html
import re
from datetime import datetime

from django.test import Client
from django.urls import reverse

from screening.engine import RuleSet
from screening.models import Rule
from screening.publishing import publish
from tests.support.admin_forms import admin_form_data


def page_text(client: Client) -> str:
    response = client.get(reverse("screening:education"))
    assert response.status_code == 200
    return html.unescape(response.content.decode())


def test_it_states_every_fact_of_the_source_article(client: Client, published_rules: RuleSet) -> None:
    text = page_text(client)
    for code in [f"S{n}" for n in range(1, 12)]:
        source = published_rules.source(code)
        assert source is not None
        assert source.summary in text, code


def test_it_covers_every_topic_a_patient_needs(client: Client, published_rules: RuleSet) -> None:
    text = page_text(client)
    for heading in [
        "What the cream is approved for",
        "Who should not use it",
        "Talk to your doctor or pharmacist before you use it",
        "Older adults and children",
        "How to use the cream",
        "Stop the cream and call your doctor soon",
        "Warning signs: get medical help now",
        "The facts behind this page",
    ]:
        assert heading in text, heading


def test_it_lists_every_active_rule_and_the_source_addresses(client: Client, published_rules: RuleSet) -> None:
    text = page_text(client)
    for rule in published_rules.rules:
        assert f'data-rule="{rule.id}"' in text
    for url in {source.url for source in published_rules.sources if source.url}:
        assert f'href="{url}"' in text


def test_it_names_the_rule_set_version_and_when_it_was_published(client: Client, published_rules: RuleSet) -> None:
    text = page_text(client)
    assert f"rule set version {published_rules.version}" in text
    published = datetime.fromisoformat(published_rules.published_at)
    assert f"last updated {published.day} {published:%B %Y}" in text


def test_it_is_linked_from_the_start_page(client: Client, published_rules: RuleSet) -> None:
    assert reverse("screening:education") in client.get(reverse("screening:start")).content.decode()


def test_editing_a_rules_wording_in_the_admin_changes_the_education_page(
    admin_client: Client, client: Client, published_rules: RuleSet
) -> None:
    rule = Rule.objects.get(identifier="breastfeeding")
    url = reverse("admin:screening_rule_change", args=[rule.pk])
    data = admin_form_data(admin_client.get(url))
    data["education_text"] = "Wording a clinician just changed about breastfeeding."
    assert admin_client.post(url, data).status_code == 302
    assert "Wording a clinician just changed about breastfeeding." not in page_text(client)
    publish(note="New breastfeeding wording")
    assert "Wording a clinician just changed about breastfeeding." in page_text(client)


def test_it_describes_each_rule_in_general_terms_never_as_if_the_reader_had_answered(
    client: Client, published_rules: RuleSet
) -> None:
    page = page_text(client)
    for rule in published_rules.rules:
        assert rule.education_text, f"{rule.id} has no general statement"
        assert rule.education_text in page, rule.id
    visible = re.sub(r"<[^>]+>", " ", page)
    assert not re.search(r"\byou said\b", visible, re.IGNORECASE)
    zh = client.get("/zh-hans/about-the-cream/").content.decode()
    assert "您说" not in zh


def test_it_never_promises_safety(client: Client, published_rules: RuleSet) -> None:
    visible = re.sub(r"<[^>]+>", " ", page_text(client))
    assert not re.search(r"\bsafe(ly|ty)?\b", visible, re.IGNORECASE)
