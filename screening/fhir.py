"""The questionnaire as an HL7 FHIR R4 Questionnaire resource (SDC), for form fillers and health records.

Pure: it reads a rule-set document (the export shape) and returns a plain dict. Identifiers are
the contract: a question's identifier is its `linkId`, an option's identifier its `code`, in a code
system of that question's own (so `yes` under one question is not `yes` under another).

Every question is a top-level item, so a QuestionnaireResponse is a flat list of answered questions
whatever the skip logic. Which questions a filler enables is exactly what our engine shows
(screening/engine.py `walk`): a question is shown when all of its "shown when" conditions hold, and
no rule that ends the check has fired on the answers before it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.conf import settings

from screening.documents import REVIEW_WORDS
from screening.translations import TRANSLATIONS, outdated_name, translated_name

QUESTIONNAIRE_ID = "ruxolitinib-cream"


def questionnaire_url() -> str:
    """The Questionnaire's canonical address, where the app also serves it (RUXGUIDE_FHIR_BASE_URL)."""
    return f"{settings.RUXGUIDE_FHIR_BASE_URL}/Questionnaire/{QUESTIONNAIRE_ID}"


def answer_system(question_id: str) -> str:
    """The code system of one question's options: codes are option identifiers, one label each."""
    return f"{settings.RUXGUIDE_FHIR_BASE_URL}/CodeSystem/ruxguide-answers-{question_id}"


SDC_PROFILE = "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire|3.0.0"
TRANSLATION_EXTENSION = "http://hl7.org/fhir/StructureDefinition/translation"
OPTION_EXCLUSIVE_EXTENSION = "http://hl7.org/fhir/StructureDefinition/questionnaire-optionExclusive"
ITEM_CONTROL_EXTENSION = "http://hl7.org/fhir/StructureDefinition/questionnaire-itemControl"
ITEM_CONTROL_SYSTEM = "http://hl7.org/fhir/questionnaire-item-control"
ENABLE_WHEN_EXPRESSION_EXTENSION = (
    "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-enableWhenExpression"
)
# Whether a second clinician approved the version: a tag in `meta`, and a sentence in `description` when not.
REVIEW_SYSTEM = "https://ruxguide.example/fhir/CodeSystem/clinical-review"
REVIEW_TAGS = {
    True: {"system": REVIEW_SYSTEM, "code": "second-review", "display": REVIEW_WORDS[True]},
    False: {"system": REVIEW_SYSTEM, "code": "no-second-review", "display": REVIEW_WORDS[False]},
}
NO_SECOND_REVIEW = "This version was published without a second review: no second clinician approved it."
TITLE = "Ruxolitinib cream (Opzelura) patient self-check"
TITLES = {"zh-hans": "芦可替尼乳膏（Opzelura）患者自查"}
DESCRIPTION = (
    "Questions a patient answers before or while using ruxolitinib cream (Opzelura), in the order Ruxguide "
    "asks them, with the same skip logic: a questionnaire for form fillers, not medical advice on its own."
)
PUBLISHER = "Ruxguide"
# FHIR names languages with BCP 47 tags, in their usual case.
FHIR_LANGUAGE = {"zh-hans": "zh-Hans"}


def questionnaire(
    document: Mapping[str, Any], *, version: int | None = None, date: str = "", second_review: bool | None = None
) -> dict[str, Any]:
    """A FHIR R4 Questionnaire (SDC profile): one top-level item per active question, in order.

    `second_review` (for a published version) tags whether a second clinician approved it; a version
    published without a second review also says so in `description`.
    """
    active = [question for question in document.get("questions", []) if question.get("active", True)]
    skip_logic = _SkipLogic(document, active)
    meta: dict[str, Any] = {"profile": [SDC_PROFILE]}
    if version is not None:
        meta["versionId"] = str(version)
    if second_review is not None:
        meta["tag"] = [dict(REVIEW_TAGS[second_review])]
    resource: dict[str, Any] = {
        "resourceType": "Questionnaire",
        "id": QUESTIONNAIRE_ID,
        "meta": meta,
        "language": "en",
        "url": questionnaire_url(),
    }
    if version is not None:
        resource["version"] = str(version)
    resource |= {
        "name": "RuxguideRuxolitinibCreamSelfCheck",
        "title": TITLE,
        **_translations("_title", TITLES),
        "status": "active",
        "subjectType": ["Patient"],
    }
    if date:
        resource["date"] = date
    resource |= {
        "publisher": PUBLISHER,
        "description": DESCRIPTION if second_review is not False else f"{DESCRIPTION} {NO_SECOND_REVIEW}",
        "item": [_item(question, skip_logic) for question in active],
    }
    return resource


def _translations(element: str, texts: Mapping[str, str]) -> dict[str, Any]:
    """`_element` with one translation extension per language that has a text, or nothing."""
    extensions = [
        {
            "url": TRANSLATION_EXTENSION,
            "extension": [
                {"url": "lang", "valueCode": FHIR_LANGUAGE[language]},
                {"url": "content", "valueString": text},
            ],
        }
        for language, text in texts.items()
        if text
    ]
    return {element: {"extension": extensions}} if extensions else {}


def _translated(item: Mapping[str, Any], name: str, element: str) -> dict[str, Any]:
    """The item's up-to-date translations of one text, as `_element`."""
    return _translations(
        f"_{element}",
        {
            language: item.get(translated_name(name, language)) or ""
            for language in TRANSLATIONS
            # An out-of-date translation is not offered: readers of that language get the current English.
            if not item.get(outdated_name(name, language))
        },
    )


def _item_control(code: str) -> dict[str, Any]:
    return {
        "url": ITEM_CONTROL_EXTENSION,
        "valueCodeableConcept": {"coding": [{"system": ITEM_CONTROL_SYSTEM, "code": code}]},
    }


def _item(question: Mapping[str, Any], skip_logic: _SkipLogic) -> dict[str, Any]:
    multiple = bool(question.get("multiple", False))
    enabling = skip_logic.enabling(question)
    item: dict[str, Any] = {
        "extension": [_item_control("check-box" if multiple else "radio-button"), *enabling.pop("extension", [])],
        "linkId": question["id"],
        "text": question["text"],
        **_translated(question, "text", "text"),
        "type": "choice",
        "required": True,
        "repeats": multiple,
        **enabling,
        "answerOption": [_answer_option(question["id"], option) for option in question["options"]],
    }
    if question.get("help_text"):
        item["item"] = [
            {
                "extension": [_item_control("help")],
                "linkId": f"{question['id']}.help",
                "text": question["help_text"],
                **_translated(question, "help_text", "text"),
                "type": "display",
            }
        ]
    return item


def _answer_option(question_id: str, option: Mapping[str, Any]) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "valueCoding": {
            "system": answer_system(question_id),
            "code": option["id"],
            "display": option["label"],
            **_translated(option, "label", "display"),
        }
    }
    if option.get("exclusive", False):
        # "None of these": a filler clears the other answers when it is chosen, as our form refuses both.
        answer["extension"] = [{"url": OPTION_EXCLUSIVE_EXTENSION, "valueBoolean": True}]
    return answer


class _SkipLogic:
    """When a filler enables each question: exactly when our engine shows it (screening/engine.py `walk`).

    The engine shows a question when each of its conditions holds on the answers to questions that
    are shown themselves, and no rule that ends the check fired on the answers before it. FHIR's
    `enableWhen` cannot say "and" inside "or", and fillers differ on whether the answer left in a
    question disabled by an expression still enables others (LHC-Forms 40 lets it), so only a
    question with one condition on an unconditional question, and no ending rule before it, has plain
    `enableWhen`. The others have SDC's `enableWhenExpression`: FHIRPath over the response that
    spells out the engine's logic, each answer read only where its question is shown.
    """

    def __init__(self, document: Mapping[str, Any], active: Sequence[Mapping[str, Any]]) -> None:
        self.questions = {question["id"]: question for question in active}
        self.position = {question["id"]: index for index, question in enumerate(active)}
        # Active rules that end the check, with the position of the last question they read (where they fire).
        # A rule reading a question that is not in the questionnaire can never fire, so it is left out.
        self.endings: list[tuple[int, Mapping[str, Any]]] = []
        for rule in document.get("rules", []):
            questions = [condition["question"] for condition in rule.get("conditions", [])]
            if not rule.get("ends_check") or not rule.get("active", True) or not questions:
                continue
            if all(question in self.position for question in questions):
                self.endings.append((max(self.position[question] for question in questions), rule))
        self._shown: dict[str, list[str]] = {}

    def enabling(self, question: Mapping[str, Any]) -> dict[str, Any]:
        """The item's `enableWhen`, or its `extension` with the `enableWhenExpression`, or nothing."""
        here = self.position[question["id"]]
        conditions = list(question.get("show_when", []))
        earlier_endings = [rule for last, rule in self.endings if last < here]
        if not conditions and not earlier_endings:
            return {}
        if (
            len(conditions) == 1
            and not earlier_endings
            and conditions[0]["options"]
            and self.position.get(conditions[0]["question"], here) < here
            and not self.questions[conditions[0]["question"]].get("show_when")
        ):
            return _enable_when(conditions[0])
        parts = self._shown_regardless_of_endings(question)
        parts += [f"({_all(self._fires(rule))}).not()" for rule in earlier_endings]
        return _expression(_all(parts))

    def _shown_regardless_of_endings(self, question: Mapping[str, Any]) -> list[str]:
        """FHIRPath terms that all hold when every condition holds on answers to shown questions."""
        if question["id"] not in self._shown:
            here = self.position[question["id"]]
            self._shown[question["id"]] = [
                term for condition in question.get("show_when", []) for term in self._holds(condition, before=here)
            ]
        return list(self._shown[question["id"]])

    def _holds(self, condition: Mapping[str, Any], *, before: int | None = None) -> list[str]:
        """FHIRPath terms for "the condition's question is shown and its answer includes one of the options".

        In a "shown when" condition (`before` the asking question's position) the engine reads only
        earlier answers; a rule reads every answer that counts.
        """
        target = self.questions.get(condition["question"])
        if target is None or not condition["options"] or (before is not None and self.position[target["id"]] >= before):
            # A condition on a withdrawn (or later) question never holds: the engine never shows what needs it.
            return ["false"]
        codes = " or ".join(f"code = {_fhirpath_string(option)}" for option in condition["options"])
        answered = (
            f"%resource.item.where(linkId = {_fhirpath_string(target['id'])}).answer.value.where({codes}).exists()"
        )
        return [*self._shown_regardless_of_endings(target), answered]

    def _fires(self, rule: Mapping[str, Any]) -> list[str]:
        """FHIRPath terms that all hold when every condition of the rule holds on the answers that count."""
        return [term for condition in rule["conditions"] for term in self._holds(condition)]


def _all(terms: Sequence[str]) -> str:
    """The terms joined by "and", each once, in order ("true" for none)."""
    return " and ".join(dict.fromkeys(terms)) or "true"


def _enable_when(condition: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "enableWhen": [
            {
                "question": condition["question"],
                "operator": "=",
                "answerCoding": {"system": answer_system(condition["question"]), "code": option},
            }
            for option in condition["options"]
        ],
        "enableBehavior": "any",
    }


def _expression(fhirpath: str) -> dict[str, Any]:
    return {
        "extension": [
            {
                "url": ENABLE_WHEN_EXPRESSION_EXTENSION,
                "valueExpression": {"language": "text/fhirpath", "expression": fhirpath},
            }
        ]
    }


def _fhirpath_string(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"
