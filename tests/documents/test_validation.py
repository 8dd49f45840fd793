"""One validation for every way into the draft: the admin import, the default-content update and publishing.

Each malformed document reported in issue 15 goes through the real admin import page as a clinician:
the page names the problem (never a server error), the draft stays exactly as it was and nothing is
published.
"""

from __future__ import annotations

import codecs
import copy
import io
import json
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse

from screening import defaults, drafts, publishing
from screening.documents import document_problems
from screening.engine import RuleSet
from screening.models import DefaultContentVersion, PublishedRuleSet, Question
from screening.validation import validation_problems
from tests.support.client import page_text
from tests.support.documents import Document, default_document, item_of

IMPORT = "admin:screening_publishedruleset_import"


def renamed_question(document: Document, old: str, new: str) -> Document:
    """The document with a question's identifier changed everywhere it is named."""
    document = copy.deepcopy(document)
    item_of(document, "questions", old)["id"] = new
    for item in [*document["questions"], *document["rules"]]:
        for condition in [*item.get("show_when", []), *item.get("conditions", [])]:
            if condition["question"] == old:
                condition["question"] = new
    for scenario in document["scenarios"]:
        scenario["answers"] = {new if q == old else q: a for q, a in scenario["answers"].items()}
    return document


def post(client: Client, content: Document | str | bytes, name: str = "rules.json") -> Any:
    if isinstance(content, dict):
        content = json.dumps(content)
    data = content.encode() if isinstance(content, str) else content
    upload = SimpleUploadedFile(name, data, content_type="application/json")
    return client.post(reverse(IMPORT), {"document": upload, "reason": "Trying a file"})


def refused(client: Client, content: Document | str | bytes) -> str:
    """Import the content, expect it refused on a page that lists why, and return the page's text."""
    before = drafts.draft_document()
    versions = PublishedRuleSet.objects.count()
    response = post(client, content)
    assert response.status_code in (200, 400), response.status_code
    assert drafts.draft_document() == before
    assert PublishedRuleSet.objects.count() == versions
    return page_text(response)


# ---------------------------------------------------------------------------------------------
# Each reproduced case, through the admin import page
# ---------------------------------------------------------------------------------------------


def test_a_question_identifier_with_a_slash_is_refused_so_patient_pages_keep_working(
    clinician_client: Client, published_rules: RuleSet
) -> None:
    document = renamed_question(default_document(), "condition", "con/dition")
    text = refused(clinician_client, document)
    assert "Question 2 (“con/dition”), identifier: Use lower-case letters, digits" in text


def test_a_javascript_source_address_is_refused(clinician_client: Client, published_rules: RuleSet) -> None:
    document = default_document()
    document["sources"][0]["url"] = "javascript:alert(document.cookie)"
    text = refused(clinician_client, document)
    assert "Source 1 (“S1”), url: Enter a valid URL." in text


def test_identifiers_with_quotes_and_spaces_are_refused(clinician_client: Client, published_rules) -> None:
    document = default_document()
    document["rules"][0]["id"] = 'it\'s "urgent" now'
    document["sections"][0]["id"] = "approved uses"
    text = refused(clinician_client, document)
    assert 'Rule 1 (“it\'s "urgent" now”), identifier: Use lower-case letters' in text
    assert "Section 1 (“approved uses”), identifier: Use lower-case letters" in text


def test_a_five_thousand_character_identifier_is_refused(clinician_client: Client, published_rules) -> None:
    document = renamed_question(default_document(), "allergy", "a" * 5000)
    text = refused(clinician_client, document)
    assert "Ensure this value has at most 64 characters (it has 5000)." in text
    assert "a" * 100 not in text  # the page names it without repeating all of it


def test_a_megabyte_of_text_is_refused(clinician_client: Client, published_rules: RuleSet) -> None:
    document = default_document()
    document["rules"][0]["title"] = "x" * 1_000_000
    document["rules"][1]["message"] = "y" * 100_000
    text = refused(clinician_client, document)
    assert "Rule 1 (“urgent-symptoms”), title: Ensure this value has at most 200 characters (it has 1000000)." in text
    assert "Rule 2 " in text and "message: Ensure this value has at most 10000 characters (it has 100000)." in text


def test_a_list_where_a_text_belongs_is_refused(clinician_client: Client, published_rules: RuleSet) -> None:
    document = default_document()
    document["questions"][0]["text"] = ["a", "b"]
    text = refused(clinician_client, document)
    assert "Question 1 (“urgent_symptoms”), text: should be text, not a list." in text


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(
    clinician_client: Client, published_rules: RuleSet, settings: Any
) -> None:
    settings.RUXGUIDE_MAX_IMPORT_BYTES = 2 * 1024 * 1024
    document = json.dumps(default_document())
    # One byte over: the page takes the body (the file and its form), and the form refuses the file.
    content = document + " " * (2 * 1024 * 1024 + 1 - len(document))
    text = refused(clinician_client, content)
    assert "The file could not be read: it is larger than 2 MB." in text


def test_a_body_far_over_the_size_limit_is_refused_before_anything_reads_it(
    clinician_client: Client, published_rules: RuleSet
) -> None:
    before = drafts.draft_document()
    response = post(clinician_client, json.dumps(default_document()) + " " * (3 * 1024 * 1024))
    assert response.status_code == 413
    assert not response.wsgi_request.META["wsgi.input"].read_started
    assert drafts.draft_document() == before


def test_a_deeply_nested_file_is_refused(clinician_client: Client, published_rules: RuleSet) -> None:
    text = refused(clinician_client, "[" * 200_000 + "]" * 200_000)
    assert "The file could not be read: it is nested too deeply." in text
    text = refused(clinician_client, '{"format": ' + "[" * 200_000 + "]" * 200_000 + "}")
    assert "The file could not be read" in text


def test_values_of_the_wrong_type_are_refused(clinician_client: Client, published_rules: RuleSet) -> None:
    document = default_document()
    document["questions"][0]["multiple"] = "yes"
    document["questions"][1]["options"] = {"yes": "Yes"}
    document["rules"][0]["conditions"] = "urgent_symptoms"
    document["rules"][1]["sources"] = [1, 2]
    document["sources"] = {"S1": "a source"}
    text = refused(clinician_client, document)
    assert "Question 1 (“urgent_symptoms”), several answers allowed: should be true or false, not text." in text
    assert "Question 2 (“condition”), options: should be a list, not an object." in text
    assert "Rule 1 (“urgent-symptoms”), conditions: should be a list, not text." in text
    assert "Rule 2 (“allergy”), sources: item 1 should be text, not a number." in text
    assert "The rule set's sources: should be a list, not an object." in text


def test_null_texts_are_refused(clinician_client: Client, published_rules: RuleSet) -> None:
    document = default_document()
    document["rules"][0]["message"] = None
    document["sources"][0]["url"] = None
    text = refused(clinician_client, document)
    assert "Rule 1 (“urgent-symptoms”), message: should be text, not null." in text
    assert "Source 1 (“S1”), url: should be text, not null." in text


def test_duplicate_section_identifiers_are_refused(clinician_client: Client, published_rules: RuleSet) -> None:
    document = default_document()
    document["sections"][1]["id"] = document["sections"][0]["id"]
    text = refused(clinician_client, document)
    assert "The section identifier 'approved_uses' is used 2 times." in text


def test_duplicate_test_patient_names_are_refused(clinician_client: Client, published_rules: RuleSet) -> None:
    document = default_document()
    document["scenarios"][1]["name"] = document["scenarios"][0]["name"]
    text = refused(clinician_client, document)
    assert f"The test patient name '{document['scenarios'][0]['name']}' is used 2 times." in text


def test_two_none_of_these_options_on_one_question_are_refused(clinician_client: Client, published_rules) -> None:
    document = default_document()
    for option in item_of(document, "questions", "side_effects")["options"][:2]:
        option["exclusive"] = True
    text = refused(clinician_client, document)
    assert "Question 'side_effects' has 3 “none of these” options; it can have one at most." in text


def test_a_withdrawn_rule_naming_a_missing_question_is_refused(clinician_client: Client, published_rules) -> None:
    document = default_document()
    document["rules"][0]["active"] = False
    document["rules"][0]["conditions"] = [{"question": "made_up", "options": ["yes"]}]
    text = refused(clinician_client, document)
    assert "Rule 'urgent-symptoms' names 'made_up', which the rule set does not have." in text


def test_malformed_test_patients_are_refused(clinician_client: Client, published_rules: RuleSet) -> None:
    document = default_document()
    document["scenarios"][0]["answers"] = ["allergy", "yes"]
    document["scenarios"][1]["answers"]["allergy"] = [True]
    document["scenarios"][2]["expected_rules"] = "allergy"
    document["scenarios"][3]["expected_overall"] = "fine"
    del document["scenarios"][4]["name"]
    text = refused(clinician_client, document)
    assert "Test patient 1 (“Adult with eczema and nothing to report”), answers: should be an object" in text
    assert "answers to 'allergy': item 1 should be text, not true or false." in text
    assert "expected rules: should be a list, not text." in text
    assert "Test patient 5 has no name." in text
    # Values are checked against their fields once every value has the right type.
    document = default_document()
    document["scenarios"][3]["expected_overall"] = "fine"
    text = refused(clinician_client, document)
    assert "Test patient 4 (“" in text and "expected overall result: Value 'fine' is not a valid choice." in text


def test_a_file_that_is_not_utf8_is_refused_with_a_clear_message(clinician_client: Client, published_rules) -> None:
    content = json.dumps(default_document(), ensure_ascii=False).encode("utf-16")
    text = refused(clinician_client, content)
    assert "The file could not be read: it is not UTF-8 text" in text


def test_hostile_characters_in_texts_are_refused(clinician_client: Client, published_rules: RuleSet) -> None:
    document = default_document()
    document["rules"][0]["message"] = "before\x00after"
    document["rules"][1]["message"] = "\ud800"
    text = refused(clinician_client, json.dumps(document))
    assert "Rule 1 (“urgent-symptoms”), message: contains a character that cannot be stored" in text
    assert "Rule 2 (“allergy”), message: contains a character that cannot be stored" in text


def test_a_long_list_of_problems_names_the_first_ones_and_counts_the_rest(clinician_client, published_rules) -> None:
    document = default_document()
    for rule in document["rules"]:
        rule["level"] = "maybe"
    text = refused(clinician_client, document)
    assert "Rule 'urgent-symptoms' has an unknown level 'maybe'." in text
    assert f"… and {len(document['rules']) - 10} more." in text


@pytest.mark.slow
def test_a_file_with_a_byte_order_mark_imports(clinician_client: Client, published_rules: RuleSet) -> None:
    document = default_document()
    document["rules"][0]["title"] = "Get medical help now, please"
    response = post(clinician_client, codecs.BOM_UTF8 + json.dumps(document).encode())
    assert response.status_code == 302
    assert drafts.draft_document()["rules"][0]["title"] == "Get medical help now, please"


# ---------------------------------------------------------------------------------------------
# The same checks everywhere
# ---------------------------------------------------------------------------------------------


def test_the_default_document_passes_with_no_problem() -> None:
    assert validation_problems(default_document()) == []
    assert validation_problems(defaults.default_document()) == []
    assert document_problems(defaults.default_document()) == []


def test_the_validation_reads_its_limits_from_the_models() -> None:
    document = default_document()
    document["questions"][0]["text"] = "x" * (Question._meta.get_field("text").max_length or 0)
    assert validation_problems(document) == []
    document["questions"][0]["text"] += "x"
    assert validation_problems(document) == [
        "Question 1 (“urgent_symptoms”), text: Ensure this value has at most 300 characters (it has 301)."
    ]


def test_publishing_refuses_a_draft_that_would_break_patient_pages(published_rules: RuleSet) -> None:
    # Written straight to the database, as no form would let it through.
    Question.objects.filter(identifier="side_effects").update(identifier="side/effects")
    versions = PublishedRuleSet.objects.count()
    with pytest.raises(publishing.PublishBlocked) as blocked:
        publishing.publish(note="Should not go live")
    assert any("“side/effects”), identifier: Use lower-case letters" in p for p in blocked.value.problems)
    assert PublishedRuleSet.objects.count() == versions


@pytest.mark.slow
def test_the_update_command_refuses_a_malformed_shipped_document_with_a_message(
    published_rules: RuleSet, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The draft was loaded from version 1, so the update merges from it to the shipped version 2.
    DefaultContentVersion.objects.all().delete()
    broken = defaults.default_document()
    broken["rules"][0]["conditions"] = {"question": "urgent_symptoms"}
    broken["questions"][0]["text"] = ["a", "b"]
    monkeypatch.setattr("screening.defaults.default_document", lambda: broken)
    before, err = drafts.draft_document(), io.StringIO()
    with pytest.raises(CommandError) as raised:
        call_command("ensure_default_rules", "--update", stdout=io.StringIO(), stderr=err)
    assert raised.value.returncode == 2
    assert "Rule 1 (“urgent-symptoms”), conditions: should be a list, not an object." in err.getvalue()
    assert "Question 1 (“urgent_symptoms”), text: should be text, not a list." in err.getvalue()
    assert drafts.draft_document() == before
