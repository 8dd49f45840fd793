"""Project-wide middleware: security headers Django does not set, and one log line per request."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from urllib.parse import unquote

from django.http import HttpRequest, HttpResponse
from django_htmx import middleware as django_htmx

PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "browsing-topics",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "payment",
        "usb",
    )
)

request_log = logging.getLogger("ruxguide.requests")


class SecurityHeadersMiddleware:
    """Permissions-Policy and Cross-Origin-Resource-Policy on every response."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        response.headers.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        return response


class HtmxDetails(django_htmx.HtmxDetails):
    """django-htmx's request.htmx, reading its headers straight from the WSGI environ.

    django-htmx reads request.headers, and the first read builds that mapping from every header of
    the request: on a patient page, whose view asks whether htmx sent it, that was a tenth of the time.
    """

    def _get_header_value(self, name: str) -> str | None:
        meta = self.request.META
        key = "HTTP_" + name.upper().replace("-", "_")
        value = meta.get(key) or None
        if value and meta.get(key + "_URI_AUTOENCODED") == "true":
            value = unquote(value)
        return value


class HtmxMiddleware(django_htmx.HtmxMiddleware):
    """django-htmx's middleware, with the HtmxDetails above. Synchronous only: Django adapts it under ASGI."""

    async_capable = False

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.htmx = HtmxDetails(request)  # type: ignore[attr-defined]  # as django-htmx sets it
        response: HttpResponse = self.get_response(request)  # type: ignore[assignment]  # sync only
        return response


class HeadWithoutBodyMiddleware:
    """A HEAD answer keeps its headers (Content-Length too) and drops its body, as HTTP says.

    Django's handler sends the body GET would get; gunicorn drops it, and logs a warning each time.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.method == "HEAD" and not response.streaming:
            response.content = b""
        return response


class RequestLogMiddleware:
    """One structured line per request: method, path, status, time. Never the query, body or cookies.

    A patient's answers travel in form bodies and their session cookie, so neither is ever logged;
    the query string is left out too, since a link could carry anything.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        request_log.info(
            "request",
            extra={
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                "htmx": bool(getattr(request, "htmx", False)),
            },
        )
        return response
