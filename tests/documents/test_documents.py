"""The rule-set document: export and import (a lossless round trip), differences, and FHIR.

Most tests here are pure: they read plain dicts. Those that load a document into the draft, or use
the admin's export and import pages, use the database.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from fhir.resources.R4B.questionnaire import Questionnaire

from screening import drafts, live
from screening.documents import FORMAT, document_diff, document_problems
from screening.engine import RuleSet
from screening.fhir import ENABLE_WHEN_EXPRESSION_EXTENSION, answer_system, questionnaire
from screening.models import PublishedRuleSet, Question, Rule, Scenario
from tests.support.client import page_text
from tests.support.documents import Document, default_document, item_of

ADULT_AGES = ["12_to_17", "18_to_64"]


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def modified_document(base: Document) -> Document:
    """A copy with an inactive question, an inactive rule, an extra test patient, changed wording,
    and a question shown only when two earlier answers both match."""
    document = copy.deepcopy(base)
    # The infection question is withdrawn, and so are the rules that read it.
    item_of(document, "questions", "infection_now")["active"] = False
    item_of(document, "rules", "active-infection")["active"] = False
    item_of(document, "rules", "infection-while-using")["active"] = False
    item_of(document, "rules", "allergy")["message"] = "You told us you are allergic to the cream. Do not use it."
    item_of(document, "questions", "allergy")["text"] = "Have you ever reacted badly to ruxolitinib cream?"
    item_of(document, "questions", "breastfeeding")["show_when"].append(
        {"question": "pregnancy", "options": ["could_be", "no"]}
    )
    extra = {
        "name": "Adult who is allergic, added by a clinician",
        "answers": {**document["scenarios"][0]["answers"], "allergy": ["yes"]},
        "expected_overall": "do_not_use",
        "expected_rules": ["allergy"],
        "active": False,
    }
    # Test patients come back sorted by name (see the round trip of the default document), so the
    # extra one goes where that order puts it: this copy checks the content, not the order.
    document["scenarios"] = sorted([*document["scenarios"], extra], key=lambda scenario: scenario["name"])
    return document


def as_imported(document: Document) -> Document:
    """The modified copy as the draft holds it once imported: the two texts whose English alone changed
    have their Chinese versions marked out of date."""
    imported = copy.deepcopy(document)
    item_of(imported, "rules", "allergy")["message_zh_hans_outdated"] = True
    item_of(imported, "questions", "allergy")["text_zh_hans_outdated"] = True
    return imported


def upload(document: Document | str, name: str = "rules.json") -> SimpleUploadedFile:
    content = document if isinstance(document, str) else json.dumps(document)
    return SimpleUploadedFile(name, content.encode(), content_type="application/json")


def question_items(resource: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each question item by linkId: every question is a top-level item (no wrapper groups)."""
    assert all(item["type"] == "choice" for item in resource["item"])
    return {item["linkId"]: item for item in resource["item"]}


def enabled_when(item: dict[str, Any]) -> tuple[str, list[str]]:
    """The one question an item's enableWhen reads and the codes that enable it."""
    questions = {condition["question"] for condition in item["enableWhen"]}
    assert len(questions) == 1, questions
    return questions.pop(), [condition["answerCoding"]["code"] for condition in item["enableWhen"]]


def enable_when_expression(item: dict[str, Any]) -> str | None:
    """The FHIRPath of the item's SDC enableWhenExpression, if it has one."""
    found = [e["valueExpression"] for e in item.get("extension", []) if e["url"] == ENABLE_WHEN_EXPRESSION_EXTENSION]
    if not found:
        return None
    [expression] = found
    assert expression["language"] == "text/fhirpath"
    text: str = expression["expression"]
    return text


def answered(question: str, *codes: str) -> str:
    """The FHIRPath the export writes for "the answer to `question` includes one of `codes`"."""
    either = " or ".join(f"code = '{code}'" for code in codes)
    return f"%resource.item.where(linkId = '{question}').answer.value.where({either}).exists()"


NOT_ENDED = f"({answered('urgent_symptoms', 'yes')}).not()"


# ---------------------------------------------------------------------------------------------
# Import and export: a lossless round trip
# ---------------------------------------------------------------------------------------------


def test_importing_the_default_document_gives_back_exactly_that_document(published_rules: RuleSet) -> None:
    document = default_document()
    drafts.replace_draft(document, reason="Round trip of the default rule set")
    assert drafts.draft_document() == document


def test_the_default_document_loses_nothing_but_the_order_of_sources_and_test_patients(published_rules) -> None:
    document = default_document()
    drafts.replace_draft(document, reason="Round trip of the default rule set")
    changes = document_diff(document, drafts.draft_document())
    changed_fields = {(c["kind"], f["field"]) for c in changes for f in c["fields"]}
    assert changed_fields <= {("Rule", "sources"), ("Section", "sources")}
    assert all(sorted(f["old"]) == sorted(f["new"]) for c in changes for f in c["fields"])
    assert {c["change"] for c in changes} <= {"changed", "reordered"}


def test_an_exported_draft_imports_back_unchanged(published_rules: RuleSet) -> None:
    exported = drafts.draft_document()
    drafts.replace_draft(exported, reason="Round trip of the export")
    assert drafts.draft_document() == exported


def test_a_modified_document_imports_back_unchanged(published_rules: RuleSet) -> None:
    document = modified_document(drafts.draft_document())
    assert document_problems(document) == []
    drafts.replace_draft(document, reason="Round trip of a modified copy")

    assert drafts.draft_document() == as_imported(document)
    assert Question.objects.get(identifier="infection_now").active is False
    assert Rule.objects.get(identifier="active-infection").active is False
    assert Rule.objects.get(identifier="allergy").message == "You told us you are allergic to the cream. Do not use it."
    assert Question.objects.get(identifier="breastfeeding").show_when.count() == 2
    assert Scenario.objects.get(name="Adult who is allergic, added by a clinician").active is False


def test_importing_records_the_reason_in_the_history(published_rules: RuleSet) -> None:
    drafts.replace_draft(modified_document(drafts.draft_document()), reason="Imported from the pharmacy")
    allergy = Rule.objects.get(identifier="allergy")
    assert allergy.history.latest().history_change_reason == "Imported from the pharmacy"


def test_the_admin_exports_the_draft_as_one_json_document(admin_client: Client, published_rules: RuleSet) -> None:
    response = admin_client.get(reverse("admin:screening_publishedruleset_export"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert "attachment" in response["Content-Disposition"]
    assert json.loads(response.content) == drafts.draft_document()
    assert json.loads(response.content)["format"] == FORMAT


@pytest.mark.slow
def test_the_admin_import_replaces_the_draft_and_leaves_the_live_version_alone(
    admin_client: Client, published_rules: RuleSet
) -> None:
    document = modified_document(drafts.draft_document())
    response = admin_client.post(
        reverse("admin:screening_publishedruleset_import"),
        {"document": upload(document), "reason": "Rules agreed at the March meeting"},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:screening_publishedruleset_publish")
    assert drafts.draft_document() == as_imported(document)
    assert PublishedRuleSet.objects.count() == 1
    assert live.current_ruleset().question("infection_now") is not None


@pytest.mark.slow
def test_an_export_from_the_admin_imports_back_through_the_admin(admin_client: Client, published_rules) -> None:
    exported = admin_client.get(reverse("admin:screening_publishedruleset_export")).content.decode()
    response = admin_client.post(
        reverse("admin:screening_publishedruleset_import"),
        {"document": upload(exported), "reason": "Same rules again"},
    )
    assert response.status_code == 302
    assert drafts.draft_document() == json.loads(exported)


def test_an_import_of_invalid_json_shows_the_problem_and_changes_nothing(admin_client: Client, published_rules):
    before = drafts.draft_document()
    response = admin_client.post(
        reverse("admin:screening_publishedruleset_import"),
        {"document": upload('{"questions": [', name="broken.json"), "reason": "Trying a file"},
    )
    assert response.status_code == 200
    assert "The file could not be read" in page_text(response)
    assert drafts.draft_document() == before


def test_an_import_of_a_json_list_shows_the_problem_and_changes_nothing(admin_client: Client, published_rules):
    before = drafts.draft_document()
    response = admin_client.post(
        reverse("admin:screening_publishedruleset_import"),
        {"document": upload("[1, 2, 3]"), "reason": "Trying a file"},
    )
    assert response.status_code == 200
    assert "the file is not a rule set" in page_text(response)
    assert drafts.draft_document() == before


def test_an_import_of_a_document_with_problems_lists_them_and_changes_nothing(admin_client, published_rules) -> None:
    before = drafts.draft_document()
    document = copy.deepcopy(before)
    item_of(document, "rules", "allergy")["sources"] = ["S99"]
    item_of(document, "questions", "pregnancy")["show_when"] = [{"question": "side_effects", "options": ["none"]}]
    response = admin_client.post(
        reverse("admin:screening_publishedruleset_import"),
        {"document": upload(document), "reason": "Trying a file"},
    )
    assert response.status_code == 200
    text = page_text(response)
    assert "Rule 'allergy' cites unknown source 'S99'." in text
    assert "Skip rule of question 'pregnancy' points forward to 'side_effects'" in text
    assert drafts.draft_document() == before


@pytest.mark.slow
def test_an_import_that_fails_half_way_changes_nothing(admin_client: Client, published_rules: RuleSet) -> None:
    before = drafts.draft_document()
    document = copy.deepcopy(before)
    del document["scenarios"][-1]["expected_overall"]  # only read after the old draft was deleted
    response = admin_client.post(
        reverse("admin:screening_publishedruleset_import"),
        {"document": upload(document), "reason": "Trying a file"},
    )
    assert response.status_code == 200
    assert "The file could not be read" in page_text(response)
    assert drafts.draft_document() == before


def test_importing_the_fhir_export_by_mistake_is_refused_and_changes_nothing(admin_client, published_rules) -> None:
    before = drafts.draft_document()
    fhir = admin_client.get(reverse("admin:screening_publishedruleset_fhir")).content.decode()
    response = admin_client.post(
        reverse("admin:screening_publishedruleset_import"),
        {"document": upload(fhir, name="ruxguide-questionnaire-v1.json"), "reason": "Wrong file"},
    )
    assert response.status_code == 200
    assert drafts.draft_document() == before


def test_a_clinician_without_edit_rights_cannot_import(client: Client, published_rules: RuleSet) -> None:
    viewer = User.objects.create_user("viewer", password="a long enough password", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_publishedruleset"))
    client.force_login(viewer)
    before = drafts.draft_document()
    response = client.post(
        reverse("admin:screening_publishedruleset_import"),
        {"document": upload(modified_document(before)), "reason": "Not allowed"},
    )
    assert response.status_code == 403
    assert drafts.draft_document() == before


# ---------------------------------------------------------------------------------------------
# Problems in a document
# ---------------------------------------------------------------------------------------------


def test_the_default_document_has_no_problems() -> None:
    assert document_problems(default_document()) == []


def test_problems_name_each_mistake_in_plain_words() -> None:
    document = default_document()
    item_of(document, "rules", "allergy")["level"] = "maybe"
    item_of(document, "rules", "pregnancy")["conditions"] = []
    item_of(document, "rules", "breastfeeding")["conditions"] = [{"question": "breastfeeding", "options": ["often"]}]
    item_of(document, "questions", "pregnancy")["show_when"] = [{"question": "pregnancy", "options": ["no"]}]
    document["questions"].append(copy.deepcopy(item_of(document, "questions", "allergy")))
    assert set(document_problems(document)) == {
        "Rule 'allergy' has an unknown level 'maybe'.",
        "Rule 'pregnancy' has no conditions, so it would never fire.",
        "Rule 'breastfeeding' names 'often', not an option of 'breastfeeding'.",
        "Skip rule of question 'pregnancy' points at the question itself.",
        "The question identifier 'allergy' is used 2 times.",
    }


def test_a_rule_on_a_withdrawn_question_is_a_problem_unless_the_rule_is_withdrawn_too() -> None:
    document = default_document()
    item_of(document, "questions", "infection_now")["active"] = False
    assert document_problems(document) == [
        "Rule 'active-infection' names 'infection_now', which is not an active question.",
        "Rule 'infection-while-using' names 'infection_now', which is not an active question.",
    ]
    item_of(document, "rules", "active-infection")["active"] = False
    item_of(document, "rules", "infection-while-using")["active"] = False
    assert document_problems(document) == []


# ---------------------------------------------------------------------------------------------
# Differences between two documents
# ---------------------------------------------------------------------------------------------


def test_equal_documents_have_no_differences() -> None:
    assert document_diff(default_document(), default_document()) == []


def test_a_changed_rule_shows_each_changed_field_with_its_old_and_new_value() -> None:
    old = default_document()
    new = copy.deepcopy(old)
    item_of(new, "rules", "allergy")["level"] = "take_care"
    item_of(new, "rules", "allergy")["message"] = "New wording."
    assert document_diff(old, new) == [
        {
            "kind": "Rule",
            "id": "allergy",
            "change": "changed",
            "fields": [
                {"field": "level", "old": "do_not_use", "new": "take_care"},
                {"field": "message", "old": item_of(old, "rules", "allergy")["message"], "new": "New wording."},
            ],
        }
    ]


def test_added_and_removed_items_are_listed_by_kind_and_identifier() -> None:
    old = default_document()
    new = copy.deepcopy(old)
    new["rules"] = [rule for rule in new["rules"] if rule["id"] != "older-adult"]
    new["sources"].append({"code": "S12", "document": "A new study", "url": "", "summary": "A new fact."})
    new["scenarios"].append({**new["scenarios"][0], "name": "Another adult"})
    changes = {(c["kind"], c["id"]): c["change"] for c in document_diff(old, new)}
    assert changes == {
        ("Rule", "older-adult"): "removed",
        ("Source", "S12"): "added",
        ("Test patient", "Another adult"): "added",
    }


def test_a_field_present_on_one_side_only_shows_none_on_the_other() -> None:
    old = default_document()
    new = copy.deepcopy(old)
    item_of(new, "questions", "allergy")["active"] = False
    [change] = document_diff(old, new)
    assert change["fields"] == [
        {"field": "active", "old": item_of(old, "questions", "allergy").get("active"), "new": False}
    ]


def test_a_changed_skip_rule_and_test_patient_are_shown_as_changes() -> None:
    old = default_document()
    new = copy.deepcopy(old)
    item_of(new, "questions", "pregnancy")["show_when"][0]["options"] = ["18_to_64"]
    item_of(new, "scenarios", old["scenarios"][0]["name"], key="name")["expected_overall"] = "take_care"
    changes = document_diff(old, new)
    assert [(c["kind"], c["id"], [f["field"] for f in c["fields"]]) for c in changes] == [
        ("Question", "pregnancy", ["show_when"]),
        ("Test patient", old["scenarios"][0]["name"], ["expected_overall"]),
    ]
    assert changes[0]["fields"][0]["new"] == [{"question": "age_group", "options": ["18_to_64"]}]


def test_moving_a_question_is_shown_as_a_new_order() -> None:
    old = default_document()
    new = copy.deepcopy(old)
    new["questions"].insert(0, new["questions"].pop(3))
    assert document_diff(old, new) == [{"kind": "Question", "id": "(order)", "change": "reordered", "fields": []}]


def test_the_difference_from_nothing_lists_every_item_as_added() -> None:
    document = default_document()
    changes = document_diff({}, document)
    assert {c["change"] for c in changes} == {"added"}
    assert len(changes) == sum(
        len(document[name]) for name in ("questions", "rules", "sections", "sources", "scenarios")
    )


# ---------------------------------------------------------------------------------------------
# HL7 FHIR R4 Questionnaire
# ---------------------------------------------------------------------------------------------


def test_the_questionnaire_is_a_valid_fhir_r4_resource() -> None:
    resource = questionnaire(default_document(), version=3, date="2026-01-31")
    validated = Questionnaire.model_validate(resource)
    assert validated.status == "active"
    assert resource["resourceType"] == "Questionnaire"
    assert resource["version"] == "3"
    assert resource["date"] == "2026-01-31"


def chinese_translation(element: dict[str, Any]) -> str:
    """The zh-Hans content of a FHIR primitive's translation extension."""
    (translation,) = element["extension"]
    assert translation["url"] == "http://hl7.org/fhir/StructureDefinition/translation"
    parts = {part["url"]: part for part in translation["extension"]}
    assert parts["lang"]["valueCode"] == "zh-Hans"
    return parts["content"]["valueString"]


def test_the_questionnaire_carries_the_chinese_texts_as_fhir_translation_extensions() -> None:
    document = default_document()
    resource = questionnaire(document)
    Questionnaire.model_validate(resource)
    items = question_items(resource)
    for question in document["questions"]:
        item = items[question["id"]]
        assert chinese_translation(item["_text"]) == question["text_zh_hans"]
        displays = [chinese_translation(o["valueCoding"]["_display"]) for o in item["answerOption"]]
        assert displays == [o["label_zh_hans"] for o in question["options"]]


def test_a_text_without_a_chinese_version_has_no_translation_extension() -> None:
    document = default_document()
    document["questions"][0]["text_zh_hans"] = ""
    item = question_items(questionnaire(document))[document["questions"][0]["id"]]
    assert "_text" not in item


def test_every_active_question_is_an_item_whose_link_id_and_codes_are_the_identifiers() -> None:
    document = default_document()
    items = question_items(questionnaire(document))
    assert list(items) == [q["id"] for q in document["questions"]]
    for question in document["questions"]:
        item = items[question["id"]]
        assert item["text"] == question["text"]
        assert item["repeats"] is question.get("multiple", False)
        assert [o["valueCoding"]["code"] for o in item["answerOption"]] == [o["id"] for o in question["options"]]
        assert [o["valueCoding"]["display"] for o in item["answerOption"]] == [o["label"] for o in question["options"]]
        assert {o["valueCoding"]["system"] for o in item["answerOption"]} == {answer_system(question["id"])}


def test_questions_with_several_answers_repeat_and_the_others_do_not() -> None:
    items = question_items(questionnaire(default_document()))
    repeating = {link_id for link_id, item in items.items() if item["repeats"]}
    assert repeating == {"other_medicines", "infection_history", "health_conditions", "skin_to_treat", "side_effects"}


def test_the_pregnancy_question_is_enabled_when_the_age_group_is_12_to_64_and_the_check_goes_on() -> None:
    item = question_items(questionnaire(default_document()))["pregnancy"]
    assert "enableWhen" not in item
    assert enable_when_expression(item) == f"{answered('age_group', *ADULT_AGES)} and {NOT_ENDED}"


def test_without_an_ending_rule_a_skip_rule_is_plain_enable_when_with_the_options_that_show_the_question() -> None:
    document = default_document()
    for rule in document["rules"]:
        rule["ends_check"] = False
    items = question_items(questionnaire(document))
    for question in document["questions"]:
        item = items[question["id"]]
        assert enable_when_expression(item) is None
        if question.get("show_when"):
            [condition] = question["show_when"]
            assert enabled_when(item) == (condition["question"], condition["options"])
            assert item["enableBehavior"] == "any"
            assert {c["operator"] for c in item["enableWhen"]} == {"="}
            assert {c["answerCoding"]["system"] for c in item["enableWhen"]} == {answer_system(condition["question"])}
        else:
            assert "enableWhen" not in item


def test_a_question_with_two_skip_rules_needs_both_in_one_expression_and_stays_a_top_level_item() -> None:
    document = modified_document(default_document())
    resource = questionnaire(document)
    Questionnaire.model_validate(resource)
    item = question_items(resource)["breastfeeding"]
    assert item in resource["item"]
    assert "enableWhen" not in item
    # The pregnancy question is itself asked only of ages 12 to 64, so its answer counts only then.
    assert enable_when_expression(item) == (
        f"{answered('age_group', *ADULT_AGES)} and {answered('pregnancy', 'could_be', 'no')} and {NOT_ENDED}"
    )


def test_a_withdrawn_question_is_left_out_of_the_questionnaire() -> None:
    document = modified_document(default_document())
    items = question_items(questionnaire(document))
    assert "infection_now" not in items
    assert set(items) == {q["id"] for q in document["questions"] if q.get("active", True)}


def test_enable_when_names_only_questions_that_are_in_the_questionnaire() -> None:
    document = modified_document(default_document())
    for rule in document["rules"]:
        rule["ends_check"] = False
    resource = questionnaire(document)
    items = question_items(resource)
    for item in items.values():
        assert {condition["question"] for condition in item.get("enableWhen", [])} <= set(items)


def test_help_text_is_a_display_item_inside_its_question() -> None:
    document = default_document()
    question = next(q for q in document["questions"] if q.get("help_text"))
    item = question_items(questionnaire(document))[question["id"]]
    [help_item] = item["item"]
    assert help_item["type"] == "display"
    assert help_item["text"] == question["help_text"]


def test_the_admin_exports_the_live_questionnaire_as_fhir_json(admin_client: Client, published_rules) -> None:
    live = PublishedRuleSet.objects.get(version=published_rules.version)
    Question.objects.filter(identifier="allergy").update(text="A draft question patients do not see yet?")
    response = admin_client.get(reverse("admin:screening_publishedruleset_fhir"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/fhir+json"
    assert "attachment" in response["Content-Disposition"]
    resource = json.loads(response.content)
    Questionnaire.model_validate(resource)
    assert resource == questionnaire(
        live.document,
        version=live.version,
        date=live.published_at.date().isoformat(),
        second_review=live.second_review,
    )
    assert resource["version"] == str(live.version)
    assert set(question_items(resource)) == {q["id"] for q in live.document["questions"] if q.get("active", True)}
    assert question_items(resource)["allergy"]["text"] == item_of(live.document, "questions", "allergy")["text"]
