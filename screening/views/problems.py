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
from django.utils.functional import Promise
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from screening.engine import RuleSet
from screening.live import current_ruleset, draft_ruleset
from screening.models import PublishedRuleSet
from screening.views.pages import PatientRequest, in_preview, render_page, url, visit_key
from screening.visit import load_visit

StrOrPromise = str | Promise


@dataclass(frozen=True)
class ProblemKind:
    """One thing that can go wrong on a patient page, as the page says it."""

    status: int
    title: StrOrPromise
    message: StrOrPromise
    link_text: StrOrPromise

    def at(self, link: str) -> Problem:
        """This problem, with its one way on."""
        return Problem(kind=self, link=link)


@dataclass
class Problem(Exception):
    """A patient page that cannot be shown: the page says why, with one way on."""

    kind: ProblemKind
    link: str

    def page(self, request: HttpRequest) -> HttpResponse:
        title = str(self.kind.title)
        context = {
            "title": title,
            "message": str(self.kind.message),
            "link": self.link,
            "link_text": str(self.kind.link_text),
        }
        return render_page(request, "screening/problem.html", title, context, status=self.kind.status)


@dataclass
class Detour(Exception):
    """The patient belongs on another page (the result of an ended check): an ordinary redirect."""

    to: str


def shows_problems[**P](
    view: Callable[Concatenate[HttpRequest, P], HttpResponse],
) -> Callable[Concatenate[HttpRequest, P], HttpResponse]:
    """Turn any Problem or Detour the view raises into its page."""

    @wraps(view)
    def wrapper(request: HttpRequest, /, *args: P.args, **kwargs: P.kwargs) -> HttpResponse:
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
    def wrapper(request: HttpRequest, /, *args: P.args, **kwargs: P.kwargs) -> HttpResponse:
        return view(load_onto(request), *args, **kwargs)

    return wrapper


def rules_for(request: HttpRequest) -> RuleSet:
    """The rule set this request reads (live, or the draft in the preview), set on the request."""
    try:
        ruleset = draft_ruleset() if in_preview(request) else current_ruleset()
    except PublishedRuleSet.DoesNotExist:
        raise NO_RULES.at(url(request, "start")) from None
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
            gettext(
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


NO_RULES = ProblemKind(
    503,
    _("The check is not available right now"),
    _("The questions are being prepared. Please try again later, or ask your doctor or pharmacist."),
    _("Back to the start"),
)
FIRST_VISIT = ProblemKind(
    400,
    _("Start the check"),
    _(
        "This link goes to a question partway through the check. Please start from the first question. "
        "It takes about 3 minutes."
    ),
    _("Start the check"),
)
EXPIRED = ProblemKind(
    400,
    _("Your answers are no longer here"),
    _(
        "To protect your privacy, we keep answers only until you close your browser or for a few hours. "
        "Please start again."
    ),
    _("Start again"),
)
UNKNOWN_QUESTION = ProblemKind(
    404,
    _("We could not find that question"),
    _("The link may be old, or the questions may have changed. Your answers so far are kept."),
    _("Go to your next question"),
)
NOT_APPLICABLE = ProblemKind(
    404,
    _("This question does not apply to you"),
    _("Based on your earlier answers, we do not need to ask this. Your answers so far are kept."),
    _("Go to your next question"),
)
EARLIER_FIRST = ProblemKind(
    409,
    _("Please answer the earlier questions first"),
    _("Some earlier questions have no answer yet. Your answers so far are kept."),
    _("Go to the first question without an answer"),
)
NO_ANSWERS = ProblemKind(
    409,
    _("There are no answers yet"),
    _(
        "We keep answers only until you close your browser or for a few hours, to protect your privacy. "
        "Start the check to see your result."
    ),
    _("Start the check"),
)
INCOMPLETE = ProblemKind(
    409,
    _("Some questions still need an answer"),
    _("Your answers so far are kept. Answer the remaining questions to see your result."),
    _("Go to your next question"),
)
UNKNOWN_LANGUAGE = ProblemKind(
    400,
    _("We could not change the language"),
    _("That language is not one we offer. Your answers so far are kept."),
    _("Back to the start"),
)
NO_TOKEN = ProblemKind(
    403,
    _("We could not save that answer"),
    _(
        "The form was missing a security check, so nothing was changed. This can happen if a page was open "
        "for a long time. Your earlier answers are kept. Please go back and answer again."
    ),
    _("Go back to the question"),
)


def not_started(request: HttpRequest) -> Problem:
    """A question link opened with no visit: a first visit is sent to the start; an old one is told why."""
    first_visit = settings.RUXGUIDE_PATIENT_SESSION_COOKIE_NAME not in request.COOKIES
    return (FIRST_VISIT if first_visit else EXPIRED).at(url(request, "begin"))


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A form sent without its security token: nothing was saved, and earlier answers are kept."""
    referer = request.META.get("HTTP_REFERER", "")
    same_site = url_has_allowed_host_and_scheme(referer, allowed_hosts={request.get_host()})
    problem = NO_TOKEN.at(referer if same_site and referer else url(request, "begin"))
    return problem.page(with_warning_signs(request))
