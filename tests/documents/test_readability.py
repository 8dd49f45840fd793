"""The reading grade on pyphen gives the grades textstat 0.7.4 gave, text for text."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from screening.readability import MIN_WORDS_FOR_A_GRADE, flesch_kincaid_grade, reading_grade

# Pinned from textstat 0.7.4 before it was replaced: every English patient text of both default
# rule sets (questions, options, rules, guidance sections, source summaries), and a few edge cases.
PINNED = json.loads((Path(__file__).with_name("readability_grades.json")).read_text())["texts"]


def test_the_pinned_grades_cover_every_english_patient_text_of_both_default_rule_sets() -> None:
    sources = {entry["where"].split(" ", 1)[0] for entry in PINNED}
    assert {"default_ruleset.json", "default_ruleset_v1.json"} <= sources
    assert len(PINNED) > 500
    assert sum(1 for entry in PINNED if entry["reading_grade"] is not None) > 400


def test_every_default_text_gets_the_grade_textstat_gave_it() -> None:
    different = [
        (entry["where"], entry["grade"], grade)
        for entry in PINNED
        if (grade := flesch_kincaid_grade(entry["text"])) != entry["grade"]
    ]
    assert different == []


def test_the_reading_grade_shown_to_clinicians_is_unchanged_for_every_default_text() -> None:
    different = [
        (entry["where"], entry["reading_grade"], grade)
        for entry in PINNED
        if (grade := reading_grade(entry["text"])) != entry["reading_grade"]
    ]
    assert different == []


@pytest.mark.parametrize(
    "text", ["", "Yes", "Not sure", "Use the cream on small areas.", "one two three four five six seven"]
)
def test_text_under_eight_words_has_no_grade(text: str) -> None:
    assert len(text.split()) < MIN_WORDS_FOR_A_GRADE
    assert reading_grade(text) is None


def test_text_of_eight_words_or_more_has_a_grade() -> None:
    assert reading_grade("Put a thin layer of the cream on the skin.") == 1.3
