"""How every patient page is drawn: the whole page or its htmx partial, from a shared cache when it can be.

Every step is a plain form post with POST/redirect/GET; with htmx the same views answer with the
page's `main` partial, and the URL is pushed so the back button keeps working.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable, Mapping
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django_htmx.http import push_url as push_url_header
from django_htmx.middleware import HtmxDetails

from screening.engine import URGENT_SIGNS, Question, RuleSet, Section, Walk
from screening.visit import PREVIEW_SESSION_KEY, SESSION_KEY, Visit

PREVIEW = "preview"
CHANGE_PARAM = "change"
CHANGED_PARAM = "changed"


class PatientRequest(HttpRequest):
    """A request to a patient page, as the `patient_page` decorator hands it to a view."""

    htmx: HtmxDetails
    ruleset: RuleSet
    visit: Visit
    where: Walk


def render_page(
    request: HttpRequest,
    template: str,
    title: str,
    context: Mapping[str, Any],
    *,
    status: int = 200,
    push_url: str | None = None,
    shared: bool = False,
) -> HttpResponse:
    """The whole page, or only its `main` partial for an htmx request (not a history restore).

    A `shared` page is kept once rendered and reused for every patient who would see the same: its
    key is everything the template reads (the context, the template, the rule set version and the
    language), and only the CSRF token, which is filled in per response, differs.
    """
    htmx: HtmxDetails = request.htmx  # type: ignore[attr-defined]  # django-htmx's middleware sets it
    partial = bool(htmx) and not htmx.history_restore_request
    name = f"{template}#main" if partial else template
    ruleset: RuleSet | None = getattr(request, "ruleset", None)
    full_context = {
        **context,
        "page_title": title,
        "page_url": push_url or request.get_full_path(),
        "urgent": ruleset.section(URGENT_SIGNS) if ruleset else None,
    }
    key = _page_key(request, name, ruleset, full_context) if shared and ruleset is not None else None
    if key is None:
        response = render(request, name, full_context, status=status)
    else:
        html = _rendered_pages.get(key)
        if html is None:
            html = render_to_string(name, {**full_context, "csrf_token": CSRF_PLACEHOLDER}, request=request)
            _rendered_pages.put(key, html)
        response = HttpResponse(html.replace(CSRF_PLACEHOLDER, get_token(request)), status=status)
    if partial and (push_url or request.method == "GET"):
        push_url_header(response, push_url or request.get_full_path())
    return response


def _page_key(
    request: HttpRequest, name: str, ruleset: RuleSet, context: Mapping[str, Any]
) -> tuple[Hashable, ...] | None:
    """What a rendered page depends on, or None when it must be drawn for this request alone."""
    if in_preview(request) or len(messages.get_messages(request)):
        return None
    try:
        values = tuple((name, _keyed(value)) for name, value in sorted(context.items(), key=lambda item: item[0]))
        hash(values)
    except TypeError:  # a value the page cannot be keyed on: draw it afresh
        return None
    return (name, ruleset.version, ruleset.published_at, translation.get_language(), values)


def _keyed(value: object) -> Hashable:
    """A question or section is named by its identifier: the version and language fix its content."""
    if isinstance(value, Question | Section):
        return (type(value).__name__, value.id)
    return value  # an unhashable value is caught by the caller's hash()


class _RenderedPages:
    """A small least-recently-used store of rendered pages, per process."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.pages: OrderedDict[tuple[Hashable, ...], str] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: tuple[Hashable, ...]) -> str | None:
        with self.lock:
            html = self.pages.get(key)
            if html is not None:
                self.pages.move_to_end(key)
            return html

    def put(self, key: tuple[Hashable, ...], html: str) -> None:
        with self.lock:
            self.pages[key] = html
            while len(self.pages) > self.size:
                self.pages.popitem(last=False)


# Rendered once with this in place of the CSRF token, which is then filled in per response.
CSRF_PLACEHOLDER = "ruxguide-csrf-token-placeholder"
_rendered_pages = _RenderedPages(size=2048)


def in_preview(request: HttpRequest) -> bool:
    """Staff walking the draft: /preview/ serves these same views under the "preview" namespace."""
    return request.resolver_match is not None and request.resolver_match.namespace == PREVIEW


def visit_key(request: HttpRequest) -> str:
    return PREVIEW_SESSION_KEY if in_preview(request) else SESSION_KEY


def url(request: HttpRequest, name: str, args: list[str] | None = None) -> str:
    """A patient page's address, inside the preview when the request is in it."""
    namespace = request.resolver_match.namespace if request.resolver_match else None
    return reverse(f"screening:{name}", args=args, current_app=namespace)


def question_url(request: HttpRequest, question: Question, *, change: bool = False) -> str:
    address = url(request, "question", args=[question.id])
    return f"{address}?{CHANGE_PARAM}=1" if change else address


def check_answers_url(request: HttpRequest, *, changed: Question | None = None) -> str:
    """Check your answers; after a change, with focus on the changed row (its fragment, without JavaScript)."""
    address = url(request, "check_answers")
    return f"{address}?{CHANGED_PARAM}={changed.id}#answer-{changed.id}" if changed else address


def continue_url(request: HttpRequest, where: Walk, *, change: bool = False) -> str:
    """Where the check goes on: the next question, check your answers, or the result of an ended check."""
    if where.ended_by is not None:
        return url(request, "result")
    if where.upcoming is None:
        return url(request, "check_answers")
    return question_url(request, where.upcoming, change=change)
