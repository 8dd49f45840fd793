"""The CSRF middleware's faster unmasking accepts exactly the forms Django's own check accepts."""

from __future__ import annotations

import re
import string
from typing import Any

import pytest
from django.middleware.csrf import (  # type: ignore[attr-defined]  # Django's own masking, to compare with
    CSRF_ALLOWED_CHARS,
    _get_new_csrf_string,
    _mask_cipher_secret,
    _unmask_cipher_token,
)
from django.test import Client
from hypothesis import given
from hypothesis import strategies as st

from ruxguide import csrf
from screening.engine import RuleSet

QUESTION = "/check/question/urgent_symptoms/"
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@given(st.text(alphabet=CSRF_ALLOWED_CHARS, min_size=32, max_size=32))
def test_unmasking_a_masked_secret_gives_what_django_gives(secret: str) -> None:
    token = _mask_cipher_secret(secret)
    assert csrf.unmask(token) == _unmask_cipher_token(token) == secret


@given(st.text(alphabet=string.printable + "é你", max_size=70))
def test_anything_that_is_not_a_masked_token_unmasks_to_nothing_or_what_django_gives(text: str) -> None:
    unmasked = csrf.unmask(text)
    if len(text) != 64 or set(text) - set(CSRF_ALLOWED_CHARS):
        assert unmasked is None
    else:
        assert unmasked == _unmask_cipher_token(text)


def strict_patient() -> tuple[Client, str]:
    client = Client(enforce_csrf_checks=True)
    client.get("/check/")
    token = TOKEN.search(client.get(QUESTION).content.decode())
    assert token is not None
    return client, token[1]


def test_a_step_with_its_form_token_is_accepted(published_rules: RuleSet) -> None:
    client, token = strict_patient()
    assert client.post(QUESTION, {"urgent_symptoms": "no", "csrfmiddlewaretoken": token}).status_code == 302


@pytest.mark.parametrize(
    "token",
    [
        "",
        "x" * 64,
        "é" * 64,
        "-" * 64,
        _mask_cipher_secret(_get_new_csrf_string()),  # a well-made token for another secret
    ],
    ids=["empty", "wrong", "not-ascii", "bad-characters", "another-secret"],
)
def test_a_step_with_a_wrong_token_gets_the_403_page_and_keeps_no_answer(published_rules: RuleSet, token: str) -> None:
    client, _ = strict_patient()
    refused = client.post(QUESTION, {"urgent_symptoms": "no", "csrfmiddlewaretoken": token})
    assert refused.status_code == 403
    assert client.get("/check/")["Location"] == QUESTION  # nothing was answered


def test_the_secret_itself_or_the_token_in_a_header_are_accepted_as_django_accepts_them(
    published_rules: RuleSet,
) -> None:
    client, token = strict_patient()
    secret = _unmask_cipher_token(token)
    assert client.post(QUESTION, {"urgent_symptoms": "no", "csrfmiddlewaretoken": secret}).status_code == 302
    client, token = strict_patient()
    assert client.post(QUESTION, {"urgent_symptoms": "no"}, headers={"X-CSRFToken": token}).status_code == 302


def test_the_deployment_checks_find_this_csrf_middleware_and_its_secure_cookie(settings: Any) -> None:
    assert csrf.check_csrf_middleware(None) == []
    settings.CSRF_COOKIE_SECURE = True
    assert csrf.check_csrf_cookie_secure(None) == []
    settings.CSRF_COOKIE_SECURE = False
    assert [warning.id for warning in csrf.check_csrf_cookie_secure(None)] == ["ruxguide.W016"]
    settings.MIDDLEWARE = [path for path in settings.MIDDLEWARE if "csrf" not in path.lower()]
    assert [warning.id for warning in csrf.check_csrf_middleware(None)] == ["ruxguide.W003"]
    assert csrf.check_csrf_cookie_secure(None) == []  # no CSRF cookie without the middleware
