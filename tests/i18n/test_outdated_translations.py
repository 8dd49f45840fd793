"""Translations stay in step with their English: a changed English text marks its Chinese version out of
date, wherever the change comes from (the admin, an import, a restore); until a clinician updates or
confirms it, patients reading Chinese see the current English text, marked as English.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from screening import drafts, publishing
from screening.engine import RuleSet, ruleset_from_document
from screening.models import Option, Question, Rule
from screening.translations import outdated_translations
from screening.validation import validation_problems
from tests.support.admin_forms import admin_form_data
from tests.support.client import HEALTHY_ADULT, as_list, patient_url
from tests.support.documents import default_document, item_of
from tests.support.patients import walk_check

pytestmark = pytest.mark.django_db

CHINESE = "zh-hans"
NEW_MESSAGE = "You told us you reacted badly to this cream before. Do not use it again: it could happen again."
OLD_CHINESE = item_of(default_document(), "rules", "allergy")["message_zh_hans"]
NEW_CHINESE = "您说您以前对这种乳膏有过不良反应。请不要再使用它：这种情况可能再次发生。"


def rule_url(rule_id: str) -> str:
    return reverse("admin:screening_rule_change", args=[Rule.objects.get(identifier=rule_id).pk])


def change_in_admin(client: Client, url: str, *, reason: str = "Plainer wording", **changes: Any) -> Any:
    data = admin_form_data(client.get(url), reason=reason)
    for name, value in changes.items():
        if value is False:
            data.pop(name, None)
        else:
            data[name] = "on" if value is True else value
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    return response


def chinese_result_page(client: Client) -> str:
    """The Chinese result page of a patient who has had an allergic reaction to the cream."""
    given = {question: as_list(value) for question, value in {**HEALTHY_ADULT, "allergy": "yes"}.items()}
    for _ in walk_check(client, given, language=CHINESE):
        pass
    response = client.get(patient_url("result", language=CHINESE))
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def english_message_changed(clinician_client: Client, published_rules: RuleSet) -> Rule:
    change_in_admin(clinician_client, rule_url("allergy"), message=NEW_MESSAGE)
    return Rule.objects.get(identifier="allergy")


def test_editing_a_rules_english_message_marks_its_chinese_message_out_of_date_and_unchecked(
    clinician_client: Client, published_rules: RuleSet
) -> None:
    change_in_admin(clinician_client, rule_url("allergy"), message_zh_hans_checked=True, reason="Checked")
    change_in_admin(clinician_client, rule_url("allergy"), message=NEW_MESSAGE)
    rule = Rule.objects.get(identifier="allergy")
    assert rule.message_zh_hans_outdated is True
    assert rule.message_zh_hans_checked is False
    assert rule.message_zh_hans == OLD_CHINESE
    # Only the text whose English changed.
    assert rule.title_zh_hans_outdated is False
    assert rule.next_steps_zh_hans_outdated is False


def test_editing_an_option_label_on_its_question_page_marks_its_chinese_label_out_of_date(
    clinician_client: Client, published_rules: RuleSet
) -> None:
    question = Question.objects.get(identifier="allergy")
    option = question.options.get(identifier="yes")
    url = reverse("admin:screening_question_change", args=[question.pk])
    data = admin_form_data(clinician_client.get(url), reason="Plainer label")
    index = next(i for i in range(question.options.count()) if data.get(f"options-{i}-id") == str(option.pk))
    data[f"options-{index}-label"] = "Yes, I have reacted to it"
    assert clinician_client.post(url, data).status_code == 302
    assert Option.objects.get(pk=option.pk).label_zh_hans_outdated is True
    assert not Option.objects.filter(label_zh_hans_outdated=True).exclude(pk=option.pk).exists()


def test_the_admin_page_says_the_translation_is_out_of_date_next_to_it(
    clinician_client: Client, english_message_changed: Rule
) -> None:
    page = clinician_client.get(rule_url("allergy")).content.decode()
    assert "Out of date:" in page
    assert "the English changed on" in page
    note_id = "id_message_zh_hans_outdated_note"
    assert f'id="{note_id}"' in page
    # The note is read out with the Chinese field, not only shown beside it.
    field = page[page.index('name="message_zh_hans"') - 400 : page.index('name="message_zh_hans"') + 400]
    assert note_id in field
    assert page.count("Out of date:") == 1


def test_after_publishing_the_chinese_result_page_shows_the_new_english_message_marked_as_english(
    client: Client, clinician: User, english_message_changed: Rule
) -> None:
    publishing.publish(user=clinician, note="Plainer allergy message")
    page = chinese_result_page(client)
    assert f'<p lang="en">{escape(NEW_MESSAGE)}</p>' in page
    assert OLD_CHINESE not in page


def test_a_snapshot_with_an_out_of_date_translation_shows_english_in_chinese(published_rules: RuleSet) -> None:
    document = default_document()
    rule = item_of(document, "rules", "allergy")
    rule["message_zh_hans_outdated"] = True
    chinese = next(r for r in ruleset_from_document(document, language=CHINESE).rules if r.id == "allergy")
    assert chinese.message == rule["message"]
    assert chinese.untranslated == frozenset({"message"})
    assert chinese.title == rule["title_zh_hans"]


def test_the_published_snapshot_keeps_the_flag(clinician: User, english_message_changed: Rule) -> None:
    published = publishing.publish(user=clinician, note="Plainer allergy message")
    assert item_of(published.document, "rules", "allergy")["message_zh_hans_outdated"] is True
    assert "title_zh_hans_outdated" not in item_of(published.document, "rules", "allergy")


def test_updating_the_chinese_text_clears_the_flag_and_the_chinese_page_shows_chinese_again(
    client: Client, clinician: User, clinician_client: Client, english_message_changed: Rule
) -> None:
    change_in_admin(clinician_client, rule_url("allergy"), message_zh_hans=NEW_CHINESE, reason="Chinese in step")
    assert Rule.objects.get(identifier="allergy").message_zh_hans_outdated is False
    publishing.publish(user=clinician, note="Chinese in step")
    page = chinese_result_page(client)
    assert f"<p>{NEW_CHINESE}</p>" in page
    assert escape(NEW_MESSAGE) not in page


def test_ticking_checked_by_a_clinician_confirms_the_translation_and_clears_the_flag(
    client: Client, clinician: User, clinician_client: Client, english_message_changed: Rule
) -> None:
    change_in_admin(clinician_client, rule_url("allergy"), message_zh_hans_checked=True, reason="Still says the same")
    rule = Rule.objects.get(identifier="allergy")
    assert rule.message_zh_hans_outdated is False
    assert rule.message_zh_hans_checked is True
    publishing.publish(user=clinician, note="Chinese confirmed")
    assert f"<p>{OLD_CHINESE}</p>" in chinese_result_page(client)


def test_saving_again_without_a_change_keeps_the_flag(clinician_client: Client, english_message_changed: Rule) -> None:
    change_in_admin(clinician_client, rule_url("allergy"), rationale="A clinician's note only", reason="Rationale")
    assert Rule.objects.get(identifier="allergy").message_zh_hans_outdated is True


def import_document(client: Client, document: dict[str, Any]) -> None:
    upload = json.dumps(document).encode()
    response = client.post(
        reverse("admin:screening_publishedruleset_import"),
        {"document": SimpleUploadedFile("rules.json", upload, content_type="application/json"), "reason": "Import"},
    )
    assert response.status_code == 302, response.content.decode()[:3000]


def test_an_import_with_a_changed_english_text_marks_its_translation_out_of_date(
    clinician_client: Client, published_rules: RuleSet
) -> None:
    document = drafts.draft_document()
    item_of(document, "rules", "allergy")["message"] = NEW_MESSAGE
    item_of(document, "rules", "pregnancy")["message"] = "A new English message."
    item_of(document, "rules", "pregnancy")["message_zh_hans"] = "新的中文信息。"
    import_document(clinician_client, document)
    assert Rule.objects.get(identifier="allergy").message_zh_hans_outdated is True
    # Both texts changed together: the translation is in step.
    assert Rule.objects.get(identifier="pregnancy").message_zh_hans_outdated is False
    assert Rule.objects.filter(message_zh_hans_outdated=True).count() == 1


def test_the_flag_round_trips_export_then_import(clinician_client: Client, english_message_changed: Rule) -> None:
    exported = json.loads(clinician_client.get(reverse("admin:screening_publishedruleset_export")).content)
    assert item_of(exported, "rules", "allergy")["message_zh_hans_outdated"] is True
    drafts.replace_draft(default_document(), reason="Back to the defaults")
    rule = Rule.objects.get(identifier="allergy")
    rule.message_zh_hans_outdated = False
    rule._change_reason = "Cleared for the test"  # type: ignore[attr-defined]
    rule.save()
    import_document(clinician_client, exported)
    assert Rule.objects.get(identifier="allergy").message_zh_hans_outdated is True
    assert drafts.draft_document() == exported


def test_writing_a_document_that_changes_only_the_english_marks_its_translation_out_of_date(
    published_rules: RuleSet,
) -> None:
    document = drafts.draft_document()
    item_of(document, "rules", "allergy")["message"] = NEW_MESSAGE
    drafts.replace_draft(document, reason="New English only")
    rule = Rule.objects.get(identifier="allergy")
    assert rule.message_zh_hans_outdated is True
    assert rule.message_zh_hans_checked is False


def test_restoring_a_version_brings_back_its_english_with_its_translation_in_step(
    clinician_client: Client, english_message_changed: Rule, published_rules: RuleSet
) -> None:
    restore = reverse("admin:screening_publishedruleset_restore", args=[published_rules.version])
    assert clinician_client.post(restore).status_code == 302
    rule = Rule.objects.get(identifier="allergy")
    assert (rule.message, rule.message_zh_hans) == (
        item_of(default_document(), "rules", "allergy")["message"],
        OLD_CHINESE,
    )
    assert rule.message_zh_hans_outdated is False


def test_validation_refuses_a_non_boolean_out_of_date_flag() -> None:
    document = default_document()
    item_of(document, "rules", "allergy")["message_zh_hans_outdated"] = "yes"
    problems = validation_problems(document)
    assert problems == ["Rule 2 (“allergy”), message (简体中文) out of date: should be true or false, not text."]


def test_outdated_translations_lists_each_text_with_its_english_now_and_its_translation(
    english_message_changed: Rule,
) -> None:
    assert outdated_translations(drafts.draft_document()) == [
        {
            "item": "Rule 'allergy'",
            "field": "message",
            "name": "message",
            "language": CHINESE,
            "english": NEW_MESSAGE,
            "translation": OLD_CHINESE,
        }
    ]


def test_the_translations_page_lists_out_of_date_translations_first(
    clinician_client: Client, english_message_changed: Rule
) -> None:
    page = clinician_client.get(reverse("admin:screening_translations")).content.decode()
    rows = page.split('data-status="')[1:]
    assert rows[0].startswith("outdated")
    assert escape(NEW_MESSAGE) in rows[0] and OLD_CHINESE in rows[0]
    assert "Out of date" in rows[0]
    assert all(not row.startswith("outdated") for row in rows[1:])
    assert "<strong>1</strong> out of date" in page


def test_the_save_message_says_the_translation_is_out_of_date_and_what_patients_see(
    clinician_client: Client, published_rules: RuleSet
) -> None:
    data = admin_form_data(clinician_client.get(rule_url("allergy")), reason="Plainer wording")
    data["message"] = NEW_MESSAGE
    response = clinician_client.post(rule_url("allergy"), data, follow=True)
    said = [str(message) for message in response.context["messages"]]
    assert any(
        "the message changed and its Chinese translation did not, so the translation is out of date" in m for m in said
    ), said
    assert not any("marked as not checked again" in m for m in said), said
