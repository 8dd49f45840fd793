"""Patient pages: start, one question per step, check your answers, result, clear.

Every step is a plain form post with POST/redirect/GET; with htmx the same views answer with the
page's `main` partial, and the URL is pushed so the back button keeps working.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
from collections import OrderedDict
from datetime import datetime
from typing import Any
from urllib.parse import unquote, urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import Resolver404, resolve, reverse
from django.utils import timezone, translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST, require_safe
from django.views.decorators.vary import vary_on_headers

from screening.engine import (
    AnswerError,
    Level,
    Question,
    RuleSet,
    clean_answer,
    evaluate,
    next_question,
    shown_questions,
    walk,
)
from screening.models import PublishedRuleSet
from screening.publishing import current_ruleset, draft_ruleset
from screening.visit import PREVIEW_SESSION_KEY, SESSION_KEY, Visit, clear_visit, load_visit, save_visit

CHANGE_PARAM = "change"


def _page(
    request: HttpRequest,
    template: str,
    title: str,
    context: dict[str, Any],
    *,
    status: int = 200,
    push_url: str | None = None,
    cache_key: tuple[Any, ...] | None = None,
) -> HttpResponse:
    """The whole page, or only its `main` partial for an htmx request (not a history restore).

    With a `cache_key` that names everything the page shows, the rendered page is kept and reused
    for every patient who sees the same thing: only the CSRF token differs, and it is filled in.
    """
    partial = bool(request.htmx) and not request.htmx.history_restore_request
    name = f"{template}#main" if partial else template
    ruleset: RuleSet | None = getattr(request, "ruleset", None)
    context = {
        **context,
        "page_title": title,
        "page_url": push_url or request.get_full_path(),
        "urgent": ruleset.section("urgent_signs") if ruleset else None,
    }
    if cache_key is None or ruleset is None or _in_preview(request) or len(messages.get_messages(request)):
        response = render(request, name, context, status=status)
    else:
        key = (name, ruleset.version, ruleset.published_at, translation.get_language(), *cache_key)
        html = _rendered_pages.get(key)
        if html is None:
            html = render_to_string(name, {**context, "csrf_token": CSRF_PLACEHOLDER}, request=request)
            _rendered_pages.put(key, html)
        response = HttpResponse(html.replace(CSRF_PLACEHOLDER, get_token(request)), status=status)
    if partial and (push_url or request.method == "GET"):
        response["HX-Push-Url"] = push_url or request.get_full_path()
    return response


class _RenderedPages:
    """A small least-recently-used store of rendered pages, per process."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.pages: OrderedDict[tuple[Any, ...], str] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: tuple[Any, ...]) -> str | None:
        with self.lock:
            html = self.pages.get(key)
            if html is not None:
                self.pages.move_to_end(key)
            return html

    def put(self, key: tuple[Any, ...], html: str) -> None:
        with self.lock:
            self.pages[key] = html
            while len(self.pages) > self.size:
                self.pages.popitem(last=False)


# Rendered once with this in place of the CSRF token, which is then filled in per response.
CSRF_PLACEHOLDER = "ruxguide-csrf-token-placeholder"
_rendered_pages = _RenderedPages(size=2048)


PREVIEW = "preview"


def _in_preview(request: HttpRequest) -> bool:
    """Staff walking the draft: /preview/ serves these same views under the "preview" namespace."""
    return request.resolver_match is not None and request.resolver_match.namespace == PREVIEW


def _url(request: HttpRequest, name: str, args: list[str] | None = None) -> str:
    """A patient page's address, inside the preview when the request is in it."""
    namespace = request.resolver_match.namespace if request.resolver_match else None
    return reverse(f"screening:{name}", args=args, current_app=namespace)


def _live_rules(request: HttpRequest) -> tuple[RuleSet, Visit]:
    """The rule set this request reads (the live one, or the draft in the preview) and the visit."""
    preview = _in_preview(request)
    ruleset = draft_ruleset() if preview else current_ruleset()
    request.ruleset = ruleset  # type: ignore[attr-defined]  # read by _page for the warning signs
    visit = load_visit(request.session, ruleset, key=PREVIEW_SESSION_KEY if preview else SESSION_KEY)
    if visit.rules_changed:
        messages.info(
            request,
            _(
                "Our clinical team updated the questions since you started. "
                "We kept every answer that still applies. Please check the questions again."
            ),
        )
    return ruleset, visit


def _question_url(request: HttpRequest, question: Question, *, change: bool = False) -> str:
    url = _url(request, "question", args=[question.id])
    return f"{url}?{CHANGE_PARAM}=1" if change else url


def _continue_url(request: HttpRequest, ruleset: RuleSet, visit: Visit, *, change: bool = False) -> str:
    upcoming = next_question(ruleset, visit.answers)
    if upcoming is None:
        return _url(request, "check_answers")
    return _question_url(request, upcoming, change=change)


def _problem(request: HttpRequest, *, status: int, title: str, message: str, link: str, link_text: str) -> HttpResponse:
    context = {"title": title, "message": message, "link": link, "link_text": link_text}
    return _page(request, "screening/problem.html", title, context, status=status)


def _no_rules(request: HttpRequest) -> HttpResponse:
    return _problem(
        request,
        status=503,
        title=_("The check is not available right now"),
        message=_("The questions are being prepared. Please try again later, or ask your doctor or pharmacist."),
        link=_url(request, "start"),
        link_text=_("Back to the start"),
    )


@never_cache
@require_safe
@vary_on_headers("HX-Request", "Accept-Language", "Cookie")
def start(request: HttpRequest) -> HttpResponse:
    preferred = _preferred_start_page(request)
    if preferred:
        return HttpResponseRedirect(preferred)
    try:
        ruleset, visit = _live_rules(request)
    except PublishedRuleSet.DoesNotExist:
        return _no_rules(request)
    context = {"ruleset": ruleset, "visit": visit, "question_count": len(shown_questions(ruleset, {}))}
    return _page(request, "screening/start.html", _("Check before you use ruxolitinib cream"), context)


def _preferred_start_page(request: HttpRequest) -> str:
    """On a first visit to the English start page, the start page in the browser's language, if other.

    Only the start page follows the browser: any other link opens in the language it was shared in.
    A language chosen with the switch (kept in its cookie) wins over the browser's.
    """
    if request.htmx or translation.get_language_from_path(request.path_info) is not None:
        return ""
    preferred = translation.get_language_from_request(request)
    if preferred == settings.LANGUAGE_CODE:
        return ""
    with translation.override(preferred):
        return _url(request, "start")


# The pages a patient can open at an address (the switch only takes a form post).
PAGES = frozenset({"start", "begin", "question", "check_answers", "result", "result_print", "education", "clear"})


def _same_page_in(request: HttpRequest, address: str, language: str) -> str:
    """The address of the page at `address` in another language, or "" when it is not one of ours."""
    if not url_has_allowed_host_and_scheme(address, allowed_hosts={request.get_host()}) or not address:
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
    with translation.override(language):
        path = reverse(f"{match.namespace}:{match.url_name}", args=match.args, kwargs=match.kwargs)
    return urlunsplit(("", "", path, parts.query, ""))


@require_POST
def switch_language(request: HttpRequest) -> HttpResponse:
    """The language switch: the same page in the chosen language, remembered until the browser closes.

    A plain form post, so it works without JavaScript; the answers live in the session, which every
    language shares, so none is lost.
    """
    language = request.POST.get("language", "")
    if language not in dict(settings.LANGUAGES):
        return _problem(
            request,
            status=400,
            title=_("We could not change the language"),
            message=_("That language is not one we offer. Your answers so far are kept."),
            link=_url(request, "start"),
            link_text=_("Back to the start"),
        )
    with translation.override(language):
        target = _same_page_in(request, request.POST.get("next", ""), language) or _url(request, "start")
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


@require_safe
def begin(request: HttpRequest) -> HttpResponse:
    """Start (or go on with) the check at the first unanswered question."""
    try:
        ruleset, visit = _live_rules(request)
    except PublishedRuleSet.DoesNotExist:
        return _no_rules(request)
    save_visit(request.session, ruleset, visit, key=_visit_key(request))
    return HttpResponseRedirect(_continue_url(request, ruleset, visit))


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
@vary_on_headers("HX-Request")
def question(request: HttpRequest, question_id: str) -> HttpResponse:
    try:
        ruleset, visit = _live_rules(request)
    except PublishedRuleSet.DoesNotExist:
        return _no_rules(request)
    change = request.GET.get(CHANGE_PARAM) == "1"
    current = ruleset.question(question_id)
    if current is None:
        return _problem(
            request,
            status=404,
            title=_("We could not find that question"),
            message=_("The link may be old, or the questions may have changed. Your answers so far are kept."),
            link=_continue_url(request, ruleset, visit),
            link_text=_("Go to your next question"),
        )
    where = walk(ruleset, visit.answers)
    if not visit.started and current is not where.shown[0]:
        return _not_started(request)
    if current not in where.shown:
        if where.ended_by is not None:
            # The check ended at an earlier answer: what to do now comes before any other question.
            return HttpResponseRedirect(_url(request, "result"))
        return _problem(
            request,
            status=404,
            title=_("This question does not apply to you"),
            message=_("Based on your earlier answers, we do not need to ask this. Your answers so far are kept."),
            link=_continue_url(request, ruleset, visit),
            link_text=_("Go to your next question"),
        )
    earlier_unanswered = [q for q in where.shown[: where.shown.index(current)] if q.id not in visit.answers]
    if earlier_unanswered:
        return _problem(
            request,
            status=409,
            title=_("Please answer the earlier questions first"),
            message=_("Some earlier questions have no answer yet. Your answers so far are kept."),
            link=_question_url(request, earlier_unanswered[0], change=change),
            link_text=_("Go to the first question without an answer"),
        )

    if request.method != "POST":
        return _question_page(request, ruleset, visit, current, change=change, shown=where.shown)
    submitted = request.POST.getlist(current.id)
    try:
        answer = clean_answer(current, submitted)
    except AnswerError:
        error, status = _answer_error(current, submitted)
        chosen = tuple(v for v in submitted if current.option(v) is not None) if status == 200 else None
        return _question_page(
            request, ruleset, visit, current, change=change, error=error, status=status, chosen=chosen
        )

    visit.answers[current.id] = answer
    where = walk(ruleset, visit.answers)
    visit.answers = where.kept
    save_visit(request.session, ruleset, visit, key=_visit_key(request), kept=where.kept)
    upcoming = where.upcoming
    if upcoming is not None:
        next_url = _question_url(request, upcoming, change=change)
    elif where.ended_by is not None:
        # A rule that ends the check fired: what to do now, with no check-your-answers page between.
        next_url = _url(request, "result")
    else:
        next_url = _check_answers_url(request, changed=current if change else None)
    if not request.htmx:
        return HttpResponseRedirect(next_url)
    # With htmx, answer with the next page's partial straight away (one round trip, not two) and
    # push its address, so the URL, reload and the back button behave as after the redirect.
    if upcoming is not None:
        return _question_page(request, ruleset, visit, upcoming, change=change, push_url=next_url, shown=where.shown)
    if where.ended_by is not None:
        return _result_page(request, ruleset, visit, push_url=next_url)
    return _check_answers_page(request, ruleset, visit, push_url=next_url, changed=current if change else None)


def _not_started(request: HttpRequest) -> HttpResponse:
    """A question link opened with no visit: a first visit is sent to the start; an old one is told why."""
    if settings.SESSION_COOKIE_NAME not in request.COOKIES:
        return _problem(
            request,
            status=400,
            title=_("Start the check"),
            message=_(
                "This link goes to a question partway through the check. Please start from the first "
                "question. It takes about 3 minutes."
            ),
            link=_url(request, "begin"),
            link_text=_("Start the check"),
        )
    return _problem(
        request,
        status=400,
        title=_("Your answers are no longer here"),
        message=_(
            "To protect your privacy, we keep answers only until you close your browser or for a few "
            "hours. Please start again."
        ),
        link=_url(request, "begin"),
        link_text=_("Start again"),
    )


CHANGED_PARAM = "changed"


def _check_answers_url(request: HttpRequest, *, changed: Question | None = None) -> str:
    """Check your answers; after a change, with focus on the changed row (the fragment does it without JavaScript)."""
    url = _url(request, "check_answers")
    return f"{url}?{CHANGED_PARAM}={changed.id}#answer-{changed.id}" if changed else url


def _question_page(
    request: HttpRequest,
    ruleset: RuleSet,
    visit: Visit,
    current: Question,
    *,
    change: bool,
    error: str = "",
    status: int = 200,
    chosen: tuple[str, ...] | None = None,
    push_url: str | None = None,
    shown: tuple[Question, ...] | None = None,
) -> HttpResponse:
    shown = shown if shown is not None else tuple(shown_questions(ruleset, visit.answers))
    position = shown.index(current) + 1
    previous = shown[position - 2] if position > 1 else None
    if change:
        back_url = _url(request, "check_answers")
    elif previous is not None:
        back_url = _question_url(request, previous)
    else:
        back_url = _url(request, "start")
    context = {
        "question": current,
        "chosen": visit.answers.get(current.id, ()) if chosen is None else chosen,
        "error": error,
        "position": position,
        "total": len(shown),
        "back_url": back_url,
        "action": push_url or request.get_full_path(),
    }
    title = _("Error: %(question)s") % {"question": current.text} if error else current.text
    cache_key = (current.id, context["chosen"], error, position, len(shown), back_url, context["action"], status)
    return _page(
        request, "screening/question.html", title, context, status=status, push_url=push_url, cache_key=cache_key
    )


def _answer_error(question: Question, submitted: list[str]) -> tuple[str, int]:
    """The message for a rejected answer, and whether it was a slip (200) or a tampered form (400)."""
    if not submitted:
        if question.multiple:
            return _("Choose at least one answer, or choose the last option if none apply."), 200
        return _("Choose an answer."), 200
    exclusive = next((o for o in question.options if o.exclusive and o.id in submitted), None)
    known = all(question.option(v) is not None for v in submitted) and len(set(submitted)) == len(submitted)
    if exclusive and known and len(submitted) > 1:
        return (
            _("You chose “%(option)s” and other answers. Choose “%(option)s” on its own, or the others.")
            % {"option": exclusive.label},
            200,
        )
    return (
        _("We could not use that answer. It did not match the choices for this question. Please choose again."),
        400,
    )


def _completed_visit(request: HttpRequest) -> tuple[RuleSet, Visit] | HttpResponse:
    """The rule set and a visit with every shown question answered, or the page that says why not."""
    try:
        ruleset, visit = _live_rules(request)
    except PublishedRuleSet.DoesNotExist:
        return _no_rules(request)
    return _require_complete(request, ruleset, visit) or (ruleset, visit)


def _require_complete(request: HttpRequest, ruleset: RuleSet, visit: Visit) -> HttpResponse | None:
    upcoming = next_question(ruleset, visit.answers)
    if upcoming is None:
        return None
    if not visit.answers:
        return _problem(
            request,
            status=409,
            title=_("There are no answers yet"),
            message=_(
                "We keep answers only until you close your browser or for a few hours, to protect your "
                "privacy. Start the check to see your result."
            ),
            link=_url(request, "begin"),
            link_text=_("Start the check"),
        )
    return _problem(
        request,
        status=409,
        title=_("Some questions still need an answer"),
        message=_("Your answers so far are kept. Answer the remaining questions to see your result."),
        link=_question_url(request, upcoming),
        link_text=_("Go to your next question"),
    )


@never_cache
@require_safe
@vary_on_headers("HX-Request")
def check_answers(request: HttpRequest) -> HttpResponse:
    loaded = _completed_visit(request)
    if isinstance(loaded, HttpResponse):
        return loaded
    ruleset, visit = loaded
    where = walk(ruleset, visit.answers)
    if where.ended_by is not None:
        return HttpResponseRedirect(_url(request, "result"))
    changed = ruleset.question(request.GET.get(CHANGED_PARAM, ""))
    return _check_answers_page(request, ruleset, visit, changed=changed if changed in where.shown else None)


def _check_answers_page(
    request: HttpRequest,
    ruleset: RuleSet,
    visit: Visit,
    *,
    push_url: str | None = None,
    changed: Question | None = None,
) -> HttpResponse:
    rows = _answer_rows(request, ruleset, visit)
    context = {"rows": rows, "changed": changed.id if changed else ""}
    return _page(request, "screening/check_answers.html", _("Check your answers"), context, push_url=push_url)


def _answer_rows(request: HttpRequest, ruleset: RuleSet, visit: Visit) -> list[dict[str, Any]]:
    return [
        {
            "question": q,
            "options": [q.option(v) for v in visit.answers[q.id]],
            "change_url": _question_url(request, q, change=True),
        }
        for q in shown_questions(ruleset, visit.answers)
        if q.id in visit.answers
    ]


@never_cache
@require_safe
@vary_on_headers("HX-Request")
def result(request: HttpRequest) -> HttpResponse:
    loaded = _completed_visit(request)
    if isinstance(loaded, HttpResponse):
        return loaded
    return _result_page(request, *loaded)


def _result_page(request: HttpRequest, ruleset: RuleSet, visit: Visit, *, push_url: str | None = None) -> HttpResponse:
    context = _result_context(request, ruleset, visit)
    return _page(request, "screening/result.html", _("Your result"), context, push_url=push_url)


def _result_context(request: HttpRequest, ruleset: RuleSet, visit: Visit) -> dict[str, Any]:
    where = walk(ruleset, visit.answers)
    outcome = evaluate(ruleset, visit.answers, where=where)
    groups = [
        {
            "level": level,
            "rules": [
                {"rule": rule, "sources": [s for c in rule.sources if (s := ruleset.source(c))]} for rule in rules
            ],
        }
        for level, rules in outcome.by_level()
    ]
    ended_at = where.ended_at
    return {
        "ruleset": ruleset,
        "outcome": outcome,
        "scenario_query": urlencode(
            {
                "answers": json.dumps({q: list(v) for q, v in where.counted.items()}),
                "expected_overall": outcome.overall,
                "expected_rules": ",".join(rule.id for rule in outcome.fired),
            }
        ),
        # The rule that ended the check leads the page (and the printout), so it is not repeated below.
        "cautions": [
            {**group, "rules": rules}
            for group in groups
            if (rules := [item for item in group["rules"] if item["rule"] is not outcome.ended_by])
        ],
        "headline_level": outcome.fired[0].level if outcome.fired else None,
        "how_to_use": ruleset.section("how_to_use"),
        "ended": (
            {
                "rule": outcome.ended_by,
                "question": ended_at,
                "answer": " / ".join(o.label for v in where.counted[ended_at.id] if (o := ended_at.option(v))),
                "change_url": _question_url(request, ended_at),
            }
            if outcome.ended_by is not None and ended_at is not None
            else None
        ),
    }


def _visit_key(request: HttpRequest) -> str:
    return PREVIEW_SESSION_KEY if _in_preview(request) else SESSION_KEY


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
@vary_on_headers("HX-Request")
def clear(request: HttpRequest) -> HttpResponse:
    """ "Clear my answers": a GET asks to confirm (so it is never pressed by mistake), the POST clears."""
    if request.method == "POST":
        clear_visit(request.session, key=_visit_key(request))
        messages.success(request, _("Your answers have been cleared from this browser."))
        return HttpResponseRedirect(_url(request, "start"))
    with contextlib.suppress(PublishedRuleSet.DoesNotExist):
        request.ruleset = current_ruleset()  # type: ignore[attr-defined]  # the warning signs beside it
    language = translation.get_language() or settings.LANGUAGE_CODE
    back_url = _same_page_in(request, request.GET.get("next", ""), language) or _url(request, "start")
    context = {"back_url": back_url}
    return _page(request, "screening/clear.html", _("Clear your answers?"), context)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A form sent without its security token: nothing was saved, and earlier answers are kept."""
    with contextlib.suppress(PublishedRuleSet.DoesNotExist):
        request.ruleset = current_ruleset()  # type: ignore[attr-defined]
    referer = request.META.get("HTTP_REFERER", "")
    same_site = url_has_allowed_host_and_scheme(referer, allowed_hosts={request.get_host()})
    return _problem(
        request,
        status=403,
        title=_("We could not save that answer"),
        message=_(
            "The form was missing a security check, so nothing was changed. This can happen if a page was "
            "open for a long time. Your earlier answers are kept. Please go back and answer again."
        ),
        link=referer if same_site and referer else _url(request, "begin"),
        link_text=_("Go back to the question"),
    )


@never_cache
@require_safe
@vary_on_headers("HX-Request")
def result_print(request: HttpRequest) -> HttpResponse:
    """The personal result laid out for paper: date, version, every answer, room for notes."""
    loaded = _completed_visit(request)
    if isinstance(loaded, HttpResponse):
        return loaded
    ruleset, visit = loaded
    context = _result_context(request, ruleset, visit)
    context["rows"] = _answer_rows(request, ruleset, visit)
    context["printed_on"] = timezone.localdate()
    return _page(request, "screening/result_print.html", _("Your result to print"), context)


EDUCATION_HEADINGS = {
    Level.URGENT: gettext_lazy("Get medical help now if…"),
    Level.STOP_AND_CALL: gettext_lazy("Stop the cream and contact your doctor soon if…"),
    Level.DO_NOT_USE: gettext_lazy("Who should not use it"),
    Level.TALK_FIRST: gettext_lazy("Talk to your doctor or pharmacist before you use it if…"),
    Level.TAKE_CARE: gettext_lazy("Take care while you use it if…"),
}
LEAD_SECTIONS = ("approved_uses",)


def _documents(ruleset: RuleSet) -> list[dict[str, str]]:
    """Each source document once, named without its section, so each address is printed once."""
    documents: dict[str, dict[str, str]] = {}
    for source in ruleset.sources:
        name = re.split(r"[,(]", source.document)[0].strip()
        key = source.url or name
        if key in documents:
            if name not in documents[key]["name"]:
                documents[key]["name"] += f"; {name}"
        else:
            documents[key] = {"name": name, "url": source.url}
    return list(documents.values())


@require_safe
@vary_on_headers("HX-Request")
def education(request: HttpRequest) -> HttpResponse:
    """Everything patients should know before and while using the cream, from the live rule set."""
    try:
        ruleset = draft_ruleset() if _in_preview(request) else current_ruleset()
    except PublishedRuleSet.DoesNotExist:
        return _no_rules(request)
    request.ruleset = ruleset  # type: ignore[attr-defined]
    context = {
        "ruleset": ruleset,
        "published_on": datetime.fromisoformat(ruleset.published_at) if ruleset.published_at else None,
        "levels": [
            {"level": level, "heading": heading, "rules": [r for r in ruleset.rules if r.level == level]}
            for level, heading in EDUCATION_HEADINGS.items()
        ],
        "documents": _documents(ruleset),
        # The warning signs are on every page already (the layout's aside).
        "lead_sections": [s for s in ruleset.sections if s.id in LEAD_SECTIONS],
        "closing_sections": [s for s in ruleset.sections if s.id not in LEAD_SECTIONS and s.id != "urgent_signs"],
    }
    return _page(request, "screening/education.html", _("About ruxolitinib cream: who should not use it"), context)
