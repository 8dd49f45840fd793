"""How every patient page is drawn: the whole page or its htmx partial, from what is kept when it can be.

Every step is a plain form post with POST/redirect/GET; with htmx the same views answer with the
page's `main` partial, and the URL is pushed so the back button keeps working.
"""

from __future__ import annotations

import functools
import re
import secrets
import time
from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils import translation
from django.utils.cache import add_never_cache_headers
from django.utils.http import http_date
from django.utils.safestring import SafeString
from django_htmx.http import push_url as push_url_header
from django_htmx.middleware import HtmxDetails

from screening import page_cache
from screening.engine import URGENT_SIGNS, Question, Rule, RuleSet, Section, Walk
from screening.page_cache import CSRF_PLACEHOLDER, Drawn
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


# What add_never_cache_headers works out for a response that has neither header, on every response.
NEVER_CACHE = "max-age=0, no-cache, no-store, must-revalidate, private"


def never_cache[**P](view: Callable[P, HttpResponse]) -> Callable[P, HttpResponse]:
    """Django's never_cache, with the headers written out rather than parsed and rebuilt per response.

    The same headers: Cache-Control as NEVER_CACHE, Expires now. It took a tenth of a kept page's time.
    """

    @functools.wraps(view)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> HttpResponse:
        response = view(*args, **kwargs)
        if "Cache-Control" in response.headers or "Expires" in response.headers:
            add_never_cache_headers(response)  # merged with what the view set, as Django does
        else:
            response.headers["Expires"] = _http_date(int(time.time()))
            response.headers["Cache-Control"] = NEVER_CACHE
        return response

    return wrapper


_http_date = functools.lru_cache(maxsize=4)(http_date)


def render_page(
    request: HttpRequest,
    template: str,
    title: str,
    context: Mapping[str, Any] | Callable[[], Mapping[str, Any]],
    *,
    status: int = 200,
    push_url: str | None = None,
    shared: bool = False,
    depends_on: Hashable = None,
    shows_messages: bool = True,
) -> HttpResponse:
    """The whole page, or only its `main` partial for an htmx request (not a history restore).

    A `shared` page is kept once drawn and reused for every patient who would see the same. Its key
    is the rule set version, the language, the address, the htmx flag and either `depends_on`, which
    must name everything else the page reads (the context is then built only to draw it), or else
    the context itself. Only the CSRF token, filled in per response, differs. A page that
    `shows_messages` (its template includes _messages.html) is drawn afresh while there are any.

    A part already drawn (a `Drawn`) in a context given as a mapping is a slot: the page is drawn,
    and kept, around it, and the part is put in per response as it is: a kept piece (see `piece`),
    compressed once, or a patient's own part (their answers) drawn for this response. A page that is
    not shared draws only its `main` part per request, inside the layout kept for its title and address.
    """
    htmx: HtmxDetails = request.htmx  # type: ignore[attr-defined]  # django-htmx's middleware sets it
    partial = bool(htmx) and not htmx.history_restore_request
    name = f"{template}#main" if partial else template
    page_url = push_url or request.get_full_path()
    scope = cache_scope(request)
    slots = {} if callable(context) else {key: value for key, value in context.items() if isinstance(value, Drawn)}

    def full_context(values: Mapping[str, Any]) -> dict[str, Any]:
        return {
            **values,
            "page_title": title,
            "page_url": page_url,
            "urgent": _urgent_signs(request),
            "clear_url": url(request, "clear"),
            "csrf_token": CSRF_PLACEHOLDER,
        }

    def draw(template_name: str, *, kept: bool) -> Layout:
        values = {**(context() if callable(context) else context), **{slot: _slot(slot) for slot in slots}}
        return _layout(render_to_string(template_name, full_context(values), request=request), kept=kept)

    layout: Layout
    if scope is None:
        # The preview of the draft, or a page without a rule set: drawn afresh, all of it.
        layout = draw(name, kept=False)
    elif shared and (key := _page_key(request, scope, name, title, page_url, context, depends_on, shows_messages)):
        layout = page_cache.pages.get(key, lambda: draw(name, kept=True))
    else:
        layout = draw(f"{template}#main", kept=False)
        if not partial:
            before, after = page_cache.frames.get((scope, title, page_url), lambda: _frame(request, full_context({})))
            layout = (before, *layout, after)
    pieces = [slots[part] if isinstance(part, str) else part for part in layout]
    response = page_cache.respond(request, pieces, status=status)
    if partial and (push_url or request.method == "GET"):
        push_url_header(response, push_url or request.get_full_path())
    return response


# A page as kept: drawn text, and the names of the slots between.
Layout = tuple[Drawn | str, ...]

# Drawn where a slot goes (see render_page). Made afresh by each process, as the CSRF placeholder.
SLOT_PLACEHOLDER = f"ruxguide-slot-{secrets.token_hex(16)}-"
_SLOTS = re.compile(rf"({re.escape(SLOT_PLACEHOLDER)}\w+\.)")


def _slot(name: str) -> SafeString:
    return SafeString(f"{SLOT_PLACEHOLDER}{name}.")


def _layout(html: str, *, kept: bool) -> Layout:
    """The drawn text, split where slots go: the text between as drawn pieces, each slot by its name."""
    parts = _SLOTS.split(html)  # text, placeholder, text, placeholder, …, text
    return tuple(
        Drawn(part, kept=kept) if number % 2 == 0 else part[len(SLOT_PLACEHOLDER) : -1]
        for number, part in enumerate(parts)
        if part
    )


def piece(request: HttpRequest, template: str, key: Hashable, context: Callable[[], Mapping[str, Any]]) -> Drawn:
    """A large part of a page, the same for everyone `key` names: kept drawn and compressed.

    Put it in a page's context; render_page sends it as kept. `key` names everything `context` gives
    the partial besides the version and the language; the partial is drawn without the request, so it
    cannot read anything of the patient's.
    """
    scope = cache_scope(request)
    if scope is None:
        return Drawn(render_to_string(template, context()))
    return page_cache.pieces.get(
        (scope, template, key), lambda: Drawn(render_to_string(template, context()), kept=True)
    )


def _urgent_signs(request: HttpRequest) -> Section | None:
    """The warning signs beside every page, from the rule set the request reads (if any)."""
    ruleset: RuleSet | None = getattr(request, "ruleset", None)
    return ruleset.section(URGENT_SIGNS) if ruleset else None


# Drawn where a page's main part goes, so the layout can be kept in two halves around it.
MAIN_PLACEHOLDER = f"ruxguide-main-{secrets.token_hex(16)}"


def _frame(request: HttpRequest, context: Mapping[str, Any]) -> tuple[Drawn, Drawn]:
    """The layout (base.html) around a page's main part, which every page template fills the same way."""
    html = render_to_string("screening/_frame.html", {**context, "main_placeholder": MAIN_PLACEHOLDER}, request=request)
    before, after = html.split(MAIN_PLACEHOLDER)
    return Drawn(before, kept=True), Drawn(after, kept=True)


def cache_scope(request: HttpRequest) -> tuple[Hashable, ...] | None:
    """What every kept page and part depends on: the live version and the language; None when not kept.

    The preview's draft changes without a new version, so nothing drawn from it is kept.
    """
    ruleset: RuleSet | None = getattr(request, "ruleset", None)
    language = translation.get_language()
    # A page asks for each part it keeps: work the scope out once per rule set and language.
    known: tuple[RuleSet | None, str | None, tuple[Hashable, ...] | None] | None = getattr(request, _SCOPE, None)
    if known is not None and known[0] is ruleset and known[1] == language:
        return known[2]
    scope: tuple[Hashable, ...] | None = None
    if ruleset is not None and ruleset.published_at and not in_preview(request):
        live = (ruleset.version, ruleset.published_at)
        page_cache.follow(live)
        # The script prefix and URL configuration fix the addresses a page links to.
        scope = (*live, ruleset.language, language, get_script_prefix(), get_urlconf())
    setattr(request, _SCOPE, (ruleset, language, scope))
    return scope


_SCOPE = "_ruxguide_cache_scope"


def fragment(request: HttpRequest, template: str, key: Hashable, context: Callable[[], Mapping[str, Any]]) -> str:
    """A part of a page (a template partial) drawn once per version and language and reused.

    `key` names everything `context` gives the partial besides the version and the language; the
    partial is drawn without the request, so it cannot read anything of the patient's.
    """
    return fragments(request, template, [(key, context)])[0]


def fragments(
    request: HttpRequest, template: str, parts: Iterable[tuple[Hashable, Callable[[], Mapping[str, Any]]]]
) -> list[str]:
    """Several parts from one partial (an answer's row for each answer), as `fragment` draws each."""
    scope = cache_scope(request)
    if scope is None:
        return [render_to_string(template, context()) for _, context in parts]

    def drawn(context: Callable[[], Mapping[str, Any]]) -> Callable[[], str]:
        return lambda: render_to_string(template, context())

    return [page_cache.fragments.get((scope, template, key), drawn(context)) for key, context in parts]


def joined_fragments(
    request: HttpRequest, template: str, parts: Iterable[tuple[Hashable, Callable[[], Mapping[str, Any]]]]
) -> Drawn:
    """Parts from one partial, as `fragments` draws each, joined into one piece for a page's slot.

    The piece is kept per combination of parts, as the result keeps its cautions per combination of
    fired rules: a patient who comes back to it (after changing an answer, or to print) is sent it
    as kept, already compressed, and compressed as one, so it is no larger than drawn afresh.
    """
    parts = list(parts)
    scope = cache_scope(request)
    if scope is None:
        return Drawn("".join(fragments(request, template, parts)))
    key = (scope, template, tuple(key for key, _ in parts))
    return page_cache.pieces.get(key, lambda: Drawn("".join(fragments(request, template, parts)), kept=True))


def _page_key(
    request: HttpRequest,
    scope: tuple[Hashable, ...],
    name: str,
    title: str,
    page_url: str,
    context: Mapping[str, Any] | Callable[[], Mapping[str, Any]],
    depends_on: Hashable,
    shows_messages: bool,
) -> tuple[Hashable, ...] | None:
    """What a shared page depends on, or None when it must be drawn for this request alone."""
    # Only asked of a page that shows them: the messages are kept in the session, which a page
    # that never reads it should not open.
    if shows_messages and len(messages.get_messages(request)):
        return None
    page = (scope, name, bool(request.htmx), title, page_url)  # type: ignore[attr-defined]  # django-htmx
    if depends_on is not None:
        return (*page, depends_on)
    if callable(context):
        return None
    try:
        # In the order the view built the context: one view always builds it in the same order.
        # A slot's content is put in per response: only its name is part of the page.
        values = tuple((key, Drawn if isinstance(value, Drawn) else _keyed(value)) for key, value in context.items())
        hash(values)
    except TypeError:  # a value the page cannot be keyed on: draw it afresh
        return None
    return (*page, values)


_NAMED = (Question, Rule, Section)  # a tuple: isinstance() takes it faster than a union


def _keyed(value: object) -> Hashable:
    """A question, rule or section is named by its identifier: the version and language fix its content."""
    if isinstance(value, _NAMED):
        return (type(value).__name__, value.id)
    return value  # an unhashable value is caught by the caller's hash()


def in_preview(request: HttpRequest) -> bool:
    """Staff walking the draft: /preview/ serves these same views under the "preview" namespace."""
    return request.resolver_match is not None and request.resolver_match.namespace == PREVIEW


def visit_key(request: HttpRequest) -> str:
    return PREVIEW_SESSION_KEY if in_preview(request) else SESSION_KEY


def url(request: HttpRequest, name: str, args: list[str] | None = None) -> str:
    """A patient page's address, inside the preview when the request is in it."""
    # The namespace, script prefix and URL configuration are fixed for a request: read once (a page
    # asks for several addresses); the language is read each time, as a view may switch it.
    fixed: tuple[str | None, str, str | None] | None = getattr(request, _URL_BASE, None)
    if fixed is None:
        namespace = request.resolver_match.namespace if request.resolver_match else None
        fixed = (namespace, get_script_prefix(), get_urlconf())
        if request.resolver_match is not None:  # known once the address is resolved
            setattr(request, _URL_BASE, fixed)
    namespace, prefix, urlconf = fixed
    return _reverse(name, tuple(args or ()), namespace, translation.get_language(), prefix, urlconf)


_URL_BASE = "_ruxguide_url_base"


@functools.lru_cache(maxsize=4096)
def _reverse(
    name: str, args: tuple[str, ...], namespace: str | None, language: str | None, prefix: str, urlconf: str | None
) -> str:
    """reverse() walks the URL patterns each time; an address only changes with what is named here.

    (The language and the script prefix are read by reverse() itself; they are arguments for the key.)
    """
    return reverse(f"screening:{name}", args=list(args), current_app=namespace, urlconf=urlconf)


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
