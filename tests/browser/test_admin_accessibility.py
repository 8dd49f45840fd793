"""axe-core finds no violations on any admin page a clinician uses to edit, test, review and publish the
rules, at 1280 px: the change, add, list, history and delete pages of each draft model and test patients,
and the workflow pages (publish, compare, change history, translations, the admin home, review).

With RUXGUIDE_SCREENSHOTS=1, each page is saved as a full-page screenshot in /tmp/admin-a11y/ (also on
failure) for a human to look at.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client
from django.urls import NoReverseMatch, reverse
from playwright.sync_api import Page, expect

from screening.models import GuidanceSection, Option, Question, Rule, Scenario, Source
from screening.permissions import CLINICAL_EDITOR_PERMISSIONS
from tests.support.browser import AXE, DESKTOP, NewPage, keep_screenshot, screenshot

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/admin-a11y")
PASSWORD = "a long test password 4 clinicians"


def _object_pages(model_name: str, find: Callable[[], int]) -> list[tuple[str, Callable[[], str]]]:
    def page(view: str) -> Callable[[], str]:
        return lambda: reverse(f"admin:screening_{model_name}_{view}", args=[find()])

    return [
        (f"{model_name}-list", lambda: reverse(f"admin:screening_{model_name}_changelist")),
        (f"{model_name}-add", lambda: reverse(f"admin:screening_{model_name}_add")),
        (f"{model_name}-change", page("change")),
        (f"{model_name}-history", page("history")),
        (f"{model_name}-delete", page("delete")),
    ]


def _question() -> int:
    return Question.objects.get(identifier="allergy").pk


def _rule() -> int:
    return Rule.objects.get(identifier="allergy").pk


def _source() -> int:
    return Source.objects.order_by("order", "code").values_list("pk", flat=True)[0]


def _section() -> int:
    return GuidanceSection.objects.order_by("order").values_list("pk", flat=True)[0]


def _scenario() -> int:
    return Scenario.objects.order_by("name").values_list("pk", flat=True)[0]


def _named(name: str, query: str = "") -> Callable[[], str]:
    def url() -> str:
        try:
            return reverse(name) + query
        except NoReverseMatch:
            pytest.skip(f"{name} is not built yet")

    return url


def _changed_draft() -> None:
    """A draft that differs from the live version: new wording, a changed option, a test patient switched off
    (a change to the safety net), so the workflow pages show their diffs, warnings and out-of-date notes."""
    from screening.history import change_reason

    with change_reason("Checking the pages with a changed draft"):
        rule = Rule.objects.get(identifier="allergy")
        rule.message = "You told us you are allergic to the cream or something in it. Do not use it."
        rule.save()
        option = Option.objects.get(question__identifier="allergy", identifier="not_sure")
        option.label = "I do not know"
        option.save()
        patient = Scenario.objects.order_by("name").first()
        assert patient is not None
        patient.active = False
        patient.save()


def _after_change(name: str, query: str = "") -> Callable[[], str]:
    url = _named(name, query)

    def changed() -> str:
        _changed_draft()
        return url()

    return changed


def _waiting_review() -> str:
    """A review another clinician sent, as the reviewer opens it."""
    try:
        from screening.review import draft_state, send_for_review
    except ImportError:
        pytest.skip("reviews are not built yet")
    _changed_draft()
    author = User.objects.create_user("dr.author", password=PASSWORD, is_staff=True)
    state = draft_state()
    review = send_for_review(
        author=author, note="Clearer allergy wording", reasons={item.key: "Checked" for item in state.safety}
    )
    return reverse("admin:screening_review_review", args=[review.pk])


PAGES: list[tuple[str, Callable[[], str]]] = [
    ("home", _named("admin:index")),
    *_object_pages("question", _question),
    *_object_pages("rule", _rule),
    *_object_pages("source", _source),
    *_object_pages("guidancesection", _section),
    *_object_pages("scenario", _scenario),
    ("publish", _named("admin:screening_publishedruleset_publish")),
    ("versions", _named("admin:screening_publishedruleset_changelist")),
    ("compare", _named("admin:screening_publishedruleset_compare", "?from=1&to=draft")),
    ("change-history", _named("admin:screening_change_log")),
    ("translations", _named("admin:screening_translations")),
    ("review-send", _named("admin:screening_review_send")),
    ("reviews", _named("admin:screening_review_changelist")),
    # The same pages with something to show: diffs, safety-net warnings, out-of-date translations.
    ("home-changed", _after_change("admin:index")),
    ("publish-changed", _after_change("admin:screening_publishedruleset_publish")),
    ("compare-changed", _after_change("admin:screening_publishedruleset_compare", "?from=1&to=draft")),
    ("translations-changed", _after_change("admin:screening_translations")),
    ("review-send-changed", _after_change("admin:screening_review_send")),
    ("review-waiting", _waiting_review),
]


@pytest.fixture
def admin_page(new_page: NewPage, server_url: str) -> Page:
    """A clinician of the Clinical editor group, signed in, at 1280 px."""
    from django.contrib.auth.models import Group, Permission

    group, _ = Group.objects.get_or_create(name="Clinical editor")
    group.permissions.set(
        Permission.objects.filter(content_type__app_label="screening", codename__in=CLINICAL_EDITOR_PERMISSIONS)
    )
    user = User.objects.create_user("dr.axe", password=PASSWORD, is_staff=True)
    user.groups.add(group)
    page = new_page(viewport=DESKTOP)
    # Signed in as the login form would (tests/browser/test_clinician_day.py uses the form itself):
    # a staff session made on the server, its cookie handed to the browser.
    staff = Client()
    staff.force_login(user)
    cookie = staff.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": server_url}])
    return page


@pytest.mark.parametrize(("name", "url"), PAGES, ids=[name for name, _ in PAGES])
def test_the_admin_page_has_no_axe_violations_at_1280_px(admin_page: Page, name: str, url: Callable[[], str]) -> None:
    address = url()
    response = admin_page.goto(address)
    assert response is not None and response.status == 200, (address, response and response.status)
    expect(admin_page.locator("h1").first).to_be_visible()
    results = AXE.run(admin_page)
    screenshot(admin_page, name, folder=SHOTS)
    counts = {v["id"]: len(v["nodes"]) for v in results.response["violations"]}
    assert not results.violations_count, f"{name} ({address}) {counts}:\n{results.generate_report()}"


def test_the_condition_picker_shows_only_the_picked_questions_answers(admin_page: Page) -> None:
    rule = Rule.objects.get(identifier="allergy")
    admin_page.goto(reverse("admin:screening_rule_change", args=[rule.pk]))
    row = admin_page.locator("#conditions-0")
    groups = row.locator("fieldset.option-group")
    expect(groups.locator("visible=true")).to_have_count(1)
    expect(row.locator("fieldset.option-group:visible legend")).to_have_text(
        Question.objects.get(identifier="allergy").text
    )
    pregnancy = Question.objects.get(identifier="pregnancy")
    row.locator("select[name='conditions-0-question']").select_option(str(pregnancy.pk))
    expect(row.locator("fieldset.option-group:visible legend")).to_have_text(pregnancy.text)
    row.get_by_label("I am pregnant", exact=False).first.check()
    keep_screenshot(admin_page.locator("#conditions-group"), "/tmp/h8-picker.png")
    keep_screenshot(admin_page, "/tmp/h8-rule.png", full_page=True)


def test_the_question_page_fits_a_1280_px_screen(admin_page: Page) -> None:
    admin_page.goto(reverse("admin:screening_question_change", args=[_question()]))
    overflow = admin_page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    keep_screenshot(admin_page, "/tmp/h8-question.png", full_page=True)
    assert overflow <= 0, f"the page is {overflow} px wider than the window"
    admin_page.goto(reverse("admin:screening_rule_change", args=[_rule()]))
    overflow = admin_page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the rule page is {overflow} px wider than the window"
    admin_page.goto(reverse("admin:screening_question_delete", args=[_question()]))
    keep_screenshot(admin_page, "/tmp/h8-delete.png", full_page=True)
