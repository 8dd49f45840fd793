"""The check itself: one question per step, check your answers, the result and its printout, clearing."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.vary import vary_on_headers

from ruxguide.guard import accepts
from screening.engine import (
    HOW_TO_USE,
    AnswerError,
    Question,
    Rule,
    RuleSet,
    Source,
    Walk,
    clean_answer,
    evaluate,
    walk,
)
from screening.views import problems
from screening.views.language import same_page_in
from screening.views.pages import (
    CHANGE_PARAM,
    CHANGED_PARAM,
    PatientRequest,
    check_answers_url,
    continue_url,
    question_url,
    render_page,
    url,
    visit_key,
)
from screening.views.problems import Detour, patient_page, with_warning_signs
from screening.visit import clear_visit, save_visit


@accepts("GET", "HEAD")
@patient_page
def begin(request: PatientRequest) -> HttpResponse:
    """Start (or go on with) the check at the first unanswered question."""
    save_visit(request.session, request.ruleset, request.visit, key=visit_key(request), where=request.where)
    return HttpResponseRedirect(continue_url(request, request.where))


@never_cache
@accepts("GET", "HEAD", "POST")
@vary_on_headers("HX-Request")
@patient_page
def question(request: PatientRequest, question_id: str) -> HttpResponse:
    change = request.GET.get(CHANGE_PARAM) == "1"
    current = _askable(request, question_id, change=change)
    if request.method != "POST":
        return _question_page(request, current, change=change)
    submitted = request.POST.getlist(current.id)
    try:
        answer = clean_answer(current, submitted)
    except AnswerError as refused:
        return _question_page(request, current, change=change, refused=refused, submitted=submitted)

    where = walk(request.ruleset, {**request.visit.answers, current.id: answer})
    save_visit(request.session, request.ruleset, request.visit, key=visit_key(request), where=where)
    request.where = where
    if where.upcoming is not None:
        next_url = question_url(request, where.upcoming, change=change)
    elif where.ended_by is not None:
        # A rule that ends the check fired: what to do now, with no check-your-answers page between.
        next_url = url(request, "result")
    else:
        next_url = check_answers_url(request, changed=current if change else None)
    if not request.htmx:
        return HttpResponseRedirect(next_url)
    # With htmx, answer with the next page's partial straight away (one round trip, not two) and
    # push its address, so the URL, reload and the back button behave as after the redirect.
    if where.upcoming is not None:
        return _question_page(request, where.upcoming, change=change, push_url=next_url)
    if where.ended_by is not None:
        return _result_page(request, push_url=next_url)
    return _check_answers_page(request, push_url=next_url, changed=current if change else None)


def _askable(request: PatientRequest, question_id: str, *, change: bool) -> Question:
    """The question at this address, if this visit may answer it now; otherwise the page that says why."""
    where = request.where
    current = request.ruleset.question(question_id)
    if current is None:
        raise problems.UNKNOWN_QUESTION.at(continue_url(request, where))
    if not request.visit.started and current is not where.shown[0]:
        raise problems.not_started(request)
    if current not in where.shown:
        if where.ended_by is not None:
            # The check ended at an earlier answer: what to do now comes before any other question.
            raise Detour(url(request, "result"))
        raise problems.NOT_APPLICABLE.at(continue_url(request, where))
    earlier = next((q for q in where.shown[: where.shown.index(current)] if q.id not in request.visit.answers), None)
    if earlier is not None:
        raise problems.EARLIER_FIRST.at(question_url(request, earlier, change=change))
    return current


def _question_page(
    request: PatientRequest,
    current: Question,
    *,
    change: bool,
    refused: AnswerError | None = None,
    submitted: list[str] | None = None,
    push_url: str | None = None,
) -> HttpResponse:
    shown = request.where.shown
    position = shown.index(current) + 1
    if change:
        back_url = url(request, "check_answers")
    elif position > 1:
        back_url = question_url(request, shown[position - 2])
    else:
        back_url = url(request, "start")
    chosen = request.visit.answers.get(current.id, ())
    error, status = "", 200
    if refused is not None:
        error, status = _refusal(current, refused)
        # A slip keeps what the patient ticked; a tampered form shows none of it.
        chosen = tuple(v for v in submitted or () if current.option(v) is not None) if status == 200 else chosen
    context = {
        "question": current,
        "chosen": chosen,
        "error": error,
        "position": position,
        "total": len(shown),
        "back_url": back_url,
        "action": push_url or request.get_full_path(),
    }
    title = _("Error: %(question)s") % {"question": current.text} if error else current.text
    return render_page(
        request, "screening/question.html", title, context, status=status, push_url=push_url, shared=True
    )


def _refusal(question: Question, refused: AnswerError) -> tuple[str, int]:
    """The message for a refused answer, and whether it was a slip (200) or a tampered form (400)."""
    if not refused.reason.is_slip:
        return (
            _("We could not use that answer. It did not match the choices for this question. Please choose again."),
            400,
        )
    if refused.option is not None:
        return (
            _("You chose “%(option)s” and other answers. Choose “%(option)s” on its own, or the others.")
            % {"option": refused.option.label},
            200,
        )
    if question.multiple:
        return _("Choose at least one answer, or choose the last option if none apply."), 200
    return _("Choose an answer."), 200


def _require_complete(request: PatientRequest) -> Walk:
    """Where a visit stands once every shown question is answered (or the check ended)."""
    where = request.where
    if where.upcoming is None:
        return where
    if not request.visit.answers:
        raise problems.NO_ANSWERS.at(url(request, "begin"))
    raise problems.INCOMPLETE.at(question_url(request, where.upcoming))


@never_cache
@accepts("GET", "HEAD")
@vary_on_headers("HX-Request")
@patient_page
def check_answers(request: PatientRequest) -> HttpResponse:
    where = _require_complete(request)
    if where.ended_by is not None:
        raise Detour(url(request, "result"))
    changed = request.ruleset.question(request.GET.get(CHANGED_PARAM, ""))
    return _check_answers_page(request, changed=changed if changed in where.shown else None)


def _check_answers_page(
    request: PatientRequest, *, push_url: str | None = None, changed: Question | None = None
) -> HttpResponse:
    context = {"rows": _answer_rows(request), "changed": changed.id if changed else ""}
    return render_page(request, "screening/check_answers.html", _("Check your answers"), context, push_url=push_url)


def _answer_rows(request: PatientRequest) -> list[dict[str, Any]]:
    answers = request.where.counted
    return [
        {
            "question": q,
            "options": [q.option(v) for v in answers[q.id]],
            "change_url": question_url(request, q, change=True),
        }
        for q in request.where.shown
        if q.id in answers
    ]


@never_cache
@accepts("GET", "HEAD")
@vary_on_headers("HX-Request")
@patient_page
def result(request: PatientRequest) -> HttpResponse:
    _require_complete(request)
    return _result_page(request)


def _result_page(request: PatientRequest, *, push_url: str | None = None) -> HttpResponse:
    context = _result_context(request)
    return render_page(request, "screening/result.html", _("Your result"), context, push_url=push_url)


def _result_context(request: PatientRequest) -> dict[str, Any]:
    ruleset, where = request.ruleset, request.where
    outcome = evaluate(ruleset, where.counted, where=where)
    # The rule that ended the check leads the page (and the printout), so it is not repeated below.
    by_level = [(level, [r for r in rules if r is not outcome.ended_by]) for level, rules in outcome.by_level()]
    cautions = [
        {"level": level, "rules": [{"rule": rule, "sources": _sources(ruleset, rule)} for rule in rules]}
        for level, rules in by_level
        if rules
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
        "cautions": cautions,
        "headline_level": outcome.fired[0].level if outcome.fired else None,
        "how_to_use": ruleset.section(HOW_TO_USE),
        "ended": (
            {
                "rule": outcome.ended_by,
                "question": ended_at,
                "answer": " / ".join(o.label for v in where.counted[ended_at.id] if (o := ended_at.option(v))),
                "change_url": question_url(request, ended_at),
            }
            if outcome.ended_by is not None and ended_at is not None
            else None
        ),
    }


def _sources(ruleset: RuleSet, rule: Rule) -> list[Source]:
    return [source for code in rule.sources if (source := ruleset.source(code)) is not None]


@never_cache
@accepts("GET", "HEAD")
@vary_on_headers("HX-Request")
@patient_page
def result_print(request: PatientRequest) -> HttpResponse:
    """The personal result laid out for paper: date, version, every answer, room for notes."""
    _require_complete(request)
    context = {**_result_context(request), "rows": _answer_rows(request), "printed_on": timezone.localdate()}
    return render_page(request, "screening/result_print.html", _("Your result to print"), context)


@never_cache
@accepts("GET", "HEAD", "POST")
@vary_on_headers("HX-Request")
def clear(request: HttpRequest) -> HttpResponse:
    """ "Clear my answers": a GET asks to confirm (so it is never pressed by mistake), the POST clears."""
    if request.method == "POST":
        clear_visit(request.session, key=visit_key(request))
        messages.success(request, _("Your answers have been cleared from this browser."))
        return HttpResponseRedirect(url(request, "start"))
    language = translation.get_language() or settings.LANGUAGE_CODE
    back_url = same_page_in(request, request.GET.get("next", ""), language) or url(request, "start")
    page = with_warning_signs(request)
    return render_page(page, "screening/clear.html", _("Clear your answers?"), {"back_url": back_url})
