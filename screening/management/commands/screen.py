"""Screen one set of answers against the live rule set, from the command line."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from screening.engine import AnswerError, RuleSet, clean_answer, evaluate
from screening.fhir import questionnaire_url
from screening.handoff import answers_from_response
from screening.live import current_ruleset
from screening.models import PublishedRuleSet


class BadAnswers(Exception):
    """Input that cannot be screened; the message is shown on one line."""


def parse_answers(ruleset: RuleSet, raw: Any) -> dict[str, tuple[str, ...]]:
    if not isinstance(raw, dict):
        raise BadAnswers('answers must be a JSON object like {"question": "option"}')
    answers: dict[str, tuple[str, ...]] = {}
    for question_id, value in raw.items():
        question = ruleset.question(question_id)
        if question is None:
            raise BadAnswers(f"unknown question {question_id!r}")
        values = value if isinstance(value, list) else [value]
        try:
            answers[question_id] = clean_answer(question, values)
        except AnswerError as error:
            raise BadAnswers(str(error)) from None
    return answers


class Command(BaseCommand):
    help = (
        'Read answers as JSON ({"question": "option"} or {"question": ["option", ...]}), or a FHIR '
        "QuestionnaireResponse to this check's Questionnaire, from FILE or standard input and print the "
        "outcome as JSON. Exit code 2 on bad input."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", nargs="?", default="-", help="a JSON file, or - for standard input")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            ruleset = current_ruleset()
        except PublishedRuleSet.DoesNotExist:
            self._fail("no rule set is published yet: run 'manage.py ensure_default_rules'")
        try:
            text = sys.stdin.read() if options["file"] == "-" else Path(options["file"]).read_text(encoding="utf-8")
        except OSError as error:
            self._fail(f"cannot read {options['file']}: {error.strerror}")
        except UnicodeDecodeError:
            self._fail(f"cannot read {options['file']}: it is not UTF-8 text")
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as error:
            self._fail(f"not valid JSON: {error.msg} at line {error.lineno} column {error.colno}")
        except RecursionError:
            self._fail("not valid JSON: it is nested too deeply")
        try:
            if isinstance(raw, dict) and raw.get("resourceType") == "QuestionnaireResponse":
                raw = self._response_answers(ruleset, raw)
            answers = parse_answers(ruleset, raw)
        except BadAnswers as error:
            self._fail(str(error))
        outcome = evaluate(ruleset, answers)
        result = {
            "overall": outcome.overall,
            "outcomes": [{"rule": rule.id, "level": rule.level.value} for rule in outcome.fired],
            "ignored": list(outcome.ignored),
        }
        self.stdout.write(json.dumps(result, indent=2))

    def _response_answers(self, ruleset: RuleSet, response: dict[str, Any]) -> dict[str, list[str]]:
        """The answers in a FHIR QuestionnaireResponse to our Questionnaire, as {"question": ["option"]}.

        A response made with another version is screened against the live one, and stderr says so;
        its answers to questions the live version no longer has are left out, as the app leaves them out.
        """
        reference = response.get("questionnaire")
        if not isinstance(reference, str) or not reference:
            raise BadAnswers("the QuestionnaireResponse names no questionnaire")
        address, _, version = reference.partition("|")
        if address != questionnaire_url():
            raise BadAnswers(f"the QuestionnaireResponse is for {address!r}, not this check ({questionnaire_url()})")
        try:
            answers = answers_from_response(response)
        except ValueError as error:
            raise BadAnswers(f"not a QuestionnaireResponse this command can read: {error}") from None
        if version and version != str(ruleset.version):
            self.stderr.write(
                f"screen: the response was made with version {version}; screening against the live version "
                f"{ruleset.version}"
            )
            gone = [question_id for question_id in answers if ruleset.question(question_id) is None]
            if gone:
                self.stderr.write(f"screen: left out answers to questions the live version does not have: {gone}")
            answers = {question_id: codes for question_id, codes in answers.items() if question_id not in gone}
        return answers

    def _fail(self, message: str) -> None:
        self.stderr.write(f"screen: {message}")
        sys.exit(2)
