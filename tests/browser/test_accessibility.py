"""axe-core finds no violations on any patient page, at phone and desktop widths, and focus is visible.

The pages that differ between the languages only by their address and words are audited in English
and in Chinese (the Chinese page must also be wholly Chinese); the other Chinese audits are in
test_chinese_browser.py.

With RUXGUIDE_SCREENSHOTS=1, each audited page is also saved as a full-page screenshot in
/tmp/browser-shots/ for a human to look at; no assertion reads them.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.support.browser import (
    NO_CAUTIONS,
    PATIENT_FOR_LEVEL,
    ZH,
    audit,
    expect_chinese_page,
    fired_rules,
    path_of,
    post_answers,
    result_level,
)

pytestmark = pytest.mark.browser


# The site prefix of each language, with the name its audits are saved under.
LANGUAGES = pytest.mark.parametrize("site", ["", ZH], ids=["english", "chinese"])
START_NOW = {"": "Start now", ZH: "现在开始"}


def audit_in(page: Page, site: str, name: str) -> None:
    """Audit the page; a Chinese page must also show no English interface words."""
    if site == ZH:
        expect_chinese_page(page)
        name = f"zh-{name}"
    audit(page, name)


@LANGUAGES
def test_the_start_page_has_no_axe_violations(page: Page, site: str):
    page.goto(f"{site}/")
    expect(page.get_by_role("link", name=START_NOW[site], exact=True)).to_be_visible()
    audit_in(page, site, "start")


def test_a_question_page_has_no_axe_violations(page: Page):
    page.goto("/check/")
    expect(page.locator("main legend h1")).to_be_visible()
    audit(page, "question")


def test_a_multiple_choice_question_page_has_no_axe_violations(page: Page):
    before_medicines = dict(list(NO_CAUTIONS.items())[: list(NO_CAUTIONS).index("other_medicines")])
    post_answers(page, before_medicines, then="/check/question/other_medicines/")
    page.goto("/check/")
    assert path_of(page.url) == "/check/question/other_medicines/"
    expect(page.locator("main input[type=checkbox]").first).to_be_visible()
    audit(page, "question-multiple")


def test_a_question_page_in_the_error_state_has_no_axe_violations(page: Page):
    page.goto("/check/")
    page.get_by_role("button", name="Continue", exact=True).click()
    expect(page.locator("main .error-summary")).to_be_focused()
    audit(page, "question-error")


def test_check_your_answers_has_no_axe_violations(page: Page):
    post_answers(page, NO_CAUTIONS)
    page.goto("/check/answers/")
    expect(page.locator("main h1")).to_have_text("Check your answers")
    audit(page, "check-answers")


@LANGUAGES
def test_the_education_page_has_no_axe_violations(page: Page, site: str):
    page.goto(f"{site}/about-the-cream/")
    expect(page.locator("main h1")).to_be_visible()
    audit_in(page, site, "education")


@LANGUAGES
@pytest.mark.parametrize("level", list(PATIENT_FOR_LEVEL))
def test_the_result_page_has_no_axe_violations_at_every_level(page: Page, level: str, site: str):
    answers, rule = PATIENT_FOR_LEVEL[level]
    post_answers(page, answers, site=site)
    page.goto(f"{site}/check/result/")
    assert result_level(page) == level
    assert fired_rules(page) == ([rule] if rule else [])
    audit_in(page, site, f"result-{level}")


def tab_to_start_button(page: Page) -> Locator:
    page.goto("/")
    start = page.get_by_role("link", name="Start now", exact=True)
    for _ in range(20):
        page.keyboard.press("Tab")
        if start.evaluate("el => el === document.activeElement"):
            break
    expect(start).to_be_focused()
    return start


def test_the_start_button_shows_a_visible_focus_indicator_when_reached_by_keyboard(page: Page):
    page.goto("/")
    looks = "el => { const s = getComputedStyle(el); return [s.backgroundColor, s.color, s.boxShadow, s.outline]; }"
    unfocused = page.get_by_role("link", name="Start now", exact=True).evaluate(looks)

    start = tab_to_start_button(page)

    assert start.evaluate("el => el.matches(':focus-visible')")
    focused_look = start.evaluate(looks)
    assert focused_look != unfocused, f"the focused start button looks the same as the unfocused one: {unfocused}"
    assert focused_look[0] != unfocused[0], "the focused start button should change its background colour"


def test_the_start_link_is_announced_as_a_link_and_starts_the_check_with_enter(page: Page):
    start = tab_to_start_button(page)
    assert start.evaluate("el => el.tagName === 'A' && !el.hasAttribute('role')")
    page.keyboard.press("Enter")
    page.wait_for_url("**/check/question/urgent_symptoms/", timeout=2_000)
