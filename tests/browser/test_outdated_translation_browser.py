"""An out-of-date translation in a real browser: the admin says so beside the Chinese field (read out with
it), and after publishing, the Chinese result page shows the current English text marked as English.

Screenshots for a human to look at, with RUXGUIDE_SCREENSHOTS=1: /tmp/h6-outdated-field.png,
/tmp/h6-outdated-option.png and /tmp/h6-zh-fallback.png.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from screening import publishing
from screening.models import Question, Rule
from tests.support.browser import AXE, ZH, NewPage, keep_screenshot, patient, post_answers

pytestmark = pytest.mark.browser

PASSWORD = "a long enough password"
NEW_MESSAGE = "You told us you reacted badly to this cream before. Do not use it again: it could happen again."
FIELD_SHOT = Path("/tmp/h6-outdated-field.png")
FALLBACK_SHOT = Path("/tmp/h6-zh-fallback.png")
OPTION_SHOT = Path("/tmp/h6-outdated-option.png")
TRANSLATIONS_SHOT = Path("/tmp/h6-translations.png")


def axe_violations(page: Page, *, within: str | None = None) -> list[tuple[str, list[str]]]:
    """Each axe-core violation on the page (or only in the elements `within` selects): rule, elements."""
    results = AXE.run(page, context=within)
    return [
        (violation["id"], [str(node["target"]) for node in violation["nodes"]])
        for violation in results.response["violations"]
    ]


@pytest.fixture
def admin_page(new_page: NewPage, clinician: User) -> Page:
    page = new_page()
    page.goto("/admin/login/")
    page.locator("#id_username").fill(clinician.username)
    page.locator("#id_password").fill(PASSWORD)
    page.get_by_role("button", name="Log in", exact=True).click()
    page.wait_for_url(lambda url: "/admin/login/" not in url)
    return page


def test_a_changed_english_message_shows_english_to_chinese_patients_and_says_so_in_the_admin(
    admin_page: Page, new_page: NewPage, clinician: User
) -> None:
    rule = Rule.objects.get(identifier="allergy")
    old_chinese = rule.message_zh_hans
    admin_page.goto(f"/admin/screening/rule/{rule.pk}/change/")
    admin_page.locator("#id_message").fill(NEW_MESSAGE)
    admin_page.locator("#id_change_reason").fill("Plainer allergy message")
    admin_page.get_by_role("button", name="Save and continue editing", exact=True).click()

    note = admin_page.locator("#id_message_zh_hans_outdated_note")
    expect(note).to_contain_text("Out of date: the English changed on")
    expect(note).to_contain_text("tick “checked by a clinician”")
    described_by = admin_page.locator("#id_message_zh_hans").get_attribute("aria-describedby") or ""
    assert "id_message_zh_hans_outdated_note" in described_by.split()
    note.evaluate("note => note.scrollIntoView({block: 'center'})")
    keep_screenshot(admin_page, FIELD_SHOT)
    assert axe_violations(admin_page) == []

    # The translations page lists it first, the English now beside the translation.
    admin_page.goto("/admin/screening/publishedruleset/translations/")
    first = admin_page.locator("table.translations tbody tr").first
    expect(first).to_have_attribute("data-status", "outdated")
    expect(first.locator("td[lang=en]")).to_have_text(NEW_MESSAGE)
    keep_screenshot(admin_page, TRANSLATIONS_SHOT)
    assert axe_violations(admin_page) == []

    publishing.publish(user=clinician, note="Plainer allergy message")
    page = new_page()
    post_answers(page, patient(allergy="yes"), site=ZH)
    page.goto(f"{ZH}/check/result/")
    message = page.locator("main [data-rule=allergy] p[lang=en]")
    expect(message).to_have_text(NEW_MESSAGE)
    expect(page.locator("main")).not_to_contain_text(old_chinese)
    keep_screenshot(page, FALLBACK_SHOT, full_page=True)
    assert axe_violations(page) == []


def test_an_option_whose_english_label_changed_says_its_chinese_label_is_out_of_date_in_its_row(
    admin_page: Page,
) -> None:
    question = Question.objects.get(identifier="allergy")
    option = question.options.get(identifier="yes")
    admin_page.goto(f"/admin/screening/question/{question.pk}/change/")
    row = admin_page.locator(f"tr:has(input[name$='-id'][value='{option.pk}'])")
    row.locator("input[name$='-label']").fill("Yes, I have reacted to it")
    admin_page.locator("#id_change_reason").fill("Plainer label")
    admin_page.get_by_role("button", name="Save and continue editing", exact=True).click()

    row = admin_page.locator(f"tr:has(input[name$='-id'][value='{option.pk}'])")
    note = row.locator("p.translation-outdated-note")
    expect(note).to_contain_text("Out of date: the English changed on")
    field = row.locator("input[name$='-label_zh_hans']")
    assert (note.get_attribute("id") or "") in (field.get_attribute("aria-describedby") or "").split()
    note.evaluate("note => note.scrollIntoView({block: 'center'})")
    keep_screenshot(admin_page, OPTION_SHOT)
    assert axe_violations(admin_page, within=f"#{row.get_attribute('id')}") == []
