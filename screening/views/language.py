"""The start page and the language switch: how a patient arrives, in the language they read."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import Resolver404, resolve, translate_url
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from ruxguide.guard import accepts, from_this_site_only
from ruxguide.headers import vary_on
from screening.engine import walk
from screening.views import problems
from screening.views.pages import PREVIEW, PatientRequest, never_cache, render_page, url
from screening.views.problems import patient_page, with_warning_signs

# The pages a patient can open at an address (the switch itself only takes a form post).
PAGES = frozenset({"start", "begin", "question", "check_answers", "result", "result_print", "education", "clear"})


@never_cache
@accepts("GET", "HEAD")
@vary_on("HX-Request", "Accept-Language", "Cookie")
def start(request: HttpRequest) -> HttpResponse:
    preferred = _preferred_start_page(request)
    if preferred:
        return HttpResponseRedirect(preferred)
    return _start_page(request)


@patient_page
def _start_page(request: PatientRequest) -> HttpResponse:
    """The same page for everyone of a version and language, but for "Start now" or "Continue the check"."""
    ruleset = request.ruleset
    continuing = bool(request.visit.answers)

    def context() -> dict[str, Any]:
        # Before any answer, the walk shows the questions every patient is asked.
        fewest = len(walk(ruleset, {}).shown)
        return {"ruleset": ruleset, "continuing": continuing, "question_count": fewest}

    title = _("Check before you use ruxolitinib cream")
    return render_page(request, "screening/start.html", title, context, shared=True, depends_on=continuing)


def _preferred_start_page(request: HttpRequest) -> str:
    """On a first visit to the English start page, the start page in the browser's language, if other.

    Only the start page follows the browser: any other link opens in the language it was shared in.
    A language chosen with the switch (kept in its cookie) wins over the browser's.
    """
    if request.htmx or translation.get_language_from_path(request.path_info) is not None:  # type: ignore[attr-defined]  # django-htmx's middleware
        return ""
    preferred = translation.get_language_from_request(request)
    if preferred == settings.LANGUAGE_CODE:
        return ""
    with translation.override(preferred):
        return url(request, "start")


def same_page_in(request: HttpRequest, address: str, language: str) -> str:
    """The address of the page at `address` in another language, or "" when it is not one of ours."""
    if not address or not url_has_allowed_host_and_scheme(address, allowed_hosts={request.get_host()}):
        return ""
    parts = urlsplit(address)
    if parts.scheme or parts.netloc:
        return ""
    with translation.override(translation.get_language_from_path(parts.path) or settings.LANGUAGE_CODE):
        try:
            match = resolve(unquote(parts.path))
        except Resolver404:
            return ""
        if match.namespace not in ("screening", PREVIEW) or match.url_name not in PAGES:
            return ""
        return translate_url(address, language)


@accepts("POST")
@from_this_site_only
def switch_language(request: HttpRequest) -> HttpResponse:
    """The language switch: the same page in the chosen language, remembered until the browser closes.

    A plain form post, so it works without JavaScript; the answers live in the session, which every
    language shares, so none is lost. It only sets a preference, so it carries no CSRF token (a page
    with no other form then holds nothing of the patient's): another site's post is refused by its
    Origin and Sec-Fetch-Site headers instead.
    """
    language = request.POST.get("language", "")
    if language not in dict(settings.LANGUAGES):
        return problems.UNKNOWN_LANGUAGE.at(url(request, "start")).page(with_warning_signs(request))
    with translation.override(language):
        target = same_page_in(request, request.POST.get("next", ""), language) or url(request, "start")
    response = HttpResponseRedirect(target)
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )
    return response
