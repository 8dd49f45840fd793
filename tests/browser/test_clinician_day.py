"""A clinician's day in the admin, in a real browser: sign in, reword a rule until the wording check is
happy, run the test patients, walk the draft in the preview, publish, and see patients get the change.
A test patient whose outcome changes blocks publishing, and an earlier version of a rule can be
reverted from its history. Three app bugs found on the way are checked at the end (axe on
the preview result page, the preview of the education page, doubled headings on the publishing pages).

With RUXGUIDE_SCREENSHOTS=1, full-page screenshots of the admin pages are saved in /tmp/admin-shots/
for a human to look at; no assertion reads them.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission, User
from playwright.sync_api import Page, expect

from screening.defaults import default_document
from screening.models import PublishedRuleSet, Rule, Scenario
from tests.support.browser import (
    AXE,
    Answers,
    NewPage,
    fired_rules,
    patient,
    post_answers,
    press_continue,
    replacing_main,
    result_level,
    screenshot,
    walk_to_result,
)

# How the run reports the allergy test patient once its rule is lowered to "take care".
ALLERGY_DIFFERENCE = (
    "Overall result is “Points to take care with while using it”, "
    "expected “Do not use it unless your doctor decides otherwise”."
)

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/admin-shots")


def shot(page: Page, name: str) -> None:
    screenshot(page, name, folder=SHOTS)


GROUP = "Clinical editor"
PASSWORD = "a long test password 4 clinicians"

ALLERGIC = patient(allergy="yes")
RULE = "allergy"
DEFAULT_RULE = next(rule for rule in default_document()["rules"] if rule["id"] == RULE)
OLD_MESSAGE = DEFAULT_RULE["message"]
OLD_EDUCATION_TEXT = DEFAULT_RULE["education_text"]
# The test patient that expects exactly the allergy rule to fire, at the "do not use" level.
ALLERGY_TEST_PATIENT = next(s["name"] for s in default_document()["scenarios"] if s["expected_rules"] == [RULE])

UNCLEAR_MESSAGE = (
    "Notwithstanding the aforementioned immunological considerations, individuals demonstrating documented "
    "hypersensitivity to ruxolitinib or pharmaceutical excipients should discontinue utilisation, although "
    "continued administration might occasionally be considered safe following comprehensive dermatological "
    "evaluation."
)
PLAIN_MESSAGE = "You told us you are allergic to the cream or something in it. New plain wording."
# The education page describes each rule in general terms, in its own text (not the result's message).
PLAIN_EDUCATION_TEXT = "If you are allergic to the cream or anything in it, do not use it. New plain wording."

RULE_LIST = "/admin/screening/rule/"
SCENARIO_LIST = "/admin/screening/scenario/"
PUBLISH = "/admin/screening/publishedruleset/publish/"
VERSIONS = "/admin/screening/publishedruleset/"
COMPARE_WITH_DRAFT = "/admin/screening/publishedruleset/compare/?from=1&to=draft"
CHANGE_LOG = "/admin/screening/publishedruleset/history/"
PREVIEW_BANNER = ".preview-banner"
MESSAGES = "ul.messagelist li"


@pytest.fixture(autouse=True)
def single_clinician_publishing(settings: Any) -> None:
    """These tests publish through the publish page, which does so only where one clinician may publish alone."""
    settings.RUXGUIDE_SINGLE_CLINICIAN_PUBLISH = True


@pytest.fixture
def clinician(server_url: str) -> User:
    """A staff user in the "Clinical editor" group (a transactional flush may have emptied the group)."""
    group, _ = Group.objects.get_or_create(name=GROUP)
    group.permissions.set(Permission.objects.filter(content_type__app_label="screening"))
    user = User.objects.create_user("dr.lee", password=PASSWORD, is_staff=True)
    user.groups.add(group)
    return user


@pytest.fixture
def admin_page(new_page: NewPage, clinician: User) -> Page:
    """A desktop page signed in through the admin's own login form (django-axes watches it)."""
    page = new_page()
    page.goto("/admin/")
    page.wait_for_url(lambda url: "/admin/login/" in url)
    page.locator("#id_username").fill(clinician.username)
    page.locator("#id_password").fill(PASSWORD)
    page.get_by_role("button", name="Log in", exact=True).click()
    page.wait_for_url(lambda url: url.endswith("/admin/"))
    expect(page.get_by_role("heading", name="The rules patients see, and the draft", exact=True)).to_be_visible()
    return page


def open_rule(page: Page, identifier: str) -> None:
    page.goto(RULE_LIST)
    # Scoped to the list: the "By question" filter has a link named "allergy" too.
    page.locator("#result_list").get_by_role("link", name=identifier, exact=True).click()
    expect(page.locator("#id_identifier")).to_have_value(identifier)


def save_rule(page: Page, reason: str) -> None:
    """Give the required reason and save, staying on the change page (its wording check is fresh)."""
    page.locator("#id_change_reason").fill(reason)
    page.get_by_role("button", name="Save and continue editing", exact=True).click()
    expect(page.locator(f"{MESSAGES}.success")).to_contain_text("was changed successfully")


def walk_preview_to_result(page: Page, answers: Answers) -> None:
    """As a patient would, one question at a time, but through the draft at /preview/."""
    page.goto("/preview/check/")
    for question, options in answers.items():
        page.wait_for_url(lambda url, q=question: url.endswith(f"/preview/check/question/{q}/"))
        for option in options:
            page.locator(f"#{question}-{option}").check()
        press_continue(page, javascript=True)
    assert page.url.endswith("/preview/check/answers/"), page.url
    with replacing_main(page, javascript=True):
        page.get_by_role("link", name="See your result", exact=True).click()
    assert page.url.endswith("/preview/check/result/"), page.url


def patient_result(new_page: NewPage, answers: Answers) -> Page:
    """The live result for these answers, in a fresh context with no staff sign-in."""
    page = new_page()
    post_answers(page, answers)
    page.goto("/check/result/")
    expect(page.locator("main h1[data-level]")).to_be_visible()
    expect(page.locator(PREVIEW_BANNER)).to_have_count(0)
    return page


def publish(page: Page, note: str) -> None:
    page.locator("#id_note").fill(note)
    page.get_by_role("button", name="Run the test patients and publish", exact=True).click()


def test_a_clinicians_day(admin_page: Page, new_page: NewPage):
    page = admin_page
    shot(page, "admin-index")

    # A long, complex sentence with a promise word: saved to the draft, with both warnings.
    open_rule(page, RULE)
    page.locator("#id_message").fill(UNCLEAR_MESSAGE)
    save_rule(page, "Reworded after the pharmacy review")
    # The Chinese message was not changed with it, so it is out of date too.
    expect(page.locator(f"{MESSAGES}.warning").filter(has_text="translation is out of date")).to_have_count(1)
    warnings_shown = page.locator(f"{MESSAGES}.warning").filter(has_text=re.compile(r"^Message: "))
    expect(warnings_shown).to_have_count(2)
    expect(warnings_shown.nth(0)).to_contain_text(re.compile(r"^Message: Reading grade [\d.]+ is above 8"))
    expect(warnings_shown.nth(1)).to_contain_text("Message: “safe” can read as a promise to patients.")
    message_check = page.locator("table.wording-check tbody tr").filter(has=page.locator("th", has_text="Message"))
    expect(message_check.locator("td.wording-warning")).to_contain_text("Reading grade")
    expect(page.locator(f"{MESSAGES}.info")).to_contain_text("Saved to the draft.")
    shot(page, "rule-change-wording-warnings")

    # Plain words: no wording warnings (the Chinese message is still out of date), every line of the check OK.
    page.locator("#id_message").fill(PLAIN_MESSAGE)
    save_rule(page, "Plain wording, grade 8 or lower")
    expect(page.locator(f"{MESSAGES}.warning").filter(has_text=re.compile(r"^Message: "))).to_have_count(0)
    expect(page.locator("table.wording-check td.wording-warning")).to_have_count(0)
    # Title, message, what to do next and the education page's text, each in English and in Chinese.
    expect(page.locator("table.wording-check td.wording-ok")).to_have_count(8)
    shot(page, "rule-change-wording-ok")

    # Every test patient still gets the expected outcome from the draft.
    page.goto(SCENARIO_LIST)
    page.get_by_role("button", name="Run all test patients against the draft", exact=True).click()
    expect(page.locator("#content h1").first).to_have_text("Test patients run against the draft")
    rows = page.locator("table.scenario-results tbody tr")
    expect(rows).to_have_count(Scenario.objects.filter(active=True).count())
    expect(page.locator('table.scenario-results tr[data-passed="false"]')).to_have_count(0)
    expect(page.locator('table.scenario-results tr[data-passed="true"]')).to_have_count(rows.count())
    shot(page, "scenario-results")

    page.goto(COMPARE_WITH_DRAFT)
    change = page.locator(f'tr[data-change="Rule:{RULE}"]')
    expect(change.locator("td.diff-old")).to_have_text(OLD_MESSAGE)
    expect(change.locator("td.diff-new")).to_have_text(PLAIN_MESSAGE)
    shot(page, "compare-version-1-with-draft")

    # The preview walks the draft: the new wording, under the banner ...
    walk_preview_to_result(page, ALLERGIC)
    expect(page.locator(PREVIEW_BANNER)).to_contain_text("Preview of the draft rule set")
    assert fired_rules(page) == [RULE]
    expect(page.locator(f'main article[data-rule="{RULE}"]')).to_contain_text(PLAIN_MESSAGE)
    shot(page, "preview-result")

    # ... while patients still get the live version.
    live = patient_result(new_page, ALLERGIC)
    expect(live.locator(f'main article[data-rule="{RULE}"]')).to_contain_text(OLD_MESSAGE)
    expect(live.locator("main")).not_to_contain_text(PLAIN_MESSAGE)

    page.goto(PUBLISH)
    expect(page.locator(f'tr[data-change="Rule:{RULE}"]')).to_contain_text(PLAIN_MESSAGE)
    shot(page, "publish")
    publish(page, "Plainer wording for the allergy result")
    page.wait_for_url(lambda url: url.endswith(VERSIONS))
    expect(page.locator(MESSAGES)).to_have_text("Published version 2. Patients now see it.")
    assert PublishedRuleSet.objects.count() == 2

    page.goto(CHANGE_LOG)
    log = page.locator("table.change-log")
    expect(log).to_contain_text("Plain wording, grade 8 or lower")
    expect(log).to_contain_text("Reworded after the pharmacy review")
    expect(log).to_contain_text("dr.lee")
    shot(page, "change-history")

    # A patient who starts now walks the check and reads the new wording.
    patient_page = new_page()
    walk_to_result(patient_page, ALLERGIC)
    assert fired_rules(patient_page) == [RULE]
    assert result_level(patient_page) == "do_not_use"
    expect(patient_page.locator(f'main article[data-rule="{RULE}"]')).to_contain_text(PLAIN_MESSAGE)
    expect(patient_page.locator(PREVIEW_BANNER)).to_have_count(0)


def test_a_failing_test_patient_blocks_publishing(admin_page: Page, new_page: NewPage):
    page = admin_page
    open_rule(page, RULE)
    page.locator("#id_level").select_option(label="Points to take care with while using it")
    save_rule(page, "Milder level for allergies")
    expect(page.locator("#id_level")).to_have_value("take_care")

    page.goto(PUBLISH)
    publish(page, "Milder level for allergies")
    blocked = page.locator(".publish-blocked")
    expect(blocked).to_contain_text("Not published.")
    expect(blocked).to_contain_text("Patients still see version 1.")
    failure = blocked.locator(f'li[data-scenario="{ALLERGY_TEST_PATIENT}"]')
    expect(failure.locator("strong")).to_have_text(ALLERGY_TEST_PATIENT)
    expect(failure).to_contain_text(ALLERGY_DIFFERENCE)
    expect(blocked.locator("li[data-scenario]")).to_have_count(1)
    shot(page, "publish-blocked")
    assert PublishedRuleSet.objects.count() == 1

    live = patient_result(new_page, ALLERGIC)
    assert result_level(live) == "do_not_use"
    assert fired_rules(live) == [RULE]


def test_revert_from_history(admin_page: Page):
    page = admin_page
    old_title = DEFAULT_RULE["title"]
    new_title = "Allergy: a title we will take back"
    open_rule(page, RULE)
    page.locator("#id_title").fill(new_title)
    save_rule(page, "Trying a shorter title")
    expect(page.locator("#id_title")).to_have_value(new_title)

    page.get_by_role("link", name="History", exact=True).click()
    history = page.locator("#change-history tbody tr")
    # Newest first: the change above, then the rule as the default rule set loaded it.
    expect(history.nth(0)).to_contain_text("Trying a shorter title")
    expect(history.nth(1)).to_contain_text("Default rule set loaded")
    history.nth(1).get_by_role("link", name=RULE, exact=True).click()
    expect(page.locator("#content h1").first).to_have_text(f"Revert {RULE}")
    expect(page.locator("#id_title")).to_have_value(old_title)
    page.locator("#id_change_reason").fill("The old title was clearer")
    page.get_by_role("button", name="Revert", exact=True).click()

    page.wait_for_url(lambda url: url.endswith(RULE_LIST))
    expect(page.locator(f"{MESSAGES}.success")).to_contain_text("was changed successfully")
    assert Rule.objects.get(identifier=RULE).title == old_title
    open_rule(page, RULE)
    expect(page.locator("#id_title")).to_have_value(old_title)
    page.get_by_role("link", name="History", exact=True).click()
    expect(page.locator("#change-history tbody tr").nth(0)).to_contain_text("The old title was clearer")


def test_the_preview_result_page_has_no_axe_violations(admin_page: Page):
    page = admin_page
    post_answers(page, ALLERGIC, site="/preview")
    page.goto("/preview/check/result/")
    expect(page.locator(PREVIEW_BANNER)).to_be_visible()
    expect(page.locator(f'main article[data-rule="{RULE}"]')).to_be_visible()
    results = AXE.run(page)
    assert results.violations_count == 0, results.generate_report()


def test_the_preview_of_the_education_page_shows_the_draft(admin_page: Page, new_page: NewPage):
    rule = Rule.objects.get(identifier=RULE)
    rule.education_text = PLAIN_EDUCATION_TEXT
    rule._change_reason = "Plain wording, grade 8 or lower"
    rule.save()
    page = admin_page
    page.goto("/preview/about-the-cream/")
    expect(page.locator(PREVIEW_BANNER)).to_contain_text("Preview of the draft rule set")
    # Read once the page has loaded, not retried: the old wording is there at once.
    assert PLAIN_EDUCATION_TEXT in page.locator(f'main li[data-rule="{RULE}"]').inner_text()
    # Patients (no staff sign-in) still read the published text on the live page.
    live = new_page()
    live.goto("/about-the-cream/")
    assert OLD_EDUCATION_TEXT in live.locator(f'main li[data-rule="{RULE}"]').inner_text()


def test_each_publishing_page_has_one_heading(admin_page: Page):
    page = admin_page
    headings: dict[str, list[str]] = {}
    for url in (PUBLISH, COMPARE_WITH_DRAFT, CHANGE_LOG):
        page.goto(url)
        headings[url] = page.locator("main h1").all_inner_texts()
    page.goto(SCENARIO_LIST)
    page.get_by_role("button", name="Run all test patients against the draft", exact=True).click()
    expect(page.locator("table.scenario-results")).to_be_visible()
    headings["scenario results"] = page.locator("main h1").all_inner_texts()
    assert all(len(texts) == 1 for texts in headings.values()), headings
