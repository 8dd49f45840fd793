"""Reading-level and wording checks for patient-facing text, shown to clinicians in the admin."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import cache

from pyphen import Pyphen

TARGET_GRADE = 8.0
# Short labels ("Yes", "Not sure") have no meaningful grade.
MIN_WORDS_FOR_A_GRADE = 8
PROMISE_WORDS = re.compile(
    r"\b(safe|safely|safety|guarantee[sd]?|guaranteed|no risks?|risk[- ]free|harmless|completely fine)\b",
    re.IGNORECASE,
)
# The same promises in Chinese: safe, guarantee, no risk, harmless, rest assured, absolutely, no problem at all.
CHINESE_PROMISE_WORDS = re.compile(r"安全|保证|确保|无风险|没有风险|无害|放心|绝对|完全没问题|一定没事")
# Flesch-Kincaid has no meaning for Chinese; long sentences are the plainest sign of hard text.
CHINESE_SENTENCE_TARGET = 40
CHINESE_SENTENCE_END = re.compile(r"[。！？；\n]")
# The counting rules are textstat 0.7.4's, so grades match the ones clinicians have always seen:
# punctuation (hyphens and apostrophes too) is deleted before words are counted, a sentence runs
# to its last mark, and sentences of two words or fewer are not counted.
PUNCTUATION = re.compile(r"[^\w\s]")
SENTENCE = re.compile(r"\b[^.!?]+[.!?]*")


@dataclass(frozen=True)
class TextCheck:
    grade: float | None
    warnings: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.warnings


@cache
def _hyphenator() -> Pyphen:
    return Pyphen(lang="en_US")


def _round_half_away(number: float, points: int) -> float:
    """Round to `points` decimals, halves away from zero (not Python's round-half-to-even)."""
    scale: int = 10**points  # int ** int is typed Any: a negative power gives a float
    return math.floor(number * scale + math.copysign(0.5, number)) / scale


def _word_count(text: str) -> int:
    return len(PUNCTUATION.sub("", text).split())


def _syllable_count(text: str) -> int:
    """Syllables by pyphen's hyphenation points: one more than the points in each word."""
    return sum(len(_hyphenator().positions(word)) + 1 for word in PUNCTUATION.sub("", text.lower()).split())


def _sentence_count(text: str) -> int:
    sentences = SENTENCE.findall(text)
    return max(1, sum(1 for sentence in sentences if _word_count(sentence) > 2))


def flesch_kincaid_grade(text: str) -> float:
    """The Flesch-Kincaid grade, 0.39 x words per sentence + 11.8 x syllables per word - 15.59."""
    words = _word_count(text)
    words_per_sentence = _round_half_away(words / _sentence_count(text), 1)
    syllables_per_word = _round_half_away(_syllable_count(text) / words, 1) if words else 0.0
    return _round_half_away(0.39 * words_per_sentence + 11.8 * syllables_per_word - 15.59, 1)


def reading_grade(text: str) -> float | None:
    """The Flesch-Kincaid grade, or None for text too short to grade."""
    if len(text.split()) < MIN_WORDS_FOR_A_GRADE:
        return None
    return round(flesch_kincaid_grade(text), 1)


def check_chinese_text(text: str) -> TextCheck:
    """Every warning a clinician should see for one Simplified Chinese patient-facing text."""
    found: list[str] = []
    longest = max((len(s.strip()) for s in CHINESE_SENTENCE_END.split(text)), default=0)
    if longest > CHINESE_SENTENCE_TARGET:
        found.append(
            f"A sentence has {longest} characters; aim for {CHINESE_SENTENCE_TARGET} or fewer so it reads easily."
        )
    for word in sorted({match.group(0) for match in CHINESE_PROMISE_WORDS.finditer(text)}):
        found.append(f"“{word}” can read as a promise to patients. Describe what to do instead.")
    return TextCheck(grade=None, warnings=tuple(found))


def check_text(text: str, language: str = "en") -> TextCheck:
    """The grade and every warning a clinician should see for one patient-facing text."""
    if language != "en":
        return check_chinese_text(text)
    found: list[str] = []
    grade = reading_grade(text)
    if grade is not None and grade > TARGET_GRADE:
        found.append(f"Reading grade {grade:g} is above {TARGET_GRADE:g}: use shorter sentences and common words.")
    for word in sorted({match.group(0).lower() for match in PROMISE_WORDS.finditer(text)}):
        found.append(f"“{word}” can read as a promise to patients. Describe what to do instead.")
    return TextCheck(grade=grade, warnings=tuple(found))
