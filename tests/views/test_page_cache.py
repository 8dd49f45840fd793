"""Rendered patient pages are shared between patients who would see the same page, never their answers."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from screening import page_cache
from screening.engine import RuleSet
from screening.views import pages

HTMX = {"HX-Request": "true"}
CHECKED = re.compile(r'value="([a-z0-9_]+)" checked')
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"')

# Two patients who answer every question they share differently where they can.
FIRST: dict[str, list[str]] = {
    "urgent_symptoms": ["no"],
    "condition": ["atopic_dermatitis"],
    "age_group": ["18_to_64"],
    "allergy": ["no"],
    "pregnancy": ["no"],
    "breastfeeding": ["no"],
    "weakened_immunity": ["no"],
    "other_medicines": ["none"],
    "infection_now": ["no"],
    "infection_history": ["none"],
    "health_conditions": ["none"],
    "skin_to_treat": ["none"],
    "area_size": ["up_to_10_palms"],
    "treatment_stage": ["under_8_weeks"],
    "amount": ["within_limit"],
    "side_effects": ["none"],
}
SECOND: dict[str, list[str]] = {
    **FIRST,
    "condition": ["vitiligo"],
    "allergy": ["not_sure"],
    "pregnancy": ["could_be"],
    "breastfeeding": ["yes"],
    "weakened_immunity": ["not_sure"],
    "other_medicines": ["steroid_on_skin", "other_skin_products"],
    "infection_now": ["not_sure"],
    "infection_history": ["shingles"],
    "health_conditions": ["diabetes", "high_cholesterol"],
    "skin_to_treat": ["near_eyes_mouth_genitals"],
    "area_size": ["not_sure"],
    "amount": ["not_sure"],
    "side_effects": ["skin_reaction"],
}


@pytest.fixture(autouse=True)
def empty_cache() -> None:
    page_cache.forget_all()


def answer_in_turn(first: Client, second: Client) -> None:
    """Both patients answer each question, one after the other, so every page is drawn for both."""
    for client in (first, second):
        client.get("/check/")
    for question in FIRST:
        for client, answers in ((first, FIRST), (second, SECOND)):
            response = client.post(f"/check/question/{question}/", {question: answers[question]})
            assert response.status_code == 302, (question, response.status_code)


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx partial"])
def test_two_patients_never_see_each_others_answers_on_any_shared_page(published_rules: RuleSet, htmx: bool) -> None:
    first, second = Client(), Client()
    answer_in_turn(first, second)
    headers = HTMX if htmx else {}
    for question in FIRST:
        for client, answers in ((first, FIRST), (second, SECOND), (first, FIRST)):
            for address in (f"/check/question/{question}/", f"/check/question/{question}/?change=1"):
                page = client.get(address, headers=headers).content.decode()
                assert CHECKED.findall(page) == answers[question], (question, address)
    assert len(page_cache.pages.items) >= len(FIRST), "the question pages were shared through the cache"


def test_patients_with_the_same_answers_get_the_same_page_with_their_own_security_token(
    published_rules: RuleSet,
) -> None:
    first, second = Client(), Client()
    for client in (first, second):
        client.get("/check/")
        client.post("/check/question/urgent_symptoms/", {"urgent_symptoms": ["no"]})
    pages_seen = [client.get("/check/question/condition/").content.decode() for client in (first, second)]
    assert TOKEN.sub("", pages_seen[0]) == TOKEN.sub("", pages_seen[1])
    tokens = [TOKEN.findall(page) for page in pages_seen]
    assert tokens[0] and tokens[1] and tokens[0] != tokens[1]
    assert pages.CSRF_PLACEHOLDER not in pages_seen[0]


# ---------------------------------------------------------------------------------------------
# The CSRF token filled in per response
# ---------------------------------------------------------------------------------------------


def test_the_token_filled_in_unmasks_to_the_secret_and_is_masked_afresh_each_time() -> None:
    from django.middleware.csrf import CSRF_ALLOWED_CHARS, _unmask_cipher_token
    from django.test import RequestFactory

    request = RequestFactory().get("/")
    first = page_cache.csrf_token(request)
    secret = request.META["CSRF_COOKIE"]
    assert request.META["CSRF_COOKIE_NEEDS_UPDATE"] is True  # a new visitor is sent the cookie
    assert len(secret) == 32 and len(first) == 64 and set(first + secret) <= set(CSRF_ALLOWED_CHARS)
    tokens = {page_cache.csrf_token(request) for _ in range(200)}
    assert len(tokens) == 200
    assert {_unmask_cipher_token(token) for token in tokens | {first}} == {secret}


def test_the_tokens_characters_are_evenly_spread() -> None:
    """Each of the 62 characters turns up about as often as the others (no favouring of the first few)."""
    from collections import Counter

    from django.middleware.csrf import CSRF_ALLOWED_CHARS
    from django.test import RequestFactory

    request = RequestFactory().get("/")
    request.META["CSRF_COOKIE"] = "a" * 32
    counts = Counter("".join(page_cache.csrf_token(request)[:32] for _ in range(6200)))
    expected = 6200 * 32 / len(CSRF_ALLOWED_CHARS)  # 3200 each
    assert set(counts) == set(CSRF_ALLOWED_CHARS)
    assert all(abs(count - expected) < 0.1 * expected for count in counts.values()), counts.most_common(3)


def test_a_form_posted_with_a_token_filled_in_is_accepted_and_one_without_refused(published_rules: RuleSet) -> None:
    strict = Client(enforce_csrf_checks=True)
    strict.get("/check/")
    page = strict.get("/check/question/urgent_symptoms/").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert token is not None
    refused = strict.post("/check/question/urgent_symptoms/", {"urgent_symptoms": "no"})
    assert refused.status_code == 403
    answered = strict.post(
        "/check/question/urgent_symptoms/", {"urgent_symptoms": "no", "csrfmiddlewaretoken": token[1]}
    )
    assert answered.status_code == 302


def test_patient_pages_are_never_cached_with_the_headers_django_would_send(published_rules: RuleSet) -> None:
    from django.http import HttpResponse
    from django.utils.cache import add_never_cache_headers
    from django.utils.http import parse_http_date

    djangos = HttpResponse()
    add_never_cache_headers(djangos)
    client = Client()
    client.get("/check/")
    for address in ("/", "/check/question/urgent_symptoms/", "/zh-hans/"):
        response = client.get(address)
        assert response.status_code == 200, address
        assert response["Cache-Control"] == djangos["Cache-Control"] == pages.NEVER_CACHE
        assert abs(parse_http_date(response["Expires"]) - parse_http_date(djangos["Expires"])) <= 2


def test_a_kept_walk_names_the_questions_of_the_rule_set_object_it_is_asked_with(published_rules: RuleSet) -> None:
    """Views compare questions by identity; the same version can be loaded again as a new object."""
    import copy

    from screening.visit import known_walk

    again = copy.deepcopy(published_rules)
    assert again.version == published_rules.version and again.questions[0] is not published_rules.questions[0]
    for ruleset in (published_rules, again, published_rules, again):
        where = known_walk(ruleset, {"urgent_symptoms": ("no",)})
        assert where.shown[0] is ruleset.questions[0]
        assert all(question is ruleset.question(question.id) for question in where.shown)
