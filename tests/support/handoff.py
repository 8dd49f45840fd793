"""The hand-off code through Django's test client: finish the check, make a code, read its address."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from django.test import Client

from screening.translations import ENGLISH
from tests.support import patients
from tests.support.client import patient_url

BUTTON = "Make a code for my clinician"
HANDOFF_URL = re.compile(r'data-handoff-url="([^"]+)"')


def finish_check(client: Client, answers: patients.Answers, *, language: str = ENGLISH) -> None:
    """Answer the whole check as a patient would, without JavaScript."""
    for _ in patients.walk_check(client, patients.as_lists(answers), language=language):
        pass


def make_code(client: Client, *, language: str = ENGLISH) -> str:
    """Press the button; the full address the result page then holds for the clinician."""
    response = client.post(patient_url("handoff", language=language))
    assert response.status_code == 302
    assert response["Location"] == patient_url("result", language=language) + "#handoff"
    page = client.get(patient_url("result", language=language))
    found = HANDOFF_URL.search(page.content.decode())
    assert found, "the result shows no code"
    return found.group(1).replace("&amp;", "&")


def local(address: str) -> str:
    """The path and query of an absolute address, for the test client."""
    parts = urlsplit(address)
    return f"{parts.path}?{parts.query}"


def code_of(address: str) -> str:
    return urlsplit(address).query.removeprefix("code=")


def download_of(address: str) -> str:
    """The QuestionnaireResponse download's path and query for a code's address."""
    return local(address).replace("/handoff/", "/handoff/questionnaire-response/")
