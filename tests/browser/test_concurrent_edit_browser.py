"""Two clinicians in two browsers open the same rule: the second, whose page is out of date, gets the
conflict page with what they typed kept and both changes in view, and saves after reviewing.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission, User
from playwright.sync_api import Page, expect

from screening.models import Rule
from tests.support.browser import AXE, NewPage, keep_screenshot

pytestmark = pytest.mark.browser

PASSWORD = "a long enough password"
GROUP = "Clinical editor"
THEIR_WARNING = "Stop using the cream and call us at once if your skin blisters."
MY_NEXT_STEPS = "Show this page to your pharmacist before your next refill."
SHOT = "/tmp/h1-conflict.png"


def clinician(username: str) -> User:
    group, _ = Group.objects.get_or_create(name=GROUP)
    group.permissions.set(Permission.objects.filter(content_type__app_label="screening"))
    user = User.objects.create_user(username, password=PASSWORD, is_staff=True, first_name=username.title())
    user.groups.add(group)
    return user


def signed_in(new_page: NewPage, user: User) -> Page:
    page = new_page()
    page.goto("/admin/")
    page.wait_for_url(lambda url: "/admin/login/" in url)
    page.locator("#id_username").fill(user.username)
    page.locator("#id_password").fill(PASSWORD)
    page.get_by_role("button", name="Log in", exact=True).click()
    page.wait_for_url(lambda url: url.endswith("/admin/"))
    return page


def save(page: Page, reason: str) -> None:
    page.locator("#id_change_reason").fill(reason)
    page.get_by_role("button", name="Save and continue editing", exact=True).click()


def test_the_second_save_from_an_out_of_date_page_shows_both_changes_and_then_saves(
    new_page: NewPage, server_url: str
) -> None:
    rule = Rule.objects.get(identifier="allergy")
    url = f"/admin/screening/rule/{rule.pk}/change/"
    first = signed_in(new_page, clinician("amara"))
    second = signed_in(new_page, clinician("ben"))
    first.goto(url)
    second.goto(url)

    first.locator("#id_message").fill(THEIR_WARNING)
    save(first, "Add the blistering warning")
    expect(first.locator("ul.messagelist")).to_contain_text("was changed successfully")

    second.locator("#id_next_steps").fill(MY_NEXT_STEPS)
    save(second, "Pharmacist advice")
    box = second.get_by_role("region", name="Someone else saved this while you had it open")
    expect(box).to_be_visible()
    expect(second.get_by_role("alert").first).to_contain_text("Someone else saved this")
    expect(box).to_contain_text("Amara")
    expect(box).to_contain_text("Add the blistering warning")
    expect(box.get_by_role("columnheader", name="Their change")).to_be_visible()
    expect(box).to_contain_text(THEIR_WARNING)
    # What they typed is still there; the field only the other clinician changed now holds that change.
    expect(second.locator("#id_next_steps")).to_have_value(MY_NEXT_STEPS)
    expect(second.locator("#id_message")).to_have_value(THEIR_WARNING)
    expect(second.locator("#id_change_reason")).to_have_value("Pharmacist advice")

    # The whole page, the conflict box and the conditions table included, has no violations.
    results = AXE.run(second)
    keep_screenshot(second, SHOT)
    assert not results.violations_count, results.generate_report()

    second.get_by_role("button", name="Save and continue editing", exact=True).click()
    expect(second.locator("ul.messagelist")).to_contain_text("was changed successfully")
    expect(second.locator("#edit-conflict")).to_have_count(0)
    rule.refresh_from_db()
    assert (rule.message, rule.next_steps) == (THEIR_WARNING, MY_NEXT_STEPS)
