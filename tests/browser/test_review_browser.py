"""Two clinicians in two browsers: one sends a change for review, the other approves it, and patients see it."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.contrib.auth.models import Group, User
from playwright.sync_api import Page, expect

from screening.models import PublishedRuleSet, Review
from screening.permissions import CLINICAL_EDITOR, CLINICAL_REVIEWER, sync_clinical_editor_group
from tests.support.browser import AXE, DESKTOP, NewPage, keep_screenshot, patient, post_answers
from tests.support.documents import default_document

pytestmark = pytest.mark.browser

PASSWORD = "a long test password 4 clinicians"
RULE = "allergy"
ALLERGIC = patient(allergy="yes")
NEW_MESSAGE = "You told us you are allergic to the cream or something in it. Reviewed new wording."
# A test patient that expects nothing to fire: switching it off weakens the safety net.
TEST_PATIENT = next(s["name"] for s in default_document()["scenarios"] if s["expected_overall"] == "none")
MESSAGES = "ul.messagelist li"


def clinician(username: str, group: str) -> User:
    # A transactional flush may have emptied the groups: put them back as migrate does.
    sync_clinical_editor_group(app_config=apps.get_app_config("screening"))
    user = User.objects.create_user(username, password=PASSWORD, is_staff=True, first_name=username.title())
    user.groups.add(Group.objects.get(name=group))
    return user


def sign_in(page: Page, user: User) -> None:
    page.goto("/admin/")
    page.wait_for_url(lambda url: "/admin/login/" in url)
    page.locator("#id_username").fill(user.username)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("input[type=submit], button[type=submit]").first.click()
    page.wait_for_url(lambda url: url.endswith("/admin/"))


def fill_reason_if_asked(page: Page, reason: str) -> None:
    reason_field = page.locator("#id_change_reason")
    if reason_field.count():
        reason_field.fill(reason)


def no_axe_violations(page: Page, name: str) -> None:
    page.set_viewport_size(DESKTOP)
    results = AXE.run(page)
    assert results.violations_count == 0, f"{name}:\n{results.generate_report()}"


def shot(page: Page, path: str) -> None:
    page.set_viewport_size(DESKTOP)
    keep_screenshot(page, path, full_page=True)


def test_two_clinicians_review_and_publish_a_change(new_page: NewPage, server_url: str) -> None:
    author = clinician("alice", CLINICAL_EDITOR)
    reviewer = clinician("bob", CLINICAL_REVIEWER)
    live_before = PublishedRuleSet.objects.order_by("-version").first()
    assert live_before is not None

    # A edits the allergy rule's English message ...
    a = new_page(viewport=DESKTOP)
    sign_in(a, author)
    a.goto("/admin/screening/rule/")
    a.locator("#result_list").get_by_role("link", name=RULE, exact=True).click()
    a.locator("#id_message").fill(NEW_MESSAGE)
    fill_reason_if_asked(a, "Plainer wording after the pharmacy review")
    a.locator("input[name=_continue]").click()
    expect(a.locator(f"{MESSAGES}.success")).to_be_visible()

    # ... and switches off a test patient.
    a.goto("/admin/screening/scenario/")
    a.locator("#result_list").get_by_role("link", name=TEST_PATIENT, exact=True).click()
    a.locator("#id_active").uncheck()
    fill_reason_if_asked(a, "Duplicates another test patient")
    a.locator("input[name=_continue]").click()
    expect(a.locator(f"{MESSAGES}.success")).to_be_visible()

    # The send page leads with the safety net, in red, and refuses to send without the reason.
    a.goto("/admin/screening/review/send/")
    safety = a.locator("section.safety-net")
    expect(safety).to_contain_text(f"The test patient “{TEST_PATIENT}” is switched off")
    assert a.evaluate(
        "() => document.querySelector('section.safety-net').compareDocumentPosition("
        "[...document.querySelectorAll('h2')].find(h => h.textContent === 'What the draft changes')) "
        "& Node.DOCUMENT_POSITION_FOLLOWING"
    )
    color = safety.evaluate("el => getComputedStyle(el).borderTopColor")
    assert color == "rgb(186, 33, 33)", color
    a.locator("#id_note").fill("Plainer allergy wording; one duplicate test patient off")
    a.get_by_role("button", name="Send for review", exact=True).click()
    expect(a.locator(".safety-error")).to_contain_text("Write why you make this change")
    assert not Review.objects.exists()
    a.get_by_label("Your reason for change 1 to the safety net").fill("It repeats the eczema adult exactly.")
    shot(a, "/tmp/h5-send.png")
    no_axe_violations(a, "send page")
    a.get_by_role("button", name="Send for review", exact=True).click()
    expect(a.locator(MESSAGES).first).to_contain_text("Sent for review")

    # A cannot approve their own change.
    review = Review.objects.get(status=Review.Status.WAITING)
    expect(a.locator(".review-cannot")).to_contain_text("another clinician must approve it")
    expect(a.get_by_role("button", name="Approve and publish")).to_have_count(0)

    # B sees the red safety-net items first, with A's reason, ticks each and approves.
    b = new_page(viewport=DESKTOP)
    sign_in(b, reviewer)
    b.goto(f"/admin/screening/review/{review.pk}/review/")
    first_section = b.locator("#content-main h2").first
    expect(first_section).to_contain_text("Changes that weaken the safety net (1)")
    expect(b.locator("section.safety-net")).to_contain_text("It repeats the eczema adult exactly.")
    expect(b.locator("table.rule-set-changes")).to_contain_text(NEW_MESSAGE)
    b.get_by_role("button", name="Approve and publish", exact=True).click()
    expect(b.locator(".safety-error")).to_contain_text("Tick each change to the safety net")
    for tick in b.locator("input[name=acknowledge]").all():
        tick.check()
    b.locator("#id_note").fill("Checked against the leaflet")
    shot(b, "/tmp/h5-review.png")
    no_axe_violations(b, "review page")
    b.get_by_role("button", name="Approve and publish", exact=True).click()
    expect(b.locator(MESSAGES).first).to_contain_text(f"Approved and published version {live_before.version + 1}")

    published = PublishedRuleSet.objects.get(version=live_before.version + 1)
    assert (published.author, published.published_by, published.second_review) == (author, reviewer, True)

    # A patient sees the new version, and the Chinese page shows the changed text in English.
    patient_page = new_page()
    post_answers(patient_page, ALLERGIC)
    patient_page.goto("/check/result/")
    expect(patient_page.locator(f'main [data-rule="{RULE}"]')).to_contain_text(NEW_MESSAGE)
    patient_page.goto("/zh-hans/check/result/")
    expect(patient_page.locator(f'main [data-rule="{RULE}"] [lang="en"]').first).to_contain_text(NEW_MESSAGE)
