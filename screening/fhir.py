"""The questionnaire as an HL7 FHIR R4 Questionnaire resource.

Pure: it reads a rule-set document (the export shape) and returns a plain dict. Identifiers are
the contract: a question's identifier is its `linkId`, an option's identifier its `code`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from screening.engine import TRANSLATIONS, translated_name

OPTION_SYSTEM = "https://ruxguide.example/fhir/CodeSystem/answer-options"
TRANSLATION_EXTENSION = "http://hl7.org/fhir/StructureDefinition/translation"
# FHIR names languages with BCP 47 tags, in their usual case.
FHIR_LANGUAGE = {"zh-hans": "zh-Hans"}


def _translated(item: Mapping[str, Any], name: str, element: str) -> dict[str, Any]:
    """The `_element` with a translation extension per language the item has a text in, or nothing."""
    extensions = [
        {
            "url": TRANSLATION_EXTENSION,
            "extension": [
                {"url": "lang", "valueCode": FHIR_LANGUAGE[language]},
                {"url": "content", "valueString": item[translated_name(name, language)]},
            ],
        }
        for language in TRANSLATIONS
        if item.get(translated_name(name, language))
    ]
    return {f"_{element}": {"extension": extensions}} if extensions else {}


def questionnaire(document: Mapping[str, Any], *, version: int | None = None, date: str = "") -> dict[str, Any]:
    """A FHIR R4 Questionnaire with `enableWhen` for the skip logic.

    Each "shown when" condition is "the answer is any of these options", and a question needs all
    of its conditions, so a question with several conditions is nested in one group per extra
    condition: a group is enabled by any of its options, and the nesting makes them all required.
    """
    options_of = {q["id"]: {o["id"]: o["label"] for o in q["options"]} for q in document.get("questions", [])}
    items = [_item(question, options_of) for question in document.get("questions", []) if question.get("active", True)]
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
