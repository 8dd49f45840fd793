"""Hostile input against every patient page: never a 500, a human message on every 4xx, answers kept.

Hypothesis throws junk at each patient endpoint (and at every question step of the default rule set,
plus made-up ones): forms with unknown fields, wrong types, repeated keys, options of other questions
and huge values; raw bodies that are not UTF-8 under bogus content types; junk query strings; steps
out of order; garbage and tampered session cookies; missing and wrong CSRF tokens.

Every request goes through `HostileClient`, which counts it and records any 500 (or any exception
raised before Django's handler could answer at all) with its traceback. The module prints the totals
when it finishes (run pytest with -s): the number of hostile inputs tried and the 500s seen.

Inputs that once crashed Django before its handler ran (a charset that is not a text encoding, too
many query fields beside a charset, a Content-Type Django cannot split) are checked at the end through
the production WSGI entry point, which lets Django build the request and the app answer with its 400
page (ruxguide.guard), each with its first failing input as an `@example`; the test client cannot
send them, so the broad tests steer around those charsets (`CRASHING_CHARSETS`). Section 9 sends
every charset Python knows, random multipart bodies, random methods and random header shapes through
that entry point: every answer is a page of the app's own (or a redirect), with its security headers.
"""

from __future__ import annotations

import codecs
import encodings
import gzip
import html
import io
import json
import logging
import pkgutil
import re
import string
import traceback
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from encodings.aliases import aliases
from typing import Any
from urllib.parse import quote, urlencode
from wsgiref.util import setup_testing_defaults

import pytest
from django.conf import settings as django_settings
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.http import HttpResponse
from django.test import Client
from django.test.client import BOUNDARY, MULTIPART_CONTENT, ClientHandler, encode_multipart
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ruxguide.sessions import SessionStore
from screening.defaults import default_document
from screening.engine import RuleSet, clean_answer, walk
from screening.live import current_ruleset
from screening.visit import SESSION_KEY
from tests.support.client import HEALTHY_ADULT, as_list

pytestmark = pytest.mark.django_db

# ---------------------------------------------------------------------------------------------
# The tally, and a client that feeds it
# ---------------------------------------------------------------------------------------------


class Tally:
    """Requests made by this module, and every 500 (or crash) seen, with where it came from."""

    def __init__(self) -> None:
        self.requests = 0
        self.server_errors = 0
        self.test = ""
        self.by_test: Counter[str] = Counter()
        self.first_seen: dict[str, tuple[str, str]] = {}

    def record_error(self, request: dict[str, Any], trace: str) -> None:
        self.server_errors += 1
        self.by_test[self.test] += 1
        last_line = trace.strip().splitlines()[-1] if trace.strip() else "a 500 without an exception"
        self.first_seen.setdefault(last_line, (describe(request), trace))


TALLY = Tally()


def describe(request: dict[str, Any]) -> str:
    query = request.get("QUERY_STRING", "")
    query = query if len(query) <= 120 else f"{query[:120]}...({len(query)} characters)"
    return (
        f"{request.get('REQUEST_METHOD')} {request.get('PATH_INFO')}{'?' + query if query else ''} "
        f"Content-Type={request.get('CONTENT_TYPE', '')!r} Content-Length={request.get('CONTENT_LENGTH', '0')}"
    )


HANDLERS: dict[bool, ClientHandler] = {}


class HostileClient(Client):
    """A test client that counts every request and records every 500 instead of raising inside Django."""

    def __init__(self, *, enforce_csrf_checks: bool = False) -> None:
        super().__init__(enforce_csrf_checks=enforce_csrf_checks, raise_request_exception=False)
        # A fresh client (its own cookies) per example, over one loaded middleware chain: loading it
        # again for each client costs more than the requests (WhiteNoise indexes every static file).
        self.handler = HANDLERS.setdefault(enforce_csrf_checks, ClientHandler(enforce_csrf_checks))

    def request(self, **request: Any) -> HttpResponse:
        TALLY.requests += 1
        try:
            response = super().request(**request)
        except Exception:
            # Raised before Django's handler could turn it into a response: the WSGI server answers 500.
            TALLY.record_error(request, traceback.format_exc())
            raise
        if response.status_code >= 500:
            exc_info = getattr(response, "exc_info", None)
            TALLY.record_error(request, "".join(traceback.format_exception(*exc_info)) if exc_info else "")
        return response


class ServerError(AssertionError):
    """The app answered 500 (or more)."""


@pytest.fixture(scope="module", autouse=True)
def tally_report() -> Iterator[None]:
    """Keep thousands of request log lines out of the output, then print the totals for the issue."""
    loggers = [logging.getLogger(name) for name in ("ruxguide.requests", "django.request", "django.security")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL)
    yield
    for logger, level in zip(loggers, levels, strict=True):
        logger.setLevel(level)
    print(f"\n\nHostile input: {TALLY.requests} requests tried, {TALLY.server_errors} answered 500 or crashed.")
    for test, count in sorted(TALLY.by_test.items()):
        print(f"  {count} of the 500s in {test}")
    for last_line, (request, trace) in TALLY.first_seen.items():
        print(f"\n--- {last_line}\n    first input: {request}\n{trace}")


@pytest.fixture(autouse=True)
def name_the_test(request: pytest.FixtureRequest) -> None:
    TALLY.test = request.node.name


# ---------------------------------------------------------------------------------------------
# The rule set's questions and the patient pages
# ---------------------------------------------------------------------------------------------

DOCUMENT = default_document()
OPTIONS: dict[str, list[str]] = {q["id"]: [o["id"] for o in q["options"]] for q in DOCUMENT["questions"]}
EXCLUSIVE: dict[str, list[str]] = {
    q["id"]: [o["id"] for o in q["options"] if o.get("exclusive")] for q in DOCUMENT["questions"]
}
MULTIPLE = {q["id"] for q in DOCUMENT["questions"] if q.get("multiple")}
QUESTION_IDS = list(OPTIONS)
ALL_OPTION_IDS = sorted({option for options in OPTIONS.values() for option in options})
FULL_VISIT = {question_id: as_list(HEALTHY_ADULT[question_id]) for question_id in QUESTION_IDS}

PAGES = [
    "/",
    "/check/",
    "/check/answers/",
    "/check/result/",
    "/check/result/print/",
    "/check/clear/",
    "/about-the-cream/",
]
QUESTION_PATHS = [f"/check/question/{question_id}/" for question_id in QUESTION_IDS]
ODD_PATHS = [
    "/check/question/",
    "/check/question//",
    "/check",
    "/check/question/urgent_symptoms",
    "/check/question/urgent_symptoms/extra/",
    "/check/result/print/x/",
    "/check/question/%2E%2E/",
    "/check/question/urgent_symptoms%00/",
    "/preview/check/",
    "/preview/check/question/urgent_symptoms/",
]
QUESTION_PATH = re.compile(r"/check/question/([^/]+)/")

METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "PROPFIND", "get", "BREW"]
FORM_METHODS = ["POST", "POST", "POST", "PUT", "PATCH", "DELETE"]


def question_of(path: str) -> str | None:
    match = QUESTION_PATH.fullmatch(path)
    return match[1] if match else None


# ---------------------------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------------------------

MESSAGE = re.compile(r'<p class="(?:problem" data-problem|error-message"[^>]*)>(.*?)</p>', re.DOTALL)
CSRF_TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def human_message(response: HttpResponse) -> str:
    """The problem paragraph (or the question's error message) as a patient reads it."""
    found = MESSAGE.search(response.content.decode("utf-8", "replace"))
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", found[1])).split()) if found else ""


def check(response: HttpResponse) -> HttpResponse:
    """No 500; the security policy on every answer; and a 4xx to anything but HEAD explains itself in words."""
    method = str(response.request["REQUEST_METHOD"]).upper()
    if response.status_code >= 500:
        raise ServerError(f"{response.status_code} for {describe(response.request)}")
    assert "Content-Security-Policy" in response, (response.status_code, describe(response.request))
    if 400 <= response.status_code < 500 and method != "HEAD":
        message = human_message(response)
        # Five words, or (in Chinese, written without spaces) ten characters.
        assert len(message.split()) >= 5 or (len(message) >= 10 and not message.isascii()), (
            response.status_code,
            describe(response.request),
            response.content[:300],
        )
    return response


def sign_session(client: Client, data: dict[str, Any]) -> None:
    """Give the client a session cookie signed with the real key, holding `data`."""
    store = SessionStore()
    store.update(data)
    store.save()
    client.cookies[django_settings.RUXGUIDE_PATIENT_SESSION_COOKIE_NAME] = store.session_key


def stored_answers(client: Client) -> dict[str, list[str]]:
    """The answers in the client's session cookie, read without a request (and without making a session)."""
    cookie = client.cookies.get(django_settings.RUXGUIDE_PATIENT_SESSION_COOKIE_NAME)
    if cookie is None or not cookie.value:
        return {}
    visit = SessionStore(session_key=cookie.value).get(SESSION_KEY)
    answers = visit.get("answers") if isinstance(visit, dict) else None
    return answers if isinstance(answers, dict) else {}


def answers_before(question_id: str | None) -> dict[str, list[str]]:
    """A healthy adult's answers to every question before `question_id` (all of them for an unknown id)."""
    answers = {}
    for other in QUESTION_IDS:
        if other == question_id:
            break
        answers[other] = FULL_VISIT[other]
    return answers


def client_in_state(state: str, question_id: str | None, ruleset: RuleSet) -> HostileClient:
    """A fresh client with no visit, an empty visit, a visit up to `question_id`, or a finished one."""
    client = HostileClient()
    answers = {"empty": {}, "before": answers_before(question_id), "full": FULL_VISIT}.get(state)
    if answers is not None:
        sign_session(client, {SESSION_KEY: {"version": ruleset.version, "answers": dict(answers)}})
    return client


def assert_answers_kept(client: Client, before: dict[str, list[str]], response: HttpResponse, path: str) -> None:
    """Only a valid answer to a question step, or a clear, changes the stored answers; a refusal never does."""
    after = stored_answers(client)
    method = str(response.request["REQUEST_METHOD"]).upper()
    # A POST the app took answers 302, or (with htmx) 200 with the next step; an error is 4xx or a 200
    # that shows the question again with its error summary.
    taken = method == "POST" and (
        response.status_code == 302
        or (response.status_code == 200 and b'class="error-summary"' not in response.content)
    )
    question_id = question_of(path)
    if taken and path == "/check/clear/":
        assert after == {}
    elif taken and response.status_code == 302 and question_id in OPTIONS and ended_before(question_id, before):
        # An earlier answer ended the check: a later question takes no answer, and the patient is sent
        # to the result.
        assert response["Location"] == "/check/result/", (describe(response.request), response["Location"])
        assert after == before, (describe(response.request), before, after)
    elif taken and question_id in OPTIONS and (after != before or response.status_code == 302):
        assert list(clean_answer_of(question_id, after[question_id])) == after[question_id]
        # The other answers are kept, apart from those the new answer hides.
        assert all(after[q] == before[q] for q in after if q != question_id), (before, after)
    else:
        assert after == before, (describe(response.request), response.status_code, before, after)


def ended_before(question_id: str, answers: dict[str, list[str]]) -> bool:
    """An answer before `question_id` ended the check, so the check no longer shows that question."""
    where = walk(current_ruleset(), {q: tuple(v) for q, v in answers.items()})
    return where.ended_by is not None and all(question.id != question_id for question in where.shown)


def clean_answer_of(question_id: str, values: list[str]) -> tuple[str, ...]:
    question = current_ruleset().question(question_id)
    assert question is not None
    return clean_answer(question, values)


# ---------------------------------------------------------------------------------------------
# Strategies
# ---------------------------------------------------------------------------------------------

# A charset that names a codec which is not a text encoding (or cannot decode with errors="replace")
# makes Django fail while it builds the request, before the test client's handler: only the WSGI entry
# point (sections 8 and 9) can refuse it. The broad tests use only the others.
CRASHING_CHARSETS = ["rot13", "base64", "hex", "zlib", "bz2", "uu", "quopri", "idna"]
SAFE_CHARSETS = ["utf-8", "UTF-8", "latin-1", "iso-8859-1", "ascii", "cp1252", "utf-16", "utf-32", "shift_jis"]
UNKNOWN_CHARSETS = ["bogus", "", "utf-9", "x" * 300, '"utf-8"', "utf-8; charset=latin-1"]


def as_wsgi(text: str) -> str:
    """Text as a WSGI server hands a header or query string over: its UTF-8 bytes, each as one latin-1 character."""
    return text.encode().decode("latin-1")


latin1_text = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=255), max_size=60)
huge_strings = st.builds(
    lambda chunk, size: (chunk * size)[:size], st.text(min_size=1, max_size=4), st.integers(1_000, 100_000)
)
scalars = st.one_of(
    st.sampled_from([*ALL_OPTION_IDS, "", "none", " no", "no ", "NO", "None", "null", "[]", "{}", "0", "-1", "1e309"]),
    st.integers().map(str),
    st.floats().map(str),
    st.text(max_size=40),
    huge_strings,
)
field_values = st.one_of(scalars, st.lists(scalars, max_size=8))
field_names = st.one_of(
    st.sampled_from([*QUESTION_IDS, "csrfmiddlewaretoken", "change", "", "answers", "visit", "__proto__"]),
    st.text(max_size=30),
)


def hostile_values(question_id: str | None) -> st.SearchStrategy[Any]:
    """Answers to one question that it must refuse, or that only a careless check would take."""
    own = OPTIONS.get(question_id or "", ["no", "yes"])
    others = sorted({o for q, options in OPTIONS.items() if q != question_id for o in options} - set(own))
    return st.one_of(
        field_values,
        st.lists(st.sampled_from(own), min_size=2, max_size=6),  # repeated keys, several answers to one
        st.lists(st.sampled_from(own + others), min_size=1, max_size=6),  # options of other questions
        st.lists(st.sampled_from(own), min_size=1, max_size=3).map(lambda values: ["none", *values]),
        st.sampled_from(others),
        st.lists(st.sampled_from(own), min_size=150, max_size=260),  # many values
    )


def valid_values(question_id: str) -> st.SearchStrategy[list[str]]:
    options = OPTIONS[question_id]
    if question_id not in MULTIPLE:
        return st.sampled_from(options).map(lambda option: [option])
    plain = [o for o in options if o not in EXCLUSIVE[question_id]]
    return st.one_of(
        st.sampled_from(EXCLUSIVE[question_id]).map(lambda option: [option]),
        st.lists(st.sampled_from(plain), min_size=1, unique=True),
    )


@st.composite
def hostile_forms(draw: st.DrawFn, question_id: str | None) -> dict[str, Any]:
    form = draw(st.dictionaries(field_names, field_values, max_size=5))
    if question_id is not None and draw(st.booleans()):
        form[question_id] = draw(hostile_values(question_id))
    return form


def safe_queries(max_fields: int = 20) -> st.SearchStrategy[str]:
    """Junk query strings, as a WSGI server passes them on (latin-1 text standing for the bytes)."""
    return st.one_of(
        st.just(""),
        st.sampled_from(
            [
                "change=1",
                "change=0",
                "change=",
                "change",
                "change=1&change=2",
                "change[]=1",
                "change=%FF",
                "change=1%00",
                "change=%C3%28",
                "=",
                "&&&",
                "%",
                "%%%",
                "a=%zz",
                ";;",
            ]
        ),
        st.text(max_size=40).map(lambda junk: "change=" + quote(junk, safe="")),
        st.lists(st.tuples(st.text(max_size=10), st.text(max_size=10)), max_size=max_fields).map(urlencode),
        st.text(max_size=80).map(as_wsgi),
        st.binary(max_size=60).map(lambda junk: junk.decode("latin-1")),
    )


many_field_queries = st.integers(150, 400).map(lambda n: "&".join(["change=1"] * n))

htmx_headers = st.one_of(
    st.just({}),
    st.just({"HX-Request": "true"}),
    st.just({"HX-Request": "true", "HX-History-Restore-Request": "true"}),
    st.builds(lambda junk: {"HX-Request": junk}, latin1_text),
    st.builds(
        lambda url, target, trigger: {
            "HX-Request": "true",
            "HX-Current-URL": url,
            "HX-Target": target,
            "HX-Trigger": trigger,
        },
        latin1_text,
        latin1_text,
        latin1_text,
    ),
)

odd_question_paths = st.text(max_size=40).map(lambda junk: f"/check/question/{quote(junk, safe='')}/")
any_path = st.one_of(st.sampled_from(PAGES + QUESTION_PATHS), odd_question_paths, st.sampled_from(ODD_PATHS))
visit_states = st.sampled_from(["fresh", "empty", "before", "full"])


def encode_form(form: dict[str, Any], encoding: str) -> tuple[bytes, str]:
    """The form as a request body, and its content type."""
    if encoding == "multipart":
        return encode_multipart(BOUNDARY, form), MULTIPART_CONTENT
    if encoding == "urlencoded":
        return urlencode(form, doseq=True).encode(), "application/x-www-form-urlencoded"
    return json.dumps(form).encode(), "application/json"


multipart_bodies = st.one_of(
    st.binary(max_size=400).map(lambda junk: b"--B\r\n" + junk),
    st.builds(
        lambda name, headers, value, end: (
            b'--B\r\nContent-Disposition: form-data; name="' + name + b'"' + headers + b"\r\n\r\n" + value + end
        ),
        st.binary(max_size=30),
        st.sampled_from(
            [b"", b'; filename="x.txt"\r\nContent-Type: text/plain', b"\r\nContent-Transfer-Encoding: base64"]
        ),
        st.binary(max_size=300),
        st.sampled_from([b"\r\n--B--\r\n", b"\r\n--B", b"", b"\r\n--B\r\n", b"--B--"]),
    ),
)
content_types = st.one_of(
    st.sampled_from(
        [
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=B",
            "multipart/form-data",
            "multipart/form-data; boundary=",
            'multipart/form-data; boundary=""',
            "multipart/form-data; boundary=" + "B" * 80,
            "multipart/form-data; boundary=\x00",
            "multipart/mixed; boundary=B",
            "application/json",
            "text/plain",
            "application/octet-stream",
            "",
            ";",
            "/",
            "application/x-www-form-urlencoded; boundary=B",
        ]
    ),
    st.builds(
        lambda kind, charset: f"{kind}; charset={charset}",
        st.sampled_from(["application/x-www-form-urlencoded", "multipart/form-data; boundary=B", "text/plain"]),
        st.sampled_from(SAFE_CHARSETS + UNKNOWN_CHARSETS),
    ),
    latin1_text.filter(lambda text: "charset" not in text.lower()),
)

FAST = {"deadline": None, "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]}


# ---------------------------------------------------------------------------------------------
# 0. Every endpoint, every method, with and without htmx, in every state of a visit
# ---------------------------------------------------------------------------------------------

SWEEP_PATHS = [*PAGES, *QUESTION_PATHS, *ODD_PATHS, "/check/question/not_a_question/", "/check/question/%C3%A9/"]


@pytest.mark.slow
@pytest.mark.parametrize("state", ["fresh", "before", "full"])
def test_every_endpoint_answers_every_method_without_a_500(published_rules, state):
    for path in SWEEP_PATHS:
        question_id = question_of(path)
        for method in METHODS:
            for headers in ({}, {"HX-Request": "true"}):
                client = client_in_state(state, question_id, published_rules)
                before = stored_answers(client)
                body = encode_multipart(BOUNDARY, {question_id or "answer": "junk", "extra": ["1", "2"]})
                response = check(client.generic(method, path, body, MULTIPART_CONTENT, headers=headers))
                assert_answers_kept(client, before, response, path)


# ---------------------------------------------------------------------------------------------
# 1. Form posts with junk, to every endpoint and every question step
# ---------------------------------------------------------------------------------------------


@st.composite
def paths_and_forms(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    path = draw(st.one_of(st.sampled_from(QUESTION_PATHS), any_path))
    return path, draw(hostile_forms(question_of(path)))


@pytest.mark.slow
@settings(max_examples=500, **FAST)
@given(
    path_and_form=paths_and_forms(),
    method=st.sampled_from(FORM_METHODS),
    state=visit_states,
    encoding=st.sampled_from(["multipart", "multipart", "urlencoded", "json"]),
    query=safe_queries(),
    headers=htmx_headers,
)
@example(
    path_and_form=("/check/question/other_medicines/", {"other_medicines": ["none", "steroid_on_skin"]}),
    method="POST",
    state="before",
    encoding="multipart",
    query="",
    headers={},
)
@example(
    path_and_form=("/check/question/age_group/", {"age_group": ["18_to_64"] * 3, "x": "1" * 100_000}),
    method="POST",
    state="before",
    encoding="urlencoded",
    query="change=%00",
    headers={"HX-Request": "true"},
)
@example(
    path_and_form=("/check/question/allergy/", {"allergy": ["vitiligo"], "condition": "psoriasis"}),
    method="POST",
    state="before",
    encoding="multipart",
    query="",
    headers={},
)
def test_a_junk_form_never_fails_and_a_refused_one_changes_no_answer(
    published_rules, path_and_form, method, state, encoding, query, headers
):
    path, form = path_and_form
    question_id = question_of(path)
    client = client_in_state(state, question_id, published_rules)
    before = stored_answers(client)
    body, content_type = encode_form(form, encoding)
    response = check(client.generic(method, path, body, content_type, headers=headers, QUERY_STRING=query))
    assert_answers_kept(client, before, response, path)
    if question_id in OPTIONS:
        check(client.get(path, QUERY_STRING=query, headers=headers))


# ---------------------------------------------------------------------------------------------
# 2. Raw bodies: invalid UTF-8, bogus content types, broken multipart
# ---------------------------------------------------------------------------------------------


@pytest.mark.slow
@settings(max_examples=450, **FAST)
@given(
    path=st.one_of(st.sampled_from(QUESTION_PATHS), any_path),
    method=st.sampled_from(FORM_METHODS),
    state=visit_states,
    body=st.one_of(st.binary(max_size=2_000), multipart_bodies),
    content_type=content_types,
    query=safe_queries(),
    headers=htmx_headers,
)
@example(
    path="/check/question/condition/",
    method="POST",
    state="before",
    body=b"condition=\xff\xfe&condition=%FF%FE%80&\xc3=vitiligo\xc3",
    content_type="application/x-www-form-urlencoded",
    query="",
    headers={},
)
@example(
    path="/check/question/urgent_symptoms/",
    method="POST",
    state="fresh",
    body=b'--B\r\nContent-Disposition: form-data; name="urgent_symptoms"\r\n\r\nno',
    content_type="multipart/form-data; boundary=B",
    query="change=1",
    headers={"HX-Request": "true"},
)
def test_a_raw_body_never_fails_and_a_refused_one_changes_no_answer(
    published_rules, path, method, state, body, content_type, query, headers
):
    question_id = question_of(path)
    client = client_in_state(state, question_id, published_rules)
    before = stored_answers(client)
    response = check(client.generic(method, path, body, content_type, headers=headers, QUERY_STRING=query))
    assert_answers_kept(client, before, response, path)


# ---------------------------------------------------------------------------------------------
# 3. Junk query strings (including ?change=<junk>) and junk headers on GET and HEAD
# ---------------------------------------------------------------------------------------------


@pytest.mark.slow
@settings(max_examples=400, **FAST)
@given(
    path=any_path,
    method=st.sampled_from(["GET", "GET", "HEAD"]),
    state=visit_states,
    query=st.one_of(safe_queries(), many_field_queries),
    headers=htmx_headers,
    content_type=st.sampled_from(["", "text/html", "application/json", "multipart/form-data"]),
    host=st.one_of(st.none(), latin1_text),
)
@example(
    path="/check/question/age_group/",
    method="GET",
    state="before",
    query="change=%FF%FE",
    headers={},
    content_type="",
    host=None,
)
def test_a_junk_query_string_never_fails(published_rules, path, method, state, query, headers, content_type, host):
    client = client_in_state(state, question_of(path), published_rules)
    before = stored_answers(client)
    extra = {"QUERY_STRING": query, "CONTENT_TYPE": content_type}
    if host is not None:
        extra["HTTP_HOST"] = host
    response = check(client.generic(method, path, headers=headers, **extra))
    assert_answers_kept(client, before, response, path)


# ---------------------------------------------------------------------------------------------
# 4. Steps out of order on one client
# ---------------------------------------------------------------------------------------------


@pytest.mark.slow
@settings(max_examples=200, **FAST)
@given(data=st.data(), count=st.integers(1, 16))
def test_steps_in_any_order_never_fail_and_keep_earlier_answers(published_rules, data, count):
    client = HostileClient()
    for _ in range(count):
        where = walk(published_rules, {q: tuple(v) for q, v in stored_answers(client).items()})
        if where.upcoming is not None:
            next_path = f"/check/question/{where.upcoming.id}/"
        else:  # an answer that ends the check leads straight to the result
            next_path = "/check/result/" if where.ended_by is not None else "/check/answers/"
        path = data.draw(
            st.one_of(st.just(next_path), st.just(next_path), st.sampled_from(PAGES + QUESTION_PATHS), any_path),
            label="path",
        )
        method = data.draw(st.sampled_from(["GET", "POST", "POST", "POST", *METHODS]), label="method")
        headers = data.draw(htmx_headers, label="headers")
        query = data.draw(st.sampled_from(["", "", "change=1", "change=yes"]), label="query")
        question_id = question_of(path)
        form: dict[str, Any] = {}
        if method.upper() in {"POST", "PUT", "PATCH"}:
            if question_id in OPTIONS and data.draw(st.booleans(), label="valid"):
                form = {question_id: data.draw(valid_values(question_id), label="answer")}
            else:
                form = data.draw(hostile_forms(question_id), label="form")
        before = stored_answers(client)
        body, content_type = encode_form(form, "multipart") if form else (b"", "application/octet-stream")
        response = check(client.generic(method, path, body, content_type, headers=headers, QUERY_STRING=query))
        assert_answers_kept(client, before, response, path)


@pytest.mark.slow
@settings(max_examples=120, **FAST)
@given(
    answered=st.integers(1, len(QUESTION_IDS)),
    path=st.one_of(st.sampled_from(QUESTION_PATHS + PAGES), any_path),
    data=st.data(),
    encoding=st.sampled_from(["multipart", "urlencoded"]),
    headers=htmx_headers,
)
def test_a_rejected_request_keeps_the_answers_given_through_the_pages(
    published_rules, answered, path, data, encoding, headers
):
    """Answer some questions through the real pages, then send junk: a refusal changes nothing."""
    client = HostileClient()
    for question_id in QUESTION_IDS[:answered]:
        response = client.post(f"/check/question/{question_id}/", {question_id: FULL_VISIT[question_id]})
        assert response.status_code == 302, (question_id, response.status_code)
    given_answers = {question_id: FULL_VISIT[question_id] for question_id in QUESTION_IDS[:answered]}
    assert stored_answers(client) == given_answers
    question_id = question_of(path)
    form = data.draw(hostile_forms(question_id).filter(lambda form: bool(form)), label="form")
    body, content_type = encode_form(form, encoding)
    response = check(client.generic("POST", path, body, content_type, headers=headers))
    assert_answers_kept(client, given_answers, response, path)


# ---------------------------------------------------------------------------------------------
# 5. Garbage and tampered session cookies
# ---------------------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5),
    max_leaves=20,
)
garbage_visits = st.one_of(
    json_values,
    st.fixed_dictionaries({"version": json_values, "answers": json_values}),
    st.fixed_dictionaries(
        {
            "version": st.one_of(st.integers(-1, 3), json_values),
            "answers": st.dictionaries(
                st.one_of(st.sampled_from(QUESTION_IDS), st.text(max_size=10)),
                st.one_of(json_values, st.lists(st.one_of(st.sampled_from(ALL_OPTION_IDS), json_values), max_size=5)),
                max_size=8,
            ),
        }
    ),
)


def assert_a_new_visit_can_start(client: HostileClient) -> None:
    """Whatever the session held, /check/ leads to a question the patient can answer."""
    response = check(client.get("/check/"))
    assert response.status_code == 302
    location = response["Location"]
    question_id = question_of(location)
    if question_id is None:
        assert location == "/check/answers/"
        check(client.get(location))
        return
    assert check(client.get(location)).status_code == 200
    response = check(client.post(location, {question_id: FULL_VISIT[question_id]}))
    assert response.status_code == 302, (location, response.status_code)


@pytest.mark.slow
@settings(max_examples=150, **FAST)
@given(visit=garbage_visits, path=any_path, extra_key=st.one_of(st.none(), st.text(max_size=10)), junk=json_values)
@example(visit={"version": "x", "answers": {"allergy": 5}}, path="/check/answers/", extra_key=None, junk=None)
@example(visit=["urgent_symptoms", "no"], path="/check/question/urgent_symptoms/", extra_key=None, junk=None)
@example(visit={"version": 1, "answers": ["allergy"]}, path="/check/result/", extra_key=None, junk=None)
@example(
    visit={"version": 1, "answers": {"urgent_symptoms": [["no"]], "condition": ["vitiligo", "vitiligo"]}},
    path="/check/question/condition/",
    extra_key="preview_visit",
    junk={"answers": 1},
)
def test_a_signed_session_with_a_garbage_visit_never_fails(published_rules, visit, path, extra_key, junk):
    client = HostileClient()
    session = {SESSION_KEY: visit}
    if extra_key is not None and not extra_key.startswith("_"):  # Django's own keys are not the app's to read
        session[extra_key] = junk
    sign_session(client, session)
    check(client.get(path))
    check(client.get(path, headers={"HX-Request": "true"}))
    assert_a_new_visit_can_start(client)


@st.composite
def tampered_cookies(draw: st.DrawFn) -> str:
    store = SessionStore()
    store.update({SESSION_KEY: {"version": 1, "answers": {"urgent_symptoms": ["no"]}}})
    store.save()
    valid = store.session_key
    index = draw(st.integers(0, len(valid) - 1))
    return draw(
        st.sampled_from(
            [
                valid[:index] + ("A" if valid[index] != "A" else "B") + valid[index + 1 :],
                valid[:index],
                valid + ":" + valid[index:],
                valid.replace(":", "", 1),
                ":".join(reversed(valid.split(":"))),
            ]
        )
    )


@pytest.mark.slow
@settings(max_examples=150, **FAST)
@given(
    cookie=st.one_of(st.text(max_size=300).map(as_wsgi), st.binary(max_size=200).map(bytes.hex), tampered_cookies()),
    raw_cookie_header=st.one_of(
        st.none(),
        latin1_text,
        st.text(max_size=40).map(lambda v: as_wsgi(f"sessionid={v}; messages={v}; csrftoken={v}")),
    ),
    path=any_path,
)
@example(cookie="", raw_cookie_header="sessionid=", path="/check/result/")
@example(cookie="x" * 5000, raw_cookie_header=None, path="/check/question/urgent_symptoms/")
def test_a_garbage_session_cookie_never_fails(published_rules, cookie, raw_cookie_header, path):
    client = HostileClient()
    client.cookies[django_settings.RUXGUIDE_PATIENT_SESSION_COOKIE_NAME] = cookie
    extra = {} if raw_cookie_header is None else {"HTTP_COOKIE": raw_cookie_header}
    check(client.get(path, **extra))
    check(client.post(path, {"urgent_symptoms": "no"}, **extra))
    client.cookies[django_settings.RUXGUIDE_PATIENT_SESSION_COOKIE_NAME] = cookie
    assert_a_new_visit_can_start(client)


# ---------------------------------------------------------------------------------------------
# 6. Missing and wrong CSRF tokens
# ---------------------------------------------------------------------------------------------


@settings(max_examples=120, **FAST)
@given(
    kind=st.sampled_from(["missing", "junk", "junk_cookie", "junk_header", "other_client", "wrong_origin", "right"]),
    junk=latin1_text,
    path=st.sampled_from(["/check/question/age_group/", "/check/clear/", "/check/question/condition/"]),
    headers=htmx_headers,
)
@example(kind="missing", junk="", path="/check/question/age_group/", headers={})
@example(kind="right", junk="", path="/check/question/age_group/", headers={})
def test_a_missing_or_wrong_csrf_token_is_refused_with_a_message_and_keeps_the_answers(
    published_rules, kind, junk, path, headers
):
    answers = answers_before("age_group")
    client = HostileClient(enforce_csrf_checks=True)
    sign_session(client, {SESSION_KEY: {"version": published_rules.version, "answers": answers}})
    token = CSRF_TOKEN.search(check(client.get("/check/question/age_group/")).content.decode())[1]
    form: dict[str, Any] = {"age_group": "18_to_64", "condition": "vitiligo", "csrfmiddlewaretoken": token}
    extra: dict[str, Any] = {}
    if kind == "missing":
        del form["csrfmiddlewaretoken"]
    elif kind == "junk":
        form["csrfmiddlewaretoken"] = junk
    elif kind == "junk_cookie":
        client.cookies[django_settings.CSRF_COOKIE_NAME] = junk or "x"
    elif kind == "junk_header":
        del form["csrfmiddlewaretoken"]
        headers = {**headers, "X-CSRFToken": junk}
    elif kind == "other_client":
        other = HostileClient(enforce_csrf_checks=True)
        form["csrfmiddlewaretoken"] = CSRF_TOKEN.search(
            check(other.get("/check/question/urgent_symptoms/")).content.decode()
        )[1]
    elif kind == "wrong_origin":
        headers = {**headers, "Origin": junk or "null", "Referer": junk}
        extra["secure"] = True
    response = check(client.post(path, form, headers=headers, **extra))
    if kind == "right":
        assert response.status_code in {200, 302}, response.status_code
        assert_answers_kept(client, answers, response, path)
        return
    assert response.status_code == 403, (kind, response.status_code)
    assert "nothing was changed" in human_message(response)
    assert stored_answers(client) == answers


# ---------------------------------------------------------------------------------------------
# 7. Plain limits
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["multipart", "urlencoded"])
def test_a_body_over_the_limit_gets_413_with_a_message_and_keeps_the_answers(published_rules, encoding):
    client = client_in_state("before", "age_group", published_rules)
    before = stored_answers(client)
    body, content_type = encode_form({"age_group": "18_to_64", "padding": "x" * (70 * 1024)}, encoding)
    assert len(body) > 70 * 1024
    response = check(client.generic("POST", "/check/question/age_group/", body, content_type))
    assert response.status_code == 413
    assert "too large" in human_message(response)
    assert stored_answers(client) == before


@pytest.mark.parametrize("encoding", ["multipart", "urlencoded"])
def test_more_than_200_fields_get_400_with_a_message_and_keep_the_answers(published_rules, encoding):
    client = client_in_state("before", "age_group", published_rules)
    before = stored_answers(client)
    form = {f"field{i}": "x" for i in range(201)} | {"age_group": "18_to_64"}
    body, content_type = encode_form(form, encoding)
    response = check(client.generic("POST", "/check/question/age_group/", body, content_type))
    assert response.status_code == 400
    assert "Nothing was changed" in human_message(response)
    assert stored_answers(client) == before


# ---------------------------------------------------------------------------------------------
# 8. Requests Django cannot build, through the production WSGI entry point, with their exact inputs
# ---------------------------------------------------------------------------------------------


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


def wsgi_answer(
    method: str,
    path: str,
    *,
    query: str = "",
    content_type: str = "",
    body: bytes = b"",
    environ: dict[str, Any] | None = None,
) -> tuple[int, dict[str, str], str]:
    """One request through the production WSGI entry point (ruxguide.wsgi), as gunicorn makes it."""
    from ruxguide.wsgi import application

    request: dict[str, Any] = {}
    setup_testing_defaults(request)
    request.update(
        {
            "REQUEST_METHOD": method,
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "CONTENT_TYPE": content_type,
            "CONTENT_LENGTH": str(len(body)),
            "wsgi.input": io.BytesIO(body),
        }
    )
    request.update(environ or {})
    request = {key: value for key, value in request.items() if value is not None}
    started: list[tuple[str, list[tuple[str, str]]]] = []
    TALLY.requests += 1
    with keeping_the_test_connection():
        try:
            chunks = application(request, lambda status, headers, exc_info=None: started.append((status, headers)))
            content = b"".join(chunks)
            if ("Content-Encoding", "gzip") in started[0][1]:
                content = gzip.decompress(content)
            text = content.decode("utf-8", "replace")
            if hasattr(chunks, "close"):
                chunks.close()
        except Exception:
            # Raised out of Django altogether: gunicorn answers 500.
            TALLY.record_error(request, traceback.format_exc())
            raise
    status, headers = started[0]
    code = int(status.split()[0])
    if code >= 500:
        TALLY.record_error(request, text[:500])
    return code, dict(headers), text


def call_wsgi(method: str, path: str, *, query: str, content_type: str, body: bytes = b"") -> tuple[int, str]:
    code, _, text = wsgi_answer(method, path, query=query, content_type=content_type, body=body)
    return code, text


@settings(max_examples=10, **FAST)
@given(
    path=st.sampled_from(PAGES + QUESTION_PATHS),
    charset=st.sampled_from(CRASHING_CHARSETS[:-1]),
    query=st.text(min_size=1, max_size=10).map(as_wsgi),
)
@example(path="/check/question/urgent_symptoms/", charset="rot13", query="change=1")
def test_a_query_string_with_a_charset_that_is_not_a_text_encoding_gets_400(published_rules, path, charset, query):
    status, page = call_wsgi("GET", path, query=query, content_type=f"text/plain; charset={charset}")
    assert status == 400
    assert "We could not use that request" in page


@settings(max_examples=10, **FAST)
@given(
    path=st.sampled_from(PAGES + QUESTION_PATHS), count=st.integers(201, 400), charset=st.sampled_from(SAFE_CHARSETS)
)
@example(path="/check/question/urgent_symptoms/", count=201, charset="utf-8")
def test_many_query_fields_with_a_charset_get_400(published_rules, path, count, charset):
    status, page = call_wsgi(
        "POST",
        path,
        query="&".join(["change=1"] * count),
        content_type=f"application/x-www-form-urlencoded; charset={charset}",
        body=b"urgent_symptoms=no",
    )
    assert status == 400
    assert "answers you gave before are kept" in page


@settings(max_examples=10, **FAST)
@given(charset=st.sampled_from(CRASHING_CHARSETS), value=st.sampled_from(["no", "yes"]))
@example(charset="rot13", value="no")
def test_a_multipart_answer_with_a_charset_that_is_not_a_text_encoding_gets_400(published_rules, charset, value):
    client = HostileClient()
    body = b'--B\r\nContent-Disposition: form-data; name="urgent_symptoms"\r\n\r\n' + value.encode() + b"\r\n--B--\r\n"
    content_type = f"multipart/form-data; boundary=B; charset={charset}"
    assert check(client.generic("POST", "/check/question/urgent_symptoms/", body, content_type)).status_code == 400


def test_a_405_explains_itself_in_words(published_rules):
    client = HostileClient()
    for path in [*PAGES, "/check/question/urgent_symptoms/"]:
        for method in ["PUT", "DELETE", "PATCH", "OPTIONS"]:
            response = client.generic(method, path)
            assert response.status_code == 405
            assert human_message(response), f"{method} {path}: 405 with body {response.content!r}"


# ---------------------------------------------------------------------------------------------
# 9. Every charset, random multipart bodies, methods and header shapes, through the WSGI entry point
# ---------------------------------------------------------------------------------------------

# Every name Python's codec registry answers to here, and some it does not (mbcs is Windows only).
CODEC_NAMES = sorted(
    set(aliases) | set(aliases.values()) | {module.name for module in pkgutil.iter_modules(encodings.__path__)}
)
FORM = "application/x-www-form-urlencoded"
OWN_PAGES = {400, 403, 404, 405, 409, 411, 413}
# A CSRF cookie and the same secret as the header token: the CSRF check passes, after reading the form.
CSRF_SECRET = "hostile0" * 4
CSRF = {"HTTP_X_CSRFTOKEN": CSRF_SECRET}
PAGE_METHODS = {
    "/": {"GET", "HEAD"},
    "/check/": {"GET", "HEAD"},
    "/check/answers/": {"GET", "HEAD"},
    "/check/result/": {"GET", "HEAD"},
    "/check/result/print/": {"GET", "HEAD"},
    "/check/clear/": {"GET", "HEAD", "POST"},
    "/about-the-cream/": {"GET", "HEAD"},
    "/language/": {"POST"},
    **{path: {"GET", "HEAD", "POST"} for path in QUESTION_PATHS},
}


def known_codec(name: str) -> bool:
    try:
        codecs.lookup(name)
    except LookupError:
        return False
    return True


def visit_cookie(question_id: str | None) -> str:
    """A Cookie header with a visit up to `question_id` and a CSRF cookie, as a browser mid-check sends it."""
    store = SessionStore()
    store.update({SESSION_KEY: {"version": current_ruleset().version, "answers": answers_before(question_id)}})
    store.save()
    return (
        f"{django_settings.RUXGUIDE_PATIENT_SESSION_COOKIE_NAME}={store.session_key}; "
        f"{django_settings.CSRF_COOKIE_NAME}={CSRF_SECRET}"
    )


def check_answer(method: str, answer: tuple[int, dict[str, str], str], request: str) -> int:
    """A redirect, a page, or one of the app's own refusals in words; never a 500; always the security policy."""
    status, headers, page = answer
    if status >= 500:
        raise ServerError(f"{status} for {request}")
    assert "Content-Security-Policy" in headers, (status, request)
    if status >= 400:
        assert status in OWN_PAGES, (status, request)
        # A problem page, or a question shown again with why its answer was refused.
        assert method.upper() == "HEAD" or MESSAGE.search(page), (status, request, page[:300])
    return status


def charset_request(kind: str, charset: str) -> tuple[str, str, str, bytes]:
    """A request naming `charset` for its form (or its address), with a valid answer to the age question."""
    if kind == "urlencoded":
        return "POST", f"{FORM}; charset={charset}", "change=1", b"age_group=18_to_64"
    if kind == "multipart":
        body = encode_multipart(BOUNDARY, {"age_group": "18_to_64", "extra": "caf\u00e9"})
        return "POST", f"{MULTIPART_CONTENT}; charset={charset}", "change=1", body
    if kind == "text":
        return "POST", f"text/plain; charset={charset}", "change=1", b"age_group=18_to_64"
    return "GET", f"text/plain; charset={charset}", "change=1&a=%FF%FE&b=caf%C3%A9&c=\u00e9", b""


@pytest.mark.parametrize("kind", ["urlencoded", "multipart", "text", "query"])
def test_every_charset_python_knows_gets_a_page_of_ours_not_a_500(published_rules, kind):
    path = "/check/question/age_group/"
    cookie = visit_cookie("age_group")
    for charset in CODEC_NAMES:
        method, content_type, query, body = charset_request(kind, charset)
        answer = wsgi_answer(
            method, path, query=query, content_type=content_type, body=body, environ={"HTTP_COOKIE": cookie, **CSRF}
        )
        status = check_answer(method, answer, f"{kind} charset={charset!r}")
        if kind == "urlencoded":
            # Django reads a form in UTF-8 only: any other charset it knows is refused, an unknown one ignored.
            expected = 400 if known_codec(charset) and charset.lower() != "utf-8" else 302
            assert status == expected, (charset, status)


charset_names = st.one_of(
    st.sampled_from(CODEC_NAMES),
    st.sampled_from(CODEC_NAMES).map(str.upper),
    st.text(max_size=40),
    st.text(alphabet=string.ascii_letters + string.digits + "-_.: ", max_size=20),
    st.binary(max_size=20).map(lambda junk: junk.decode("latin-1")),
)
charset_params = st.one_of(
    charset_names.map(lambda charset: f"charset={charset}"),
    charset_names.map(lambda charset: f'charset="{charset}"'),
    charset_names.map(lambda charset: f"charset*={charset}''utf-8"),
    charset_names.map(lambda charset: f"charset*=utf-8''{quote(charset)}"),
    st.tuples(charset_names, charset_names).map(lambda pair: f"charset={pair[0]}; charset={pair[1]}"),
)


@settings(max_examples=150, **FAST)
@given(
    kind=st.sampled_from([FORM, MULTIPART_CONTENT, "text/plain", "application/json", ""]),
    param=charset_params,
    method=st.sampled_from(["POST", "POST", "GET", "PUT"]),
    path=st.sampled_from(["/check/question/age_group/", "/", "/check/clear/", "/language/"]),
)
@example(kind=FORM, param="charset*=bogus''utf-8", method="POST", path="/check/question/age_group/")
@example(kind=FORM, param="charset=latin-1", method="POST", path="/check/question/age_group/")
@example(kind="text/plain", param="charset=utf-8\x00", method="GET", path="/")
def test_a_random_charset_gets_a_page_of_ours_not_a_500(published_rules, kind, param, method, path):
    content_type = as_wsgi(f"{kind}; {param}")
    body = encode_multipart(BOUNDARY, {"age_group": "18_to_64"}) if kind == MULTIPART_CONTENT else b"age_group=no"
    answer = wsgi_answer(
        method,
        path,
        query="change=1",
        content_type=content_type,
        body=body,
        environ={"HTTP_COOKIE": visit_cookie("age_group"), **CSRF},
    )
    check_answer(method, answer, f"{method} {path} Content-Type={content_type!r}")


boundaries = st.one_of(
    st.just("B"),
    st.text(alphabet=string.ascii_letters + string.digits + "'()+_,-./:=? ", min_size=1, max_size=70),
    st.text(max_size=80).map(as_wsgi),
    st.just(""),
    st.integers(71, 3_000).map(lambda size: "b" * size),
)
part_headers = st.lists(
    st.one_of(
        st.sampled_from(
            [
                b'Content-Disposition: form-data; name="age_group"',
                b'Content-Disposition: form-data; name="age_group"; filename="answer.txt"',
                b"Content-Disposition: form-data; name*=utf-8''age%5Fgroup",
                b"Content-Disposition: form-data; name=\"x\"; filename*=bogus''x.txt",
                b"Content-Disposition: form-data; name=\"x\"; filename*=utf-8''%FF%FE.txt",
                b'Content-Disposition: form-data; name="x"; filename="../../etc/passwd"',
                b"Content-Disposition: form-data",
                b"Content-Disposition: attachment; name=age_group",
                b"Content-Disposition:",
                b"Content-Type: text/plain; charset=rot13",
                b"Content-Type: text/plain; charset=utf-16",
                b"Content-Type: application/octet-stream",
                b"Content-Transfer-Encoding: base64",
                b"Content-Transfer-Encoding: quoted-printable",
                b"Content-Transfer-Encoding: x-junk",
                b"no colon at all",
                b": no name",
                b"X-\xff\xfe: \xc3\x28",
            ]
        ),
        st.integers(100, 12_000).map(lambda size: b'Content-Disposition: form-data; name="' + b"n" * size + b'"'),
        st.integers(100, 12_000).map(lambda size: b"X-Long: " + b"v" * size),
        st.binary(max_size=80).filter(lambda junk: b"\r\n" not in junk),
    ),
    max_size=5,
)
part_values = st.one_of(
    st.sampled_from([b"no", b"18_to_64", b"bm8=", b"=FF=FE", b"!!!not base64!!!", b""]),
    st.binary(max_size=300),
    st.integers(1_000, 60_000).map(lambda size: b"\xff" * size),
)


@st.composite
def multipart_requests(draw: st.DrawFn) -> tuple[str, bytes]:
    """A multipart body, often broken, and the Content-Type that claims to describe it."""
    boundary = draw(boundaries)
    declared = draw(
        st.one_of(
            st.just(f"boundary={boundary}"),
            st.just(f'boundary="{boundary}"'),
            st.just(""),
            boundaries.map(lambda other: f"boundary={boundary}; boundary={other}"),
            boundaries.map(lambda other: f"boundary={other}"),
        )
    )
    extra = draw(st.sampled_from(["", "; charset=utf-8", "; charset=latin-1", "; charset=utf-16", "; charset=rot13"]))
    content_type = "multipart/form-data" + (f"; {declared}" if declared else "") + extra
    delimiter = b"--" + boundary.encode("latin-1")
    body = b""
    for headers, value in draw(st.lists(st.tuples(part_headers, part_values), max_size=5)):
        body += delimiter + b"\r\n" + b"".join(header + b"\r\n" for header in headers) + b"\r\n" + value + b"\r\n"
    body += draw(st.sampled_from([delimiter + b"--\r\n", delimiter + b"--", delimiter, b"", delimiter + b"\r\n"]))
    if draw(st.booleans()):
        body = body[: draw(st.integers(0, len(body)))]  # the connection dropped
    return content_type, body


@settings(max_examples=200, **FAST)
@given(request=multipart_requests(), question_id=st.sampled_from(["age_group", "other_medicines", "urgent_symptoms"]))
@example(
    request=("multipart/form-data; boundary=B", b'--B\r\nContent-Disposition: form-data; name="age_group"\r\n\r\nno'),
    question_id="age_group",
)
@example(
    request=(
        "multipart/form-data; boundary=B",
        b"--B\r\nContent-Disposition: form-data; name=\"x\"; filename*=bogus''x.txt\r\n\r\nno\r\n--B--\r\n",
    ),
    question_id="age_group",
)
def test_a_random_multipart_body_gets_a_page_of_ours_not_a_500(published_rules, request, question_id):
    content_type, body = request
    path = f"/check/question/{question_id}/"
    answer = wsgi_answer(
        "POST",
        path,
        content_type=as_wsgi(content_type) if not content_type.isascii() else content_type,
        body=body,
        environ={"HTTP_COOKIE": visit_cookie(question_id), **CSRF},
    )
    check_answer("POST", answer, f"POST {path} Content-Type={content_type!r} body={body[:200]!r}")


method_tokens = st.one_of(
    st.sampled_from([*METHODS, "CONNECT", "LINK", "MKCOL", "QUERY", "post", "Put", "delete"]),
    st.text(alphabet=string.ascii_letters + string.digits + "!#$%&'*+-.^_`|~", min_size=1, max_size=12),
)
patient_paths = st.one_of(
    st.sampled_from(sorted(PAGE_METHODS)),
    st.sampled_from(sorted(PAGE_METHODS)).map(lambda path: "/zh-hans" + path),
    st.sampled_from(sorted(PAGE_METHODS)).map(lambda path: "/preview" + path),
)


@settings(max_examples=250, **FAST)
@given(method=method_tokens, path=patient_paths, with_token=st.booleans(), headers=htmx_headers)
@example(method="PUT", path="/check/question/age_group/", with_token=False, headers={})
@example(method="FOO", path="/", with_token=True, headers={})
@example(method="OPTIONS", path="/language/", with_token=False, headers={})
@example(method="PATCH", path="/preview/check/", with_token=False, headers={})
def test_a_random_method_on_a_patient_page_gets_405_with_what_it_takes(
    published_rules, method, path, with_token, headers
):
    client = HostileClient(enforce_csrf_checks=True)
    sign_session(client, {SESSION_KEY: {"version": published_rules.version, "answers": answers_before("age_group")}})
    if with_token:
        client.cookies[django_settings.CSRF_COOKIE_NAME] = CSRF_SECRET
        headers = {**headers, "X-CSRFToken": CSRF_SECRET}
    response = check(client.generic(method, path, b"age_group=18_to_64", FORM, headers=headers))
    allowed = PAGE_METHODS[path.removeprefix("/zh-hans").removeprefix("/preview")]
    if method.upper() in allowed:
        assert response.status_code != 405, (method, path)
        return
    assert response.status_code == 405, (method, path, response.status_code)
    assert set(response["Allow"].split(", ")) == allowed
    assert "data-problem" in response.content.decode() or method.upper() == "HEAD"


header_names = st.one_of(
    st.sampled_from(
        [
            "HOST",
            "COOKIE",
            "ACCEPT_LANGUAGE",
            "ACCEPT_ENCODING",
            "TRANSFER_ENCODING",
            "X_FORWARDED_FOR",
            "X_FORWARDED_PROTO",
            "X_FORWARDED_HOST",
            "ORIGIN",
            "REFERER",
            "X_CSRFTOKEN",
            "HX_REQUEST",
            "HX_CURRENT_URL",
            "HX_TARGET",
            "HX_HISTORY_RESTORE_REQUEST",
            "IF_NONE_MATCH",
            "IF_MODIFIED_SINCE",
            "RANGE",
            "AUTHORIZATION",
            "USER_AGENT",
            "CONTENT_LENGTH",
            "CONTENT_TYPE",
        ]
    ),
    st.text(alphabet=string.ascii_uppercase + string.digits + "_", min_size=1, max_size=20),
)
header_values = st.one_of(
    latin1_text,
    st.text(max_size=60).map(as_wsgi),
    st.integers(1_000, 20_000).map(lambda size: "a" * size),
    st.sampled_from(["", " ", ",", ";", "=", "*", "chunked", "gzip, chunked", "null", "https", "http, https", "0"]),
)
# Django cannot split a Content-Type longer than 10,000 characters.
long_content_types = st.integers(9_000, 12_000).map(lambda size: "text/plain; a=" + "a" * size)
content_lengths = st.one_of(
    st.none(),
    st.sampled_from(["", "-1", "abc", "1e3", " 12 ", "9" * 30, "0", "+5", "1_0", "12, 12", "\u00b2"]),
    st.integers(0, 200_000).map(str),
)


@settings(max_examples=200, **FAST)
@given(
    method=st.sampled_from(["GET", "HEAD", "POST", "PUT", "OPTIONS"]),
    path=st.one_of(patient_paths, any_path),
    headers=st.dictionaries(header_names.map(lambda name: f"HTTP_{name}"), header_values, max_size=6),
    content_type=st.one_of(content_types, latin1_text, long_content_types),
    content_length=content_lengths,
    body=st.one_of(st.just(b"age_group=18_to_64"), st.binary(max_size=500)),
    with_visit=st.booleans(),
)
@example(
    method="POST",
    path="/check/question/age_group/",
    headers={"HTTP_HOST": "evil.example", "HTTP_ORIGIN": "https://evil.example"},
    content_type=FORM,
    content_length=None,
    body=b"age_group=18_to_64",
    with_visit=True,
)
@example(
    method="POST",
    path="/check/question/age_group/",
    headers={"HTTP_TRANSFER_ENCODING": "chunked"},
    content_type=FORM,
    content_length="",
    body=b"age_group=18_to_64",
    with_visit=True,
)
def test_random_header_shapes_get_a_page_of_ours_not_a_500(
    published_rules, method, path, headers, content_type, content_length, body, with_visit
):
    environ: dict[str, Any] = {**headers, "CONTENT_TYPE": content_type}
    # The WSGI server hands Content-Type and Content-Length over without the HTTP_ prefix.
    environ.pop("HTTP_CONTENT_TYPE", None)
    environ["CONTENT_LENGTH"] = environ.pop("HTTP_CONTENT_LENGTH", content_length)
    if with_visit and "HTTP_COOKIE" not in environ:
        environ.update({"HTTP_COOKIE": visit_cookie("age_group"), **CSRF})
    answer = wsgi_answer(method, path, body=body, environ=environ)
    check_answer(method, answer, f"{method} {path} {environ!r}"[:600])
