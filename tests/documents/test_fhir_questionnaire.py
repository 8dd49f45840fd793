"""The FHIR Questionnaire as form fillers read it: SDC metadata, answer codes, exclusive options, controls.

Pure: a rule-set document in, a resource out, checked with fhir.resources' R4B models. Which
questions a real filler enables is checked in tests/browser/test_lhc_forms.py.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from fhir.resources.R4B.questionnaire import Questionnaire

from screening.fhir import (
    ENABLE_WHEN_EXPRESSION_EXTENSION,
    ITEM_CONTROL_EXTENSION,
    OPTION_EXCLUSIVE_EXTENSION,
    QUESTIONNAIRE_ID,
    SDC_PROFILE,
    TRANSLATION_EXTENSION,
    answer_system,
    questionnaire,
    questionnaire_url,
)
from tests.support.documents import Document, default_document, item_of


def items_of(resource: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["linkId"]: item for item in resource["item"]}


def extensions(element: dict[str, Any], url: str) -> list[dict[str, Any]]:
    return [extension for extension in element.get("extension", []) if extension["url"] == url]


def item_control(item: dict[str, Any]) -> str:
    [control] = extensions(item, ITEM_CONTROL_EXTENSION)
    [coding] = control["valueCodeableConcept"]["coding"]
    assert coding["system"] == "http://hl7.org/fhir/questionnaire-item-control"
    code: str = coding["code"]
    return code


def translations(element: dict[str, Any]) -> dict[str, str]:
    found = {}
    for extension in extensions(element, TRANSLATION_EXTENSION):
        parts = {part["url"]: part for part in extension["extension"]}
        found[parts["lang"]["valueCode"]] = parts["content"]["valueString"]
    return found


def expression_of(item: dict[str, Any]) -> str | None:
    found = extensions(item, ENABLE_WHEN_EXPRESSION_EXTENSION)
    if not found:
        return None
    [extension] = found
    text: str = extension["valueExpression"]["expression"]
    return text


@pytest.fixture
def document() -> Document:
    return default_document()


# ---------------------------------------------------------------------------------------------
# The resource: where it lives, who publishes it, in which language
# ---------------------------------------------------------------------------------------------


def test_the_resource_names_its_canonical_url_version_and_sdc_profile(document: Document) -> None:
    resource = questionnaire(document, version=4, date="2026-11-20")
    Questionnaire.model_validate(resource)
    assert resource["id"] == QUESTIONNAIRE_ID
    assert resource["url"] == questionnaire_url()
    assert resource["version"] == resource["meta"]["versionId"] == "4"
    assert resource["date"] == "2026-11-20"
    assert resource["meta"]["profile"] == ["http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire|3.0.0"]
    assert SDC_PROFILE in resource["meta"]["profile"]


def test_the_canonical_url_and_answer_systems_follow_the_one_setting(document: Document, settings: Any) -> None:
    settings.RUXGUIDE_FHIR_BASE_URL = "https://ruxguide.example.org/fhir"
    resource = questionnaire(document, version=1)
    assert resource["url"] == "https://ruxguide.example.org/fhir/Questionnaire/ruxolitinib-cream"
    systems = {o["valueCoding"]["system"] for item in resource["item"] for o in item["answerOption"]}
    assert {system.rsplit("/", 1)[0] for system in systems} == {"https://ruxguide.example.org/fhir/CodeSystem"}


def test_it_says_its_language_publisher_and_what_it_is(document: Document) -> None:
    resource = questionnaire(document, version=1, second_review=True)
    assert resource["language"] == "en"
    assert resource["publisher"] == "Ruxguide"
    assert resource["description"].startswith("Questions a patient answers before or while using ruxolitinib cream")
    assert "without a second review" not in resource["description"]
    assert resource["meta"]["tag"][0]["code"] == "second-review"


def test_a_version_published_without_a_second_review_says_so_in_its_description_and_tag(document: Document) -> None:
    resource = questionnaire(document, version=1, second_review=False)
    Questionnaire.model_validate(resource)
    assert resource["description"].endswith(
        "This version was published without a second review: no second clinician approved it."
    )
    assert resource["meta"]["tag"][0]["code"] == "no-second-review"


def test_the_title_has_a_chinese_translation(document: Document) -> None:
    resource = questionnaire(document)
    assert resource["title"] == "Ruxolitinib cream (Opzelura) patient self-check"
    assert translations(resource["_title"]) == {"zh-Hans": "芦可替尼乳膏（Opzelura）患者自查"}


# ---------------------------------------------------------------------------------------------
# The items: flat, coded per question, with controls and exclusive options
# ---------------------------------------------------------------------------------------------


def test_every_question_is_a_top_level_item_with_no_groups_anywhere(document: Document) -> None:
    document = copy.deepcopy(document)
    item_of(document, "questions", "breastfeeding")["show_when"].append(
        {"question": "pregnancy", "options": ["could_be", "no"]}
    )
    resource = questionnaire(document)
    Questionnaire.model_validate(resource)
    assert [item["linkId"] for item in resource["item"]] == [q["id"] for q in document["questions"]]
    assert {item["type"] for item in resource["item"]} == {"choice"}
    assert '"group"' not in json.dumps(resource)
    for item in resource["item"]:
        assert {child["type"] for child in item.get("item", [])} <= {"display"}


def test_each_question_has_its_own_answer_system_and_the_codes_are_the_option_identifiers(document: Document) -> None:
    resource = questionnaire(document)
    systems = set()
    for question in document["questions"]:
        item = items_of(resource)[question["id"]]
        codings = [option["valueCoding"] for option in item["answerOption"]]
        assert {coding["system"] for coding in codings} == {answer_system(question["id"])}
        assert [coding["code"] for coding in codings] == [option["id"] for option in question["options"]]
        systems.add(answer_system(question["id"]))
    # `yes` under the allergy question and `yes` under the warning signs are different codes now.
    assert len(systems) == len(document["questions"])


def test_enable_when_answers_use_the_system_of_the_question_they_read(document: Document) -> None:
    for rule in document["rules"]:
        rule["ends_check"] = False
    for item in questionnaire(document)["item"]:
        for condition in item.get("enableWhen", []):
            assert condition["answerCoding"]["system"] == answer_system(condition["question"])


def test_single_answer_questions_are_radio_buttons_and_multiple_answer_ones_check_boxes(document: Document) -> None:
    items = items_of(questionnaire(document))
    for question in document["questions"]:
        expected = "check-box" if question.get("multiple") else "radio-button"
        assert item_control(items[question["id"]]) == expected, question["id"]


def test_only_the_none_of_these_options_are_marked_exclusive(document: Document) -> None:
    items = items_of(questionnaire(document))
    marked = {
        (link_id, option["valueCoding"]["code"])
        for link_id, item in items.items()
        for option in item["answerOption"]
        if extensions(option, OPTION_EXCLUSIVE_EXTENSION) == [{"url": OPTION_EXCLUSIVE_EXTENSION, "valueBoolean": True}]
    }
    exclusive = {(q["id"], o["id"]) for q in document["questions"] for o in q["options"] if o.get("exclusive")}
    assert marked == exclusive
    assert marked == {
        ("other_medicines", "none"),
        ("infection_history", "none"),
        ("health_conditions", "none"),
        ("skin_to_treat", "none"),
        ("side_effects", "none"),
    }


def test_help_texts_stay_help_items_inside_their_question(document: Document) -> None:
    items = items_of(questionnaire(document))
    for question in document["questions"]:
        children = items[question["id"]].get("item", [])
        if question.get("help_text"):
            [help_item] = children
            assert help_item["type"] == "display"
            assert item_control(help_item) == "help"
            assert help_item["text"] == question["help_text"]
        else:
            assert children == []


# ---------------------------------------------------------------------------------------------
# Skip logic and the ending rule, as the engine has them
# ---------------------------------------------------------------------------------------------


def test_no_item_has_both_enable_when_and_an_expression(document: Document) -> None:
    for ends in (True, False):
        changed = copy.deepcopy(document)
        item_of(changed, "rules", "urgent-symptoms")["ends_check"] = ends
        for item in questionnaire(changed)["item"]:
            assert not ("enableWhen" in item and expression_of(item) is not None), item["linkId"]


def test_a_question_whose_condition_reads_a_withdrawn_question_is_never_enabled(document: Document) -> None:
    # The engine never shows it (its condition has no answer to hold on); validation warns clinicians.
    item_of(document, "questions", "age_group")["active"] = False
    items = items_of(questionnaire(document))
    assert "age_group" not in items
    assert expression_of(items["pregnancy"]) is not None
    assert expression_of(items["pregnancy"]).startswith("false and ")  # type: ignore[union-attr]


def test_an_ending_rule_reading_two_questions_disables_only_what_comes_after_the_later_one(document: Document) -> None:
    for rule in document["rules"]:
        rule["ends_check"] = False
    rule = item_of(document, "rules", "vitiligo-under-12")
    rule["ends_check"] = True
    items = questionnaire(document)["item"]
    link_ids = [item["linkId"] for item in items]
    age = link_ids.index("age_group")
    assert all(expression_of(item) is None for item in items[: age + 1])
    fires = (
        "%resource.item.where(linkId = 'condition').answer.value.where(code = 'vitiligo').exists() and "
        "%resource.item.where(linkId = 'age_group').answer.value.where(code = 'under_2' or code = '2_to_11').exists()"
    )
    for item in items[age + 1 :]:
        assert f"({fires}).not()" in (expression_of(item) or ""), item["linkId"]


def test_a_withdrawn_ending_rule_disables_nothing(document: Document) -> None:
    item_of(document, "rules", "urgent-symptoms")["active"] = False
    assert ENABLE_WHEN_EXPRESSION_EXTENSION not in json.dumps(questionnaire(document))


# ---------------------------------------------------------------------------------------------
# Translations
# ---------------------------------------------------------------------------------------------


def test_chinese_option_labels_and_help_texts_are_translation_extensions(document: Document) -> None:
    items = items_of(questionnaire(document))
    question = item_of(document, "questions", "allergy")
    item = items["allergy"]
    assert translations(item["_text"]) == {"zh-Hans": question["text_zh_hans"]}
    assert translations(item["item"][0]["_text"]) == {"zh-Hans": question["help_text_zh_hans"]}
    labels = [translations(option["valueCoding"]["_display"]) for option in item["answerOption"]]
    assert labels == [{"zh-Hans": option["label_zh_hans"]} for option in question["options"]]


def test_out_of_date_chinese_labels_and_help_texts_are_left_out(document: Document) -> None:
    question = item_of(document, "questions", "allergy")
    question["help_text_zh_hans_outdated"] = True
    question["options"][0]["label_zh_hans_outdated"] = True
    item = items_of(questionnaire(document))["allergy"]
    assert "_text" not in item["item"][0]
    assert "_display" not in item["answerOption"][0]["valueCoding"]
    assert "_display" in item["answerOption"][1]["valueCoding"]


def test_a_condition_on_a_later_question_never_enables_as_the_engine_never_shows_it(document: Document) -> None:
    # Validation refuses it; a hand-made document must still give a resource, not endless recursion.
    item_of(document, "questions", "condition")["show_when"] = [{"question": "condition", "options": ["vitiligo"]}]
    item_of(document, "questions", "age_group")["show_when"] = [{"question": "allergy", "options": ["no"]}]
    items = items_of(questionnaire(document))
    assert (expression_of(items["condition"]) or "").startswith("false and ")
    assert (expression_of(items["age_group"]) or "").startswith("false and ")
    assert "enableWhen" not in items["condition"] and "enableWhen" not in items["age_group"]
