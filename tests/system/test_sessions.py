"""Two kinds of session: staff sign-ins live on the server, a patient's answers in an encrypted cookie.

A staff session must end when the clinician signs out or is deactivated, even for a copied cookie;
a patient's cookie, copied from a shared computer, must not give their answers away.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import time
import zlib
from collections.abc import Iterator
from datetime import timedelta
from importlib import import_module
from typing import Any
from unittest import mock

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.contrib.sessions.models import Session
from django.core import signing
from django.core.management import call_command
from django.http import HttpResponse
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone, translation

from ruxguide import sealing, sessions
from ruxguide.sessions import sealed_at
from screening.engine import RuleSet
from screening.visit import PREVIEW_SESSION_KEY, SESSION_KEY
from tests.support.patients import HEALTHY_ADULT, as_lists, walk_check

PASSWORD = "a long enough password"
FIRST_QUESTION = "/check/question/urgent_symptoms/"


def staff_cookie_name() -> str:
    return str(settings.SESSION_COOKIE_NAME)


def patient_cookie_name() -> str:
    return str(getattr(settings, "RUXGUIDE_PATIENT_SESSION_COOKIE_NAME", "sessionid"))


def sign_in(client: Client, username: str = "clinician") -> None:
    response = client.post(reverse("admin:login"), {"username": username, "password": PASSWORD, "next": "/admin/"})
    assert response.status_code == 302, response.content[:500]
    assert client.get(reverse("admin:index")).status_code == 200


def is_sign_in_page(response: HttpResponse) -> bool:
    return response.status_code == 302 and response["Location"].startswith(reverse("admin:login"))


def patient_cookie(client: Client) -> str:
    cookie = client.cookies.get(patient_cookie_name())
    assert cookie is not None and cookie.value, "the patient has no session cookie"
    return cookie.value


def patient_session(value: str) -> Any:
    """The patient's session as the site reads it from a cookie value, without a request."""
    engine = getattr(settings, "RUXGUIDE_PATIENT_SESSION_ENGINE", settings.SESSION_ENGINE)
    return import_module(engine).SessionStore(session_key=value)


def walk_some(client: Client, count: int = 6) -> dict[str, list[str]]:
    """Answer the first `count` questions of the check as a healthy adult; return what was answered."""
    answered: dict[str, list[str]] = {}
    answers = as_lists(HEALTHY_ADULT)
    for question_id, _page in walk_check(client, answers):
        if len(answered) == count:  # the generator posts an answer when asked for the next question
            break
        answered[question_id] = answers[question_id]
    return answered


def readable_forms(value: str) -> list[str]:
    """Everything someone holding the cookie could make of it without the key: the text, each
    base64 piece decoded (decompressed too when it is zlib), and Django's signing.loads."""
    forms = [value]
    pieces = {value, *value.split(":"), *value.split(".")}
    for piece in pieces:
        for candidate in (piece, piece.lstrip(".")):
            try:
                raw = base64.urlsafe_b64decode(candidate + "=" * (-len(candidate) % 4))
            except (binascii.Error, ValueError):
                continue
            forms.append(raw.decode("latin-1"))
            with contextlib.suppress(zlib.error):
                forms.append(zlib.decompress(raw).decode("latin-1"))
    for salt in ("django.contrib.sessions.backends.signed_cookies", "django.core.signing"):
        with contextlib.suppress(signing.BadSignature):
            forms.append(json.dumps(signing.loads(value, salt=salt)))
    return forms


# ---------------------------------------------------------------------------------------------
# Staff sessions end on the server
# ---------------------------------------------------------------------------------------------


def test_a_staff_cookie_replayed_after_logout_gets_the_sign_in_page(clinician: User, published_rules) -> None:
    browser = Client()
    sign_in(browser)
    copied = browser.cookies[staff_cookie_name()].value

    assert browser.post(reverse("admin:logout")).status_code == 200

    thief = Client()
    thief.cookies[staff_cookie_name()] = copied
    assert is_sign_in_page(thief.get(reverse("admin:index")))
    assert is_sign_in_page(thief.get(reverse("preview:begin")))


def test_a_deactivated_clinicians_session_stops_working_at_once(clinician: User, published_rules) -> None:
    browser = Client()
    sign_in(browser)
    assert browser.get(reverse("preview:begin")).status_code == 302  # on to the first question

    User.objects.filter(pk=clinician.pk).update(is_active=False)

    assert is_sign_in_page(browser.get(reverse("admin:index")))
    assert is_sign_in_page(browser.get(reverse("preview:begin")))


def test_a_staff_sign_in_is_kept_on_the_server_under_its_own_cookie(clinician: User, published_rules) -> None:
    browser = Client()
    sign_in(browser)

    assert staff_cookie_name() != patient_cookie_name()
    key = browser.cookies[staff_cookie_name()].value
    assert Session.objects.get(session_key=key).get_decoded()["_auth_user_id"] == str(clinician.pk)
    assert patient_cookie_name() not in browser.cookies


def test_the_staff_cookie_keeps_the_strict_attributes(clinician: User, published_rules) -> None:
    browser = Client()
    response = browser.post(reverse("admin:login"), {"username": "clinician", "password": PASSWORD, "next": "/admin/"})
    cookie = response.cookies[staff_cookie_name()]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    assert bool(cookie["secure"]) == settings.SESSION_COOKIE_SECURE
    assert cookie["max-age"] == "" and cookie["expires"] == ""  # ends when the browser closes


# ---------------------------------------------------------------------------------------------
# The preview still sees the signed-in clinician
# ---------------------------------------------------------------------------------------------


def test_a_signed_in_clinician_walks_the_preview_to_its_result(clinician: User, published_rules) -> None:
    browser = Client()
    sign_in(browser)

    asked = [question_id for question_id, _page in walk_check(browser, as_lists(HEALTHY_ADULT), namespace="preview")]
    result = browser.get(reverse("preview:result"))

    assert asked[0] == "urgent_symptoms" and len(asked) > 5
    assert result.status_code == 200
    assert "preview" in result.content.decode().lower()
    with translation.override("zh-hans"):
        assert browser.get(reverse("preview:check_answers")).status_code == 200


def test_a_clinicians_own_patient_visit_stays_out_of_the_staff_session(clinician: User, published_rules) -> None:
    browser = Client()
    sign_in(browser)
    answered = walk_some(browser, count=3)
    for _ in walk_check(browser, as_lists(HEALTHY_ADULT), namespace="preview"):
        break

    staff = Session.objects.get(session_key=browser.cookies[staff_cookie_name()].value).get_decoded()
    assert SESSION_KEY not in staff
    assert PREVIEW_SESSION_KEY in staff
    assert patient_session(patient_cookie(browser))[SESSION_KEY]["answers"] == answered


# ---------------------------------------------------------------------------------------------
# A patient's cookie: encrypted, and never on the server
# ---------------------------------------------------------------------------------------------


def test_a_copied_patient_cookie_cannot_be_decoded_into_answers_without_the_key(
    published_rules: RuleSet, settings: Any
) -> None:
    patient = Client()
    answered = walk_some(patient)
    value = patient_cookie(patient)

    secrets = set(answered)
    for question_id, options in answered.items():
        question = published_rules.question(question_id)
        assert question is not None
        secrets |= {option.label for option in question.options if option.id in options}
        secrets |= set(options)
    # Short words ("No", "yes") turn up by chance in any random text of this length (about 1 cookie in 14
    # holds "No" somewhere): only words long enough not to appear by chance tell that answers can be read.
    secrets = {secret for secret in secrets if len(secret) > 4}
    assert secrets, answered
    for form in readable_forms(value):
        assert not [secret for secret in secrets if secret in form], form[:200]

    # The site itself, with its key, reads the answers back...
    assert patient_session(value)[SESSION_KEY]["answers"] == answered
    # ...and with any other key there is nothing to read.
    settings.SECRET_KEY = "another-key-" + "x" * 50
    settings.SECRET_KEY_FALLBACKS = []
    assert SESSION_KEY not in patient_session(value)


def test_a_patient_cookie_made_before_a_key_rotation_is_still_read(published_rules: RuleSet, settings: Any) -> None:
    patient = Client()
    answered = walk_some(patient, count=2)
    value = patient_cookie(patient)

    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "the-new-key-" + "y" * 50

    assert patient_session(value)[SESSION_KEY]["answers"] == answered
    assert patient.get(reverse("screening:question", args=["urgent_symptoms"])).status_code == 200
    assert patient_session(patient_cookie(patient))[SESSION_KEY]["answers"] == answered


@pytest.mark.parametrize("where", [5, 20, -3])
def test_a_tampered_patient_cookie_starts_a_fresh_visit(published_rules: RuleSet, where: int) -> None:
    patient = Client()
    walk_some(patient)
    value = patient_cookie(patient)
    flipped = "A" if value[where] != "A" else "B"
    patient.cookies[patient_cookie_name()] = value[:where] + flipped + value[where + 1 :]

    response = patient.get(reverse("screening:check_answers"))

    assert response.status_code < 500
    assert "urgent_symptoms" not in response.content.decode()
    assert patient.get(reverse("screening:begin"))["Location"] == FIRST_QUESTION


def test_an_expired_patient_cookie_starts_a_fresh_visit(published_rules: RuleSet) -> None:
    patient = Client()
    walk_some(patient)
    value = patient_cookie(patient)
    later = time.time() + settings.SESSION_COOKIE_AGE + 60

    with mock.patch("time.time", return_value=later):
        assert SESSION_KEY not in patient_session(value)
        response = patient.get(reverse("screening:question", args=["allergy"]))
        assert response.status_code < 500
        assert patient.get(reverse("screening:begin"))["Location"] == FIRST_QUESTION
    # Still within the time it was made for, the same cookie is read.
    assert SESSION_KEY in patient_session(value)


def test_a_patient_cookie_sealed_by_the_earlier_fernet_format_is_still_read(published_rules: RuleSet) -> None:
    """Cookies in patients' browsers when the AES-GCM format was deployed: their visits go on."""
    patient = Client()
    answered = walk_some(patient, count=3)
    data = json.dumps(dict(patient_session(patient_cookie(patient)).items()), separators=(",", ":")).encode()
    legacy = sealing.keys(sessions.KEY_SALT, sessions.KEY_INFO).encrypt(data).decode().rstrip("=")
    assert legacy.startswith("gAAAAA")  # Fernet's version byte, not ours
    patient.cookies[patient_cookie_name()] = legacy

    assert patient_session(legacy)[SESSION_KEY]["answers"] == answered
    # The visit goes on from the legacy cookie, and the next change seals it in the current format.
    page = patient.get(reverse("screening:begin"))
    assert page["Location"] == reverse("screening:question", args=[list(as_lists(HEALTHY_ADULT))[3]])
    next_question = page["Location"].rstrip("/").rsplit("/", 1)[-1]
    patient.post(page["Location"], {next_question: as_lists(HEALTHY_ADULT)[next_question]})
    assert base64.urlsafe_b64decode(patient_cookie(patient)[:4])[:1] == sessions.AEAD_VERSION
    assert len(patient_session(patient_cookie(patient))[SESSION_KEY]["answers"]) == 4


def test_a_patient_cookie_stamped_in_the_future_is_refused(published_rules: RuleSet) -> None:
    """The sealing time is authenticated: a cookie from over a minute ahead was not sealed by our servers."""
    patient = Client()
    walk_some(patient, count=2)
    value = patient_cookie(patient)
    earlier = time.time() - sessions.CLOCK_SKEW_SECONDS - 5

    with mock.patch("time.time", return_value=earlier):
        assert SESSION_KEY not in patient_session(value)
    with mock.patch("time.time", return_value=time.time() - sessions.CLOCK_SKEW_SECONDS + 5):
        assert SESSION_KEY in patient_session(value)


def test_a_whole_patient_visit_never_writes_a_session_to_the_database(published_rules: RuleSet) -> None:
    patient = Client()
    for _question_id, _page in walk_check(patient, as_lists(HEALTHY_ADULT)):
        assert Session.objects.count() == 0
    for name in ("check_answers", "result", "result_print", "education", "start"):
        assert patient.get(reverse(f"screening:{name}")).status_code == 200, name
    with translation.override("zh-hans"):
        assert patient.get(reverse("screening:result")).status_code == 200
    assert patient.post(reverse("screening:language"), {"language": "en", "next": "/check/"}).status_code == 302
    assert patient.post(reverse("screening:clear")).status_code == 302

    assert Session.objects.count() == 0


def test_the_patient_cookie_keeps_its_attributes(published_rules: RuleSet) -> None:
    patient = Client()
    patient.get(reverse("screening:begin"))
    response = patient.post(reverse("screening:question", args=["urgent_symptoms"]), {"urgent_symptoms": "no"})

    cookie = response.cookies[patient_cookie_name()]
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and cookie["path"] == "/"
    assert bool(cookie["secure"]) == settings.SESSION_COOKIE_SECURE
    assert cookie["max-age"] == "" and cookie["expires"] == ""  # ends when the browser closes
    assert "Cookie" in response["Vary"]
    assert len(cookie.value) < 4096 - 200


def test_clear_my_answers_removes_the_patients_cookie(published_rules: RuleSet) -> None:
    patient = Client()
    walk_some(patient)

    response = patient.post(reverse("screening:clear"))

    cleared = response.cookies[patient_cookie_name()]
    assert cleared.value == "" and cleared["max-age"] == 0
    assert patient.get(reverse("screening:begin"))["Location"] == FIRST_QUESTION


def test_a_page_that_does_not_touch_the_session_sets_no_cookie(published_rules: RuleSet) -> None:
    response = Client().get(reverse("screening:education"))

    assert response.status_code == 200
    assert patient_cookie_name() not in response.cookies
    assert staff_cookie_name() not in response.cookies


def test_a_patient_cookie_does_not_sign_anyone_in_on_staff_pages(clinician: User, published_rules: RuleSet) -> None:
    patient = Client()
    walk_some(patient, count=2)

    assert is_sign_in_page(patient.get(reverse("admin:index")))
    assert is_sign_in_page(patient.get(reverse("preview:begin")))
    assert Session.objects.count() == 0


# ---------------------------------------------------------------------------------------------
# Which pages are staff pages, and tidying the server's sessions
# ---------------------------------------------------------------------------------------------


def _routes(patterns: list[Any], prefix: str = "", namespace: str = "") -> Iterator[tuple[str, str]]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = pattern.namespace or namespace
            yield from _routes(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), namespace


def test_every_admin_and_preview_page_in_every_language_uses_the_staff_session() -> None:
    from ruxguide.sessions import is_staff_path

    for language, _name in settings.LANGUAGES:
        with translation.override(language):
            routes = list(_routes(get_resolver().url_patterns))
        staff = [route for route, namespace in routes if namespace in {"admin", "preview"}]
        patient = [route for route, namespace in routes if namespace == "screening"]
        assert len(staff) > 50 and len(patient) > 5
        assert all(is_staff_path("/" + route) for route in staff), language
        assert not any(is_staff_path("/" + route) for route in patient), language


def test_clearsessions_removes_expired_staff_sessions(clinician: User, published_rules: RuleSet) -> None:
    browser = Client()
    sign_in(browser)
    Session.objects.create(session_key="x" * 32, session_data="", expire_date=timezone.now() - timedelta(days=1))

    call_command("clearsessions")

    assert list(Session.objects.values_list("session_key", flat=True)) == [browser.cookies[staff_cookie_name()].value]


# ---------------------------------------------------------------------------------------------
# The patient's cookie is sealed again only when it changes, or once it is a minute old
# ---------------------------------------------------------------------------------------------


def test_a_page_that_changes_nothing_sends_the_patients_cookie_on_unsealed(published_rules: RuleSet) -> None:
    patient = Client()
    walk_some(patient)
    for address in (FIRST_QUESTION, reverse("screening:education"), reverse("screening:start")):
        response = patient.get(address)
        assert response.status_code == 200, address
        assert patient_cookie_name() not in response.cookies, address


def test_the_same_answer_again_leaves_the_cookie_as_it_was(published_rules: RuleSet) -> None:
    patient = Client()
    answered = walk_some(patient, count=3)
    question_id, values = next(iter(answered.items()))
    response = patient.post(reverse("screening:question", args=[question_id]), {question_id: values})
    assert response.status_code == 302
    assert patient_cookie_name() not in response.cookies
    changed = patient.post(reverse("screening:question", args=["condition"]), {"condition": ["vitiligo"]})
    assert patient_cookie_name() in changed.cookies


def test_a_cookie_older_than_the_reseal_time_is_sealed_again_so_the_visit_goes_on(
    published_rules: RuleSet, settings: Any
) -> None:
    patient = Client()
    answered = walk_some(patient)
    later = time.time() + settings.RUXGUIDE_SESSION_RESEAL_SECONDS + 1
    with mock.patch("time.time", return_value=later):
        response = patient.get(FIRST_QUESTION)
    cookie = response.cookies[patient_cookie_name()]
    # Sealed afresh: its age now starts at `later`, so the visit lasts SESSION_COOKIE_AGE from there.
    assert sealed_at(cookie.value) == int(later)
    with mock.patch("time.time", return_value=later + settings.SESSION_COOKIE_AGE - 30):
        assert stored_answers_of(patient) == answered


def stored_answers_of(client: Client) -> dict[str, list[str]]:
    store = import_module(settings.RUXGUIDE_PATIENT_SESSION_ENGINE).SessionStore
    session = store(client.cookies[patient_cookie_name()].value)
    answers: dict[str, list[str]] = session.get(SESSION_KEY, {}).get("answers", {})
    return answers
