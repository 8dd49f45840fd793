"""What is kept and shared between patients never carries one patient's answers, cautions or security
token to another, never mixes the draft's preview with the live pages, and goes with a new publication.

Two patients with different answers, and a third reading Chinese, take the check in turn, so every
kept page and part is drawn for one and then served to another; each page is then read by each, in
turn, and must show that patient's own answers, cautions and token, as the page drawn afresh would.
"""

from __future__ import annotations

import gzip
import html
import re
from collections.abc import Iterator, Mapping

import brotli  # type: ignore[import-untyped]
import pytest
from django.contrib.auth.models import User
from django.middleware.csrf import _unmask_cipher_token
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape

from screening import page_cache, publishing
from screening.engine import RuleSet, evaluate, walk
from screening.live import current_ruleset
from screening.models import Question, Rule
from screening.views import pages
from tests.support.admin_forms import admin_form_data
from tests.support.patients import EVERY_LEVEL_BELOW_URGENT, HEALTHY_ADULT, as_lists, walk_check

CHINESE = "zh-hans"
HTMX = {"HX-Request": "true"}
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
CHECKED = re.compile(r'value="([a-z0-9_]+)" checked')
ROW = re.compile(
    r'<div class="summary-row"(?: id="answer-([a-z0-9_]+)")?[^>]*>\s*<dt[^>]*>(.*?)</dt>\s*<dd>(.*?)</dd>', re.S
)
LABEL = re.compile(r"<span[^>]*>(.*?)</span>")
CAUTION = re.compile(r'<(?:article|div) class="rule" data-rule="([^"]+)"')
HEADLINE = re.compile(r'<h1[^>]* data-level="(?P<level>[a-z_]+)">.*?</h1>(?P<says>.*?)</div>', re.S)
PREVIEW_BANNER = "Preview of the draft rule set"

# Two patients who answer differently wherever they can: different rows, different cautions.
FIRST: dict[str, list[str]] = as_lists(HEALTHY_ADULT)
SECOND: dict[str, list[str]] = {
    **as_lists({**HEALTHY_ADULT, **EVERY_LEVEL_BELOW_URGENT}),
    "condition": ["vitiligo"],
    "other_medicines": ["steroid_on_skin", "other_skin_products"],
    "health_conditions": ["diabetes", "high_cholesterol"],
    "area_size": ["not_sure"],
}
# An answer that ends the check at once: the result leads with what to do now.
ENDED: dict[str, list[str]] = {"urgent_symptoms": ["yes"]}


@pytest.fixture(autouse=True)
def nothing_kept() -> Iterator[None]:
    """Each test starts with nothing kept, and leaves nothing for the next."""
    page_cache.forget_all()
    yield
    page_cache.forget_all()


def take_check(client: Client, answers: Mapping[str, list[str]], *, language: str = "en") -> None:
    for _ in walk_check(client, answers, language=language):
        pass


def address(name: str, *, language: str = "en", args: list[str] | None = None) -> str:
    with translation.override(language):
        return reverse(f"screening:{name}", args=args)


def own_token(client: Client, page: str, *, form: bool = True) -> None:
    """Every token on the page is this client's own: it unmasks to the secret in the client's cookie.

    A page without a `form` that needs one (the language switch needs none) holds no token at all.
    """
    tokens = TOKEN.findall(page)
    assert bool(tokens) is form, "the page has a form" if form else "the page has no form that needs a token"
    if not form:
        assert page_cache.CSRF_PLACEHOLDER not in page and pages.SLOT_PLACEHOLDER not in page
        return
    secret = client.cookies["csrftoken"].value
    assert all(_unmask_cipher_token(token) == secret for token in tokens)
    assert page_cache.CSRF_PLACEHOLDER not in page and pages.SLOT_PLACEHOLDER not in page


def labels(ruleset: RuleSet, answers: Mapping[str, list[str]]) -> list[tuple[str, list[str]]]:
    """The rows a patient should read: each counted question's text and the labels of their answers."""
    where = walk(ruleset, {question: tuple(values) for question, values in answers.items()})
    rows = []
    for question in where.shown:
        if question.id in where.counted:
            chosen = [option.label for value in where.counted[question.id] if (option := question.option(value))]
            rows.append((question.text, chosen))
    return rows


def rows_on(page: str) -> list[tuple[str, list[str]]]:
    return [
        (html.unescape(re.sub(r"<[^>]+>", "", question)).strip(), [html.unescape(label) for label in LABEL.findall(dd)])
        for _, question, dd in ROW.findall(page)
    ]


def cautions(ruleset: RuleSet, answers: Mapping[str, list[str]]) -> list[str]:
    """The rules listed as cautions for these answers, most severe first (the ending rule leads apart)."""
    where = walk(ruleset, {question: tuple(values) for question, values in answers.items()})
    outcome = evaluate(ruleset, where.counted, where=where)
    return [rule.id for rule in outcome.fired if rule is not outcome.ended_by]


def overall(ruleset: RuleSet, answers: Mapping[str, list[str]]) -> str:
    where = walk(ruleset, {question: tuple(values) for question, values in answers.items()})
    return evaluate(ruleset, where.counted, where=where).overall


def read(client: Client, url: str, **headers: str) -> str:
    response = client.get(url, headers=headers)
    assert response.status_code == 200, (url, response.status_code)
    return response.content.decode()


def patients() -> list[tuple[Client, dict[str, list[str]], str]]:
    """Two patients with different answers, and one reading Chinese: each through the check, in turn."""
    taking = [(Client(), FIRST, "en"), (Client(), SECOND, "en"), (Client(), FIRST, CHINESE)]
    for client, _, language in taking:
        client.get(address("begin", language=language))
    for question in FIRST:
        for client, answers, language in taking:
            url = address("question", language=language, args=[question])
            response = client.post(url, {question: answers[question]})
            assert response.status_code == 302, (question, response.status_code)
    return taking


# ---------------------------------------------------------------------------------------------
# Three patients, every kept page
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx partial"])
def test_two_patients_read_only_their_own_answers_on_check_your_answers(published_rules: RuleSet, htmx: bool) -> None:
    taking = patients()
    for _ in range(2):
        for client, answers, language in taking:
            page = read(client, address("check_answers", language=language), **(HTMX if htmx else {}))
            assert rows_on(page) == labels(current_ruleset(language), answers)
            own_token(client, page, form=False)


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx partial"])
def test_two_patients_read_only_their_own_cautions_on_the_result(published_rules: RuleSet, htmx: bool) -> None:
    taking = patients()
    assert cautions(published_rules, FIRST) != cautions(published_rules, SECOND)
    for _ in range(2):
        for client, answers, language in taking:
            page = read(client, address("result", language=language), **(HTMX if htmx else {}))
            ruleset = current_ruleset(language)
            assert CAUTION.findall(page) == cautions(ruleset, answers)
            headline = HEADLINE.search(page)
            assert headline is not None
            assert headline["level"] == overall(ruleset, answers)
            count = len(cautions(ruleset, answers))
            assert bool(re.search(rf"\b{count}\b", headline["says"])) is (count > 0), headline["says"]
            for rule in ruleset.rules:
                shown = escape(rule.message) in page
                assert shown == (rule.id in cautions(ruleset, answers)), rule.id
            own_token(client, page)


def test_two_patients_print_only_their_own_answers_and_cautions(published_rules: RuleSet) -> None:
    taking = patients()
    for _ in range(2):
        for client, answers, language in taking:
            page = read(client, address("result_print", language=language))
            ruleset = current_ruleset(language)
            assert rows_on(page) == labels(ruleset, answers)
            assert CAUTION.findall(page) == cautions(ruleset, answers)
            own_token(client, page, form=False)


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx partial"])
def test_two_patients_see_only_their_own_ticks_on_every_question(published_rules: RuleSet, htmx: bool) -> None:
    taking = patients()
    for question in FIRST:
        for client, answers, language in taking:
            for change in ("", "?change=1"):
                url = address("question", language=language, args=[question]) + change
                page = read(client, url, **(HTMX if htmx else {}))
                assert CHECKED.findall(page) == answers[question], (question, language)
                own_token(client, page)


def test_a_patient_who_has_answered_is_offered_to_continue_and_a_newcomer_to_start(published_rules: RuleSet) -> None:
    (answered, _, _), *_ = patients()
    newcomer = Client()
    for _ in range(2):
        for client, continuing in ((answered, True), (newcomer, False), (Client(), False)):
            page = read(client, address("start"))
            assert ("Continue the check" in page) is continuing
            assert ("Start now" in page) is not continuing
            assert ("Clear my answers" in page) is continuing
            own_token(client, page, form=False)


def test_the_education_page_is_one_page_per_language_the_same_for_every_visitor(published_rules: RuleSet) -> None:
    visitors = [(Client(), "en"), (Client(), CHINESE), (Client(), "en"), (Client(), CHINESE)]
    seen: dict[str, str] = {}
    for client, language in visitors:
        page = read(client, address("education", language=language))
        own_token(client, page, form=False)
        assert f'<html lang="{language}">' in page
        seen.setdefault(language, page)
        assert page == seen[language]
    assert seen["en"] != seen[CHINESE]


def test_a_check_ended_early_leads_with_the_answer_that_ended_it_for_that_patient_only(
    published_rules: RuleSet,
) -> None:
    ended, other = Client(), Client()
    ended.get(address("begin"))
    assert ended.post(address("question", args=["urgent_symptoms"]), ENDED)["Location"] == address("result")
    take_check(other, FIRST)
    urgent = published_rules.question("urgent_symptoms")
    assert urgent is not None
    for _ in range(2):
        page = read(ended, address("result"))
        assert "I answered this by mistake" in page and 'data-ended-by="' in page
        assert escape(urgent.option("yes").label) in page  # type: ignore[union-attr]
        own_token(ended, page)
        printed = read(ended, address("result_print"))
        assert "This check stopped early" in printed
        page = read(other, address("result"))
        assert "I answered this by mistake" not in page and "data-ended-by" not in page
        printed = read(other, address("result_print"))
        assert "This check stopped early" not in printed


# ---------------------------------------------------------------------------------------------
# The same page as one drawn afresh
# ---------------------------------------------------------------------------------------------


def every_page(language: str) -> list[tuple[str, dict[str, str]]]:
    names = ["start", "education", "check_answers", "result", "result_print", "clear"]
    urls = [address(name, language=language) for name in names]
    urls += [address("question", language=language, args=["allergy"]) + change for change in ("", "?change=1")]
    urls += [address("question", language=language, args=["no_such_question"])]  # a problem page
    return [(url, headers) for url in urls for headers in ({}, HTMX)]


@pytest.mark.parametrize("language", ["en", CHINESE])
def test_every_page_from_what_is_kept_reads_as_the_page_drawn_afresh(
    published_rules: RuleSet, language: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = Client()
    take_check(client, SECOND, language=language)
    with monkeypatch.context() as nothing_kept:
        nothing_kept.setattr(pages, "cache_scope", lambda request: None)
        afresh = {
            (url, bool(headers)): TOKEN.sub("", client.get(url, headers=headers).content.decode())
            for url, headers in every_page(language)
        }
    for _ in range(2):  # drawn and kept, then read from what is kept
        for url, headers in every_page(language):
            kept = TOKEN.sub("", client.get(url, headers=headers).content.decode())
            assert kept == afresh[url, bool(headers)], url
    assert page_cache.pages.items and page_cache.frames.items and page_cache.pieces.items


def test_a_gzipped_page_reads_the_same_as_the_page_itself(published_rules: RuleSet) -> None:
    client = Client()
    take_check(client, SECOND)
    for url in [address("start"), address("education"), address("check_answers"), address("result")]:
        for _ in range(2):
            plain = client.get(url)
            packed = client.get(url, headers={"Accept-Encoding": "gzip"})
            assert packed["Content-Encoding"] == "gzip"
            assert "Accept-Encoding" in packed["Vary"]
            assert int(packed["Content-Length"]) == len(packed.content) < len(plain.content)
            assert TOKEN.sub("", gzip.decompress(packed.content).decode()) == TOKEN.sub("", plain.content.decode())
            own_token(client, gzip.decompress(packed.content).decode(), form=url == address("result"))


def test_two_gzipped_copies_of_a_kept_page_with_a_token_differ_in_length_against_breach(
    published_rules: RuleSet,
) -> None:
    client = Client()
    question = address("question", args=["urgent_symptoms"])
    client.get(address("begin"))
    lengths = {len(client.get(question, headers={"Accept-Encoding": "gzip"}).content) for _ in range(20)}
    assert len(lengths) > 1


def test_a_kept_page_that_holds_nothing_of_anyones_is_gzipped_once_and_sent_as_it_is(published_rules: RuleSet) -> None:
    """The start and education pages have no token and nothing from the request: no secret to pad for."""
    for name in ("start", "education"):
        copies = {Client().get(address(name), headers={"Accept-Encoding": "gzip"}).content for _ in range(5)}
        assert len(copies) == 1, name
        assert gzip.decompress(copies.pop()).decode() == Client().get(address(name)).content.decode()


def test_a_page_with_no_token_goes_in_brotli_to_a_browser_that_takes_it_and_a_form_in_gzip(
    published_rules: RuleSet,
) -> None:
    client = Client()
    for name in ("start", "education"):
        plain = client.get(address(name)).content
        packed = client.get(address(name), headers={"Accept-Encoding": "gzip, deflate, br, zstd"})
        assert packed["Content-Encoding"] == "br" and "Accept-Encoding" in packed["Vary"]
        assert brotli.decompress(packed.content) == plain
        assert len(packed.content) < len(gzip.compress(plain))
        refused = client.get(address(name), headers={"Accept-Encoding": "gzip, br;q=0"})
        assert refused["Content-Encoding"] == "gzip"
    # A page with a token is gzipped, the token between its kept pieces (Brotli cannot be joined so).
    client.get(address("begin"))
    question = client.get(address("question", args=["urgent_symptoms"]), headers={"Accept-Encoding": "br, gzip"})
    assert question["Content-Encoding"] == "gzip"
    own_token(client, gzip.decompress(question.content).decode())


# ---------------------------------------------------------------------------------------------
# The preview of the draft, and a new publication
# ---------------------------------------------------------------------------------------------


def change_in_draft(instance: Question | Rule, reason: str, **changes: str) -> None:
    for name, value in changes.items():
        setattr(instance, name, value)
    instance._change_reason = reason  # type: ignore[union-attr]  # read by django-simple-history
    instance.save()


def test_the_drafts_preview_and_the_live_pages_never_share_what_is_kept(
    clinician_client: Client, published_rules: RuleSet
) -> None:
    draft_question = "Do you have any of these warning signs right now? (draft wording)"
    draft_message = "Draft: please do not use it."
    change_in_draft(Question.objects.get(identifier="urgent_symptoms"), "Draft wording", text=draft_question)
    change_in_draft(Rule.objects.get(identifier="allergy"), "Draft wording", message=draft_message)
    allergic = {**FIRST, "allergy": ["yes"]}
    patient = Client()
    for _ in range(2):
        for client, namespace in ((clinician_client, "preview"), (patient, "screening"), (clinician_client, "preview")):
            for _ in walk_check(client, allergic, namespace=namespace):
                pass
            question = client.get(reverse(f"{namespace}:question", args=["urgent_symptoms"])).content.decode()
            result = client.get(reverse(f"{namespace}:result")).content.decode()
            education = client.get(reverse(f"{namespace}:education")).content.decode()
            start = client.get(reverse(f"{namespace}:start")).content.decode()
            in_preview = namespace == "preview"
            assert (escape(draft_question) in question) is in_preview
            assert (escape(draft_message) in result) is in_preview
            for page in (question, result, education, start):
                assert (PREVIEW_BANNER in page) is in_preview
            assert ("/preview/" in result) is in_preview
    assert page_cache.pages.items, "the live pages were kept"


def test_a_new_publication_replaces_every_kept_page_and_part(
    client: Client, clinician: User, published_rules: RuleSet
) -> None:
    allergic = {**FIRST, "allergy": ["yes"]}
    take_check(client, allergic)
    old_title = Rule.objects.get(identifier="allergy").title
    new_title = "Allergy to the cream (just published)"
    new_question = "Do you have any of these warning signs right now? (just published)"
    before = {name: read(client, address(name)) for name in ("result", "result_print", "education")}
    assert all(escape(old_title) in page for page in before.values())

    change_in_draft(Rule.objects.get(identifier="allergy"), "Clearer", title=new_title)
    change_in_draft(Question.objects.get(identifier="urgent_symptoms"), "Clearer", text=new_question)
    publishing.publish(user=clinician, note="Clearer allergy title")

    read(client, address("start"))  # the visit moves to the new version (and says so once)
    for _ in range(2):
        after = {name: read(client, address(name)) for name in ("result", "result_print", "education")}
        for name, page in after.items():
            assert escape(new_title) in page and escape(old_title) not in page, name
        assert escape(new_question) in read(client, address("question", args=["urgent_symptoms"]))
        assert escape(new_question) in read(Client(), address("question", args=["urgent_symptoms"]))


def test_a_chinese_page_kept_before_a_translation_went_out_of_date_shows_the_new_english_marked_as_english(
    client: Client, clinician: User, clinician_client: Client, published_rules: RuleSet
) -> None:
    allergic = {**FIRST, "allergy": ["yes"]}
    take_check(client, allergic, language=CHINESE)
    chinese_message = current_ruleset(CHINESE).rules[[r.id for r in published_rules.rules].index("allergy")].message
    assert escape(chinese_message) in read(client, address("result", language=CHINESE))
    new_message = "You told us you reacted badly to this cream before. Do not use it again."
    url = reverse("admin:screening_rule_change", args=[Rule.objects.get(identifier="allergy").pk])
    data = admin_form_data(clinician_client.get(url), reason="Plainer wording")
    data["message"] = new_message
    assert clinician_client.post(url, data).status_code == 302
    publishing.publish(user=clinician, note="Plainer allergy message")

    read(client, address("start", language=CHINESE))  # the visit moves to the new version
    for name in ("result", "result_print", "education"):
        page = read(client, address(name, language=CHINESE))
        if name != "education":
            assert f'<p lang="en">{escape(new_message)}</p>' in page, name
        assert escape(chinese_message) not in page, name
