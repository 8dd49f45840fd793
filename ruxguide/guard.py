"""Refuse, with a 400, requests that Django itself cannot read.

Django reads a request's charset and query string while building the request object, before any
middleware runs; a charset that names a codec but not a text encoding (rot13, base64, …), or a
query string with more fields than allowed alongside a charset, makes it fail there with a 500.
The WSGI entry point checks for both first; a middleware does the same for the parsers a view
reaches later (a multipart body with such a charset).
"""

from __future__ import annotations

import codecs
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation
from django.utils.http import parse_header_parameters

# Django cannot read the request, so cannot tell its language either: the page says it in both.
BAD_REQUEST_PAGE = (
    "<!doctype html><html lang=en><meta charset=utf-8><title>We could not read that request</title>"
    "<h1>We could not read that request</h1><p>Something in it was not right. Nothing was changed, and any "
    'answers you gave before are kept. <a href="/">Go to the start</a>.</p>'
    '<div lang="zh-Hans"><h2>我们无法读取这个请求</h2><p>请求中有些内容不对。'
    "我们没有做任何更改，您之前的回答都还保留着。"
    '<a href="/zh-hans/">回到开始页</a>。</p></div></html>'
).encode()


def require_secret_key() -> None:
    """An app server must not start without a secret key: say so at start-up, in plain words."""
    if not settings.HAS_SECRET_KEY:
        raise ImproperlyConfigured(settings.MISSING_SECRET_KEY)


def request_problem(environ: dict[str, Any]) -> str:
    """Why Django could not read this request, or an empty string when it can."""
    _, params = parse_header_parameters(environ.get("CONTENT_TYPE", ""))
    charset = params.get("charset")
    if charset is not None and not readable_charset(charset):
        return f"The charset {charset!r} is not a text encoding."
    query = environ.get("QUERY_STRING", "")
    if query and query.count("&") + 1 > settings.DATA_UPLOAD_MAX_NUMBER_FIELDS:
        return "The address has too many fields."
    return ""


def readable_charset(charset: str) -> bool:
    """False for a codec Python knows that cannot decode text; unknown names Django ignores itself."""
    try:
        codec = codecs.lookup(charset)
    except (LookupError, ValueError, TypeError):
        return True
    if not getattr(codec, "_is_text_encoding", True):
        return False
    try:
        b"a".decode(codec.name, "replace")
    except (UnicodeError, LookupError):
        return False
    return True


def guard_wsgi(application: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
    """Wrap the WSGI application so that unreadable requests never reach Django."""

    def guarded(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if request_problem(environ):
            start_response(
                "400 Bad Request",
                [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(BAD_REQUEST_PAGE)))],
            )
            return [BAD_REQUEST_PAGE]
        return application(environ, start_response)

    return guarded


class PatientErrorsMiddleware:
    """Unreadable bodies get a 400 page; a 405 (a method a page does not take) gets words too."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request_problem(request.META):
            # Before LocaleMiddleware: the page's address alone says which language it is in.
            with translation.override(translation.get_language_from_path(request.path_info) or settings.LANGUAGE_CODE):
                return render(request, "400.html", status=400)
        response = self.get_response(request)
        if response.status_code == 405 and not response.content and request.method != "HEAD":
            allowed = response.get("Allow", "")
            response = render(request, "405.html", status=405)
            response["Allow"] = allowed
        return response
