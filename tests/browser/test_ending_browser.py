"""In a real browser on a phone: a warning sign ends the check at once, with JavaScript on and off, in
English and Chinese; a mistaken answer can be changed; clearing asks first; focus follows a change;
the education page and the urgent result print readably."""

from __future__ import annotations

import io
import re

import pytest
from axe_playwright_python.base import AxeResults
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from screening.engine import RuleSet
from tests.support.browser import (
    AXE,
    BROWSER_MARGINS,
    NO_CAUTIONS,
    PHONE,
    SHOTS,
    NewPage,
    answer_question,
    path_of,
    post_answers,
    press_continue,
    question_id,
    screenshot,
    walk_to_answers,
)

pytestmark = pytest.mark.browser

CONTINUE = {"en": "Continue", "zh-hans": "继续"}
PREFIX = {"en": "", "zh-hans": "/zh-hans"}
# 11 pt in CSS pixels (96 per inch, 72 points per inch).
ELEVEN_POINTS = 11 * 96 / 72


def keep_for_a_person(pdf: bytes, name: str) -> None:
    """Save a printout beside the screenshots, for a human to look at."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    (SHOTS / name).write_bytes(pdf)


def unmasked(html: str) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', 'name="csrfmiddlewaretoken"', html)


def axe_run(page: Page, new_page: NewPage, *, javascript: bool) -> AxeResults:
    """axe-core on the page as it is. axe needs JavaScript: in a context without it axe's own timers
    never fire and the audit never returns. So a page shown without JavaScript is audited as its twin:
    the same address and cookies, at the same size, in a context where axe can run but every script
    of the site is blocked, so the markup is exactly what the patient without JavaScript got."""
    if javascript:
        return AXE.run(page)
    twin = new_page(viewport=page.viewport_size)
    twin.context.add_cookies(page.context.cookies())
    twin.route("**/*.js", lambda route: route.abort())
    twin.goto(page.url)
    assert path_of(twin.url) == path_of(page.url)
    assert twin.evaluate("() => typeof window.htmx") == "undefined", "the site's scripts ran in the twin"
    # The same markup, but for the security token of a form, which is masked afresh for every response.
    assert unmasked(twin.locator("main").inner_html()) == unmasked(page.locator("main").inner_html())
    return AXE.run(twin)


@pytest.mark.parametrize("language", ["en", "zh-hans"])
@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_yes_to_the_warning_signs_shows_the_urgent_result_as_the_very_next_page_on_a_phone(
    new_page: NewPage, published_rules: RuleSet, language: str, javascript: bool
) -> None:
    page = new_page(javascript=javascript, viewport=PHONE)
    page.goto(f"{PREFIX[language]}/check/")
    assert question_id(page.url) == "urgent_symptoms"
    answer_question(page, {"urgent_symptoms": ("yes",)}, javascript=javascript, continue_label=CONTINUE[language])

    assert path_of(page.url) == f"{PREFIX[language]}/check/result/"
    expect(page.locator("main h1[data-level]")).to_have_attribute("data-level", "urgent")
    expect(page.locator("main [data-ended-by]")).to_have_attribute("data-ended-by", "urgent-symptoms")
    if javascript:
        expect(page.locator("main h1")).to_be_focused()
    # What to do now comes first on the screen, then the warning signs, then the way back.
    now = page.locator("main .result-now").bounding_box()
    signs = page.locator("main .ended").bounding_box()
    mistake = page.locator("main .mistake").bounding_box()
    assert now and signs and mistake and now["y"] < signs["y"] < mistake["y"]
    assert now["y"] + now["height"] <= PHONE["height"], "what to do now must be whole on the first screen"
    results = axe_run(page, new_page, javascript=javascript)
    screenshot(page, f"urgent-result-phone-{language}-{'js' if javascript else 'no-js'}")
    assert results.violations_count == 0, results.generate_report()


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_i_answered_this_by_mistake_changes_the_answer_and_the_check_goes_on(
    new_page: NewPage, published_rules: RuleSet, javascript: bool
) -> None:
    page = new_page(javascript=javascript, viewport=PHONE)
    page.goto("/check/")
    answer_question(page, {"urgent_symptoms": ("yes",)}, javascript=javascript)
    page.get_by_role("link", name="Change this answer").click()
    page.wait_for_url("**/check/question/urgent_symptoms/")
    expect(page.locator("#urgent_symptoms-yes")).to_be_checked()
    page.locator("#urgent_symptoms-no").check()
    press_continue(page, javascript=javascript)
    assert question_id(page.url) == "condition"


def test_clearing_answers_asks_first_and_then_clears_everything(page: Page, published_rules: RuleSet) -> None:
    walk_to_answers(page, NO_CAUTIONS)
    page.get_by_role("link", name="Clear my answers").click()
    page.wait_for_url("**/check/clear/**")
    expect(page.locator("main h1")).to_have_text("Clear your answers?")
    assert AXE.run(page).violations_count == 0
    screenshot(page, "clear-confirmation")

    # Changing one's mind goes back to the page it came from, answers intact.
    page.get_by_role("link", name="No, keep my answers and go back").click()
    page.wait_for_url("**/check/answers/")
    expect(page.locator(".summary-row")).to_have_count(len(NO_CAUTIONS))

    page.get_by_role("link", name="Clear my answers").click()
    page.get_by_role("button", name="Yes, clear my answers").click()
    page.wait_for_url(lambda url: path_of(url) == "/")
    expect(page.locator("main .notice")).to_contain_text("Your answers have been cleared")
    assert page.goto("/check/answers/").status == 409


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_after_changing_an_answer_focus_returns_to_the_row_that_changed(
    new_page: NewPage, published_rules: RuleSet, javascript: bool
) -> None:
    page = new_page(javascript=javascript)
    if javascript:
        walk_to_answers(page, NO_CAUTIONS)
    else:
        post_answers(page, NO_CAUTIONS)
        page.goto("/check/answers/")
    page.locator("#answer-allergy").get_by_role("link", name="Change").click()
    page.wait_for_url("**/check/question/allergy/?change=1")
    page.locator("#allergy-not_sure").check()
    press_continue(page, javascript=javascript)
    assert path_of(page.url) == "/check/answers/"
    expect(page.locator("#answer-allergy")).to_be_focused()
    expect(page.locator("#answer-allergy")).to_contain_text("not sure")


def test_the_printed_education_page_is_one_column_of_11_point_text_with_each_rule_and_what_to_do(
    page: Page, published_rules: RuleSet
) -> None:
    page.goto("/about-the-cream/")
    page.emulate_media(media="print")
    sizes = page.evaluate(
        """() => Array.from(document.querySelectorAll('.education p, .education li, .urgent li'))
              .map(el => [parseFloat(getComputedStyle(el).fontSize), el.className || el.tagName.toLowerCase(),
                          el.textContent.trim().slice(0, 60)])"""
    )
    assert len(sizes) > len(published_rules.rules)
    small = [f"{size * 72 / 96:.1f} pt <{name}> {text!r}" for size, name, text in sizes if size < ELEVEN_POINTS - 0.01]
    assert not small, f"printed smaller than 11 pt: {small}"
    assert page.evaluate("() => getComputedStyle(document.querySelector('.education')).columnCount") in ("auto", "1")
    for rule in published_rules.rules:
        item = page.locator(f'.education [data-rule="{rule.id}"]')
        expect(item.locator("h3")).to_have_text(rule.title)
        expect(item.locator(".edu-rule-text")).to_contain_text(rule.education_text)
    pdf = page.pdf(format="A4", margin=BROWSER_MARGINS)
    keep_for_a_person(pdf, "education.pdf")
    pages = PdfReader(io.BytesIO(pdf)).pages
    for number in range(len(pages)):
        assert pages[number].extract_text().strip(), f"page {number + 1} is empty"


def test_the_urgent_result_prints_on_one_a4_page_and_says_the_check_stopped_early(
    page: Page, published_rules: RuleSet
) -> None:
    post_answers(page, {"urgent_symptoms": ("yes",)}, then="/check/result/")
    page.goto("/check/result/print/")
    pdf = page.pdf(format="A4", margin=BROWSER_MARGINS)
    keep_for_a_person(pdf, "urgent-result.pdf")  # before the checks, so a failure can be looked at
    reader = PdfReader(io.BytesIO(pdf))
    text = " ".join(pdf_page.extract_text() for pdf_page in reader.pages)
    assert "This check stopped early" in text
    assert len(reader.pages) == 1, f"the urgent printout takes {len(reader.pages)} A4 pages, not one"
