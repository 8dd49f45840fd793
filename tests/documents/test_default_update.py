"""Bringing a newer version of the default content into a draft made by older code, keeping clinicians' edits."""

from __future__ import annotations

import copy
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import models

from screening.defaults import (
    UPDATE_REASON,
    content_version,
    default_document,
    installed_content_version,
    shipped_content_version,
    shipped_document,
    update_draft,
)
from screening.documents import FORMAT
from screening.drafts import draft_document, load_document
from screening.live import current_ruleset
from screening.merge import canonical, merge_documents, reference_problems
from screening.models import (
    Condition,
    DefaultContentVersion,
    GuidanceSection,
    Option,
    PublishedRuleSet,
    Question,
    Rule,
    Scenario,
    ShowWhen,
    Source,
)
from screening.publishing import publish

# Each test loads and publishes a whole rule set version, then updates it: about half a second each.
pytestmark = pytest.mark.slow

VERSION_1_PATH = Path(__file__).resolve().parents[2] / "screening" / "default_ruleset_v1.json"
HISTORY_MODELS: tuple[type[models.Model], ...] = (Source, GuidanceSection, Question, Option, ShowWhen, Rule, Condition)
CLINIC_NEXT_STEPS = "Do not use it. Call Dr Chen's clinic on 555 0100 before you do anything else."
CLINIC_REASON = "Our clinic's phone number"


def version_1() -> dict[str, Any]:
    return json.loads(VERSION_1_PATH.read_text(encoding="utf-8"))


def made_up_version_2() -> dict[str, Any]:
    """A small version 2 made from version 1: the update's mechanics, tested apart from the real wording."""
    document = version_1()
    document["content_version"] = 2
    rules = {r["id"]: r for r in document["rules"]}
    rules["urgent-symptoms"]["ends_check"] = True
    rules["allergy"]["next_steps"] = "Do not use it. If you already use the cream, stop it and contact your doctor."
    rules["older-adult"]["message"] = "Older skin is thinner, so side effects can show sooner."
    rules["older-adult"]["education_text"] = "If you are 65 or over, your skin may be thinner."
    health = next(q for q in document["questions"] if q["id"] == "health_conditions")
    health["options"].insert(-1, {"id": "high_cholesterol", "label": "High cholesterol"})
    position = [r["id"] for r in document["rules"]].index("diabetes-or-lung-disease") + 1
    document["rules"].insert(
        position,
        {
            "id": "high-cholesterol",
            "title": "High cholesterol",
            "level": "take_care",
            "conditions": [{"question": "health_conditions", "options": ["high_cholesterol"]}],
            "message": "The medicine can raise cholesterol.",
            "next_steps": "Your doctor may check your cholesterol.",
            "sources": ["L5"],
        },
    )
    # A rule the new version drops, with the test patients that expected it.
    document["rules"] = [r for r in document["rules"] if r["id"] != "area-unsure"]
    document["scenarios"] = [s for s in document["scenarios"] if "area-unsure" not in s["expected_rules"]]
    return document


def empty_the_draft() -> None:
    for model in (Rule, ShowWhen, Question, GuidanceSection, Source):
        model.objects.all().delete()
    Scenario.objects.all().delete()
    DefaultContentVersion.objects.all().delete()


@pytest.fixture
def version_1_database(db: None) -> PublishedRuleSet:
    """A database as the version-1 code left it: version 1 loaded, published and recorded."""
    empty_the_draft()
    load_document(version_1(), reason="Default rule set loaded")
    published = publish(note="Default rule set")
    DefaultContentVersion.objects.create(version=1)
    return published


@pytest.fixture
def clinician_edit(version_1_database: PublishedRuleSet) -> Rule:
    """A clinician rewrote the allergy rule's next steps, a text version 2 also rewrites."""
    rule = Rule.objects.get(identifier="allergy")
    rule.next_steps = CLINIC_NEXT_STEPS
    rule._change_reason = CLINIC_REASON
    rule.save()
    return rule


@pytest.fixture
def made_up_update(monkeypatch: pytest.MonkeyPatch) -> Callable[[], dict[str, Any]]:
    """Ship the made-up version 2 instead of the real file."""
    monkeypatch.setattr("screening.defaults.default_document", made_up_version_2)
    return made_up_version_2


def run(*arguments: str) -> str:
    out = io.StringIO()
    call_command("ensure_default_rules", *arguments, stdout=out)
    return out.getvalue()


def history_marks() -> dict[type[models.Model], int]:
    return {m: m.history.model.objects.aggregate(top=models.Max("history_id"))["top"] or 0 for m in HISTORY_MODELS}


def history_since(marks: dict[type[models.Model], int]) -> list[Any]:
    return [row for m, top in marks.items() for row in m.history.model.objects.filter(history_id__gt=top)]


def primary_keys() -> dict[str, dict[str, int]]:
    return {
        "questions": dict(Question.objects.values_list("identifier", "pk")),
        "rules": dict(Rule.objects.values_list("identifier", "pk")),
        "options": {f"{o.question.identifier}={o.identifier}": o.pk for o in Option.objects.select_related("question")},
    }


# The update, with a made-up version 2 -----------------------------------------------------------


def test_an_update_keeps_the_clinicians_edit_and_says_it_kept_it(
    clinician_edit: Rule, made_up_update: Callable[[], dict[str, Any]]
) -> None:
    out = run("--update")
    assert Rule.objects.get(identifier="allergy").next_steps == CLINIC_NEXT_STEPS
    assert "kept your edit: Rule 'allergy' next steps (the new default wording was not applied)" in out.splitlines()


def test_an_update_brings_the_new_rule_option_and_ending(
    clinician_edit: Rule, made_up_update: Callable[[], dict[str, Any]]
) -> None:
    out = run("--update")
    rule = Rule.objects.get(identifier="high-cholesterol")
    assert [o.identifier for o in Question.objects.get(identifier="health_conditions").options.all()][-2:] == [
        "high_cholesterol",
        "none",
    ]
    assert [(c.question.identifier, [o.identifier for o in c.options.all()]) for c in rule.conditions.all()] == [
        ("health_conditions", ["high_cholesterol"])
    ]
    assert [s.code for s in rule.sources.all()] == ["L5"]
    ids = list(Rule.objects.values_list("identifier", flat=True))
    assert ids[ids.index("diabetes-or-lung-disease") + 1] == "high-cholesterol"
    assert Rule.objects.get(identifier="urgent-symptoms").ends_check is True
    assert "Rule 'high-cholesterol': added" in out.splitlines()
    assert "Question 'health_conditions': changed options (added high_cholesterol)" in out.splitlines()
    assert "Rule 'urgent-symptoms': changed ends-the-check setting" in out.splitlines()


def test_an_unchanged_text_takes_the_new_wording(
    clinician_edit: Rule, made_up_update: Callable[[], dict[str, Any]]
) -> None:
    run("--update")
    rule = Rule.objects.get(identifier="older-adult")
    assert rule.message == "Older skin is thinner, so side effects can show sooner."
    assert rule.education_text == "If you are 65 or over, your skin may be thinner."


def test_a_changed_text_is_marked_for_a_new_translation_check(
    clinician_edit: Rule, made_up_update: Callable[[], dict[str, Any]]
) -> None:
    Rule.objects.filter(identifier="older-adult").update(message_zh_hans_checked=True, title_zh_hans_checked=True)
    run("--update")
    rule = Rule.objects.get(identifier="older-adult")
    assert (rule.message_zh_hans_checked, rule.title_zh_hans_checked) == (False, True)


def test_a_rule_the_new_default_drops_goes_and_says_so(
    clinician_edit: Rule, made_up_update: Callable[[], dict[str, Any]]
) -> None:
    out = run("--update")
    assert not Rule.objects.filter(identifier="area-unsure").exists()
    assert "Rule 'area-unsure': removed" in out.splitlines()
    assert Rule.history.filter(identifier="area-unsure").first().history_change_reason == UPDATE_REASON


def test_a_rule_the_new_default_drops_stays_when_a_clinician_changed_it(
    clinician_edit: Rule, made_up_update: Callable[[], dict[str, Any]]
) -> None:
    Rule.objects.filter(identifier="area-unsure").update(message="Our own wording.")
    out = run("--update")
    assert Rule.objects.get(identifier="area-unsure").message == "Our own wording."
    assert (
        "kept your edit: Rule 'area-unsure' (the new default removes it, but it was changed here)" in out.splitlines()
    )


def test_every_object_keeps_its_primary_key(clinician_edit: Rule, made_up_update: Callable[[], dict[str, Any]]) -> None:
    before = primary_keys()
    run("--update")
    after = primary_keys()
    for collection, keys in before.items():
        kept = {identifier: pk for identifier, pk in keys.items() if identifier != "area-unsure"}
        assert {identifier: after[collection][identifier] for identifier in kept} == kept


def test_every_history_row_the_update_writes_has_its_reason(
    clinician_edit: Rule, made_up_update: Callable[[], dict[str, Any]]
) -> None:
    marks = history_marks()
    run("--update", "--reason", "Version 2, reviewed by Dr Lee")
    rows = history_since(marks)
    assert rows
    assert {row.history_change_reason for row in rows} == {"Version 2, reviewed by Dr Lee"}
    assert (
        Rule.history.filter(identifier="older-adult").first().history_change_reason == "Version 2, reviewed by Dr Lee"
    )
    assert Rule.history.filter(identifier="allergy").first().history_change_reason == CLINIC_REASON


def test_an_update_publishes_nothing(
    version_1_database: PublishedRuleSet, clinician_edit: Rule, made_up_update: Callable[[], dict[str, Any]]
) -> None:
    versions = PublishedRuleSet.objects.count()
    out = run("--update")
    assert PublishedRuleSet.objects.count() == versions
    assert current_ruleset().version == version_1_database.version
    assert not any(rule.ends_check for rule in current_ruleset().rules)
    assert out.splitlines()[-1] == "Nothing is published yet: a clinician must review and publish the draft."


def test_the_update_records_the_new_version(clinician_edit: Rule, made_up_update: Callable[[], dict[str, Any]]) -> None:
    run("--update")
    assert installed_content_version() == 2


def test_a_second_update_changes_nothing_and_writes_no_history(
    clinician_edit: Rule, made_up_update: Callable[[], dict[str, Any]]
) -> None:
    run("--update")
    document, marks = draft_document(), history_marks()
    out = run("--update")
    assert out == "The draft already has the default content version 2; nothing to update.\n"
    assert draft_document() == document
    assert history_since(marks) == []


def test_merging_an_updated_draft_again_writes_nothing(
    clinician_edit: Rule, made_up_update: Callable[[], dict[str, Any]]
) -> None:
    run("--update")
    DefaultContentVersion.objects.filter(version=2).delete()
    document, marks = draft_document(), history_marks()
    report = update_draft(reason="Again")
    assert report.changes == []
    assert draft_document() == document
    assert history_since(marks) == []


def test_an_update_with_problems_changes_nothing_and_exits_with_2(
    clinician_edit: Rule, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = made_up_version_2()
    broken["rules"][-1]["conditions"] = [{"question": "side_effects", "options": ["made_up"]}]
    monkeypatch.setattr("screening.defaults.default_document", lambda: broken)
    document, err = draft_document(), io.StringIO()
    with pytest.raises(CommandError) as raised:
        call_command("ensure_default_rules", "--update", stdout=io.StringIO(), stderr=err)
    assert raised.value.returncode == 2
    assert "names 'made_up', not an option of 'side_effects'" in err.getvalue()
    assert draft_document() == document
    assert installed_content_version() == 1


def test_without_a_flag_the_command_says_an_update_is_waiting_and_changes_nothing(
    clinician_edit: Rule, made_up_update: Callable[[], dict[str, Any]]
) -> None:
    document, versions = draft_document(), PublishedRuleSet.objects.count()
    out = run()
    assert out.startswith(
        "An update to the default content is waiting (version 1 -> version 2, after a clinical review)."
    )
    assert ".venv/bin/python manage.py ensure_default_rules --update" in out
    assert "Nothing changes for patients until a clinician publishes." in out
    assert draft_document() == document
    assert PublishedRuleSet.objects.count() == versions


def test_without_a_flag_an_up_to_date_draft_is_left_as_it_is(
    clinician_edit: Rule, made_up_update: Callable[[], dict[str, Any]]
) -> None:
    run("--update")
    assert run() == "Rule set already present; left it as it is.\n"


def test_on_an_empty_database_the_command_loads_publishes_and_records_the_shipped_version(db: None) -> None:
    empty_the_draft()
    versions = PublishedRuleSet.objects.count()
    assert run() == "Loaded and published the default rule set.\n"
    assert PublishedRuleSet.objects.count() == versions + 1
    assert installed_content_version() == shipped_content_version()
    assert canonical(draft_document())["rules"] == canonical(default_document())["rules"]


# The update to the real version 2 ---------------------------------------------------------------


def test_the_real_update_brings_the_version_2_rules_option_and_ending(clinician_edit: Rule) -> None:
    run("--update")
    rules = set(Rule.objects.values_list("identifier", flat=True))
    assert {"infection-while-using", "high-cholesterol", "eczema-long-use", "shingles-signs"} <= rules
    assert Option.objects.filter(question__identifier="health_conditions", identifier="high_cholesterol").exists()
    assert list(Rule.objects.filter(ends_check=True).values_list("identifier", flat=True)) == ["urgent-symptoms"]
    assert installed_content_version() == 2


def test_the_real_update_is_version_2_except_for_the_clinicians_edit(clinician_edit: Rule) -> None:
    out = run("--update")
    draft, shipped = without_checks(canonical(draft_document())), without_checks(canonical(default_document()))
    allergy = next(r for r in shipped["rules"] if r["id"] == "allergy")
    v1_allergy = next(r for r in version_1()["rules"] if r["id"] == "allergy")
    if allergy["next_steps"] != v1_allergy["next_steps"]:
        assert "kept your edit: Rule 'allergy' next steps (the new default wording was not applied)" in out
    allergy["next_steps"] = CLINIC_NEXT_STEPS
    assert installed_content_version() == 2
    for collection in ("sources", "sections", "questions", "rules", "scenarios"):
        assert draft[collection] == shipped[collection], collection


def test_after_the_real_update_without_edits_every_test_patient_passes_and_it_publishes(
    version_1_database: PublishedRuleSet,
) -> None:
    run("--update")
    published = publish(note="Version 2")
    assert published.version == version_1_database.version + 1
    assert any(rule.ends_check for rule in current_ruleset().rules)


def without_checks(document: dict[str, Any]) -> dict[str, Any]:
    """The document without translation-checked flags, which an update clears on every changed text."""
    return json.loads(
        json.dumps(document), object_hook=lambda d: {k: v for k, v in d.items() if not k.endswith("_checked")}
    )


# The merge on small documents -------------------------------------------------------------------


def rule(identifier: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": identifier,
        "title": identifier,
        "level": "talk_first",
        "conditions": [{"question": "allergy", "options": ["yes"]}],
        "message": "base message",
        "next_steps": "base steps",
        **fields,
    }


ALLERGY = {
    "id": "allergy",
    "text": "Allergic?",
    "options": [{"id": "yes", "label": "Yes"}, {"id": "no", "label": "No"}],
}


def document(*rules: dict[str, Any], questions: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"format": FORMAT, "questions": questions or [ALLERGY], "rules": list(rules)}


def merged_rules(base: dict[str, Any], ours: dict[str, Any], theirs: dict[str, Any]) -> dict[str, dict[str, Any]]:
    merged, _ = merge_documents(base, ours, theirs)
    return {r["id"]: r for r in merged["rules"]}


def test_merge_keeps_a_change_made_only_here() -> None:
    base = document(rule("a"))
    merged = merged_rules(base, document(rule("a", message="ours")), base)
    assert merged["a"]["message"] == "ours"


def test_merge_takes_a_change_made_only_in_the_new_default() -> None:
    base = document(rule("a"))
    merged = merged_rules(base, base, document(rule("a", message="theirs", ends_check=True)))
    assert (merged["a"]["message"], merged["a"]["ends_check"]) == ("theirs", True)


def test_merge_keeps_our_change_when_both_changed_a_field_and_reports_it() -> None:
    base = document(rule("a"))
    merged, conflicts = merge_documents(
        base, document(rule("a", message="ours")), document(rule("a", message="theirs", next_steps="new steps"))
    )
    assert (merged["rules"][0]["message"], merged["rules"][0]["next_steps"]) == ("ours", "new steps")
    assert [(c.kind, c.id, c.field, str(c)) for c in conflicts] == [
        ("Rule", "a", "message", "kept your edit: Rule 'a' message (the new default wording was not applied)")
    ]


def test_merge_sees_no_conflict_when_both_made_the_same_change() -> None:
    base = document(rule("a"))
    merged, conflicts = merge_documents(base, document(rule("a", message="same")), document(rule("a", message="same")))
    assert (merged["rules"][0]["message"], conflicts) == ("same", [])


def test_merge_adds_a_new_item_after_the_one_before_it_in_the_new_default() -> None:
    base = document(rule("a"), rule("c"))
    merged, _ = merge_documents(base, base, document(rule("a"), rule("b"), rule("c")))
    assert [r["id"] for r in merged["rules"]] == ["a", "b", "c"]


def test_merge_keeps_an_item_added_here_in_its_place() -> None:
    base = document(rule("a"), rule("c"))
    merged, _ = merge_documents(
        base, document(rule("a"), rule("ours"), rule("c")), document(rule("a"), rule("c"), rule("d"))
    )
    assert [r["id"] for r in merged["rules"]] == ["a", "ours", "c", "d"]


def test_merge_drops_an_item_the_new_default_removes_unless_it_was_changed_here() -> None:
    base = document(rule("a"), rule("b"), rule("c"))
    merged, conflicts = merge_documents(
        base, document(rule("a"), rule("b"), rule("c", message="ours")), document(rule("a"))
    )
    assert [r["id"] for r in merged["rules"]] == ["a", "c"]
    assert [str(c) for c in conflicts] == [
        "kept your edit: Rule 'c' (the new default removes it, but it was changed here)"
    ]


def test_merge_leaves_out_an_item_removed_here() -> None:
    base = document(rule("a"), rule("b"))
    merged, conflicts = merge_documents(base, document(rule("a")), document(rule("a"), rule("b", message="theirs")))
    assert [r["id"] for r in merged["rules"]] == ["a"]
    assert [str(c) for c in conflicts] == [
        "kept your removal: Rule 'b' (the new default changes it; it was not brought back)"
    ]


def test_merge_merges_options_one_level_down() -> None:
    ours_question = {**ALLERGY, "options": [{"id": "yes", "label": "Yes, ours"}, {"id": "no", "label": "No"}]}
    theirs_question = {**ALLERGY, "options": [*ALLERGY["options"], {"id": "not_sure", "label": "Not sure"}]}
    merged, conflicts = merge_documents(
        document(rule("a")),
        document(rule("a"), questions=[ours_question]),
        document(rule("a"), questions=[theirs_question]),
    )
    assert [(o["id"], o["label"]) for o in merged["questions"][0]["options"]] == [
        ("yes", "Yes, ours"),
        ("no", "No"),
        ("not_sure", "Not sure"),
    ]
    assert conflicts == []


def test_merge_clears_the_translation_check_of_a_text_it_changes() -> None:
    base = document(rule("a", message_zh_hans="旧", message_zh_hans_checked=True, title_zh_hans_checked=True))
    theirs = document(
        rule("a", message="theirs", message_zh_hans="旧", message_zh_hans_checked=True, title_zh_hans_checked=True)
    )
    merged = merged_rules(base, base, theirs)
    assert (merged["a"]["message_zh_hans_checked"], merged["a"]["title_zh_hans_checked"]) == (False, True)


def test_merge_says_when_an_edit_was_kept_in_english_but_the_chinese_took_the_new_wording() -> None:
    base = document(rule("a", message_zh_hans="旧"))
    merged, conflicts = merge_documents(
        base,
        document(rule("a", message="ours", message_zh_hans="旧")),
        document(rule("a", message="theirs", message_zh_hans="新")),
    )
    assert (merged["rules"][0]["message"], merged["rules"][0]["message_zh_hans"]) == ("ours", "新")
    assert [str(c) for c in conflicts] == [
        "kept your edit: Rule 'a' message (the new default wording was not applied)",
        "check the translation: Rule 'a' message keeps your edit, but message (Chinese) now has the new default"
        " wording",
    ]


def test_merge_does_not_count_the_order_of_a_conditions_options_as_a_change() -> None:
    base = document(rule("a", conditions=[{"question": "allergy", "options": ["yes", "no"]}]))
    ours = document(rule("a", conditions=[{"question": "allergy", "options": ["no", "yes"]}]))
    theirs = document(rule("a", conditions=[{"question": "allergy", "options": ["yes"]}]))
    merged, conflicts = merge_documents(base, ours, theirs)
    assert (merged["rules"][0]["conditions"], conflicts) == ([{"question": "allergy", "options": ["yes"]}], [])


def test_merge_leaves_its_inputs_as_they_were() -> None:
    base, ours, theirs = document(rule("a")), document(rule("a", message="ours")), document(rule("b"))
    copies = copy.deepcopy((base, ours, theirs))
    merge_documents(base, ours, theirs)
    assert (base, ours, theirs) == copies


def test_an_inactive_rule_naming_a_vanished_option_or_source_is_a_problem_for_the_update() -> None:
    gone = rule("a", active=False, conditions=[{"question": "allergy", "options": ["gone"]}], sources=["L99"])
    assert reference_problems(document(rule("b"), gone)) == [
        "Rule 'a' names 'gone' of 'allergy', which the updated rule set does not have.",
        "Rule 'a' cites unknown source 'L99'.",
    ]


def test_every_earlier_shipped_version_is_kept_for_the_update_to_merge_from() -> None:
    """An installation on any earlier version merges from that version's text: shipping a new version
    means keeping the one it replaces as default_ruleset_v<N>.json."""
    for version in range(1, shipped_content_version()):
        assert content_version(shipped_document(version)) == version
