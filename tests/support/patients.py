"""Test patients written from ../shared/clinical/facts.md, shared by the test files.

Answers are tuples of option identifiers, in the order the check asks the questions. The helpers
give the same answers in the shapes forms and the `screen` command take.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

from django.test import Client
from django.urls import reverse
from django.utils import translation

from screening.defaults import default_document
from screening.engine import ruleset_from_document
from screening.translations import ENGLISH

if TYPE_CHECKING:
    # What the test client returns: a response with the request and template details attached.
    from django.test.client import _MonkeyPatchedWSGIResponse as TestResponse

Answers = Mapping[str, tuple[str, ...]]

# An adult with eczema, a few weeks into treatment, with nothing to report: no rule fires.
HEALTHY_ADULT: dict[str, tuple[str, ...]] = {
    "urgent_symptoms": ("no",),
    "condition": ("atopic_dermatitis",),
    "age_group": ("18_to_64",),
    "allergy": ("no",),
    "pregnancy": ("no",),
    "breastfeeding": ("no",),
    "weakened_immunity": ("no",),
    "other_medicines": ("none",),
    "infection_now": ("no",),
    "infection_history": ("none",),
    "health_conditions": ("none",),
    "skin_to_treat": ("none",),
    "area_size": ("up_to_10_palms",),
    "treatment_stage": ("under_8_weeks",),
    "amount": ("within_limit",),
    "side_effects": ("none",),
}

# A patient for whom rules of every level below `urgent` fire (the other questions as the healthy
# adult). "Yes" to the warning signs ends the check, so no patient meets `urgent` beside another level.
EVERY_LEVEL_BELOW_URGENT: dict[str, tuple[str, ...]] = {
    "urgent_symptoms": ("no",),
    "allergy": ("yes",),
    "infection_now": ("not_sure",),
    "skin_to_treat": ("near_eyes_mouth_genitals",),
    "treatment_stage": ("8_weeks_or_more",),
    "side_effects": ("bleeding_bruising_tiredness",),
}

MULTIPLE_CHOICE = frozenset(q.id for q in ruleset_from_document(default_document()).questions if q.multiple)


def as_lists(answers: Answers) -> dict[str, list[str]]:
    return {question: list(options) for question, options in answers.items()}


def as_form_values(answers: Answers) -> dict[str, str | list[str]]:
    """A single choice as its option, several as a list: how a person would write them down."""
    return {q: list(options) if q in MULTIPLE_CHOICE else options[0] for q, options in answers.items()}


def walk_check(
    client: Client, answers: Mapping[str, list[str]], *, namespace: str = "screening", language: str = ENGLISH
) -> Iterator[tuple[str, TestResponse]]:
    """Follow the check from `begin` to "check your answers" as a patient would, posting `answers`.

    Yields each question's identifier and page; fails on a question asked twice or a step refused.
    """
    with translation.override(language):
        begin = reverse(f"{namespace}:begin")
        done = reverse(f"{namespace}:check_answers")
        step = re.escape(reverse(f"{namespace}:question", args=["QUESTION"])).replace("QUESTION", "([a-z0-9_-]+)")
    location = client.get(begin)["Location"]
    asked: set[str] = set()
    while location != done:
        match = re.fullmatch(step, location)
        assert match, location
        question_id = match.group(1)
        assert question_id not in asked, f"{question_id} was asked twice"
        asked.add(question_id)
        page = client.get(location)
        assert page.status_code == 200, (location, page.status_code)
        yield question_id, page
        response = client.post(location, {question_id: answers[question_id]})
        assert response.status_code == 302, (question_id, response.status_code)
        location = response["Location"]
