"""Patients from /work/shared/clinical/facts.md, and steps that walk a page through the check.

A patient is their answers in the order the check asks them, so the keys double as the expected
question order. Each level's patient changes one answer of the no-cautions patient, so exactly one
rule fires for each.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from axe_playwright_python.base import AxeResults
from axe_playwright_python.sync_playwright import DEFAULT_OPTIONS, Axe
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Locator, Page, ViewportSize, expect

from tests.support.patients import HEALTHY_ADULT

Answers = dict[str, tuple[str, ...]]

# Generous for a loaded CI machine, short enough that a broken step fails quickly.
TIMEOUT_MS = 10_000
NewPage = Callable[..., Page]

SITE = " \u2013 Ruxguide"  # every page title ends with an en dash and the site name
SHOTS = Path("/tmp/browser-shots")
# Screenshots are for a human to look at, and no test reads them: they are saved only when asked
# (RUXGUIDE_SCREENSHOTS=1 make test), since a full-page PNG of a long page costs more than its checks.
SAVE_SCREENSHOTS = bool(os.environ.get("RUXGUIDE_SCREENSHOTS"))
PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1280, "height": 900}
# A question page in English, or under the Chinese pages' /zh-hans/ prefix.
QUESTION_PATH = re.compile(r"^(?:/zh-hans)?/check/question/(?P<question>[^/]+)/$")
VIEWPORTS: dict[str, ViewportSize] = {"phone": PHONE, "desktop": DESKTOP}
# Chromium's default print margins (about 1 cm), rather than page.pdf()'s default of none.
BROWSER_MARGINS = {side: "0.4in" for side in ("top", "right", "bottom", "left")}


class _AxeOncePerDocument:
    """axe-core put into a document once: audit() runs it at two widths on the same document, and
    injecting its 570 KB script again cost the browser as much as the second run itself."""

    def __init__(self) -> None:
        self._axe = Axe()

    def run(
        self,
        page: Page,
        context: str | list[Any] | dict[str, Any] | None = None,
        options: dict[str, Any] | None = DEFAULT_OPTIONS,
    ) -> AxeResults:
        if not page.evaluate("() => typeof window.axe === 'object'"):
            page.evaluate(self._axe.axe_script)
        arguments = self._axe._format_script_args(context=context, options=options)
        return AxeResults(page.evaluate(f"axe.run({arguments}).then(results => results)"))


AXE = _AxeOncePerDocument()

ZH = "/zh-hans"
# English interface words that must not be left on a Chinese page.
ENGLISH_INTERFACE = [
    "Your result",
    "What to do next",
    "Print this result",
    "Read about the cream",
    "Check or change your answers",
    "Clear my answers",
    "Skip to main content",
    "Continue",
]
# Chinese (CJK ideographs).
HAN = re.compile(r"[\u4e00-\u9fff]")

# An adult with eczema who has not started the cream and answers no to everything: nothing fires.
NO_CAUTIONS: Answers = {
    **{question: options for question, options in HEALTHY_ADULT.items() if question not in ("amount", "side_effects")},
    "treatment_stage": ("not_started",),
}


def patient(**changes: str | tuple[str, ...] | None) -> Answers:
    """The no-cautions patient with some answers changed; None drops a question the check skips."""
    answers = dict(NO_CAUTIONS)
    for question, answer in changes.items():
        if answer is None:
            answers.pop(question, None)
        else:
            answers[question] = (answer,) if isinstance(answer, str) else answer
    return answers


# level -> (answers, the one rule facts.md says fires for them)
PATIENT_FOR_LEVEL: dict[str, tuple[Answers, str | None]] = {
    # "Yes" to the warning signs ends the check: nothing more is asked.
    "urgent": ({"urgent_symptoms": ("yes",)}, "urgent-symptoms"),
    "stop_and_call": (
        patient(treatment_stage="under_8_weeks", amount="within_limit", side_effects="skin_reaction"),
        "skin-reaction",
    ),
    "do_not_use": (patient(pregnancy="pregnant"), "pregnancy"),
    "talk_first": (patient(allergy="not_sure"), "allergy-unsure"),
    # Pregnancy and breastfeeding are asked only from 12 to 64, so not at 65 or over.
    "take_care": (patient(age_group="65_or_over", pregnancy=None, breastfeeding=None), "older-adult"),
    "none": (NO_CAUTIONS, None),
}


# A patient for whom many rules fire, at every level but urgent.
MANY_CAUTIONS = patient(
    condition="psoriasis",
    age_group="65_or_over",
    pregnancy=None,  # not asked at 65 or over
    breastfeeding=None,
    allergy="not_sure",
    other_medicines=("biologic_injections", "steroid_on_skin"),
    health_conditions=("heart_or_stroke", "diabetes"),
    skin_to_treat=("broken_or_infected",),
    treatment_stage="8_weeks_or_more",
    amount="over_limit",
    side_effects=("skin_reaction",),
)


def path_of(url: str) -> str:
    return urlsplit(url).path


def question_id(url: str) -> str | None:
    match = QUESTION_PATH.match(path_of(url))
    return match["question"] if match else None


@contextmanager
def replacing_main(page: Page, *, javascript: bool) -> Iterator[None]:
    """Around an action that shows another page. With htmx, wait until the old content of <main> is
    gone and the new content has settled and taken focus (htmx pushes the URL before it swaps)."""
    old = page.locator("main [data-focus-on-swap]").first.element_handle() if javascript else None
    before = page.url
    yield
    page.wait_for_url(lambda url: url != before)
    if old is not None:
        old.wait_for_element_state("hidden")  # detached
        expect(page.locator("main [data-focus-on-swap]").first).to_be_focused()


def press_continue(page: Page, *, javascript: bool, label: str = "Continue") -> None:
    """Submit the question and wait until another page (question or check your answers) is shown."""
    with replacing_main(page, javascript=javascript):
        page.get_by_role("button", name=label, exact=True).click()


def answer_question(page: Page, answers: Answers, *, javascript: bool, continue_label: str = "Continue") -> str:
    """Choose this patient's answer to the question on screen and continue; returns the question id."""
    current = question_id(page.url)
    assert current is not None, f"expected a question page, got {page.url}"
    assert current in answers, f"the check asked {current!r}, which this patient has no answer for"
    for option in answers[current]:
        page.locator(f"#{current}-{option}").check()
    press_continue(page, javascript=javascript, label=continue_label)
    return current


def walk_to_answers(page: Page, answers: Answers, *, javascript: bool = True) -> list[str]:
    """From the start of the check to check-your-answers; returns the questions asked, in order."""
    page.goto("/check/")
    asked: list[str] = []
    while question_id(page.url) is not None and len(asked) <= len(answers):
        asked.append(answer_question(page, answers, javascript=javascript))
    assert path_of(page.url) == "/check/answers/", f"expected check your answers, got {page.url}"
    return asked


def post_answers(page: Page, answers: Answers, *, then: str | None = None, site: str = "") -> None:
    """Send the answers as the question forms would, without the browser walking each page.

    For tests about a later page, not the steps. The page's context keeps the session cookie, and
    each answer must lead to the next question in the patient's order, and the last one to `then`.
    `site` is "/preview" to answer the draft in the clinicians' preview. By default the last answer
    leads to check your answers, or to the result when it ends the check ("yes" to the warning signs).
    """
    if then is None:
        then = "/check/result/" if answers.get("urgent_symptoms") == ("yes",) else "/check/answers/"
    page.goto(f"{site}/check/")
    token = page.locator("input[name=csrfmiddlewaretoken]").first.input_value()
    order = list(answers)
    for position, question in enumerate(order):
        form = [(question, option) for option in answers[question]] + [("csrfmiddlewaretoken", token)]
        response = page.request.post(
            f"{site}/check/question/{question}/",
            data=urlencode(form),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        expected = f"{site}/check/question/{order[position + 1]}/" if position + 1 < len(order) else site + then
        assert response.ok, f"answering {question!r}: status {response.status}"
        assert path_of(response.url) == expected, f"answering {question!r} led to {response.url}, not {expected}"


def see_result(page: Page, *, javascript: bool = True) -> None:
    with replacing_main(page, javascript=javascript):
        page.get_by_role("link", name="See your result", exact=True).click()
    assert path_of(page.url) == "/check/result/"


def walk_to_result(page: Page, answers: Answers, *, javascript: bool = True) -> list[str]:
    asked = walk_to_answers(page, answers, javascript=javascript)
    see_result(page, javascript=javascript)
    return asked


def fired_rules(page: Page) -> list[str]:
    rules: list[str] = page.locator("main [data-rule]").evaluate_all("els => els.map(e => e.dataset.rule)")
    return rules


def result_level(page: Page) -> str | None:
    return page.locator("main h1[data-level]").get_attribute("data-level")


def focused(page: Page) -> dict[str, str]:
    """The element that has keyboard focus: its tag, id, type and text."""
    element: dict[str, str] = page.evaluate(
        """() => {
            const el = document.activeElement;
            return {tag: el.tagName, id: el.id || "", type: el.type || "", text: (el.textContent || "").trim()};
        }"""
    )
    return element


def screenshot(page: Page, name: str, *, folder: Path = SHOTS) -> Path | None:
    """A full-page screenshot for a human to look at, named in `folder`."""
    return keep_screenshot(page, folder / f"{name}.png", full_page=True)


def keep_screenshot(target: Page | Locator, path: Path | str, *, full_page: bool = False) -> Path | None:
    """A screenshot for a human to look at, when asked (SAVE_SCREENSHOTS). A failure only warns, as
    no test depends on it. (A test that reads its screenshot back takes it itself.)"""
    if not SAVE_SCREENSHOTS:
        return None
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(target, Locator):
            target.screenshot(path=str(path))
        else:
            target.screenshot(path=str(path), full_page=full_page)
    except (OSError, PlaywrightError) as error:  # pragma: no cover - depends on the machine
        warnings.warn(f"could not save {path}: {error}", stacklevel=2)
        return None
    return path


def audit(page: Page, name: str) -> None:
    """Run axe at each width, save a screenshot at each (when asked), then fail with every violation found."""
    reports: list[str] = []
    for label, size in VIEWPORTS.items():
        page.set_viewport_size(size)
        results = AXE.run(page)
        if results.violations_count:
            reports.append(f"{name} at {label} width ({size['width']} px):\n{results.generate_report()}")
        screenshot(page, f"{name}-{label}")
    assert not reports, "\n\n".join(reports)


def expect_chinese_page(page: Page) -> None:
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.locator("form#language-switch button[type=submit]")).to_have_text("English")
    text = page.locator("body").inner_text()
    assert HAN.search(text), f"no Chinese on {page.url}"
    left = [words for words in ENGLISH_INTERFACE if words in text]
    assert not left, f"English interface text on the Chinese page {page.url}: {left}"


def expect_english_page(page: Page) -> None:
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("form#language-switch button[type=submit]")).to_have_text("简体中文")


def tab_to(page: Page, selector: str, *, limit: int = 40) -> int:
    """Press Tab until the focused element matches the selector; returns the number of presses."""
    for presses in range(1, limit + 1):
        page.keyboard.press("Tab")
        if page.evaluate("selector => document.activeElement.matches(selector)", selector):
            return presses
    pytest.fail(f"{limit} presses of Tab never reached {selector} on {page.url}")
