"""Pure rule evaluation: a rule set and a patient's answers in, shown questions and outcomes out.

Nothing here touches the ORM, a request or a template, so the views, the `screen` command,
the tests and the benchmark all share exactly the same logic.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from django.db.models import TextChoices
from django.utils.translation import gettext_lazy as _

from screening.translations import ENGLISH, TRANSLATED_TEXTS, TRANSLATIONS, outdated_name, translated_name

Answers = Mapping[str, tuple[str, ...]]


class Level(TextChoices):
    """Outcome levels, declared most severe first; the declaration order is the severity order."""

    URGENT = "urgent", _("Get medical help now")
    STOP_AND_CALL = "stop_and_call", _("Stop using the cream and contact your doctor soon")
    DO_NOT_USE = "do_not_use", _("Do not use it unless your doctor decides otherwise")
    TALK_FIRST = "talk_first", _("Talk to your doctor or pharmacist before using it")
    TAKE_CARE = "take_care", _("Points to take care with while using it")

    @property
    def severity(self) -> int:
        """Higher is more severe."""
        return _SEVERITY[self]

    def __lt__(self, other: object) -> bool:
        if isinstance(other, Level):
            return self.severity < other.severity
        return NotImplemented

    def __gt__(self, other: object) -> bool:
        if isinstance(other, Level):
            return self.severity > other.severity
        return NotImplemented

    def __le__(self, other: object) -> bool:
        if isinstance(other, Level):
            return self.severity <= other.severity
        return NotImplemented

    def __ge__(self, other: object) -> bool:
        if isinstance(other, Level):
            return self.severity >= other.severity
        return NotImplemented


# Worked out once: every result sorts its fired rules by it.
_SEVERITY = {level: len(Level) - number for number, level in enumerate(Level)}

NO_CAUTION = "none"

# Guidance sections that pages place themselves, by identifier (the others follow in their order).
URGENT_SIGNS = "urgent_signs"  # the warning signs, beside every patient page
HOW_TO_USE = "how_to_use"  # on every result
APPROVED_USES = "approved_uses"  # leads the education page


@dataclass(frozen=True)
class Option:
    id: str
    label: str
    exclusive: bool = False
    untranslated: frozenset[str] = frozenset()


@dataclass(frozen=True)
class AnswerIn:
    """Holds when the answer to `question` includes any of `options`."""

    question: str
    options: frozenset[str]

    def holds(self, answers: Answers) -> bool:
        return not self.options.isdisjoint(answers.get(self.question, ()))


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    options: tuple[Option, ...]
    help_text: str = ""
    multiple: bool = False
    show_when: tuple[AnswerIn, ...] = ()
    # Texts shown in English because the page's language has no version of them yet.
    untranslated: frozenset[str] = frozenset()
    # Every stored answer is checked against its question on every request: look options up, not along.
    _options_by_id: dict[str, Option] = field(init=False, repr=False, compare=False)
    _option_ids: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Reversed, so a repeated identifier (which validation refuses) still finds its first option.
        object.__setattr__(self, "_options_by_id", {option.id: option for option in reversed(self.options)})
        object.__setattr__(self, "_option_ids", tuple(option.id for option in self.options))

    @property
    def option_ids(self) -> tuple[str, ...]:
        return self._option_ids

    def option(self, option_id: str) -> Option | None:
        return self._options_by_id.get(option_id)


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    level: Level
    conditions: tuple[AnswerIn, ...]
    message: str = ""
    next_steps: str = ""
    education_text: str = ""
    rationale: str = ""
    sources: tuple[str, ...] = ()
    # When it fires, no later question is asked: the result comes next.
    ends_check: bool = False
    untranslated: frozenset[str] = frozenset()

    def fires(self, answers: Answers) -> bool:
        return bool(self.conditions) and all(condition.holds(answers) for condition in self.conditions)


@dataclass(frozen=True)
class Source:
    code: str
    document: str
    url: str = ""
    summary: str = ""
    untranslated: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    body: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    untranslated: frozenset[str] = frozenset()


@dataclass(frozen=True)
class RuleSet:
    """One published version of the questions and rules, in the order patients meet them."""

    questions: tuple[Question, ...]
    rules: tuple[Rule, ...]
    sources: tuple[Source, ...] = ()
    sections: tuple[Section, ...] = ()
    version: int = 0
    published_at: str = ""
    language: str = ENGLISH
    _questions_by_id: dict[str, Question] = field(init=False, repr=False, compare=False)
    _ending_rules: tuple[Rule, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_questions_by_id", {q.id: q for q in self.questions})
        object.__setattr__(self, "_ending_rules", tuple(rule for rule in self.rules if rule.ends_check))

    def question(self, question_id: str) -> Question | None:
        return self._questions_by_id.get(question_id)

    def source(self, code: str) -> Source | None:
        return next((source for source in self.sources if source.code == code), None)

    def section(self, section_id: str) -> Section | None:
        return next((section for section in self.sections if section.id == section_id), None)


@dataclass(frozen=True)
class Outcome:
    """What a set of answers leads to: the fired rules, most severe first."""

    fired: tuple[Rule, ...]
    ignored: tuple[str, ...]
    # The rule that ended the check early, if one did.
    ended_by: Rule | None = None

    @property
    def overall(self) -> str:
        return self.fired[0].level.value if self.fired else NO_CAUTION

    def by_level(self) -> list[tuple[Level, list[Rule]]]:
        groups: dict[Level, list[Rule]] = {}
        for rule in self.fired:
            groups.setdefault(rule.level, []).append(rule)
        return list(groups.items())


class AnswerProblem(Enum):
    """Why an answer cannot belong to its question: a slip a patient can make, or a tampered form."""

    EMPTY = "empty"  # nothing chosen
    NONE_WITH_OTHERS = "none with others"  # "none of these" chosen beside other options
    NOT_TEXT = "not text"  # values that are not option identifiers at all
    UNKNOWN = "unknown"  # an option the question does not have
    REPEATED = "repeated"  # the same option twice
    SEVERAL_FOR_ONE = "several for one"  # several options for a one-answer question

    @property
    def is_slip(self) -> bool:
        """A patient can do this with the form as served; the rest only with a tampered form."""
        return self in (AnswerProblem.EMPTY, AnswerProblem.NONE_WITH_OTHERS)


class AnswerError(ValueError):
    """An answer that cannot belong to the question it claims to answer, and why."""

    def __init__(self, message: str, *, reason: AnswerProblem, option: Option | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        # The exclusive option, for NONE_WITH_OTHERS.
        self.option = option


@dataclass(frozen=True)
class Walk:
    """Where a patient stands, from one pass over the questions.

    `shown` are the questions the patient sees, in order, up to the one whose answer ended the
    check (if one did); `counted` the answers to them; `upcoming` the next question to ask, or
    None when the result comes next. `kept` adds the answers after an ending, which count again
    if the patient changes the answer that ended the check; `ignored` names every answer that
    does not count (hidden by skip logic, after the ending, or to a question the set lacks).
    """

    shown: tuple[Question, ...]
    counted: dict[str, tuple[str, ...]]
    upcoming: Question | None
    kept: dict[str, tuple[str, ...]]
    ignored: tuple[str, ...]
    ended_by: Rule | None = None
    ended_at: Question | None = None

    @property
    def complete(self) -> bool:
        """Every shown question has an answer, or the check ended: the result comes next."""
        return self.upcoming is None


def walk(ruleset: RuleSet, answers: Answers) -> Walk:
    """Walk the questions once with these answers.

    A question is shown when every one of its "shown when" conditions holds on the answers to
    questions that are themselves shown, so an answer to a hidden question never counts. The walk
    stops at the first answer after which a rule that ends the check fires.
    """
    shown: list[Question] = []
    counted: dict[str, tuple[str, ...]] = {}
    # Answers to the questions that would be shown had the check not ended (equal to `counted` until then).
    reachable: dict[str, tuple[str, ...]] = {}
    ended_by: Rule | None = None
    ended_at: Question | None = None
    for question in ruleset.questions:
        if not all(condition.holds(reachable) for condition in question.show_when):
            continue
        if question.id in answers:
            reachable[question.id] = answers[question.id]
        if ended_by is not None:
            continue
        shown.append(question)
        if question.id in answers:
            counted[question.id] = answers[question.id]
            ended_by = next((rule for rule in ruleset._ending_rules if rule.fires(counted)), None)
            ended_at = question if ended_by is not None else None
    hidden = [q.id for q in ruleset.questions if q.id in answers and q.id not in counted]
    unknown = sorted(question_id for question_id in answers if ruleset.question(question_id) is None)
    return Walk(
        shown=tuple(shown),
        counted=counted,
        upcoming=None if ended_by is not None else next((q for q in shown if q.id not in answers), None),
        kept=reachable,
        ignored=(*hidden, *unknown),
        ended_by=ended_by,
        ended_at=ended_at,
    )


def shown_questions(ruleset: RuleSet, answers: Answers) -> list[Question]:
    """The questions a patient sees, given the answers so far, in order."""
    return list(walk(ruleset, answers).shown)


def counted_answers(ruleset: RuleSet, answers: Answers) -> dict[str, tuple[str, ...]]:
    """The answers that count: those to shown questions."""
    return walk(ruleset, answers).counted


def next_question(ruleset: RuleSet, answers: Answers) -> Question | None:
    """The first shown question without an answer, or None when the result comes next."""
    return walk(ruleset, answers).upcoming


def evaluate(ruleset: RuleSet, answers: Answers, *, where: Walk | None = None) -> Outcome:
    """Which rules fire on the answers that count, most severe first, then in rule order."""
    where = where or walk(ruleset, answers)
    fired = [rule for rule in ruleset.rules if rule.fires(where.counted)]
    fired.sort(key=lambda rule: -rule.level.severity)  # stable: keeps rule order within a level
    return Outcome(fired=tuple(fired), ignored=where.ignored, ended_by=where.ended_by)


def clean_answer(question: Question, values: Sequence[object]) -> tuple[str, ...]:
    """Check one question's submitted values and return them in the question's option order."""
    if len(values) == 1 and isinstance(values[0], str) and (only := question.option(values[0])) is not None:
        # One known option, the usual answer (and every stored answer is checked on every request):
        # none of the checks below can refuse it.
        return (only.id,)
    if any(not isinstance(value, str) for value in values):
        raise AnswerError(f"Answers to {question.id!r} must be option identifiers.", reason=AnswerProblem.NOT_TEXT)
    chosen = [str(value) for value in values]
    if not chosen:
        raise AnswerError(f"Choose an answer for {question.id!r}.", reason=AnswerProblem.EMPTY)
    options = [question.option(value) for value in chosen]
    unknown = [value for value, option in zip(chosen, options, strict=True) if option is None]
    if unknown:
        raise AnswerError(f"{unknown[0]!r} is not an option of {question.id!r}.", reason=AnswerProblem.UNKNOWN)
    if len(set(chosen)) != len(chosen):
        raise AnswerError(f"An option of {question.id!r} was given twice.", reason=AnswerProblem.REPEATED)
    if not question.multiple and len(chosen) > 1:
        raise AnswerError(f"{question.id!r} takes one answer only.", reason=AnswerProblem.SEVERAL_FOR_ONE)
    exclusive = next((option for option in options if option is not None and option.exclusive), None)
    if exclusive is not None and len(chosen) > 1:
        raise AnswerError(
            f"{exclusive.id!r} cannot be chosen together with other options of {question.id!r}.",
            reason=AnswerProblem.NONE_WITH_OTHERS,
            option=exclusive,
        )
    return tuple(option_id for option_id in question.option_ids if option_id in chosen)


def ruleset_from_document(
    document: Mapping[str, Any], *, version: int = 0, published_at: str = "", language: str = ENGLISH
) -> RuleSet:
    """Build the engine's rule set from the JSON document shape shared by export and snapshots.

    Texts are in `language`; a text without a version in it, or whose version is out of date (written
    for an earlier English text), falls back to English and is named in the item's `untranslated`, so a
    page can mark it as English. Identifiers never change.
    """
    if language != ENGLISH and language not in TRANSLATIONS:
        raise ValueError(f"No content language {language!r}.")

    def texts(item: Mapping[str, Any], collection: str) -> dict[str, Any]:
        """The item's texts in the language, and the names of those that fell back to English."""
        found: dict[str, Any] = {}
        untranslated: set[str] = set()
        for name in TRANSLATED_TEXTS[collection]:
            english = item.get(name) or ""
            # An out-of-date translation may give advice the English no longer gives: never show it.
            current = language != ENGLISH and not item.get(outdated_name(name, language))
            translated = item.get(translated_name(name, language)) if current else None
            found[name] = translated or english
            if english and not translated and language != ENGLISH:
                untranslated.add(name)
        if "body" in found:
            found["body"] = tuple(found["body"])
        return {**found, "untranslated": frozenset(untranslated)}

    questions = tuple(
        Question(
            id=q["id"],
            multiple=bool(q.get("multiple", False)),
            options=tuple(
                Option(id=o["id"], exclusive=bool(o.get("exclusive", False)), **texts(o, "options"))
                for o in q["options"]
            ),
            show_when=tuple(_answer_in(c) for c in q.get("show_when", ())),
            **texts(q, "questions"),
        )
        for q in document.get("questions", ())
        if q.get("active", True)
    )
    rules = tuple(
        Rule(
            id=r["id"],
            level=Level(r["level"]),
            conditions=tuple(_answer_in(c) for c in r["conditions"]),
            rationale=r.get("rationale", ""),
            sources=tuple(r.get("sources", ())),
            ends_check=bool(r.get("ends_check", False)),
            **texts(r, "rules"),
        )
        for r in document.get("rules", ())
        if r.get("active", True)
    )
    sources = tuple(
        Source(code=s["code"], document=s["document"], url=s.get("url", ""), **texts(s, "sources"))
        for s in document.get("sources", ())
    )
    sections = tuple(
        Section(id=s["id"], sources=tuple(s.get("sources", ())), **texts(s, "sections"))
        for s in document.get("sections", ())
    )
    return RuleSet(
        questions=questions,
        rules=rules,
        sources=sources,
        sections=sections,
        version=version,
        published_at=published_at,
        language=language,
    )


def _answer_in(condition: Mapping[str, Any]) -> AnswerIn:
    return AnswerIn(question=condition["question"], options=frozenset(condition["options"]))
