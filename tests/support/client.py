"""The patient flow through Django's test client, as a browser without JavaScript would drive it."""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from importlib import import_module
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.http import HttpResponse
from django.test import Client
from django.urls import reverse
from django.utils import translation

from screening.translations import ENGLISH
from screening.visit import SESSION_KEY
from tests.support import patients

if TYPE_CHECKING:
    from django.test.client import _MonkeyPatchedWSGIResponse as TestResponse

HTMX = {"HX-Request": "true"}

Value = str | Sequence[str]
Steps = Iterable[tuple[str, Value]]

# An adult with eczema, a few weeks into treatment, with nothing to report, as form values: no rule
# fires and every question of the check is asked.
HEALTHY_ADULT: dict[str, Value] = dict(patients.as_form_values(patients.HEALTHY_ADULT))


def patient_url(name: str, *args: str, language: str = ENGLISH) -> str:
    with translation.override(language):
        return reverse(f"screening:{name}", args=args)


def question_url(question_id: str, *, language: str = ENGLISH, change: bool = False) -> str:
    return patient_url("question", question_id, language=language) + ("?change=1" if change else "")


def as_list(value: Value) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def answer(client: Client, steps: Steps, *, language: str = ENGLISH, change: bool = False) -> TestResponse:
    """Answer each (question, value or values) in order through the views; every step must redirect."""
    response: TestResponse | None = None
    for question_id, value in steps:
        response = client.post(
            question_url(question_id, language=language, change=change), {question_id: as_list(value)}
        )
        assert response.status_code == 302, (question_id, response.status_code, response.content[:500])
    assert response is not None, "no steps given"
    return response


def patient_session(client: Client) -> SessionBase:
    """The patient's session, read from the client's patient cookie as the site reads it.

    `client.session` is the staff session (Django's SESSION_ENGINE); patient pages use their own store.
    """
    cookie = client.cookies.get(settings.RUXGUIDE_PATIENT_SESSION_COOKIE_NAME)
    store: type[SessionBase] = import_module(settings.RUXGUIDE_PATIENT_SESSION_ENGINE).SessionStore
    return store(cookie.value if cookie is not None and cookie.value else None)


def stored_answers(client: Client) -> dict[str, list[str]]:
    """The answers the visit holds in the client's patient session."""
    answers: dict[str, list[str]] = patient_session(client).get(SESSION_KEY, {}).get("answers", {})
    return answers


def text(response: HttpResponse) -> str:
    """The page as sent, markup and entities included."""
    return response.content.decode()


def page_text(response: HttpResponse) -> str:
    """The page with its entities decoded, so text with quotes or ampersands reads as written."""
    return html.unescape(response.content.decode())
