"""The hand-off code: a patient makes one on their result; a signed-in clinician opens it.

The patient's code lives in their own encrypted session cookie (so the result and the printout can show
it) and in the address the QR code holds; nothing is stored on the server. The code goes in the query
string (`?code=`), which no log line records: Django's request line, gunicorn's access line and
nginx's access line all write the path alone (ruxguide/middleware.py, ruxguide/gunicorn_logs.py,
ruxguide/deploy/nginx/ruxguide.conf.template).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.admin import site as admin_site
from django.contrib.admin.views.decorators import staff_member_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from ruxguide.guard import accepts
from screening import handoff
from screening.admin.access import refused
from screening.engine import Answers, Question, RuleSet, evaluate, walk
from screening.live import current_ruleset
from screening.models import PublishedRuleSet
from screening.page_cache import CSRF_PLACEHOLDER, Drawn
from screening.permissions import OPEN_HANDOFF
from screening.translations import ENGLISH, content_language
from screening.views.pages import PatientRequest, in_preview, piece, url
from screening.views.problems import INCOMPLETE, NO_ANSWERS, patient_page

# Where the patient's session keeps their code.
SESSION_KEY = "handoff"
OPEN_PERMISSION = f"screening.{OPEN_HANDOFF}"
CODE_PARAM = "code"


# ---------------------------------------------------------------------------------------------
# The patient's side
# ---------------------------------------------------------------------------------------------


@never_cache
@accepts("POST")
@patient_page
def make(request: PatientRequest) -> HttpResponse:
    """ "Make a code for my clinician": seal the counted answers, keep the code, back to the result."""
    if in_preview(request):
        raise Http404("The preview makes no hand-off codes.")
    where = request.where
    if where.upcoming is not None:
        if not request.visit.answers:
            raise NO_ANSWERS.at(url(request, "begin"))
        raise INCOMPLETE.at(url(request, "question", args=[where.upcoming.id]))
    request.session[SESSION_KEY] = handoff.make_code(request.ruleset, where.counted, language=content_language())
    return HttpResponseRedirect(f"{url(request, 'result')}#handoff")


def current_code(request: PatientRequest) -> tuple[str, datetime] | None:
    """The patient's code and when it was made, if it still matches their answers (else it is dropped)."""
    code = request.session.get(SESSION_KEY)
    if not isinstance(code, str):
        return None
    made_at = handoff.matching(code, request.ruleset, request.where.counted)
    if made_at is None:
        # A changed answer (or a new version) makes the code stale: it must always match the answers.
        del request.session[SESSION_KEY]
        return None
    return code, made_at


def code_address(request: HttpRequest, code: str) -> str:
    """The full address a clinician opens: the code in the query string, which no log records."""
    return request.build_absolute_uri(f"{reverse('handoff_open')}?{CODE_PARAM}={code}")


def _breakable(address: str) -> SafeString:
    """The address with a line-break chance (<wbr>, never copied with the text) every 16 characters, so
    it wraps on a phone without CSS."""
    chunks = (escape(address[start : start + 16]) for start in range(0, len(address), 16))
    return mark_safe("<wbr>".join(chunks))


def handoff_part(request: PatientRequest, *, printout: bool) -> Drawn | str:
    """The patient's own part of the result (or its printout): the code, or the button that makes one.

    Drawn for this response only and never kept: render_page puts a `Drawn` in as a slot, so the shared
    page around it stays the same for everyone.
    """
    if in_preview(request):
        return ""
    found = current_code(request)
    if found is None:
        if printout:
            return ""

        # The button reads the same for everyone of a version and language: kept, with the token put in.
        def offer() -> dict[str, Any]:
            return {"make_url": url(request, "handoff"), "csrf_token": CSRF_PLACEHOLDER}

        return piece(request, "screening/handoff/_offer.html", "offer", offer)
    code, made_at = found
    address = code_address(request, code)
    context: dict[str, Any] = {
        "address": address,
        "breakable": _breakable(address),
        "svg": handoff.qr_svg(address, title=_("QR code with the link for your clinician"), scale=3 if printout else 4),
        "expires": handoff.expires_at(made_at),
        "printout": printout,
    }
    return Drawn(render_to_string("screening/handoff/_code.html", context))


# ---------------------------------------------------------------------------------------------
# The clinician's side
# ---------------------------------------------------------------------------------------------


def _opened(request: HttpRequest) -> tuple[str, handoff.Handoff] | HttpResponse:
    """The code in the address and what it holds, or the page that says why it does not open."""
    if not request.user.has_perm(OPEN_PERMISSION):
        return refused(request, OPEN_PERMISSION)
    code = request.GET.get(CODE_PARAM, "").strip()
    if not code:
        return _refusal(request, 400, "This address has no code", "Scan the patient's QR code, or type the whole link.")
    try:
        return code, handoff.open_code(code)
    except handoff.CodeExpired as problem:
        return _refusal(request, 410, "This code has expired", str(problem))
    except handoff.CodeVersionMissing as problem:
        return _refusal(
            request, 404, "This code's version is not here", f"{problem} Ask the patient to make a new one."
        )
    except handoff.CodeRefused:
        return _refusal(
            request,
            400,
            "This code does not open",
            "This code was not made by this service, or part of it was changed or cut off. Scan the QR code "
            "again, or check the whole link was copied. If it still does not open, ask the patient to make a new one.",
        )


def _admin_context(request: HttpRequest, title: str) -> dict[str, Any]:
    """The admin's look, without its side bar of models (a treating clinician may open none of them)."""
    return {**admin_site.each_context(request), "title": title, "is_nav_sidebar_enabled": False}


def _refusal(request: HttpRequest, status: int, title: str, message: str) -> HttpResponse:
    context = {**_admin_context(request, title), "message": message}
    return render(request, "admin/screening/handoff/refused.html", context, status=status)


@never_cache
@accepts("GET", "HEAD")
@staff_member_required
def open_code(request: HttpRequest) -> HttpResponse:
    """What a patient's code holds, for their clinician: answers, result, and why each rule fired."""
    opened = _opened(request)
    if isinstance(opened, HttpResponse):
        return opened
    code, held = opened
    used = handoff.published_ruleset(held.version, ENGLISH)
    try:
        live: RuleSet | None = current_ruleset(ENGLISH)
    except PublishedRuleSet.DoesNotExist:
        live = None
    context = {
        **_admin_context(request, "A patient's hand-off code"),
        "made_at": held.made_at,
        "expires_at": held.expires_at,
        "language": dict(settings.LANGUAGES).get(held.language, held.language),
        "used": _reading(used, held.answers),
        "live": _reading(live, held.answers) if live is not None and live.version != held.version else None,
        "download_url": f"{reverse('handoff_response')}?{CODE_PARAM}={code}",
    }
    return render(request, "admin/screening/handoff/open.html", context)


def _reading(ruleset: RuleSet, answers: Answers) -> dict[str, Any]:
    """What one version makes of the answers: the rows, the result and each fired rule with its sources."""
    where = walk(ruleset, answers)
    outcome = evaluate(ruleset, where.counted, where=where)
    rows = [
        {"question": question, "options": [question.option(value) for value in where.counted[question.id]]}
        for question in where.shown
        if question.id in where.counted
    ]
    fired = [
        {
            "rule": rule,
            "ended": rule is outcome.ended_by,
            "sources": [source for code in rule.sources if (source := ruleset.source(code)) is not None],
        }
        for rule in outcome.fired
    ]
    missing = [question_id for question_id in answers if ruleset.question(question_id) is None]
    hidden = [question_id for question_id in answers if question_id not in where.counted and question_id not in missing]
    unasked: list[Question] = [question for question in where.shown if question.id not in where.counted]
    return {
        "version": ruleset.version,
        "published_at": ruleset.published_at,
        "overall": outcome.overall,
        "headline": outcome.fired[0].level if outcome.fired else None,
        "ended_by": outcome.ended_by,
        "rows": rows,
        "fired": fired,
        "missing": missing,
        "hidden": hidden,
        "unasked": unasked,
    }


@never_cache
@accepts("GET", "HEAD")
@staff_member_required
def questionnaire_response(request: HttpRequest) -> HttpResponse:
    """The code's answers as a FHIR R4 QuestionnaireResponse, to save into a health record."""
    opened = _opened(request)
    if isinstance(opened, HttpResponse):
        return opened
    _, held = opened
    ruleset = handoff.published_ruleset(held.version, ENGLISH)
    resource: Mapping[str, Any] = handoff.questionnaire_response(ruleset, held.answers, authored=held.made_at)
    response = HttpResponse(json.dumps(resource, indent=2, ensure_ascii=False), content_type="application/fhir+json")
    name = f"ruxguide-questionnaire-response-v{held.version}-{held.made_at:%Y-%m-%d}.json"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
