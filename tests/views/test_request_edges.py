"""Requests at the edges of HTTP: a charset Django will not read, a body too big or of no stated size,
and a method a page does not take (issue 17).

Each was reproduced with a 500, a refusal without the security headers a normal page carries, a body
read (and written to disk) only to be ignored, or a 403 where a 405 belongs. Whatever the request, the
answer is one of the app's own pages, with the same security headers as any other page.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlencode
from wsgiref.util import setup_testing_defaults

import pytest
from django.conf import settings as django_settings
from django.core.exceptions import BadRequest, PermissionDenied
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.http import Http404, HttpResponse
from django.test import Client, RequestFactory
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart
from django.urls import get_resolver, reverse
from django.utils import translation
from django.utils.translation import gettext

from screening.engine import RuleSet
from tests.support.client import answer, stored_answers, text
from tests.support.documents import default_document

pytestmark = pytest.mark.django_db

QUESTION = "/check/question/age_group/"
EARLIER = [("urgent_symptoms", "no"), ("condition", "atopic_dermatitis")]
# Charsets Python knows that are not "utf-8" once lower-cased: Django refuses a form body in any of them.
OTHER_CHARSETS = ["latin-1", "UTF8", "utf_8", "us-ascii", "cp1252", "utf-16", "utf-32", "iso-8859-1"]
SECURITY_HEADERS = [
    "Content-Security-Policy",
    "Strict-Transport-Security",
    "X-Content-Type-Options",
    "X-Frame-Options",
    "Referrer-Policy",
    "Cross-Origin-Opener-Policy",
    "Permissions-Policy",
    "Cross-Origin-Resource-Policy",
]
BAD_REQUEST_TITLE = "We could not use that request"
TOO_LARGE_TITLE = "That was too much to send"
NOT_ALLOWED_TITLE = "This page cannot be used that way"


def strict_client() -> Client:
    """A client that sends no CSRF token unless told to, as a script or an attacker's page would."""
    return Client(enforce_csrf_checks=True, raise_request_exception=False)


def assert_own_page(response: HttpResponse, status: int, title: str) -> None:
    """The app's own page for this status, in words, not Django's bare one or a server error."""
    assert response.status_code == status, (response.status_code, response.content[:300])
    page = text(response)
    assert "data-problem" in page, page[:300]
    assert f">{title}</h1>" in page, page[:300]


def assert_security_headers(headers: Any, normal: Any) -> None:
    """Every security header of a normal page is there, with the same value."""
    expected = {name: normal[name] for name in SECURITY_HEADERS if name in normal}
    assert "Content-Security-Policy" in expected and "X-Frame-Options" in expected
    assert {name: headers.get(name) for name in expected} == expected


@contextmanager
def keeping_the_test_connection() -> Iterator[None]:
    """As Django's test client does: the request's start and end must not close the database connection
    that holds the test's transaction."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def wsgi_request(
    method: str,
    path: str,
    *,
    content_type: str = "",
    body: bytes = b"",
    query: str = "",
    environ: dict[str, Any] | None = None,
) -> tuple[int, dict[str, str], str, io.BytesIO]:
    """One request through the production WSGI entry point, as gunicorn makes it: status, headers, page, input."""
    from ruxguide.wsgi import application

    stream = io.BytesIO(body)
    request: dict[str, Any] = {}
    setup_testing_defaults(request)
    request.update(
        {
            "REQUEST_METHOD": method,
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "CONTENT_TYPE": content_type,
            "CONTENT_LENGTH": str(len(body)),
            "wsgi.input": stream,
        }
    )
    request.update(environ or {})
    request = {key: value for key, value in request.items() if value is not None}
    started: list[tuple[str, list[tuple[str, str]]]] = []
    with keeping_the_test_connection():
        chunks = application(request, lambda status, headers, exc_info=None: started.append((status, headers)))
        page = b"".join(chunks).decode("utf-8", "replace")
        if hasattr(chunks, "close"):
            chunks.close()
    status, headers = started[0]
    return int(status.split()[0]), dict(headers), page, stream


def chinese(english: str) -> str:
    with translation.override("zh-hans"):
        return gettext(english)


# ---------------------------------------------------------------------------------------------
# A form body in a charset other than UTF-8
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("charset", OTHER_CHARSETS)
def test_a_form_post_in_another_charset_gets_the_400_page_not_a_500(published_rules: RuleSet, charset: str) -> None:
    client = strict_client()
    client.get("/")  # the CSRF cookie, as a browser has it: only then does the CSRF check read the body
    response = client.post(
        QUESTION, data="age_group=18_to_64", content_type=f"application/x-www-form-urlencoded; charset={charset}"
    )
    assert_own_page(response, 400, BAD_REQUEST_TITLE)
    assert "Content-Security-Policy" in response


@pytest.mark.parametrize("charset", OTHER_CHARSETS)
def test_a_form_post_in_another_charset_gets_the_400_page_through_the_wsgi_entry_point(
    published_rules: RuleSet, charset: str
) -> None:
    status, headers, page, _ = wsgi_request(
        "POST",
        QUESTION,
        content_type=f"application/x-www-form-urlencoded; charset={charset}",
        body=b"age_group=18_to_64",
    )
    assert status == 400
    assert f">{BAD_REQUEST_TITLE}</h1>" in page
    assert "Content-Security-Policy" in headers


def test_a_form_post_in_utf_8_is_still_taken(published_rules: RuleSet) -> None:
    client = Client()
    answer(client, EARLIER)
    response = client.post(
        QUESTION, data="age_group=18_to_64", content_type="application/x-www-form-urlencoded; charset=UTF-8"
    )
    assert response.status_code == 302
    assert stored_answers(client)["age_group"] == ["18_to_64"]


def test_a_form_post_in_another_charset_keeps_the_answers(published_rules: RuleSet) -> None:
    client = Client(raise_request_exception=False)
    answer(client, EARLIER)
    before = stored_answers(client)
    client.post(QUESTION, data="age_group=18_to_64", content_type="application/x-www-form-urlencoded; charset=latin-1")
    assert stored_answers(client) == before


def unreadable_form_post() -> Any:
    """A form post Django cannot read, with a CSRF cookie: only then does the CSRF check read the body."""
    return RequestFactory().post(
        QUESTION,
        data="age_group=18_to_64",
        content_type="application/x-www-form-urlencoded; charset=latin-1",
        headers={"Cookie": f"{django_settings.CSRF_COOKIE_NAME}={'a' * 32}"},
    )


@pytest.mark.parametrize(
    ("status", "exception", "title"),
    [
        (400, BadRequest("unreadable"), BAD_REQUEST_TITLE),
        (403, PermissionDenied(), "You cannot open this page"),
        (404, Http404(), "We could not find that page"),
        (500, None, "Sorry, something went wrong on our side"),
    ],
)
def test_an_error_page_never_reads_an_unreadable_body_again(
    published_rules: RuleSet, status: int, exception: Exception | None, title: str
) -> None:
    """Django's own error pages check the CSRF token again, which reads the body again, which fails again."""
    handler = get_resolver().resolve_error_handler(status)
    request = unreadable_form_post()
    response = handler(request) if exception is None else handler(request, exception=exception)
    assert_own_page(response, status, title)


def test_without_the_guard_a_form_post_in_another_charset_still_gets_the_400_page(
    published_rules: RuleSet, settings: Any
) -> None:
    settings.MIDDLEWARE = [name for name in settings.MIDDLEWARE if name != "ruxguide.guard.PatientErrorsMiddleware"]
    client = strict_client()
    client.get("/check/", follow=True)  # a question page: it sets the CSRF cookie its form needs
    response = client.post(
        QUESTION, data="age_group=18_to_64", content_type="application/x-www-form-urlencoded; charset=cp1252"
    )
    assert_own_page(response, 400, BAD_REQUEST_TITLE)


# ---------------------------------------------------------------------------------------------
# Security headers on every refusal
# ---------------------------------------------------------------------------------------------


def refused_by_charset(client: Client) -> HttpResponse:
    return client.post(
        QUESTION, data="a=1", content_type="application/x-www-form-urlencoded; charset=latin-1", secure=True
    )


def refused_as_too_large(client: Client) -> HttpResponse:
    return client.post(QUESTION, {"age_group": "18_to_64", "padding": "x" * 70_000}, secure=True)


def refused_method(client: Client) -> HttpResponse:
    return client.put(QUESTION, secure=True)


def refused_query(client: Client) -> HttpResponse:
    return client.get(QUESTION, {f"field{i}": "1" for i in range(201)}, secure=True)


@pytest.mark.parametrize(
    ("refuse", "status", "title"),
    [
        (refused_by_charset, 400, BAD_REQUEST_TITLE),
        (refused_query, 400, BAD_REQUEST_TITLE),
        (refused_as_too_large, 413, TOO_LARGE_TITLE),
        (refused_method, 405, NOT_ALLOWED_TITLE),
    ],
)
def test_a_refusal_carries_the_security_headers_of_a_normal_page(
    published_rules: RuleSet, settings: Any, refuse: Any, status: int, title: str
) -> None:
    settings.SECURE_HSTS_SECONDS = 3600  # as in production, where every page says HTTPS only
    client = strict_client()
    normal = client.get("/", secure=True)
    assert "Strict-Transport-Security" in normal
    response = refuse(client)
    assert_own_page(response, status, title)
    assert_security_headers(response, normal)


UNREADABLE_CONTENT_TYPES = [
    *(f"text/plain; charset={charset}" for charset in ["rot13", "base64", "hex", "zlib", "bz2", "uu", "quopri"]),
    "multipart/form-data; boundary=B; charset=idna",
    "application/x-www-form-urlencoded; charset=rot13",
    # Django cannot even split these into a type and parameters.
    "text/plain; charset*=bogus''utf-8",
    "multipart/form-data; boundary=B; charset*=x-unknown''utf-8",
    "text/plain; charset=" + "u" * 10_001,
]


@pytest.mark.parametrize("content_type", UNREADABLE_CONTENT_TYPES)
def test_a_request_django_cannot_build_gets_the_400_page_with_security_headers(
    published_rules: RuleSet, content_type: str
) -> None:
    _, normal, _, _ = wsgi_request("GET", "/")
    status, headers, page, _ = wsgi_request("POST", QUESTION, content_type=content_type, query="change=1", body=b"a=1")
    assert status == 400
    assert "data-problem" in page and f">{BAD_REQUEST_TITLE}</h1>" in page
    assert_security_headers(headers, normal)


def test_too_many_query_fields_beside_a_charset_get_the_400_page_with_security_headers(
    published_rules: RuleSet,
) -> None:
    _, normal, _, _ = wsgi_request("GET", "/")
    status, headers, page, _ = wsgi_request(
        "GET", QUESTION, content_type="text/plain; charset=utf-8", query="&".join(["change=1"] * 201)
    )
    assert status == 400
    assert f">{BAD_REQUEST_TITLE}</h1>" in page
    assert_security_headers(headers, normal)


def test_the_400_page_of_a_chinese_address_is_in_chinese(published_rules: RuleSet) -> None:
    status, _, page, _ = wsgi_request(
        "POST", "/zh-hans/check/question/age_group/", content_type="text/plain; charset=rot13"
    )
    assert status == 400
    assert f">{chinese(BAD_REQUEST_TITLE)}</h1>" in page


# ---------------------------------------------------------------------------------------------
# Bodies too big, or of no stated size
# ---------------------------------------------------------------------------------------------


def test_a_30_mb_file_posted_to_a_question_is_refused_with_413_unread_and_never_written(
    published_rules: RuleSet, settings: Any, tmp_path: Any
) -> None:
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    client = Client()
    answer(client, EARLIER)
    before = stored_answers(client)
    body = encode_multipart(BOUNDARY, {"age_group": "18_to_64", "photo": io.BytesIO(b"\xff" * (30 * 1024 * 1024))})
    response = client.generic("POST", QUESTION, body, MULTIPART_CONTENT)
    assert_own_page(response, 413, TOO_LARGE_TITLE)
    assert "too large" in text(response)
    assert not response.wsgi_request.META["wsgi.input"].read_started
    assert list(tmp_path.iterdir()) == []
    assert stored_answers(client) == before


@pytest.mark.parametrize("kind", ["urlencoded", "multipart", "json", "text"])
def test_any_body_over_the_limit_is_refused_with_413_unread(published_rules: RuleSet, settings: Any, kind: str) -> None:
    form = {"age_group": "18_to_64", "padding": "x" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE}
    body, content_type = {
        "urlencoded": (urlencode(form).encode(), "application/x-www-form-urlencoded"),
        "multipart": (encode_multipart(BOUNDARY, form), MULTIPART_CONTENT),
        "json": (json.dumps(form).encode(), "application/json"),
        "text": (b"x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1), "text/plain"),
    }[kind]
    response = Client().generic("POST", QUESTION, body, content_type)
    assert_own_page(response, 413, TOO_LARGE_TITLE)
    assert not response.wsgi_request.META["wsgi.input"].read_started


def test_a_body_as_large_as_the_limit_is_still_read(published_rules: RuleSet, settings: Any) -> None:
    client = Client()
    answer(client, EARLIER)
    start = b"age_group=18_to_64&padding="
    body = start + b"x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE - len(start))
    response = client.generic("POST", QUESTION, body, "application/x-www-form-urlencoded")
    assert response.status_code == 302
    assert stored_answers(client)["age_group"] == ["18_to_64"]


def test_a_get_with_a_body_over_the_limit_is_refused_with_413(published_rules: RuleSet, settings: Any) -> None:
    response = Client().generic("GET", "/", b"x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1), "text/plain")
    assert_own_page(response, 413, TOO_LARGE_TITLE)


def test_the_413_page_of_a_chinese_address_is_in_chinese(published_rules: RuleSet) -> None:
    response = Client().post("/zh-hans/check/question/age_group/", {"padding": "x" * 70_000})
    assert_own_page(response, 413, chinese(TOO_LARGE_TITLE))


def test_the_language_switch_on_a_refusal_page_works(published_rules: RuleSet) -> None:
    """The page is drawn before the CSRF middleware runs, yet its switch works (it needs no token)."""
    client = strict_client()
    page = client.post(QUESTION, {"padding": "x" * 70_000})
    assert page.status_code == 413
    assert 'id="language-switch"' in text(page)
    response = client.post(
        "/language/", {"language": "zh-hans", "next": "/"}, headers={"Sec-Fetch-Site": "same-origin"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/zh-hans/"


def import_body(size: int) -> tuple[bytes, str]:
    """A valid rule-set file padded to `size` bytes, posted as the admin's import form sends it."""
    document = json.dumps(default_document())
    upload = io.BytesIO((document + " " * (size - len(document))).encode())
    upload.name = "rules.json"
    return encode_multipart(BOUNDARY, {"document": upload, "reason": "A file as large as allowed"}), MULTIPART_CONTENT


def test_the_import_page_takes_a_file_as_large_as_its_limit_without_writing_it_to_disk(
    published_rules: RuleSet, clinician_client: Client, settings: Any, tmp_path: Any
) -> None:
    # A file that went to disk would need this folder, which does not exist: the import would fail.
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path / "missing")
    body, content_type = import_body(settings.RUXGUIDE_MAX_IMPORT_BYTES)
    assert len(body) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    response = clinician_client.generic("POST", reverse("admin:screening_publishedruleset_import"), body, content_type)
    assert response.status_code == 302, text(response)[:500]
    assert response["Location"] == reverse("admin:screening_publishedruleset_publish")


def test_any_import_the_app_accepts_is_kept_in_memory(settings: Any) -> None:
    # Whatever RUXGUIDE_MAX_IMPORT_BYTES is set to, the largest body the import page accepts is not
    # written to a temporary file.
    assert settings.FILE_UPLOAD_MAX_MEMORY_SIZE >= settings.RUXGUIDE_MAX_IMPORT_BODY_BYTES
    assert settings.RUXGUIDE_MAX_IMPORT_BODY_BYTES > settings.RUXGUIDE_MAX_IMPORT_BYTES


def test_the_import_page_refuses_a_body_over_its_limit_with_413_unread(
    published_rules: RuleSet, clinician_client: Client, settings: Any
) -> None:
    body, content_type = import_body(settings.RUXGUIDE_MAX_IMPORT_BODY_BYTES)
    response = clinician_client.generic("POST", reverse("admin:screening_publishedruleset_import"), body, content_type)
    assert_own_page(response, 413, TOO_LARGE_TITLE)
    assert not response.wsgi_request.META["wsgi.input"].read_started


def test_another_admin_page_has_the_patient_pages_limit(
    published_rules: RuleSet, clinician_client: Client, settings: Any
) -> None:
    body, content_type = import_body(settings.RUXGUIDE_MAX_IMPORT_BYTES)
    response = clinician_client.generic("POST", reverse("admin:screening_question_add"), body, content_type)
    assert_own_page(response, 413, TOO_LARGE_TITLE)


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "GET"])
def test_a_chunked_body_without_a_length_is_refused_unread(published_rules: RuleSet, method: str) -> None:
    _, normal, _, _ = wsgi_request("GET", "/")
    status, headers, page, stream = wsgi_request(
        method,
        QUESTION,
        content_type="application/x-www-form-urlencoded",
        body=b"age_group=18_to_64",
        environ={"CONTENT_LENGTH": None, "HTTP_TRANSFER_ENCODING": "chunked"},
    )
    assert status == 411
    assert "data-problem" in page
    assert stream.tell() == 0
    assert_security_headers(headers, normal)


def test_a_body_over_the_limit_is_refused_through_the_wsgi_entry_point_unread(
    published_rules: RuleSet, settings: Any
) -> None:
    body = b"age_group=18_to_64&padding=" + b"x" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    status, _, page, stream = wsgi_request(
        "POST", QUESTION, content_type="application/x-www-form-urlencoded", body=body
    )
    assert status == 413
    assert f">{TOO_LARGE_TITLE}</h1>" in page
    assert stream.tell() == 0


# ---------------------------------------------------------------------------------------------
# Methods a page does not take
# ---------------------------------------------------------------------------------------------

PAGES_AND_METHODS = [
    ("/", "GET, HEAD"),
    ("/check/", "GET, HEAD"),
    (QUESTION, "GET, HEAD, POST"),
    ("/check/answers/", "GET, HEAD"),
    ("/check/result/", "GET, HEAD"),
    ("/check/result/print/", "GET, HEAD"),
    ("/check/clear/", "GET, HEAD, POST"),
    ("/about-the-cream/", "GET, HEAD"),
    ("/language/", "POST"),
    ("/zh-hans/check/question/age_group/", "GET, HEAD, POST"),
]


@pytest.mark.parametrize(("path", "allowed"), PAGES_AND_METHODS)
@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "OPTIONS", "FOO"])
def test_a_method_a_page_does_not_take_gets_405_with_what_it_takes_not_403(
    published_rules: RuleSet, path: str, allowed: str, method: str
) -> None:
    client = strict_client()
    response = client.generic(method, path, b"age_group=18_to_64", "application/x-www-form-urlencoded")
    title = chinese(NOT_ALLOWED_TITLE) if path.startswith("/zh-hans/") else NOT_ALLOWED_TITLE
    assert_own_page(response, 405, title)
    assert response["Allow"] == allowed
    assert "Content-Security-Policy" in response


def test_a_post_to_a_page_that_only_shows_gets_405_even_without_its_token(published_rules: RuleSet) -> None:
    response = strict_client().post("/check/answers/", {"anything": "1"})
    assert_own_page(response, 405, NOT_ALLOWED_TITLE)
    assert response["Allow"] == "GET, HEAD"


def test_a_page_over_the_draft_takes_the_same_methods(published_rules: RuleSet, clinician: Any) -> None:
    client = strict_client()
    client.force_login(clinician)
    assert client.get("/preview/check/question/urgent_symptoms/").status_code == 200
    response = client.put("/preview/check/question/urgent_symptoms/")
    assert_own_page(response, 405, NOT_ALLOWED_TITLE)
    assert response["Allow"] == "GET, HEAD, POST"


@pytest.mark.parametrize(
    ("path", "status"), [("/", 200), ("/check/", 302), ("/check/answers/", 409), ("/about-the-cream/", 200)]
)
@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_get_and_head_still_work(published_rules: RuleSet, path: str, status: int, method: str) -> None:
    assert strict_client().generic(method, path).status_code == status


def test_a_405_answers_an_htmx_request_too(published_rules: RuleSet) -> None:
    response = strict_client().delete(QUESTION, headers={"HX-Request": "true"})
    assert_own_page(response, 405, NOT_ALLOWED_TITLE)


def test_a_post_with_its_token_still_answers_a_question(published_rules: RuleSet) -> None:
    client = Client(enforce_csrf_checks=True)
    page = text(client.get("/check/question/urgent_symptoms/"))
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert token is not None
    response = client.post(
        "/check/question/urgent_symptoms/", {"urgent_symptoms": "no", "csrfmiddlewaretoken": token[1]}
    )
    assert response.status_code == 302
    assert stored_answers(client) == {"urgent_symptoms": ["no"]}


def test_a_head_answer_keeps_its_headers_and_drops_its_body() -> None:
    from django.http import HttpResponse
    from django.test import RequestFactory

    from ruxguide.middleware import HeadWithoutBodyMiddleware

    page = HttpResponse(b"<p>the page</p>", headers={"Content-Length": "15"})
    answer = HeadWithoutBodyMiddleware(lambda request: page)(RequestFactory().head("/"))
    assert answer.content == b"" and answer["Content-Length"] == "15"
    kept = HeadWithoutBodyMiddleware(lambda request: HttpResponse(b"<p>the page</p>"))(RequestFactory().get("/"))
    assert kept.content == b"<p>the page</p>"
