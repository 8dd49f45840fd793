"""Restoring a published version writes it into the draft in place: objects keep their ids, links and history."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from screening import drafts, publishing
from screening.concurrency import EditConflict
from screening.defaults import shipped_document
from screening.engine import RuleSet
from screening.models import Condition, GuidanceSection, Option, PublishedRuleSet, Question, Rule, Source
from tests.support.client import page_text as text


def restore_url(version: int) -> str:
    return reverse("admin:screening_publishedruleset_restore", args=[version])


def reason(version: int) -> str:
    return f"Restored version {version} as the draft"


def change(instance: Any, why: str, **values: Any) -> None:
    for name, value in values.items():
        setattr(instance, name, value)
    instance._change_reason = why
    instance.save()


def ids() -> dict[str, dict[str, int]]:
    """Every identified draft object's primary key, by kind and identifier."""
    return {
        "sources": dict(Source.objects.values_list("code", "pk")),
        "sections": dict(GuidanceSection.objects.values_list("identifier", "pk")),
        "questions": dict(Question.objects.values_list("identifier", "pk")),
        "options": {f"{o.question.identifier}:{o.identifier}": o.pk for o in Option.objects.select_related("question")},
        "rules": dict(Rule.objects.values_list("identifier", "pk")),
    }


@pytest.fixture
def changed_draft(clinician: User, published_rules: RuleSet) -> PublishedRuleSet:
    """Version 1 of the rules, then a draft that changed a rule's message and was published as version 2."""
    v1 = PublishedRuleSet.objects.get(version=published_rules.version)
    change(Rule.objects.get(identifier="allergy"), "Shorter", message="Do not use it.")
    publishing.publish(user=clinician, note="Shorter allergy message")
    return v1


def test_a_restored_rule_keeps_its_id_its_admin_link_and_its_history(
    clinician: User, clinician_client: Client, changed_draft: PublishedRuleSet
) -> None:
    rule = Rule.objects.get(identifier="allergy")
    change_url = reverse("admin:screening_rule_change", args=[rule.pk])

    response = clinician_client.post(restore_url(changed_draft.version))

    assert response.status_code == 302
    assert Rule.objects.get(identifier="allergy").pk == rule.pk
    assert clinician_client.get(change_url).status_code == 200
    history = text(clinician_client.get(reverse("admin:screening_rule_history", args=[rule.pk])))
    for why in ("Default rule set loaded", "Shorter", reason(changed_draft.version)):
        assert why in history
    latest = Rule.objects.get(pk=rule.pk).history.latest()
    assert (latest.history_type, latest.history_change_reason, latest.history_user) == (
        "~",
        reason(changed_draft.version),
        clinician,
    )
    assert drafts.draft_document() == changed_draft.document


def test_a_restore_keeps_every_identified_object_and_records_only_what_it_changed(
    clinician_client: Client, changed_draft: PublishedRuleSet
) -> None:
    before = ids()
    conditions = set(Condition.objects.values_list("pk", flat=True))

    clinician_client.post(restore_url(changed_draft.version))

    assert ids() == before
    assert set(Condition.objects.values_list("pk", flat=True)) == conditions
    # Only the rule whose message went back has a restore row; nothing unchanged gets one.
    restored = [
        (model.__name__, record.history_change_reason)
        for model in (Source, GuidanceSection, Question, Option, Rule, Condition)
        for record in model.history.filter(history_change_reason=reason(changed_draft.version))  # type: ignore[attr-defined]
    ]
    assert restored == [("Rule", reason(changed_draft.version))]


def test_a_restore_deletes_what_the_version_lacks_and_recreates_what_it_had_with_the_reason(
    clinician_client: Client, changed_draft: PublishedRuleSet
) -> None:
    added = Rule(identifier="extra_caution", title="Extra caution", level="caution", message="Take care.")
    added._change_reason = "A new rule"  # type: ignore[attr-defined]
    added.save()
    removed = Rule.objects.get(identifier="allergy")
    removed_pk = removed.pk
    removed._change_reason = "Not needed"  # type: ignore[attr-defined]
    removed.delete()

    clinician_client.post(restore_url(changed_draft.version))

    assert not Rule.objects.filter(identifier="extra_caution").exists()
    gone = Rule.history.filter(id=added.pk).latest()  # type: ignore[attr-defined]
    assert (gone.history_type, gone.history_change_reason) == ("-", reason(changed_draft.version))
    back = Rule.objects.get(identifier="allergy")
    assert back.pk != removed_pk
    created = back.history.earliest()
    assert (created.history_type, created.history_change_reason) == ("+", reason(changed_draft.version))
    assert drafts.draft_document() == changed_draft.document


def test_an_object_loaded_before_the_restore_cannot_be_saved_over_it(
    clinician_client: Client, changed_draft: PublishedRuleSet
) -> None:
    stale = Rule.objects.get(identifier="allergy")

    clinician_client.post(restore_url(changed_draft.version))

    stale.title = "An edit made on a page opened before the restore"
    with pytest.raises(EditConflict):
        stale.save()


def test_restoring_the_version_the_draft_already_holds_changes_nothing(
    clinician_client: Client, published_rules: RuleSet
) -> None:
    before = {model.__name__: model.history.count() for model in (Source, Question, Option, Rule, Condition)}  # type: ignore[attr-defined]

    response = clinician_client.post(restore_url(published_rules.version))

    assert response.status_code == 302
    assert {model.__name__: model.history.count() for model in (Source, Question, Option, Rule, Condition)} == before  # type: ignore[attr-defined]


def test_an_import_writes_in_place_too(published_rules: RuleSet) -> None:
    document = drafts.draft_document()
    rule = Rule.objects.get(identifier="allergy")
    [item] = [r for r in document["rules"] if r["id"] == "allergy"]
    item["message"] = "Imported wording."

    drafts.replace_draft(document, reason="Imported from the review file")

    assert Rule.objects.get(identifier="allergy").pk == rule.pk
    assert Rule.objects.get(pk=rule.pk).message == "Imported wording."
    assert Rule.objects.get(pk=rule.pk).history.latest().history_change_reason == "Imported from the review file"


def test_a_very_different_document_and_back_leaves_the_draft_as_it_was_with_the_shared_objects_kept(
    published_rules: RuleSet,
) -> None:
    live = PublishedRuleSet.objects.get(version=published_rules.version)
    before = ids()

    drafts.replace_draft(shipped_document(1), reason="The first shipped version, for comparison")
    middle = ids()
    drafts.replace_draft(live.document, reason=reason(live.version))

    assert drafts.draft_document() == live.document
    after = ids()
    for kind, objects in before.items():
        shared = objects.keys() & middle[kind].keys()
        assert {key: after[kind][key] for key in shared} == {key: objects[key] for key in shared}, kind


def test_the_restore_page_shows_what_restoring_would_change_in_the_draft(
    clinician_client: Client, changed_draft: PublishedRuleSet
) -> None:
    page = text(clinician_client.get(restore_url(changed_draft.version)))
    row = re.search(r'<tr data-change="Rule:allergy">(.*?)</tr>', page, re.S)
    assert row is not None
    assert re.search(r'<td class="diff-old">(.*?)</td>', row.group(1)).group(1) == "Do not use it."  # type: ignore[union-attr]


def test_a_version_the_checks_now_refuse_is_not_restored_and_the_page_says_why(
    clinician_client: Client, published_rules: RuleSet
) -> None:
    document = drafts.draft_document()
    document["rules"][0]["conditions"] = [{"question": "no_such_question", "options": ["yes"]}]
    broken = PublishedRuleSet.objects.create(version=published_rules.version + 1, document=document, note="Broken")
    before = drafts.draft_document()

    response = clinician_client.post(restore_url(broken.version))

    assert response.status_code == 200
    page = text(response)
    assert f"Version {broken.version} was not restored" in page
    assert "no_such_question" in page
    assert drafts.draft_document() == before


def test_what_a_restore_deletes_carries_its_reason_down_to_the_options_and_conditions_that_go_with_it(
    published_rules: RuleSet,
) -> None:
    question = Question.objects.get(identifier="pregnancy")
    added = Option(question=question, identifier="prefer_not_to_say", label="I would rather not say", order=99)
    added._change_reason = "A new answer"  # type: ignore[attr-defined]
    added.save()
    # The first shipped version lacks some rules, and with them their conditions.
    lacking = set(Rule.objects.values_list("identifier", flat=True)) - {r["id"] for r in shipped_document(1)["rules"]}
    assert lacking
    conditions = set(Condition.objects.filter(rule__identifier__in=lacking).values_list("pk", flat=True))

    drafts.replace_draft(shipped_document(1), reason="Back to the first shipped version")

    deleted = {
        (model.__name__, record.id): record.history_change_reason
        for model in (Option, Condition, Rule)
        for record in model.history.filter(history_type="-")  # type: ignore[attr-defined]
    }
    assert deleted[("Option", added.pk)] == "Back to the first shipped version"
    assert conditions and all(deleted[("Condition", pk)] == "Back to the first shipped version" for pk in conditions)
    assert set(deleted.values()) == {"Back to the first shipped version"}
