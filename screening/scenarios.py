"""Test patients: run saved answers through the engine and compare with what clinicians expect.

Pure: plain data in, results out, so the admin, publishing and tests share one runner.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from screening.engine import NO_CAUTION, AnswerError, Level, RuleSet, clean_answer, evaluate


@dataclass(frozen=True)
class ScenarioSpec:
    name: str
    answers: Mapping[str, Sequence[str]]
    expected_overall: str
    expected_rules: tuple[str, ...] = ()

    @classmethod
    def from_document(cls, item: Mapping[str, Any]) -> ScenarioSpec:
        return cls(
            name=item["name"],
            answers={q: list(v) if isinstance(v, list) else [v] for q, v in item.get("answers", {}).items()},
            expected_overall=item["expected_overall"],
            expected_rules=tuple(item.get("expected_rules", ())),
        )


@dataclass(frozen=True)
class ScenarioResult:
    scenario: ScenarioSpec
    overall: str | None
    fired: tuple[str, ...]
    differences: tuple[str, ...] = field(default=())

    @property
    def passed(self) -> bool:
        return not self.differences


def run_scenario(
    ruleset: RuleSet, scenario: ScenarioSpec, *, withdrawn: frozenset[str] = frozenset()
) -> ScenarioResult:
    """One test patient's outcome and every way it differs from what was expected.

    Answers to `withdrawn` (inactive) questions are left out, as a patient would never be asked them.
    """
    answers: dict[str, tuple[str, ...]] = {}
    problems: list[str] = []
    for question_id, values in scenario.answers.items():
        if question_id in withdrawn:
            continue
        question = ruleset.question(question_id)
        if question is None:
            problems.append(f"Answers a question the rule set does not have: '{question_id}'.")
            continue
        try:
            answers[question_id] = clean_answer(question, list(values))
        except AnswerError as error:
            problems.append(f"Has an answer the rule set cannot take: {error}")
    if problems:
        return ScenarioResult(scenario=scenario, overall=None, fired=(), differences=tuple(problems))

    outcome = evaluate(ruleset, answers)
    fired = tuple(rule.id for rule in outcome.fired)
    differences: list[str] = []
    if outcome.overall != scenario.expected_overall:
        found, expected = overall_words(outcome.overall), overall_words(scenario.expected_overall)
        differences.append(f"Overall result is “{found}”, expected “{expected}”.")
    missing = [rule for rule in scenario.expected_rules if rule not in fired]
    unexpected = [rule for rule in fired if rule not in scenario.expected_rules]
    if missing:
        differences.append(f"Expected rules that did not fire: {', '.join(missing)}.")
    if unexpected:
        differences.append(f"Rules that fired but were not expected: {', '.join(unexpected)}.")
    return ScenarioResult(scenario=scenario, overall=outcome.overall, fired=fired, differences=tuple(differences))


def run_scenarios(
    ruleset: RuleSet, scenarios: Iterable[ScenarioSpec], *, withdrawn: frozenset[str] = frozenset()
) -> list[ScenarioResult]:
    return [run_scenario(ruleset, scenario, withdrawn=withdrawn) for scenario in scenarios]


def uncovered_rules(ruleset: RuleSet, scenarios: Iterable[ScenarioSpec]) -> list[str]:
    """Active rules that no scenario expects to fire."""
    expected = {rule for scenario in scenarios for rule in scenario.expected_rules}
    return [rule.id for rule in ruleset.rules if rule.id not in expected]


def overall_words(overall: str) -> str:
    """An overall result as clinicians read it: the level's wording, or "No cautions"."""
    if overall in Level.values:
        return str(Level(overall).label)
    return "No cautions" if overall == NO_CAUTION else overall
