"""Paper: the education page and a patient's personal result, printed to PDF by Chromium."""

from __future__ import annotations

import io
import re
import unicodedata

import pytest
from playwright.sync_api import Page
from pypdf import PdfReader

from screening.engine import RuleSet, evaluate
from tests.support.browser import BROWSER_MARGINS, MANY_CAUTIONS, post_answers

pytestmark = pytest.mark.browser

ON_SCREEN_ONLY = ["Clear my answers", "Continue", "Print this page", "Skip to main content", "Back to your result"]


def printed(page: Page, paper: str = "A4") -> tuple[int, str]:
    """Print the page as the browser would and return its page count and its text, spaces folded."""
    reader = PdfReader(io.BytesIO(page.pdf(format=paper, margin=BROWSER_MARGINS, print_background=False)))
    text = " ".join(pdf_page.extract_text() for pdf_page in reader.pages)
    return len(reader.pages), fold(text)


def fold(text: str) -> str:
    """Spaces folded, and typographic ligatures (the "fi" in "benefit") spelled out as letters."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text)).strip()


def test_the_education_page_prints_every_article_fact_section_and_rule_with_what_it_means(
    page: Page, published_rules: RuleSet
) -> None:
    # No page limit: the printout is one column of 11 pt text, so it takes several A4 pages (its
    # readability is tested in test_ending_browser.py). Nothing on the page may be lost on paper.
    page.goto("/about-the-cream/")
    _, text = printed(page)
    for code in [f"S{n}" for n in range(1, 12)]:
        assert fold(published_rules.source(code).summary) in text, code
    for section in published_rules.sections:
        assert fold(section.title) in text, section.id
    for rule in published_rules.rules:
        assert fold(rule.title) in text, rule.id
        assert fold(rule.education_text) in text, rule.id
    assert f"rule set version {published_rules.version}" in text


def test_the_education_page_prints_link_addresses_after_the_link_text(page: Page, published_rules: RuleSet) -> None:
    page.goto("/about-the-cream/")
    _, text = printed(page)
    without_spaces = text.replace(" ", "")
    for url in {source.url for source in published_rules.sources if source.url}:
        assert f"({url})" in without_spaces, url


def test_the_education_page_also_prints_on_us_letter_with_nothing_meant_for_the_screen(
    page: Page, published_rules: RuleSet
) -> None:
    page.goto("/about-the-cream/")
    _, text = printed(page, "Letter")
    for rule in published_rules.rules:
        assert fold(rule.title) in text, rule.id
    for words in ON_SCREEN_ONLY:
        assert words not in text
    assert "Warning signs: get medical help now" in text


def test_a_personal_result_prints_with_date_version_answers_rules_and_room_for_notes(
    page: Page, published_rules: RuleSet
) -> None:
    post_answers(page, MANY_CAUTIONS)
    page.goto("/check/result/")
    page.get_by_role("link", name="Print this result", exact=True).click()
    page.wait_for_url("**/check/result/print/")
    _, text = printed(page)

    outcome = evaluate(published_rules, MANY_CAUTIONS)
    assert len(outcome.fired) >= 10
    for rule in outcome.fired:
        assert fold(rule.title) in text, rule.id
        assert fold(rule.next_steps) in text, rule.id
    for question_id, options in MANY_CAUTIONS.items():
        question = published_rules.question(question_id)
        assert fold(question.text) in text
        for option in options:
            assert fold(question.option(option).label) in text
    assert f"Rule set version {published_rules.version}" in text
    assert re.search(r"Date of this check: \d{1,2} [A-Z][a-z]+ \d{4}", text)
    assert "Notes from your doctor, nurse or pharmacist" in text
    assert "does not replace" in text
    for words in ON_SCREEN_ONLY:
        assert words not in text


def test_printed_text_is_black_and_rules_are_never_split_across_pages(page: Page, published_rules: RuleSet) -> None:
    post_answers(page, MANY_CAUTIONS)
    page.goto("/check/result/print/")
    page.emulate_media(media="print")
    styles = page.evaluate(
        """() => {
            const style = (selector) => getComputedStyle(document.querySelector(selector));
            return {
                body: style("body").color,
                rule: style(".rule").breakInside,
                headline: style("h1").color,
                header: style(".site-header").display,
            };
        }"""
    )
    assert styles == {"body": "rgb(0, 0, 0)", "rule": "avoid", "headline": "rgb(0, 0, 0)", "header": "none"}


def test_the_print_button_appears_only_with_javascript(new_page, published_rules: RuleSet) -> None:
    with_js = new_page()
    with_js.goto("/about-the-cream/")
    assert with_js.get_by_role("button", name="Print this page").is_visible()

    without_js = new_page(javascript=False)
    without_js.goto("/about-the-cream/")
    assert without_js.get_by_role("button", name="Print this page").count() == 0
    assert without_js.get_by_text("use your browser's Print command").is_visible()
