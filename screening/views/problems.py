"""Pages that say what went wrong and where to go next, raised from anywhere in a patient view."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Concatenate

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from screening.engine import RuleSet
from screening.live import current_ruleset, draft_ruleset
from screening.models import PublishedRuleSet
from screening.views.pages import PatientRequest, in_preview, render_page, url, visit_key
from screening.visit import load_visit


@dataclass
class Problem(Exception):
    """A patient page that cannot be shown: the page says why, with one way on."""

    status: int
    title: str
    message: str
    link: str
    link_text: str

    def page(self, request: HttpRequest) -> HttpResponse:
        context = {"title": self.title, "message": self.message, "link": self.link, "link_text": self.link_text}
        return render_page(request, "screening/problem.html", self.title, context, status=self.status)


@dataclass
class Detour(Exception):
    """The patient belongs on another page (the result of an ended check): an ordinary redirect."""

    to: str


def shows_problems[**P](
    view: Callable[Concatenate[HttpRequest, P], HttpResponse],
) -> Callable[Concatenate[HttpRequest, P], HttpResponse]:
    """Turn any Problem or Detour the view raises into its page."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: P.args, **kwargs: P.kwargs) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except Problem as problem:
            return problem.page(request)
        except Detour as detour:
            return HttpResponseRedirect(detour.to)

    return wrapper


def patient_page[**P](
    view: Callable[Concatenate[PatientRequest, P], HttpResponse],
) -> Callable[Concatenate[HttpRequest, P], HttpResponse]:
    """Load the rule set (live, or the draft in the preview) and the visit onto the request, and show
    any Problem or Detour the view raises."""

    @shows_problems
    @wraps(view)
    def wrapper(request: HttpRequest, *args: P.args, **kwargs: P.kwargs) -> HttpResponse:
        return view(load_onto(request), *args, **kwargs)

    return wrapper


def rules_for(request: HttpRequest) -> RuleSet:
    """The rule set this request reads (live, or the draft in the preview), set on the request."""
    try:
        ruleset = draft_ruleset() if in_preview(request) else current_ruleset()
    except PublishedRuleSet.DoesNotExist:
        raise no_rules(request) from None
    request.ruleset = ruleset  # type: ignore[attr-defined]  # read by render_page for the warning signs
    return ruleset


def load_onto(request: HttpRequest) -> PatientRequest:
    """The rule set this request reads and the visit, with where it stands, set on the request."""
    ruleset = rules_for(request)
    patient: PatientRequest = request  # type: ignore[assignment]  # the rest is set just below
    patient.visit, patient.where = load_visit(request.session, ruleset, key=visit_key(request))
    if patient.visit.rules_changed:
        messages.info(
            request,
            _(
                "Our clinical team updated the questions since you started. "
                "We kept every answer that still applies. Please check the questions again."
            ),
        )
    return patient


def with_warning_signs(request: HttpRequest) -> HttpRequest:
    """The live rule set on a request that has no visit, for the warning signs beside its page."""
    with contextlib.suppress(PublishedRuleSet.DoesNotExist):
        request.ruleset = current_ruleset()  # type: ignore[attr-defined]  # read by render_page
    return request


def no_rules(request: HttpRequest) -> Problem:
    return Problem(
        status=503,
        title=_("The check is not available right now"),
        message=_("The questions are being prepared. Please try again later, or ask your doctor or pharmacist."),
        link=url(request, "start"),
        link_text=_("Back to the start"),
    )


def not_started(request: HttpRequest) -> Problem:
    """A question link opened with no visit: a first visit is sent to the start; an old one is told why."""
    if settings.SESSION_COOKIE_NAME not in request.COOKIES:
        return Problem(
            status=400,
            title=_("Start the check"),
            message=_(
                "This link goes to a question partway through the check. Please start from the first "
                "question. It takes about 3 minutes."
            ),
            link=url(request, "begin"),
            link_text=_("Start the check"),
        )
    return Problem(
        status=400,
        title=_("Your answers are no longer here"),
        message=_(
            "To protect your privacy, we keep answers only until you close your browser or for a few "
            "hours. Please start again."
        ),
        link=url(request, "begin"),
        link_text=_("Start again"),
    )


def unknown_question(request: HttpRequest, *, next_url: str) -> Problem:
    return Problem(
        status=404,
        title=_("We could not find that question"),
        message=_("The link may be old, or the questions may have changed. Your answers so far are kept."),
        link=next_url,
        link_text=_("Go to your next question"),
    )


def not_applicable(request: HttpRequest, *, next_url: str) -> Problem:
    return Problem(
        status=404,
        title=_("This question does not apply to you"),
        message=_("Based on your earlier answers, we do not need to ask this. Your answers so far are kept."),
        link=next_url,
        link_text=_("Go to your next question"),
    )


def earlier_first(request: HttpRequest, *, first_url: str) -> Problem:
    return Problem(
        status=409,
        title=_("Please answer the earlier questions first"),
        message=_("Some earlier questions have no answer yet. Your answers so far are kept."),
        link=first_url,
        link_text=_("Go to the first question without an answer"),
    )


def no_answers(request: HttpRequest) -> Problem:
    return Problem(
        status=409,
        title=_("There are no answers yet"),
        message=_(
            "We keep answers only until you close your browser or for a few hours, to protect your "
            "privacy. Start the check to see your result."
        ),
        link=url(request, "begin"),
        link_text=_("Start the check"),
    )


def incomplete(request: HttpRequest, *, next_url: str) -> Problem:
    return Problem(
        status=409,
        title=_("Some questions still need an answer"),
        message=_("Your answers so far are kept. Answer the remaining questions to see your result."),
        link=next_url,
        link_text=_("Go to your next question"),
    )


def unknown_language(request: HttpRequest) -> Problem:
    return Problem(
        status=400,
        title=_("We could not change the language"),
        message=_("That language is not one we offer. Your answers so far are kept."),
        link=url(request, "start"),
        link_text=_("Back to the start"),
    )


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A form sent without its security token: nothing was saved, and earlier answers are kept."""
    referer = request.META.get("HTTP_REFERER", "")
    same_site = url_has_allowed_host_and_scheme(referer, allowed_hosts={request.get_host()})
    problem = Problem(
        status=403,
        title=_("We could not save that answer"),
        message=_(
            "The form was missing a security check, so nothing was changed. This can happen if a page was "
            "open for a long time. Your earlier answers are kept. Please go back and answer again."
        ),
        link=referer if same_site and referer else url(request, "begin"),
        link_text=_("Go back to the question"),
    )
    return problem.page(with_warning_signs(request))
