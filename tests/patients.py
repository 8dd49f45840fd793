"""Test patients written from ../shared/clinical/facts.md, shared by the test files.

Answers are tuples of option identifiers, in the order the check asks the questions. The helpers
give the same answers in the shapes forms and the `screen` command take.
"""

from __future__ import annotations

from collections.abc import Mapping

from screening.engine import ruleset_from_document
from screening.publishing import default_document

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

MULTIPLE_CHOICE = frozenset(q.id for q in ruleset_from_document(default_document()).questions if q.multiple)


def as_lists(answers: Answers) -> dict[str, list[str]]:
    return {question: list(options) for question, options in answers.items()}


def as_form_values(answers: Answers) -> dict[str, str | list[str]]:
    """A single choice as its option, several as a list: how a person would write them down."""
    return {q: list(options) if q in MULTIPLE_CHOICE else options[0] for q, options in answers.items()}
