"""Reading-level and wording checks for patient-facing text, shown to clinicians in the admin."""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass

with warnings.catch_warnings():
    # textstat 0.7.4 (the release that works offline) imports the deprecated pkg_resources.
    warnings.simplefilter("ignore", UserWarning)
    import textstat

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


@dataclass(frozen=True)
class TextCheck:
    grade: float | None
    warnings: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.warnings


def reading_grade(text: str) -> float | None:
    """The Flesch-Kincaid grade, or None for text too short to grade."""
    if len(text.split()) < MIN_WORDS_FOR_A_GRADE:
        return None
    return round(float(textstat.flesch_kincaid_grade(text)), 1)


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
