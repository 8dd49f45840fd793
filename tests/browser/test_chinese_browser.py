"""Simplified Chinese in a real browser: the whole check under /zh-hans/, the language switch mid-check,
the browser's own language on a first visit, axe-core and the keyboard on Chinese pages, and Chinese
on paper with real glyphs (an embedded CJK font, no missing-glyph boxes).

PDFs of the Chinese pages are saved in /tmp/browser-shots/ for a human to look at, and screenshots
too with RUXGUIDE_SCREENSHOTS=1.
"""

from __future__ import annotations

import io
import re
import warnings
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Request, expect
from pypdf import PdfReader
from pypdf.generic import DictionaryObject, IndirectObject

from screening.engine import Rule, RuleSet, evaluate
from screening.live import current_ruleset
from tests.support import browser as helpers
from tests.support.browser import (
    BROWSER_MARGINS,
    DESKTOP,
    HAN,
    MANY_CAUTIONS,
    PATIENT_FOR_LEVEL,
    SHOTS,
    SITE,
    TIMEOUT_MS,
    ZH,
    Answers,
    answer_question,
    expect_chinese_page,
    expect_english_page,
    fired_rules,
    focused,
    path_of,
    post_answers,
    question_id,
    replacing_main,
    result_level,
    screenshot,
    tab_to,
)

pytestmark = pytest.mark.browser

# The interface words the tests click, by the language prefix of the page they are on.
CONTINUE = {"": "Continue", ZH: "继续"}
BACK = {"": "Back", ZH: "返回"}
SEE_RESULT = {"": "See your result", ZH: "查看您的结果"}
SWITCH_TO = {"": "简体中文", ZH: "English"}
# The missing-glyph marks a PDF shows for text its fonts cannot draw.
MISSING_GLYPHS = ("\ufffd", "\u25a1")  # the replacement character, and the white square (tofu)

# facts.md: a patient in their first 8 weeks with a skin reaction must stop and call (one rule fires);
# the answers reveal the amount and side-effect questions, so the walk covers skip logic too.
STOPPING_PATIENT, STOPPING_RULE = PATIENT_FOR_LEVEL["stop_and_call"]
# facts.md: an adult who is not sure about an allergy should talk to a clinician first.
UNSURE_ALLERGY, UNSURE_ALLERGY_RULE = PATIENT_FOR_LEVEL["talk_first"]


@pytest.fixture
def zh_rules(published_rules: RuleSet) -> RuleSet:
    """The live rule set with its Simplified Chinese texts, as the /zh-hans/ pages show it."""
    return current_ruleset("zh-hans")


@pytest.fixture
def new_context(browser: Browser, server_url: str) -> Iterator[Callable[..., BrowserContext]]:
    """Browser contexts with a chosen locale (it sets Accept-Language); all closed after the test."""
    contexts: list[BrowserContext] = []

    def open_context(*, locale: str) -> BrowserContext:
        context = browser.new_context(base_url=server_url, locale=locale, viewport=DESKTOP)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context

    yield open_context
    for context in contexts:
        context.close()


def site_of(url: str) -> str:
    """The language prefix of a page's address: "/zh-hans" or "" for English."""
    return ZH if path_of(url).startswith(f"{ZH}/") else ""


def full_path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def rule_titled(rules: RuleSet, rule_id: str) -> Rule:
    return next(rule for rule in rules.rules if rule.id == rule_id)


def answer_here(page: Page, answers: Answers, *, javascript: bool) -> str:
    """Choose the patient's answer to the question on screen, in whichever language, and continue."""
    return answer_question(page, answers, javascript=javascript, continue_label=CONTINUE[site_of(page.url)])


def go_back(page: Page, *, javascript: bool) -> None:
    """Follow the page's own Back link (not the browser's back button)."""
    with replacing_main(page, javascript=javascript):
        page.get_by_role("link", name=BACK[site_of(page.url)], exact=True).click()


def see_result_here(page: Page, *, javascript: bool) -> None:
    site = site_of(page.url)
    with replacing_main(page, javascript=javascript):
        page.get_by_role("link", name=SEE_RESULT[site], exact=True).click()
    assert path_of(page.url) == f"{site}/check/result/"


def switch_language(page: Page) -> None:
    """Press the header's language switch: a plain form post, so a full page load, even with htmx."""
    button = page.locator("form#language-switch").get_by_role("button", name=SWITCH_TO[site_of(page.url)], exact=True)
    with page.expect_navigation():
        button.click()


def switch_next(page: Page) -> str:
    """The page the language switch will show in the other language (its hidden `next`)."""
    return page.locator("form#language-switch input[name=next]").input_value()


def summary_rows(page: Page) -> list[tuple[str, str]]:
    """Check your answers as (question, answer) pairs, answers of a row joined by " / "."""
    rows = page.locator("main .summary-row").evaluate_all(
        """rows => rows.map(row => [
            row.querySelector("dt").innerText.trim(),
            Array.from(row.querySelectorAll("dd:not(.summary-action) span")).map(s => s.innerText.trim()).join(" / "),
        ])"""
    )
    return [(question, answer) for question, answer in rows]


def expected_rows(rules: RuleSet, answers: Answers) -> list[tuple[str, str]]:
    rows = []
    for question_id_, options in answers.items():
        question = rules.question(question_id_)
        assert question is not None
        rows.append((question.text, " / ".join(question.option(option).label for option in options)))
    return rows


# 1. The whole check in Chinese ------------------------------------------------------------------------


@pytest.mark.parametrize("javascript", [True, False], ids=["javascript", "no-javascript"])
def test_the_whole_check_in_chinese_stays_under_zh_hans_and_ends_on_the_chinese_result_for_the_answers(
    new_page, zh_rules: RuleSet, javascript: bool
):
    page = new_page(javascript=javascript)
    page.goto(f"{ZH}/")
    expect_chinese_page(page)
    page.get_by_role("link", name="现在开始", exact=True).click()
    page.wait_for_url(f"**{ZH}/check/question/urgent_symptoms/")

    documents: list[str] = []
    loads: list[str] = []
    posts: list[Request] = []
    page.on("request", lambda request: documents.append(request.url) if request.resource_type == "document" else None)
    page.on("request", lambda request: posts.append(request) if request.method == "POST" else None)
    page.on("load", lambda loaded: loads.append(loaded.url))
    if javascript:
        page.evaluate("() => { window.ruxguideMarker = 'the same document'; }")

    asked: list[str] = []
    while (current := question_id(page.url)) is not None:
        question = zh_rules.question(current)
        assert question is not None
        assert path_of(page.url) == f"{ZH}/check/question/{current}/"
        expect(page.locator("main legend h1")).to_have_text(question.text)
        expect(page).to_have_title(f"{question.text}{SITE}")
        expect(page.locator("main .progress")).to_contain_text(f"第 {len(asked) + 1} 题")
        if javascript:  # the switch is swapped out of band, so it would show this very page in English
            assert switch_next(page) == f"{ZH}/check/question/{current}/"
        asked.append(answer_here(page, STOPPING_PATIENT, javascript=javascript))
        assert len(asked) <= len(STOPPING_PATIENT), f"the check went on past the patient's answers: {asked}"

    assert asked == list(STOPPING_PATIENT)
    assert path_of(page.url) == f"{ZH}/check/answers/"
    expect(page).to_have_title(f"检查您的回答{SITE}")
    assert summary_rows(page) == expected_rows(zh_rules, STOPPING_PATIENT)
    see_result_here(page, javascript=javascript)

    assert result_level(page) == "stop_and_call"
    assert fired_rules(page) == [STOPPING_RULE]
    expect(page.locator("main article[data-rule] h3")).to_have_text([rule_titled(zh_rules, STOPPING_RULE).title])
    expect(page).to_have_title(f"您的结果{SITE}")
    expect(page.locator("main")).to_contain_text("您的结果")
    expect(page.locator("main")).to_contain_text("接下来该怎么做")
    expect_chinese_page(page)
    if javascript:
        assert documents == [], f"full page requests during the htmx steps: {documents}"
        assert loads == [], f"full page loads during the htmx steps: {loads}"
        assert page.evaluate("() => window.ruxguideMarker") == "the same document"
        assert switch_next(page) == f"{ZH}/check/result/"
    else:
        assert [path_of(post.url) for post in posts] == [f"{ZH}/check/question/{q}/" for q in asked]
        assert all(post.resource_type == "document" for post in posts), "without JavaScript, each step is a page load"
        assert all(path_of(url).startswith(f"{ZH}/") for url in documents), documents


# 2. Switching language mid-check keeps every answer ------------------------------------------------------


@pytest.mark.parametrize("javascript", [True, False], ids=["javascript", "no-javascript"])
def test_switching_language_mid_check_shows_the_same_question_and_keeps_every_answer(
    new_page, published_rules: RuleSet, zh_rules: RuleSet, javascript: bool
):
    page = new_page(javascript=javascript)
    answers = UNSURE_ALLERGY
    page.goto("/check/")
    for _ in range(3):  # urgent signs, condition, age: then the allergy question
        answer_here(page, answers, javascript=javascript)
    assert path_of(page.url) == "/check/question/allergy/"
    expect_english_page(page)

    switch_language(page)  # with JavaScript on, after three htmx swaps: the switch's `next` must have followed

    assert path_of(page.url) == f"{ZH}/check/question/allergy/"
    expect_chinese_page(page)
    expect(page.locator("main legend h1")).to_have_text(zh_rules.question("allergy").text)
    expect(page.locator("main input[name=allergy]:checked")).to_have_count(0)

    go_back(page, javascript=javascript)
    assert path_of(page.url) == f"{ZH}/check/question/age_group/"
    expect(page.locator("main legend h1")).to_have_text(zh_rules.question("age_group").text)
    expect(page.locator("#age_group-18_to_64")).to_be_checked()
    go_back(page, javascript=javascript)
    assert path_of(page.url) == f"{ZH}/check/question/condition/"
    expect(page.locator("#condition-atopic_dermatitis")).to_be_checked()
    expect(page.locator("main input[name=condition]:checked")).to_have_count(1)

    while question_id(page.url) is not None:
        answer_here(page, answers, javascript=javascript)
    assert path_of(page.url) == f"{ZH}/check/answers/"
    assert summary_rows(page) == expected_rows(zh_rules, answers)
    if javascript:
        assert switch_next(page) == f"{ZH}/check/answers/"

    switch_language(page)

    assert path_of(page.url) == "/check/answers/"
    expect_english_page(page)
    expect(page.locator("main h1")).to_have_text("Check your answers")
    assert summary_rows(page) == expected_rows(published_rules, answers)
    see_result_here(page, javascript=javascript)
    assert result_level(page) == "talk_first"
    assert fired_rules(page) == [UNSURE_ALLERGY_RULE]


def test_with_javascript_the_switch_always_names_the_page_on_screen_after_each_htmx_swap(page: Page):
    answers = UNSURE_ALLERGY
    page.goto(f"{ZH}/check/")
    for _ in range(4):
        answer_here(page, answers, javascript=True)
        assert switch_next(page) == full_path(page.url)
    go_back(page, javascript=True)
    assert path_of(page.url) == f"{ZH}/check/question/allergy/"
    assert switch_next(page) == full_path(page.url)
    # Exactly one switch: the out-of-band swap replaced the header's form, it did not add one to <main>.
    expect(page.locator("form#language-switch")).to_have_count(1)
    expect(page.locator("header form#language-switch")).to_have_count(1)

    switch_language(page)
    assert path_of(page.url) == "/check/question/allergy/"
    expect_english_page(page)
    expect(page.locator("#allergy-not_sure")).to_be_checked()
    expect(page.locator("main input[name=allergy]:checked")).to_have_count(1)


# 3. The browser's language on a first visit --------------------------------------------------------------


def test_a_browser_asking_for_chinese_lands_on_the_chinese_start_page_until_english_is_chosen(new_context):
    page = new_context(locale="zh-CN").new_page()
    with page.expect_request(lambda request: path_of(request.url) == "/") as asked:
        page.goto("/")
    assert asked.value.headers.get("accept-language", "").startswith("zh-CN")
    assert path_of(page.url) == f"{ZH}/"
    expect_chinese_page(page)
    expect(page.locator("main h1")).to_have_text("使用芦可替尼乳膏前的自查")

    switch_language(page)
    assert path_of(page.url) == "/"
    expect_english_page(page)
    expect(page.locator("main h1")).to_have_text("Check before you use ruxolitinib cream")

    page.goto("/")
    assert path_of(page.url) == "/"
    expect_english_page(page)
    another = page.context.new_page()  # the choice is the browser's, not the tab's
    another.goto("/")
    assert path_of(another.url) == "/"
    expect_english_page(another)

    # A link to a Chinese page still opens in Chinese; choosing Chinese again is remembered too.
    page.goto(f"{ZH}/about-the-cream/")
    expect_chinese_page(page)
    switch_language(page)
    assert path_of(page.url) == "/about-the-cream/"
    switch_language(page)
    assert path_of(page.url) == f"{ZH}/about-the-cream/"
    page.goto("/")
    assert path_of(page.url) == f"{ZH}/"


def test_a_browser_asking_for_english_stays_on_the_english_start_page(new_context):
    page = new_context(locale="en-GB").new_page()
    page.goto("/")
    assert path_of(page.url) == "/"
    expect_english_page(page)


# 4. axe-core and the keyboard on Chinese pages ---------------------------------------------------------
# (The start, result and education pages are audited in both languages in test_accessibility.py.)


def audit(page: Page, name: str) -> None:
    expect_chinese_page(page)
    helpers.audit(page, name)


def test_a_chinese_question_page_has_no_axe_violations(page: Page, zh_rules: RuleSet):
    page.goto(f"{ZH}/check/")
    expect(page.locator("main legend h1")).to_have_text(zh_rules.question("urgent_symptoms").text)
    audit(page, "zh-question")


def test_a_chinese_multiple_choice_question_page_has_no_axe_violations(page: Page):
    before_medicines = dict(list(STOPPING_PATIENT.items())[: list(STOPPING_PATIENT).index("other_medicines")])
    post_answers(page, before_medicines, then="/check/question/other_medicines/", site=ZH)
    page.goto(f"{ZH}/check/")
    assert path_of(page.url) == f"{ZH}/check/question/other_medicines/"
    expect(page.locator("main input[type=checkbox]").first).to_be_visible()
    audit(page, "zh-question-multiple")


def test_a_chinese_question_page_in_the_error_state_has_no_axe_violations(page: Page, zh_rules: RuleSet):
    page.goto(f"{ZH}/check/")
    page.get_by_role("button", name="继续", exact=True).click()
    summary = page.locator("main .error-summary")
    expect(summary).to_be_focused()
    expect(summary.locator("h2")).to_have_text("出现了问题")
    expect(page).to_have_title(f"错误：{zh_rules.question('urgent_symptoms').text}{SITE}")
    audit(page, "zh-question-error")


def test_chinese_check_your_answers_has_no_axe_violations(page: Page):
    post_answers(page, STOPPING_PATIENT, site=ZH)
    page.goto(f"{ZH}/check/answers/")
    expect(page.locator("main h1")).to_have_text("检查您的回答")
    audit(page, "zh-check-answers")


def test_the_chinese_printable_result_has_no_axe_violations(page: Page):
    post_answers(page, MANY_CAUTIONS, site=ZH)
    page.goto(f"{ZH}/check/result/print/")
    expect(page.locator("main h1")).to_be_visible()
    audit(page, "zh-result-print")


def test_a_keyboard_user_reaches_the_language_switch_by_tab_and_switches_with_enter(page: Page, zh_rules: RuleSet):
    page.goto(f"{ZH}/check/")
    assert question_id(page.url) == "urgent_symptoms"

    presses = tab_to(page, "form#language-switch button[type=submit]", limit=10)
    assert presses <= 3, "the switch comes right after the skip link and the site name"
    assert focused(page)["text"] == "English"
    assert page.evaluate("() => document.activeElement.matches(':focus-visible')")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert path_of(page.url) == "/check/question/urgent_symptoms/"
    expect_english_page(page)

    tab_to(page, "form#language-switch button[type=submit]", limit=10)
    assert focused(page)["text"] == "简体中文"
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert path_of(page.url) == f"{ZH}/check/question/urgent_symptoms/"
    expect_chinese_page(page)
    expect(page.locator("main legend h1")).to_have_text(zh_rules.question("urgent_symptoms").text)


# 5. Chinese on paper, with real glyphs -------------------------------------------------------------------


# A character a PDF's text layer gives as a CJK radical instead (U+2E80-U+2FDF): Noto Sans CJK shares
# glyphs with radicals, which is why print uses WenQuanYi Zen Hei for Chinese (see app.css).
RADICALS = re.compile(r"[\u2e80-\u2eff\u2f00-\u2fdf]")
# The fonts the print stylesheet asks for Chinese, as Chromium names them in a PDF.
PRINT_CJK_FONTS = ("WenQuanYiZenHei", "NotoSansCJK")


def fold(text: str) -> str:
    """Every space removed: a PDF breaks Chinese lines anywhere, and pypdf may put a space or a line
    break at each break."""
    return re.sub(r"\s+", "", text)


def print_to_pdf(page: Page, name: str | None = None) -> PdfReader:
    """Print the page on A4 as the browser would, keep a named PDF in SHOTS for a human, and read it back."""
    data = page.pdf(format="A4", margin=BROWSER_MARGINS, print_background=False)
    if name is not None:
        path = SHOTS / f"{name}.pdf"
        try:
            SHOTS.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        except OSError as error:  # pragma: no cover - depends on the machine
            warnings.warn(f"could not save {path}: {error}", stacklevel=2)
    return PdfReader(io.BytesIO(data))


def pdf_text(reader: PdfReader) -> str:
    return "\n".join(pdf_page.extract_text() for pdf_page in reader.pages)


def embedded_fonts(reader: PdfReader) -> dict[str, bool]:
    """Every font the pages use (also inside form XObjects, and a Type 0 font's descendants), by its
    name, and whether its glyphs are in the file: a font program (FontFile, FontFile2, FontFile3) or,
    for a Type 3 font, its glyph drawings (CharProcs)."""
    fonts: dict[str, bool] = {}
    seen: set[int] = set()

    def resolve(value):
        return value.get_object() if isinstance(value, IndirectObject) else value

    def font(entry: DictionaryObject) -> None:
        descriptor = resolve(entry.get("/FontDescriptor")) or DictionaryObject()
        name = str(entry.get("/BaseFont") or descriptor.get("/FontName") or "").lstrip("/")
        embedded = any(key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3")) or (
            entry.get("/Subtype") == "/Type3" and bool(resolve(entry.get("/CharProcs")))
        )
        fonts[name] = fonts.get(name, False) or embedded
        for descendant in resolve(entry.get("/DescendantFonts")) or []:
            font(resolve(descendant))

    def resources(value) -> None:
        res = resolve(value)
        if not isinstance(res, DictionaryObject) or id(res) in seen:
            return
        seen.add(id(res))
        for entry in (resolve(res.get("/Font")) or DictionaryObject()).values():
            font(resolve(entry))
        for xobject in (resolve(res.get("/XObject")) or DictionaryObject()).values():
            xobject = resolve(xobject)
            if xobject.get("/Subtype") == "/Form":
                resources(xobject.get("/Resources"))

    for pdf_page in reader.pages:
        resources(pdf_page.get("/Resources"))
    return fonts


def assert_real_chinese_glyphs(reader: PdfReader, text: str) -> None:
    fonts = embedded_fonts(reader)
    cjk = {name: embedded for name, embedded in fonts.items() if any(font in name for font in PRINT_CJK_FONTS)}
    assert cjk, f"no CJK font in the PDF, only {sorted(fonts)}"
    assert all(cjk.values()), f"a CJK font is named but not embedded: {cjk}"
    missing = [mark for mark in MISSING_GLYPHS if mark in text]
    assert not missing, f"missing-glyph marks in the printed text: {[hex(ord(m)) for m in missing]}"
    radicals = sorted(set(RADICALS.findall(text)))
    assert not radicals, f"radicals in the PDF text instead of characters: {[f'U+{ord(r):04X} {r}' for r in radicals]}"


def screen_fonts(page: Page, selector: str) -> list[str]:
    """The fonts Chromium actually drew an element's text with (not the CSS list it asked for)."""
    session = page.context.new_cdp_session(page)
    try:
        session.send("DOM.enable")
        session.send("CSS.enable")
        root = session.send("DOM.getDocument", {"depth": -1})["root"]["nodeId"]
        node = session.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
        used = session.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
    finally:
        session.detach()
    return [font["familyName"] for font in used]


def test_the_chinese_education_page_prints_its_chinese_text_with_an_embedded_cjk_font(
    page: Page, zh_rules: RuleSet
) -> None:
    page.goto(f"{ZH}/about-the-cream/")
    expect_chinese_page(page)
    heading = page.locator("main h1").inner_text()
    assert HAN.search(heading), heading
    assert screen_fonts(page, "main h1") == ["Noto Sans CJK SC"]
    screenshot(page, "zh-education-page")

    reader = print_to_pdf(page, "education-zh")
    text = pdf_text(reader)

    folded = fold(text)
    assert fold(heading) in folded
    for rule in zh_rules.rules:
        assert fold(rule.title) in folded, rule.id
    for section in zh_rules.sections:
        assert fold(section.title) in folded, section.id
    assert_real_chinese_glyphs(reader, text)


def test_the_printed_chinese_text_reads_back_as_the_characters_on_the_page(page: Page) -> None:
    page.goto(f"{ZH}/about-the-cream/")
    text = pdf_text(print_to_pdf(page))
    radicals = sorted(set(RADICALS.findall(text)))
    assert not radicals, f"radicals in the PDF text instead of characters: {[f'U+{ord(r):04X} {r}' for r in radicals]}"
    assert re.sub(r"\s+", "", page.locator("main h1").inner_text()) in re.sub(r"\s+", "", text)


def test_the_chinese_printable_result_prints_its_chinese_text_with_an_embedded_cjk_font(
    page: Page, zh_rules: RuleSet
) -> None:
    post_answers(page, MANY_CAUTIONS, site=ZH)
    page.goto(f"{ZH}/check/result/")
    expect_chinese_page(page)
    screenshot(page, "zh-result-page")
    page.get_by_role("link", name="打印这个结果", exact=True).click()
    page.wait_for_url(f"**{ZH}/check/result/print/")
    expect_chinese_page(page)
    heading = page.locator("main h1").inner_text()
    assert page.locator("main h1").get_attribute("data-level") == evaluate(zh_rules, MANY_CAUTIONS).overall
    screenshot(page, "zh-result-print-page")

    reader = print_to_pdf(page, "result-print-zh")
    text = pdf_text(reader)

    folded = fold(text)
    assert fold(heading) in folded
    outcome = evaluate(zh_rules, MANY_CAUTIONS)
    assert len(outcome.fired) >= 10
    for rule in outcome.fired:
        assert fold(rule.title) in folded, rule.id
        assert fold(rule.next_steps) in folded, rule.id
    for question_id_, options in MANY_CAUTIONS.items():
        question = zh_rules.question(question_id_)
        assert fold(question.text) in folded, question_id_
        for option in options:
            assert fold(question.option(option).label) in folded, f"{question_id_}={option}"
    for words in ("您的回答", "适用于您的事项", "医生、护士或药师的备注"):
        assert fold(words) in folded, words
    assert "药剂师" not in folded, "mainland usage is 药师 (facts.md, version 2)"
    for words in ("返回您的结果", "打印本页", "清除我的回答", "跳到主要内容"):  # on screen only
        assert fold(words) not in folded, words
    assert_real_chinese_glyphs(reader, text)


def test_the_chinese_start_and_question_headings_are_drawn_on_screen_with_noto_sans_cjk_sc(page: Page) -> None:
    page.goto(f"{ZH}/")
    assert screen_fonts(page, "main h1") == ["Noto Sans CJK SC"]
    screenshot(page, "zh-start-page")
    page.goto(f"{ZH}/check/")
    assert screen_fonts(page, "main legend h1") == ["Noto Sans CJK SC"]
    screenshot(page, "zh-question-page")
