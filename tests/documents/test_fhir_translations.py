"""The FHIR questionnaire offers a translation only while it says what the English says."""

from __future__ import annotations

from screening.fhir import TRANSLATION_EXTENSION, questionnaire
from tests.support.documents import default_document, item_of


def translations_of_question(resource: dict, link_id: str) -> list[str]:
    item = next(i for i in resource["item"] if i.get("linkId") == link_id)
    return [
        part["valueString"]
        for extension in item.get("_text", {}).get("extension", [])
        if extension["url"] == TRANSLATION_EXTENSION
        for part in extension["extension"]
        if part["url"] == "content"
    ]


def test_an_out_of_date_chinese_text_is_left_out_of_the_questionnaire() -> None:
    document = default_document()
    question = item_of(document, "questions", "urgent_symptoms")
    chinese = question["text_zh_hans"]
    assert translations_of_question(questionnaire(document, version=1), "urgent_symptoms") == [chinese]
    question["text_zh_hans_outdated"] = True
    assert translations_of_question(questionnaire(document, version=1), "urgent_symptoms") == []
