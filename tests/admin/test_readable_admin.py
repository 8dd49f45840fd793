"""The admin reads like a product: changes in words, a version's rule set in sections, the home's draft state,
test patients by that name, levels in words and the site's own title.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.urls import NoReverseMatch, reverse

from screening.engine import Level, RuleSet
from screening.models import Condition, Option, PublishedRuleSet, Question, Review, Rule, Scenario
from tests.support.client import page_text as page_text_of
from tests.support.staff import clinical_editor, signed_in


def page_text(response: Any) -> str:
    """The page with its entities decoded (the test client's response type is the stubs' own)."""
    return page_text_of(response)


def live_version() -> PublishedRuleSet:
    return PublishedRuleSet.objects.order_by("-version").first()  # type: ignore[return-value]


def compare_with_draft(client: Client) -> str:
    url = reverse("admin:screening_publishedruleset_compare") + f"?from={live_version().version}&to=draft"
    response = client.get(url)
    assert response.status_code == 200
    return page_text(response)


def changes_table(page: str) -> str:
    found = re.search(r'<table class="rule-set-changes.*?</table>', page, re.S)
    assert found is not None, "no table of changes on the page"
    return found.group(0)


def words(page: str) -> str:
    """What a reader sees: the page without its markup."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", re.sub(r"<(script|style)\b.*?</\1>", "", page, flags=re.S)))


def save(instance: object, reason: str = "Readable admin test") -> None:
    instance._change_reason = reason  # type: ignore[attr-defined]
    instance.save()  # type: ignore[attr-defined]


# ---------------------------------------------------------------------------------------------
# Changes in words
# ---------------------------------------------------------------------------------------------


def test_an_option_change_reads_in_words_never_as_a_list_of_dicts(
    clinician_client: Client, published_rules: RuleSet
) -> None:
    question = Question.objects.get(identifier="condition")
    save(Option(question=question, identifier="none_of_these", label="None of these", order=99, exclusive=True))
    renamed = question.options.get(identifier="other")
    renamed.label = "Another skin problem"
    save(renamed)

    table = changes_table(compare_with_draft(clinician_client))

    assert "{" not in table
    assert "'id':" not in table
    assert "Option “None of these” (none_of_these) added" in words(table)
    assert "Something else" in table and "Another skin problem" in table
    assert "Question “What skin problem is the cream for?”" in words(table)


def test_an_added_rule_shows_its_level_in_words_its_conditions_and_its_texts(
    clinician_client: Client, published_rules: RuleSet
) -> None:
    rule = Rule(
        identifier="new-caution",
        title="A new caution",
        level=Level.TALK_FIRST,
        message="Tell your doctor about this first.",
        next_steps="Ask before you use the cream.",
    )
    save(rule)
    allergy = Question.objects.get(identifier="allergy")
    condition = Condition(rule=rule, question=allergy)
    save(condition)
    condition.options.set(allergy.options.filter(identifier="yes"))

    table = words(changes_table(compare_with_draft(clinician_client)))

    assert "Rule “A new caution” (new-caution) added" in table
    assert "Talk to your doctor or pharmacist before using it" in table
    assert f"Question “{allergy.text}” is one of: {allergy.options.get(identifier='yes').label}" in table
    assert "Tell your doctor about this first." in table
    assert "Ask before you use the cream." in table
    assert "talk_first" not in table


def test_a_lowered_level_reads_as_its_two_levels_in_words(clinician_client: Client, published_rules: RuleSet) -> None:
    rule = Rule.objects.get(identifier="allergy")
    rule.level = Level.TAKE_CARE
    save(rule)

    table = words(changes_table(compare_with_draft(clinician_client)))

    assert "Do not use it unless your doctor decides otherwise" in table
    assert "Points to take care with while using it" in table
    assert "do_not_use" not in table and "take_care" not in table


def test_switching_a_test_patient_off_reads_from_yes_to_no(clinician_client: Client, published_rules: RuleSet) -> None:
    scenario = Scenario.objects.order_by("name").first()
    assert scenario is not None
    scenario.active = False
    save(scenario)

    table = changes_table(compare_with_draft(clinician_client))
    row = re.search(r"Active</t[hd]>\s*<td[^>]*>(.*?)</td>\s*<td[^>]*>(.*?)</td>", table, re.S)
    assert row is not None, table
    assert (words(row.group(1)), words(row.group(2))) == ("Yes", "No")


# ---------------------------------------------------------------------------------------------
# A published version's page and its JSON
# ---------------------------------------------------------------------------------------------


def version_url(version: PublishedRuleSet) -> str:
    return reverse("admin:screening_publishedruleset_change", args=[version.pk])


def document_url(version: PublishedRuleSet) -> str:
    return reverse("admin:screening_publishedruleset_document", args=[version.version])


def test_a_published_versions_page_shows_its_rule_set_in_readable_sections(
    clinician_client: Client, published_rules: RuleSet
) -> None:
    version = live_version()
    response = clinician_client.get(version_url(version))
    assert response.status_code == 200
    page = page_text(response)

    for heading in ("Questions", "Rules", "Guidance sections", "Sources", "Test patients"):
        assert re.search(rf"<h2[^>]*>{heading}</h2>", page), heading
    rule = next(r for r in version.document["rules"] if r["id"] == "urgent-symptoms")
    assert rule["title"] in page and rule["message"] in page
    assert "Get medical help now" in page
    question = next(q for q in version.document["questions"] if q["id"] == "condition")
    assert question["text"] in page and question["options"][0]["label"] in page
    assert '"format"' not in page and "ruxguide.ruleset/1" not in words(page)
    assert f'href="{document_url(version)}"' in page


def test_the_json_link_downloads_that_versions_document(clinician_client: Client, published_rules: RuleSet) -> None:
    version = live_version()
    response = clinician_client.get(document_url(version))
    assert response.status_code == 200
    downloaded = json.loads(response.content)
    # The defaults were published by a command, with no second clinician: the file says so.
    assert downloaded.pop("published") == {
        "version": version.version,
        "published_at": version.published_at.isoformat(),
        "review": "Published without a second review",
    }
    assert downloaded == version.document
    assert f"version-{version.version}-published-without-a-second-review.json" in response["Content-Disposition"]


def test_a_downloaded_version_imports_back_into_the_draft(clinician_client: Client, published_rules: RuleSet) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from screening.drafts import draft_document

    before = draft_document()
    content = clinician_client.get(document_url(live_version())).content
    upload = SimpleUploadedFile("version.json", content, content_type="application/json")
    response = clinician_client.post(
        reverse("admin:screening_publishedruleset_import"), {"document": upload, "reason": "Back to the live version"}
    )
    assert response.status_code == 302
    assert draft_document() == before


def test_the_json_download_needs_the_export_permission(published_rules: RuleSet) -> None:
    user = User.objects.create_user("reader", password="a long enough password", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_publishedruleset"))
    client = signed_in(user)
    assert client.get(version_url(live_version())).status_code == 200
    response = client.get(document_url(live_version()))
    assert response.status_code == 403
    assert "export the draft" in page_text(response)


def test_the_versions_list_says_in_words_whether_a_second_clinician_approved(
    clinician_client: Client, published_rules: RuleSet
) -> None:
    page = page_text(clinician_client.get(reverse("admin:screening_publishedruleset_changelist")))
    assert not live_version().second_review
    assert "Published without a second review" in page


# ---------------------------------------------------------------------------------------------
# The admin home: the draft's state and what to do next
# ---------------------------------------------------------------------------------------------


def review_url_exists() -> bool:
    try:
        reverse("admin:screening_review_review", args=[1])
    except NoReverseMatch:
        return False
    return True


def test_the_home_shows_the_drafts_state_and_the_buttons(
    clinician: User, clinician_client: Client, published_rules: RuleSet
) -> None:
    rule = Rule.objects.get(identifier="allergy")
    rule.message = "Do not use it. Ask your doctor."
    save(rule)
    active = Scenario.objects.filter(active=True)
    active.update(last_passed=True)
    active.filter(pk=active.first().pk).update(last_passed=False)  # type: ignore[union-attr]

    page = page_text(clinician_client.get(reverse("admin:index")))
    text = words(page)

    assert "1 change since version" in text
    assert f"{active.count() - 1} of {active.count()} test patients passed when last run" in text
    assert "translation" in text and "out of date" in text
    assert "No review is waiting" in text
    assert reverse("admin:screening_publishedruleset_compare") + f"?from={live_version().version}&to=draft" in page
    assert "Preview the draft" in text
    assert "Run the test patients" in text
    assert "Send for review" in text


def test_the_home_offers_a_second_clinician_the_waiting_review(published_rules: RuleSet) -> None:
    author = clinical_editor("author")
    reviewer = clinical_editor("reviewer")
    reviewer.user_permissions.add(Permission.objects.get(codename="approve_publication"))
    review = Review.objects.create(author=author, author_note="Shorter allergy message", draft_fingerprint="x")

    reviewer_page = page_text(signed_in(reviewer).get(reverse("admin:index")))
    author_page = page_text(signed_in(author).get(reverse("admin:index")))

    assert "1 review waiting" in words(reviewer_page)
    assert "Shorter allergy message" in reviewer_page
    assert "Review and approve" in reviewer_page
    assert "Review and approve" not in author_page
    assert "another clinician" in words(author_page)
    if review_url_exists():
        assert reverse("admin:screening_review_review", args=[review.pk]) in reviewer_page


# ---------------------------------------------------------------------------------------------
# Names, titles and levels in words
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url_name",
    [
        "admin:index",
        "admin:screening_scenario_changelist",
        "admin:screening_scenario_add",
        "admin:screening_publishedruleset_changelist",
        "admin:screening_publishedruleset_compare",
        "admin:screening_rule_changelist",
        "admin:app_list",
    ],
)
def test_no_page_says_django_administration_or_scenario(
    clinician_client: Client, published_rules: RuleSet, url_name: str
) -> None:
    url = reverse(url_name, kwargs={"app_label": "screening"} if url_name == "admin:app_list" else None)
    response = clinician_client.get(url)
    assert response.status_code == 200
    text = words(page_text(response))
    assert "Django" not in text
    assert "scenario" not in text.lower()
    assert "Ruxguide rules" in text


def test_the_sign_in_page_and_its_tab_say_ruxguide_rules(client: Client, db: None) -> None:
    page = page_text(client.get(reverse("admin:login")))
    assert re.search(r"<title>[^<]*Ruxguide rules[^<]*</title>", page)
    assert "Django" not in words(page)


def test_a_test_patients_page_and_history_never_say_scenario(
    clinician_client: Client, published_rules: RuleSet
) -> None:
    patient = Scenario.objects.first()
    assert patient is not None
    for url in (
        reverse("admin:screening_scenario_change", args=[patient.pk]),
        reverse("admin:screening_scenario_history", args=[patient.pk]),
    ):
        text = words(page_text(clinician_client.get(url)))
        assert "scenario" not in text.lower(), url
        assert "Django" not in text, url


def test_the_run_page_leads_with_a_summary_line(clinician_client: Client, published_rules: RuleSet) -> None:
    failing = Scenario.objects.get(name="Adult with eczema and nothing to report")
    failing.expected_overall = Level.TAKE_CARE
    save(failing)
    total = Scenario.objects.filter(active=True).count()

    page = page_text(clinician_client.post(reverse("admin:screening_scenario_run")))
    text = words(page)

    assert f"{total - 1} of {total} test patients pass; 1 fails: {failing.name}." in text
    summary = re.search(r'<p class="scenario-summary[^"]*"[^>]*>(.*?)</p>', page, re.S)
    assert summary is not None and "1 fails" in summary.group(1)
    row = re.search(rf'<tr[^>]*data-scenario="{re.escape(failing.name)}".*?</tr>', page, re.S)
    assert row is not None
    assert "expected: Points to take care with while using it" in words(row.group(0))


def test_the_run_page_says_when_every_test_patient_passes(clinician_client: Client, published_rules: RuleSet) -> None:
    total = Scenario.objects.filter(active=True).count()
    text = words(page_text(clinician_client.post(reverse("admin:screening_scenario_run"))))
    assert f"All {total} test patients pass." in text
