"""A patient's way through the check in a real browser: with and without JavaScript, by keyboard alone,
with the back button, a reload, a change of answer, an empty answer and clearing the answers."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Page, Request, expect

from screening.engine import RuleSet
from tests.support.browser import (
    NO_CAUTIONS,
    PATIENT_FOR_LEVEL,
    SITE,
    Answers,
    answer_question,
    fired_rules,
    focused,
    path_of,
    patient,
    press_continue,
    question_id,
    replacing_main,
    result_level,
    see_result,
    tab_to,
    walk_to_answers,
    walk_to_result,
)

pytestmark = pytest.mark.browser

# facts.md: an adult with eczema who is pregnant must not use the cream (rule `pregnancy`), nothing else fires.
PREGNANT_ADULT, PREGNANCY_RULE = PATIENT_FOR_LEVEL["do_not_use"]
QUESTION_HEADING = "main legend h1"


def summary_row(page: Page, question_text: str):
    return page.locator(".summary-row").filter(has=page.locator("dt", has_text=question_text))


def test_with_javascript_a_pregnant_adult_is_told_not_to_use_the_cream_without_any_full_page_load(
    page: Page, published_rules: RuleSet
):
    page.goto("/")
    page.get_by_role("link", name="Start now", exact=True).click()
    page.wait_for_url("**/check/question/urgent_symptoms/")

    # From the first question on, htmx swaps <main>: no document request, no load event, same window.
    documents: list[str] = []
    loads: list[str] = []
    page.on("request", lambda request: documents.append(request.url) if request.resource_type == "document" else None)
    page.on("load", lambda loaded: loads.append(loaded.url))
    page.evaluate("() => { window.ruxguideMarker = 'the same document'; }")

    urls: list[str] = []
    for position, question in enumerate(PREGNANT_ADULT, start=1):
        text = published_rules.question(question).text
        assert question_id(page.url) == question
        urls.append(path_of(page.url))
        expect(page.locator(QUESTION_HEADING)).to_have_text(text)
        expect(page).to_have_title(f"{text}{SITE}")
        expect(page.locator("main .progress")).to_contain_text(f"Question {position} of about")
        if position > 1:  # the first question came with a full page load; every later one with a swap
            expect(page.locator(QUESTION_HEADING)).to_be_focused()
            assert focused(page)["tag"] == "H1"
            assert focused(page)["text"] == text
        answer_question(page, PREGNANT_ADULT, javascript=True)

    assert urls == [f"/check/question/{question}/" for question in PREGNANT_ADULT]
    assert path_of(page.url) == "/check/answers/"
    expect(page).to_have_title(f"Check your answers{SITE}")
    see_result(page)

    assert result_level(page) == "do_not_use"
    assert fired_rules(page) == [PREGNANCY_RULE]
    expect(page).to_have_title(f"Your result{SITE}")
    assert focused(page) == {"tag": "H1", "id": "", "type": "", "text": page.locator("main h1").inner_text()}
    assert documents == [], f"full page requests during the htmx steps: {documents}"
    assert loads == [], f"full page loads during the htmx steps: {loads}"
    assert page.evaluate("() => window.ruxguideMarker") == "the same document"


def test_without_javascript_the_same_patient_reaches_the_same_result_with_ordinary_form_posts(
    page_without_js: Page,
):
    page = page_without_js
    posts: list[Request] = []
    page.on("request", lambda request: posts.append(request) if request.method == "POST" else None)

    asked = walk_to_result(page, PREGNANT_ADULT, javascript=False)

    assert asked == list(PREGNANT_ADULT)
    assert [path_of(post.url) for post in posts] == [f"/check/question/{question}/" for question in asked]
    assert all(post.resource_type == "document" for post in posts), "without JavaScript, each step is a page load"
    assert result_level(page) == "do_not_use"
    assert fired_rules(page) == [PREGNANCY_RULE]


def test_the_back_and_forward_buttons_show_the_earlier_question_with_its_answer_and_then_the_next_again(
    page: Page, published_rules: RuleSet
):
    page.goto("/check/")
    for _ in range(3):
        answer_question(page, NO_CAUTIONS, javascript=True)
    assert question_id(page.url) == "allergy"

    page.go_back()
    expect(page).to_have_url(re.compile(r"/check/question/age_group/$"))
    expect(page.locator(QUESTION_HEADING)).to_have_text(published_rules.question("age_group").text)
    expect(page.locator("#age_group-18_to_64")).to_be_checked()

    page.go_back()
    expect(page).to_have_url(re.compile(r"/check/question/condition/$"))
    expect(page.locator(QUESTION_HEADING)).to_have_text(published_rules.question("condition").text)
    expect(page.locator("#condition-atopic_dermatitis")).to_be_checked()

    page.go_forward()
    expect(page).to_have_url(re.compile(r"/check/question/age_group/$"))
    expect(page.locator("#age_group-18_to_64")).to_be_checked()

    page.go_forward()
    expect(page).to_have_url(re.compile(r"/check/question/allergy/$"))
    expect(page.locator(QUESTION_HEADING)).to_have_text(published_rules.question("allergy").text)
    expect(page.locator("main input[name=allergy]:checked")).to_have_count(0)


def change_answer(page: Page, question_text: str) -> None:
    """Follow the row's Change link from check your answers."""
    with replacing_main(page, javascript=True):
        summary_row(page, question_text).get_by_role("link", name=re.compile(r"^Change")).click()
    expect(page).to_have_url(re.compile(r"/check/question/[^/]+/\?change=1$"))
    expect(page.locator(QUESTION_HEADING)).to_be_focused()


def test_changing_an_answer_from_check_your_answers_returns_there_with_the_new_answer(
    page: Page, published_rules: RuleSet
):
    age = published_rules.question("age_group")
    walk_to_answers(page, NO_CAUTIONS)
    expect(summary_row(page, age.text).locator("dd").first).to_have_text(age.option("18_to_64").label)

    change_answer(page, age.text)
    assert question_id(page.url) == "age_group"
    expect(page.locator("#age_group-18_to_64")).to_be_checked()
    expect(page.get_by_role("link", name="Back", exact=True)).to_have_attribute("href", "/check/answers/")
    page.locator("#age_group-65_or_over").check()
    press_continue(page, javascript=True)

    # Back on check your answers at the row that changed, which has the focus (not the page heading).
    assert path_of(page.url) == "/check/answers/"
    expect(page).to_have_url(re.compile(r"/check/answers/\?changed=age_group#answer-age_group$"))
    expect(page.locator("#answer-age_group")).to_be_focused()
    expect(summary_row(page, age.text).locator("dd").first).to_have_text(age.option("65_or_over").label)
    # Pregnancy and breastfeeding are asked only from 12 to 64: at 65 or over their rows go, nothing else.
    for hidden in ("pregnancy", "breastfeeding"):
        expect(summary_row(page, published_rules.question(hidden).text)).to_have_count(0)
    expect(page.locator(".summary-row")).to_have_count(len(NO_CAUTIONS) - 2)


def test_a_change_that_reveals_new_questions_asks_them_and_then_returns_to_check_your_answers(
    page: Page, published_rules: RuleSet
):
    child = patient(age_group="2_to_11", pregnancy=None, breastfeeding=None)
    asked = walk_to_answers(page, child)
    assert "pregnancy" not in asked
    assert "breastfeeding" not in asked
    pregnancy = published_rules.question("pregnancy")
    breastfeeding = published_rules.question("breastfeeding")
    expect(summary_row(page, pregnancy.text)).to_have_count(0)

    change_answer(page, published_rules.question("age_group").text)
    page.locator("#age_group-18_to_64").check()
    press_continue(page, javascript=True)

    # The newly shown questions are asked in turn, still in "change" mode, then check your answers again.
    for question in ("pregnancy", "breastfeeding"):
        expect(page).to_have_url(re.compile(rf"/check/question/{question}/\?change=1$"))
        answer_question(page, {question: ("no",)}, javascript=True)
    assert path_of(page.url) == "/check/answers/"

    expect(summary_row(page, pregnancy.text).locator("dd").first).to_have_text(pregnancy.option("no").label)
    expect(summary_row(page, breastfeeding.text).locator("dd").first).to_have_text(breastfeeding.option("no").label)
    expect(page.locator(".summary-row")).to_have_count(len(child) + 2)


def answer_by_keyboard(page: Page, answers: Answers, rules: RuleSet) -> None:
    question = rules.question(question_id(page.url))
    chosen = answers[question.id]
    if question.multiple:
        for option in chosen:  # in option order, so Tab only ever moves forward
            tab_to(page, f"#{question.id}-{option}")
            page.keyboard.press("Space")
    else:
        tab_to(page, f"input[name='{question.id}']")
        assert focused(page)["id"] == f"{question.id}-{question.options[0].id}", "Tab enters at the first radio"
        steps = question.option_ids.index(chosen[0])
        if steps == 0:
            page.keyboard.press("Space")
        for _ in range(steps):
            page.keyboard.press("ArrowDown")
    checked = page.locator(f"input[name='{question.id}']:checked")
    expect(checked).to_have_count(len(chosen))
    assert checked.evaluate_all("inputs => inputs.map(i => i.value)") == list(chosen)

    tab_to(page, "form[hx-post] button[type=submit]")
    with replacing_main(page, javascript=True):
        page.keyboard.press("Enter")


def test_a_keyboard_user_gets_from_the_start_page_to_the_result_without_a_mouse(page: Page, published_rules: RuleSet):
    # An older adult: the age is the fifth radio (arrow keys), the "none" answers are checkboxes (Space).
    answers, rule = PATIENT_FOR_LEVEL["take_care"]
    page.goto("/")
    tab_to(page, "a.button-start")
    page.keyboard.press("Enter")
    page.wait_for_url("**/check/question/urgent_symptoms/")

    while question_id(page.url) is not None:
        answer_by_keyboard(page, answers, published_rules)

    assert path_of(page.url) == "/check/answers/"
    tab_to(page, "main a[href='/check/result/']")
    with replacing_main(page, javascript=True):
        page.keyboard.press("Enter")
    assert path_of(page.url) == "/check/result/"
    expect(page.locator("main h1")).to_be_focused()
    assert result_level(page) == "take_care"
    assert fired_rules(page) == [rule]


def test_a_reload_midway_keeps_the_answers_and_the_current_question(page: Page, published_rules: RuleSet):
    page.goto("/check/")
    for _ in range(3):
        answer_question(page, NO_CAUTIONS, javascript=True)
    allergy = published_rules.question("allergy")

    response = page.reload()

    assert response is not None
    assert response.status == 200
    assert question_id(page.url) == "allergy"
    expect(page.locator(QUESTION_HEADING)).to_have_text(allergy.text)
    expect(page).to_have_title(f"{allergy.text}{SITE}")
    expect(page.locator("main .progress")).to_contain_text("Question 4 of about")

    with replacing_main(page, javascript=True):
        page.get_by_role("link", name="Back", exact=True).click()
    assert question_id(page.url) == "age_group"
    expect(page.locator("#age_group-18_to_64")).to_be_checked()


@pytest.mark.parametrize("javascript", [True, False], ids=["javascript", "no-javascript"])
def test_continuing_without_an_answer_shows_a_focused_error_summary_that_links_to_the_first_choice(
    new_page, published_rules: RuleSet, javascript: bool
):
    page = new_page(javascript=javascript)
    question = published_rules.question("urgent_symptoms")
    page.goto("/check/")
    with page.expect_response(lambda response: response.request.method == "POST") as posted:
        page.get_by_role("button", name="Continue", exact=True).click()

    assert posted.value.status == 200
    summary = page.locator("main .error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_have_attribute("role", "alert")
    expect(summary.locator("h2")).to_have_text("There is a problem")
    first_input = page.locator("main fieldset input").first
    expect(first_input).to_have_id(f"{question.id}-{question.options[0].id}")
    expect(summary.locator("a")).to_have_attribute("href", f"#{question.id}-{question.options[0].id}")
    expect(page).to_have_title(f"Error: {question.text}{SITE}")
    assert question_id(page.url) == question.id
    if javascript:
        expect(summary).to_be_focused()

    summary.locator("a").click()
    expect(first_input).to_be_focused()


def test_clear_my_answers_empties_them_so_check_your_answers_has_none(page: Page):
    walk_to_answers(page, NO_CAUTIONS)

    # "Clear my answers" asks first, on a page of its own that knows where it came from.
    page.get_by_role("link", name="Clear my answers", exact=True).click()
    page.wait_for_url(lambda url: path_of(url) == "/check/clear/")
    assert parse_qs(urlsplit(page.url).query) == {"next": ["/check/answers/"]}
    page.get_by_role("button", name="Yes, clear my answers", exact=True).click()
    page.wait_for_url(lambda url: path_of(url) == "/")
    expect(page.locator("main .notice")).to_contain_text("Your answers have been cleared")
    expect(page.get_by_role("link", name="Start now", exact=True)).to_be_visible()

    response = page.goto("/check/answers/")
    assert response is not None
    assert response.status == 409
    expect(page.locator("main h1")).to_have_text("There are no answers yet")
    expect(page.locator(".summary-row")).to_have_count(0)


def test_none_of_these_unchecks_the_other_choices_and_the_other_choices_uncheck_it(page: Page):
    page.goto("/check/")
    while question_id(page.url) != "other_medicines":
        answer_question(page, NO_CAUTIONS, javascript=True)
    steroid = page.locator("#other_medicines-steroid_on_skin")
    biologic = page.locator("#other_medicines-biologic_injections")
    none = page.locator("#other_medicines-none")

    steroid.check()
    biologic.check()
    expect(steroid).to_be_checked()
    expect(biologic).to_be_checked()

    none.check()
    expect(steroid).not_to_be_checked()
    expect(biologic).not_to_be_checked()
    expect(none).to_be_checked()

    steroid.check()
    expect(none).not_to_be_checked()
    expect(steroid).to_be_checked()
    expect(page.locator("main input[name=other_medicines]:checked")).to_have_count(1)
