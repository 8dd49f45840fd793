"""The safety net: the changes between the live rule set and the draft that could leave a patient unwarned.

Pure: two rule-set documents in, a list of items out; no ORM, request or template. Each item has a
stable key (the same change gives the same key on every page, so a written reason or a reviewer's
tick can be matched to it), a sentence in clinicians' words, and what it concerns.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from screening.engine import Level

# A rule at one of these levels, or one that ends the check, is part of the safety net.
GUARDING_LEVELS = frozenset({Level.URGENT.value, Level.STOP_AND_CALL.value})

RULE = "rule"
QUESTION = "question"
TEST_PATIENT = "test patient"


@dataclass(frozen=True)
class SafetyItem:
    """One change that weakens the safety net."""

    key: str
    sentence: str
    concerns: str  # RULE, QUESTION or TEST_PATIENT
    target: str  # the rule or question identifier, or the test patient's name


def _by(items: Iterable[Mapping[str, Any]], key: str) -> dict[str, Mapping[str, Any]]:
    return {str(item[key]): item for item in items}


def _active(item: Mapping[str, Any]) -> bool:
    return bool(item.get("active", True))


def _level_words(level: str) -> str:
    try:
        return str(Level(level).label)
    except ValueError:
        return level


def guards(rule: Mapping[str, Any]) -> bool:
    """Whether an active rule is part of the safety net: urgent, stop and call, or it ends the check."""
    return _active(rule) and (rule.get("level") in GUARDING_LEVELS or bool(rule.get("ends_check")))


def _severity(level: str) -> int:
    try:
        return Level(level).severity
    except ValueError:
        return 0


def _rule_items(live: Mapping[str, Any], draft: Mapping[str, Any]) -> list[SafetyItem]:
    items: list[SafetyItem] = []
    now = _by(draft.get("rules", []), "id")
    for rule in live.get("rules", []):
        if not guards(rule):
            continue
        rule_id = str(rule["id"])
        name = f"The rule “{rule.get('title') or rule_id}” ({rule_id}, {_level_words(str(rule.get('level')))}"
        name += ", ends the check)" if rule.get("ends_check") else ")"
        new = now.get(rule_id)
        if new is None:
            items.append(SafetyItem(f"rule:{rule_id}:removed", f"{name} is removed.", RULE, rule_id))
            continue
        if not _active(new):
            items.append(
                SafetyItem(f"rule:{rule_id}:deactivated", f"{name} is switched off: it no longer fires.", RULE, rule_id)
            )
            continue
        if _severity(str(new.get("level"))) < _severity(str(rule.get("level"))):
            items.append(
                SafetyItem(
                    f"rule:{rule_id}:lowered",
                    f"{name} is lowered to “{_level_words(str(new.get('level')))}”.",
                    RULE,
                    rule_id,
                )
            )
        if rule.get("ends_check") and not new.get("ends_check"):
            items.append(
                SafetyItem(
                    f"rule:{rule_id}:no-longer-ends-check",
                    f"{name} no longer ends the check: patients who trigger it are asked the remaining questions.",
                    RULE,
                    rule_id,
                )
            )
    return items


def _question_items(live: Mapping[str, Any], draft: Mapping[str, Any]) -> list[SafetyItem]:
    items: list[SafetyItem] = []
    now = _by(draft.get("questions", []), "id")
    questions = _by(live.get("questions", []), "id")
    guarded_by: dict[str, list[str]] = {}
    for rule in live.get("rules", []):
        if guards(rule):
            for condition in rule.get("conditions", []):
                guarded_by.setdefault(str(condition["question"]), []).append(str(rule["id"]))
    for question_id, rules in guarded_by.items():
        question = questions.get(question_id)
        if question is None or not _active(question):
            continue
        rules = list(dict.fromkeys(rules))
        several = len(rules) > 1
        name = f"The question “{question.get('text') or question_id}” ({question_id}), which the rule"
        name += f"{'s' if several else ''} {', '.join(rules)} depend{'' if several else 's'} on,"
        new = now.get(question_id)
        if new is None:
            items.append(SafetyItem(f"question:{question_id}:removed", f"{name} is removed.", QUESTION, question_id))
        elif not _active(new):
            items.append(
                SafetyItem(
                    f"question:{question_id}:deactivated",
                    f"{name} is switched off: patients are no longer asked it.",
                    QUESTION,
                    question_id,
                )
            )
    return items


def _expectation(scenario: Mapping[str, Any]) -> tuple[str, frozenset[str]]:
    return str(scenario.get("expected_overall", "")), frozenset(scenario.get("expected_rules", []))


def _test_patient_items(live: Mapping[str, Any], draft: Mapping[str, Any]) -> list[SafetyItem]:
    items: list[SafetyItem] = []
    now = _by(draft.get("scenarios", []), "name")
    for scenario in live.get("scenarios", []):
        if not _active(scenario):
            continue
        name = str(scenario["name"])
        new = now.get(name)
        said = f"The test patient “{name}”"
        if new is None:
            items.append(SafetyItem(f"test-patient:{name}:removed", f"{said} is removed.", TEST_PATIENT, name))
        elif not _active(new):
            items.append(
                SafetyItem(
                    f"test-patient:{name}:deactivated",
                    f"{said} is switched off: it no longer checks the rules.",
                    TEST_PATIENT,
                    name,
                )
            )
        elif _expectation(new) != _expectation(scenario):
            items.append(
                SafetyItem(
                    f"test-patient:{name}:expectation",
                    f"{said} now expects {_expected_words(new)} (it expected {_expected_words(scenario)}).",
                    TEST_PATIENT,
                    name,
                )
            )
    return items


def _expected_words(scenario: Mapping[str, Any]) -> str:
    overall = str(scenario.get("expected_overall", ""))
    level = "no advice" if overall in ("", "none") else f"“{_level_words(overall)}”"
    rules = list(scenario.get("expected_rules", []))
    return f"{level} from {'the rules ' + ', '.join(rules) if rules else 'no rule'}"


def safety_items(live: Mapping[str, Any], draft: Mapping[str, Any]) -> list[SafetyItem]:
    """Every change from `live` to `draft` that weakens the safety net: rules, then questions, then test patients."""
    return [*_rule_items(live, draft), *_question_items(live, draft), *_test_patient_items(live, draft)]
