"""The check itself: one question per step, check your answers, the result and its printout, clearing."""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from ruxguide.guard import accepts
from ruxguide.headers import vary_on
from screening.engine import (
    HOW_TO_USE,
    AnswerError,
    Level,
    Outcome,
    Question,
    Rule,
    RuleSet,
    Source,
    Walk,
    clean_answer,
    evaluate,
)
from screening.page_cache import Drawn
from screening.views import problems
from screening.views.handoff import handoff_part
from screening.views.language import same_page_in
from screening.views.pages import (
    CHANGE_PARAM,
    CHANGED_PARAM,
    PatientRequest,
    check_answers_url,
    continue_url,
    fragment,
    in_preview,
    joined_fragments,
    never_cache,
    piece,
    question_url,
    render_page,
    url,
    visit_key,
)
from screening.views.problems import Detour, patient_page, with_warning_signs
from screening.visit import clear_visit, known_walk, save_visit


@accepts("GET", "HEAD")
@patient_page
def begin(request: PatientRequest) -> HttpResponse:
    """Start (or go on with) the check at the first unanswered question."""
    save_visit(request.session, request.ruleset, request.visit, key=visit_key(request), where=request.where)
    return HttpResponseRedirect(continue_url(request, request.where))


@never_cache
@accepts("GET", "HEAD", "POST")
@vary_on("HX-Request")
@patient_page
def question(request: PatientRequest, question_id: str) -> HttpResponse:
    # A step is posted to an address without a query, most often: its GET need not be parsed then.
    change = bool(request.META.get("QUERY_STRING")) and request.GET.get(CHANGE_PARAM) == "1"
    current = _askable(request, question_id, change=change)
    if request.method != "POST":
        return _question_page(request, current, change=change)
    submitted = request.POST.getlist(current.id)
    try:
        answer = clean_answer(current, submitted)
    except AnswerError as refused:
        return _question_page(request, current, change=change, refused=refused, submitted=submitted)

    where = known_walk(request.ruleset, {**request.visit.answers, current.id: answer})
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
@vary_on("HX-Request")
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
    # The page around the answers is the same for everyone: kept, with the patient's rows put in.
    context = {
        "rows": _answer_rows(request, "screening/check_answers.html#row", changed=changed),
        "changed": changed.id if changed else "",
        "result_url": url(request, "result"),
    }
    title = _("Check your answers")
    return render_page(request, "screening/check_answers.html", title, context, push_url=push_url, shared=True)


def _answer_rows(request: PatientRequest, template: str, *, changed: Question | None = None) -> Drawn:
    """Each counted answer's row, one after another: each drawn once per question, answer and language."""
    answers = request.where.counted

    def row(question: Question) -> tuple[Hashable, Callable[[], dict[str, Any]]]:
        chosen = answers[question.id]
        is_changed = question is changed

        def context() -> dict[str, Any]:
            options = [question.option(value) for value in chosen]
            change_url = question_url(request, question, change=True)
            return {"row": {"question": question, "options": options, "change_url": change_url, "changed": is_changed}}

        return (question.id, chosen, is_changed), context

    rows = [row(question) for question in request.where.shown if question.id in answers]
    return joined_fragments(request, template, rows)


@never_cache
@accepts("GET", "HEAD")
@vary_on("HX-Request")
@patient_page
def result(request: PatientRequest) -> HttpResponse:
    _require_complete(request)
    return _result_page(request)


def _result_page(request: PatientRequest, *, push_url: str | None = None) -> HttpResponse:
    """The result, shared by everyone with the same outcome: every part named in its context is kept."""
    template = "screening/result.html"
    outcome, ended = _outcome(request)

    def closing() -> dict[str, Any]:
        return {
            "how_to_use": request.ruleset.section(HOW_TO_USE),
            "ended": ended is not None,
            "print_url": url(request, "result_print"),
            "education_url": url(request, "education"),
            "check_answers_url": url(request, "check_answers"),
        }

    mistake: Drawn | str = ""
    if ended is not None:
        question, answer = ended

        def asked() -> dict[str, Any]:
            change_url = question_url(request, question)
            return {"question": question, "answer": _answer_text(question, answer), "change_url": change_url}

        # "I answered this by mistake" reads the same for everyone who gave that answer.
        mistake = piece(request, f"{template}#mistake", (question.id, answer), asked)

    context = {
        "overall": outcome.overall,
        "headline_level": outcome.fired[0].level if outcome.fired else None,
        "fired_count": len(outcome.fired),
        "ended_rule": outcome.ended_by if ended else None,
        "mistake": mistake,
        "cautions": _cautions(request, template, outcome, ended=ended is not None),
        "closing": piece(request, f"{template}#closing", ended is not None, closing),
        # Only the preview offers to save the answers as a test patient.
        "scenario_query": _scenario_query(request.where, outcome) if in_preview(request) else "",
        # The patient's own hand-off code (or the button that makes one): drawn for them alone, never kept.
        "handoff": handoff_part(request, printout=False),
    }
    return render_page(request, template, _("Your result"), context, push_url=push_url, shared=True)


def _outcome(request: PatientRequest) -> tuple[Outcome, tuple[Question, tuple[str, ...]] | None]:
    """The fired rules, and the question and answer that ended the check (if one did)."""
    where = request.where
    outcome = evaluate(request.ruleset, where.counted, where=where)
    ended_at = where.ended_at
    if outcome.ended_by is None or ended_at is None:
        return outcome, None
    return outcome, (ended_at, where.counted[ended_at.id])


def _answer_text(question: Question, answer: tuple[str, ...]) -> str:
    return " / ".join(option.label for value in answer if (option := question.option(value)))


def _cautions(request: PatientRequest, template: str, outcome: Outcome, *, ended: bool) -> Drawn:
    """The cautions that apply, from `template`'s partials: kept for everyone with the same fired rules.

    Each rule's own caution reads the same for every patient it fires for, so it is kept too.
    """
    ruleset = request.ruleset
    # The rule that ended the check leads the page (and the printout), so it is not repeated below.
    listed = [rule for rule in outcome.fired if rule is not outcome.ended_by]

    def caution(rule: Rule) -> str:
        def context() -> dict[str, Any]:
            return {"rule": rule, "sources": _sources(ruleset, rule)}

        return fragment(request, f"{template}#rule", rule.id, context)

    def context() -> dict[str, Any]:
        groups: dict[Level, list[str]] = {}
        for rule in listed:  # most severe first, as evaluate() sorts them
            groups.setdefault(rule.level, []).append(caution(rule))
        return {"groups": [{"level": level, "rules": rules} for level, rules in groups.items()], "ended": ended}

    return piece(request, f"{template}#cautions", (tuple(rule.id for rule in listed), ended), context)


def _scenario_query(where: Walk, outcome: Outcome) -> str:
    """The admin's "add test patient" form, filled in with these answers and what they lead to."""
    return urlencode(
        {
            "answers": json.dumps({q: list(v) for q, v in where.counted.items()}),
            "expected_overall": outcome.overall,
            "expected_rules": ",".join(rule.id for rule in outcome.fired),
        }
    )


def _sources(ruleset: RuleSet, rule: Rule) -> list[Source]:
    return [source for code in rule.sources if (source := ruleset.source(code)) is not None]


@never_cache
@accepts("GET", "HEAD")
@vary_on("HX-Request")
@patient_page
def result_print(request: PatientRequest) -> HttpResponse:
    """The personal result laid out for paper: date, version, every answer, room for notes."""
    _require_complete(request)
    template = "screening/result_print.html"
    outcome, ended = _outcome(request)
    # Shared by everyone with the same outcome on the same day, with the patient's answers put in.
    context = {
        "overall": outcome.overall,
        "headline_level": outcome.fired[0].level if outcome.fired else None,
        "version": request.ruleset.version,
        "printed_on": timezone.localdate(),
        "ended_rule": outcome.ended_by if ended else None,
        "ended_question": ended[0] if ended else None,
        "ended_answer": _answer_text(*ended) if ended else "",
        "rows": _answer_rows(request, f"{template}#row"),
        "cautions": _cautions(request, template, outcome, ended=ended is not None),
        "result_url": url(request, "result"),
        "handoff": handoff_part(request, printout=True),  # the patient's own code, if they made one
    }
    return render_page(request, template, _("Your result to print"), context, shared=True, shows_messages=False)


@never_cache
@accepts("GET", "HEAD", "POST")
@vary_on("HX-Request")
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
