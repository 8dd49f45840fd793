"""The questionnaire as an HL7 FHIR R4 Questionnaire resource.

Pure: it reads a rule-set document (the export shape) and returns a plain dict. Identifiers are
the contract: a question's identifier is its `linkId`, an option's identifier its `code`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings

from screening.documents import REVIEW_WORDS
from screening.translations import TRANSLATIONS, outdated_name, translated_name

OPTION_SYSTEM = "https://ruxguide.example/fhir/CodeSystem/answer-options"
QUESTIONNAIRE_ID = "ruxolitinib-cream"


def questionnaire_url() -> str:
    """The Questionnaire's canonical address, where the app also serves it (RUXGUIDE_FHIR_BASE_URL)."""
    return f"{settings.RUXGUIDE_FHIR_BASE_URL}/Questionnaire/{QUESTIONNAIRE_ID}"


def answer_system(question_id: str) -> str:
    """The code system of one question's options: codes are option identifiers, one label each."""
    return f"{settings.RUXGUIDE_FHIR_BASE_URL}/CodeSystem/ruxguide-answers-{question_id}"


TRANSLATION_EXTENSION = "http://hl7.org/fhir/StructureDefinition/translation"
# Whether a second clinician approved the version: a tag in `meta`, and a sentence in `description` when not.
REVIEW_SYSTEM = "https://ruxguide.example/fhir/CodeSystem/clinical-review"
REVIEW_TAGS = {
    True: {"system": REVIEW_SYSTEM, "code": "second-review", "display": REVIEW_WORDS[True]},
    False: {"system": REVIEW_SYSTEM, "code": "no-second-review", "display": REVIEW_WORDS[False]},
}
NO_SECOND_REVIEW = "This version was published without a second review: no second clinician approved it."
# FHIR names languages with BCP 47 tags, in their usual case.
FHIR_LANGUAGE = {"zh-hans": "zh-Hans"}


def _translated(item: Mapping[str, Any], name: str, element: str) -> dict[str, Any]:
    """The `_element` with a translation extension per language the item has an up-to-date text in, or nothing."""
    extensions = [
        {
            "url": TRANSLATION_EXTENSION,
            "extension": [
                {"url": "lang", "valueCode": FHIR_LANGUAGE[language]},
                {"url": "content", "valueString": item[translated_name(name, language)]},
            ],
        }
        for language in TRANSLATIONS
        # An out-of-date translation is not offered: readers of that language get the current English.
        if item.get(translated_name(name, language)) and not item.get(outdated_name(name, language))
    ]
    return {f"_{element}": {"extension": extensions}} if extensions else {}


def questionnaire(
    document: Mapping[str, Any], *, version: int | None = None, date: str = "", second_review: bool | None = None
) -> dict[str, Any]:
    """A FHIR R4 Questionnaire with `enableWhen` for the skip logic.

    Each "shown when" condition is "the answer is any of these options", and a question needs all
    of its conditions, so a question with several conditions is nested in one group per extra
    condition: a group is enabled by any of its options, and the nesting makes them all required.
    A rule that ends the check puts every later question in a group that is enabled only when the
    rule's answer was not given, so a form filler stops where our engine stops.

    `second_review` (for a published version) tags whether a second clinician approved it; a version
    published without a second review also says so in `description`.
    """
    options_of = {q["id"]: {o["id"]: o["label"] for o in q["options"]} for q in document.get("questions", [])}
    active = [question for question in document.get("questions", []) if question.get("active", True)]
    endings = _endings_by_trigger(document, [question["id"] for question in active])
    items: list[dict[str, Any]] = []
    container = items
    for question in active:
        container.append(_item(question, options_of))
        for rule in endings.get(question["id"], []):
            # Later questions are enabled only when the answer that ends the check was not given.
            group: dict[str, Any] = {
                "linkId": f"unless-{rule['id']}",
                "type": "group",
                **_enable_unless(rule, options_of),
                "item": [],
            }
            container.append(group)
            container = group["item"]
    resource: dict[str, Any] = {
        "resourceType": "Questionnaire",
        "id": "ruxguide-ruxolitinib-cream",
        "url": "https://ruxguide.example/fhir/Questionnaire/ruxolitinib-cream",
        "name": "RuxguideRuxolitinibCreamSelfCheck",
        "title": "Ruxolitinib cream (Opzelura) patient self-check",
        "status": "active",
        "subjectType": ["Patient"],
        "item": items,
    }
    if version is not None:
        resource["version"] = str(version)
    if date:
        resource["date"] = date
    if second_review is not None:
        resource["meta"] = {"tag": [dict(REVIEW_TAGS[second_review])]}
        if not second_review:
            resource["description"] = NO_SECOND_REVIEW
    return resource


def _item(question: Mapping[str, Any], options_of: Mapping[str, Mapping[str, str]]) -> dict[str, Any]:
    item: dict[str, Any] = {
        "linkId": question["id"],
        "text": question["text"],
        **_translated(question, "text", "text"),
        "type": "choice",
        "required": True,
        "repeats": bool(question.get("multiple", False)),
        "answerOption": [
            {
                "valueCoding": {
                    "system": OPTION_SYSTEM,
                    "code": o["id"],
                    "display": o["label"],
                    **_translated(o, "label", "display"),
                }
            }
            for o in question["options"]
        ],
    }
    if question.get("help_text"):
        item["item"] = [
            {
                "linkId": f"{question['id']}.help",
                "text": question["help_text"],
                **_translated(question, "help_text", "text"),
                "type": "display",
                "extension": [
                    {
                        "url": "http://hl7.org/fhir/StructureDefinition/questionnaire-itemControl",
                        "valueCodeableConcept": {
                            "coding": [{"system": "http://hl7.org/fhir/questionnaire-item-control", "code": "help"}]
                        },
                    }
                ],
            }
        ]
    conditions = list(question.get("show_when", []))
    if not conditions:
        return item
    item.update(_enable_when(conditions[-1], options_of))
    for depth, condition in enumerate(reversed(conditions[:-1]), start=1):
        item = {
            "linkId": f"{question['id']}.when{depth}",
            "type": "group",
            "item": [item],
            **_enable_when(condition, options_of),
        }
    return item


def _enable_when(condition: Mapping[str, Any], options_of: Mapping[str, Mapping[str, str]]) -> dict[str, Any]:
    labels = options_of.get(condition["question"], {})
    return {
        "enableWhen": [
            {
                "question": condition["question"],
                "operator": "=",
                "answerCoding": {"system": OPTION_SYSTEM, "code": option, "display": labels.get(option, option)},
            }
            for option in condition["options"]
        ],
        "enableBehavior": "any",
    }


def _endings_by_trigger(document: Mapping[str, Any], order: list[str]) -> dict[str, list[Mapping[str, Any]]]:
    """Active rules that end the check, by the last question (in order) they read: where they can fire."""
    position = {question_id: index for index, question_id in enumerate(order)}
    endings: dict[str, list[Mapping[str, Any]]] = {}
    for rule in document.get("rules", []):
        questions = [c["question"] for c in rule.get("conditions", [])]
        if not rule.get("ends_check") or not rule.get("active", True) or not questions:
            continue
        if all(question in position for question in questions):
            endings.setdefault(max(questions, key=position.__getitem__), []).append(rule)
    return endings


def _enable_unless(rule: Mapping[str, Any], options_of: Mapping[str, Mapping[str, str]]) -> dict[str, Any]:
    """enableWhen for "this rule did not fire".

    With one condition that is exact: the answer is none of its options. With several it is "some
    condition fails", written per option with "any", which is exact when each condition names one
    option (FHIR's enableWhen cannot nest "and" inside "or" without an expression language).
    """
    conditions = rule["conditions"]
    checks = [
        {
            "question": condition["question"],
            "operator": "!=",
            "answerCoding": {
                "system": OPTION_SYSTEM,
                "code": option,
                "display": options_of.get(condition["question"], {}).get(option, option),
            },
        }
        for condition in conditions
        for option in condition["options"]
    ]
    return {"enableWhen": checks, "enableBehavior": "all" if len(conditions) == 1 else "any"}
