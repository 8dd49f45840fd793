"""The short-way Vary header and htmx details: the same results as Django's and django-htmx's own."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory
from django.utils.cache import patch_vary_headers
from django_htmx.middleware import HtmxDetails as DjangoHtmxDetails
from hypothesis import given
from hypothesis import strategies as st

from ruxguide.headers import add_vary
from ruxguide.middleware import HtmxDetails, HtmxMiddleware

HEADER_NAMES = st.sampled_from(["Cookie", "cookie", "Accept-Encoding", "HX-Request", "Accept-Language", "*", "Origin"])


@given(existing=st.lists(HEADER_NAMES, max_size=4), added=st.lists(HEADER_NAMES, min_size=1, max_size=4))
def test_add_vary_gives_the_header_patch_vary_headers_gives(existing: list[str], added: list[str]) -> None:
    ours, django = HttpResponse(), HttpResponse()
    if existing:
        ours.headers["Vary"] = django.headers["Vary"] = ", ".join(existing)
    added = [name for name in added if name != "*"] or ["Cookie"]  # no layer of ours adds a wildcard

    add_vary(ours, added)
    patch_vary_headers(django, added)

    def names(response: HttpResponse) -> list[str]:
        return [name.strip().lower() for name in response.headers.get("Vary", "").split(",") if name.strip()]

    assert sorted(set(names(ours))) == sorted(set(names(django)))
    assert names(ours)[: len(existing)] == [name.lower() for name in existing] or "*" in names(django)


def htmx_details(cls: type[DjangoHtmxDetails], **headers: str) -> DjangoHtmxDetails:
    request: HttpRequest = RequestFactory().get("/check/", headers=headers)
    return cls(request)


def test_htmx_details_read_from_the_environ_match_django_htmxs() -> None:
    cases = [
        {},
        {"HX-Request": "true"},
        {"HX-Request": "false"},
        {"HX-Request": "true", "HX-Boosted": "true", "HX-Target": "main", "HX-Trigger-Name": "answer"},
        {"HX-Request": "true", "HX-Current-URL": "http://testserver/check/?change=1"},
        {"HX-Prompt": "%E4%BD%A0%E5%A5%BD", "HX-Prompt-URI-AutoEncoded": "true"},
        {"HX-Prompt": "%E4%BD%A0%E5%A5%BD"},
        {"HX-History-Restore-Request": "true", "HX-Request": "true"},
    ]
    fields = ["boosted", "current_url", "current_url_abs_path", "history_restore_request", "prompt", "target"]
    fields += ["trigger", "trigger_name", "triggering_event"]
    for headers in cases:
        ours, theirs = htmx_details(HtmxDetails, **headers), htmx_details(DjangoHtmxDetails, **headers)
        assert bool(ours) == bool(theirs), headers
        for field in fields:
            assert getattr(ours, field) == getattr(theirs, field), (headers, field)


def test_the_middleware_puts_the_details_on_every_request() -> None:
    seen: list[bool] = []

    def view(request: HttpRequest) -> HttpResponse:
        seen.append(bool(request.htmx))  # type: ignore[attr-defined]  # the middleware sets it
        return HttpResponse()

    middleware = HtmxMiddleware(view)
    middleware(RequestFactory().get("/", headers={"HX-Request": "true"}))
    middleware(RequestFactory().get("/"))
    assert seen == [True, False]
