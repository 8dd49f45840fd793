"""Two clinicians editing the same draft object: a save from a form opened before someone else's save is
refused with the conflict page (their change beside yours, nothing to retype), never silently merged.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection, transaction
from django.http import HttpResponse
from django.test import Client
from django.urls import reverse

from screening.admin.forms import ReasonForm
from screening.concurrency import EditConflict
from screening.engine import RuleSet
from screening.models import Option, Question, Rule, Scenario
from tests.support.admin_forms import admin_form_data
from tests.support.client import page_text as text
from tests.support.staff import clinical_editor, signed_in

A_WARNING = "Stop using the cream and call us at once if your skin blisters."
B_NEXT_STEPS = "Show this page to your pharmacist before your next refill."


@pytest.fixture
def colleague(db: None) -> User:
    """A second clinician of the "Clinical editor" group."""
    return clinical_editor("dr.okafor")


@pytest.fixture
def colleague_client(colleague: User) -> Client:
    return signed_in(colleague)


def conflict_box(response: HttpResponse) -> str:
    """The conflict box's text, or an empty string when the page has none."""
    content = response.content.decode()
    start = content.find('id="edit-conflict"')
    if start == -1:
        return ""
    end = content.find("<!-- end edit-conflict -->", start)
    return " ".join(content[start:end].split())


def save_from(client: Client, url: str, form_page: HttpResponse, reason: str, **changes: Any) -> HttpResponse:
    data = admin_form_data(form_page, reason=reason)
    data.update(changes)
    return client.post(url, data)


# ---------------------------------------------------------------------------------------------
# A rule: two saves from forms opened at the same time
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def rule_url(published_rules: RuleSet) -> str:
    return reverse("admin:screening_rule_change", args=[Rule.objects.get(identifier="allergy").pk])


@pytest.fixture
def stale_rule_save(clinician_client: Client, colleague_client: Client, rule_url: str) -> HttpResponse:
    """Both open the allergy rule; the clinician saves a new warning; the colleague then saves next steps."""
    theirs = clinician_client.get(rule_url)
    mine = colleague_client.get(rule_url)
    saved = save_from(clinician_client, rule_url, theirs, "Add the blistering warning", message=A_WARNING)
    assert saved.status_code == 302
    return save_from(colleague_client, rule_url, mine, "Pharmacist advice", next_steps=B_NEXT_STEPS)


def test_a_save_from_a_form_opened_before_someone_elses_save_is_refused(stale_rule_save: HttpResponse) -> None:
    assert stale_rule_save.status_code == 200
    rule = Rule.objects.get(identifier="allergy")
    assert rule.message == A_WARNING
    assert rule.next_steps != B_NEXT_STEPS


def test_the_conflict_page_keeps_what_you_typed(stale_rule_save: HttpResponse) -> None:
    form = stale_rule_save.context["adminform"].form
    assert form["next_steps"].value() == B_NEXT_STEPS
    assert form["change_reason"].value() == "Pharmacist advice"


def test_the_conflict_page_says_who_changed_what_and_why(stale_rule_save: HttpResponse) -> None:
    box = conflict_box(stale_rule_save)
    assert "clinician" in box
    assert "Add the blistering warning" in box
    assert A_WARNING in box
    for heading in ("When you opened it", "Their change", "Your change"):
        assert f'<th scope="col">{heading}</th>' in box
    assert "edit_version" not in text(stale_rule_save)
    assert "stale" not in box.lower()


def test_the_conflict_box_is_an_announced_region_with_a_heading(stale_rule_save: HttpResponse) -> None:
    box = conflict_box(stale_rule_save)
    assert 'role="alert"' in box
    assert 'aria-labelledby="edit-conflict-heading"' in box
    assert '<h2 id="edit-conflict-heading"' in box


def test_saving_again_from_the_conflict_page_keeps_both_changes(
    stale_rule_save: HttpResponse, colleague_client: Client, rule_url: str
) -> None:
    again = save_from(colleague_client, rule_url, stale_rule_save, "Pharmacist advice")
    assert again.status_code == 302, conflict_box(again) or again.context["adminform"].form.errors
    rule = Rule.objects.get(identifier="allergy")
    assert (rule.message, rule.next_steps) == (A_WARNING, B_NEXT_STEPS)


def test_on_a_field_both_changed_the_second_clinicians_text_is_kept_in_the_form(
    clinician_client: Client, colleague_client: Client, rule_url: str
) -> None:
    theirs = clinician_client.get(rule_url)
    mine = colleague_client.get(rule_url)
    save_from(clinician_client, rule_url, theirs, "Their wording", message=A_WARNING)
    conflict = save_from(colleague_client, rule_url, mine, "My wording", message="My own wording.")
    assert conflict.context["adminform"].form["message"].value() == "My own wording."
    assert "You both changed" in conflict_box(conflict)
    assert Rule.objects.get(identifier="allergy").message == A_WARNING


def test_a_save_from_a_fresh_form_goes_through(clinician_client: Client, rule_url: str) -> None:
    response = save_from(clinician_client, rule_url, clinician_client.get(rule_url), "Wording", message=A_WARNING)
    assert response.status_code == 302
    response = save_from(clinician_client, rule_url, clinician_client.get(rule_url), "Steps", next_steps=B_NEXT_STEPS)
    assert response.status_code == 302
    assert Rule.objects.get(identifier="allergy").next_steps == B_NEXT_STEPS


# ---------------------------------------------------------------------------------------------
# Inline rows: options of a question
# ---------------------------------------------------------------------------------------------


def option_field(form_page: HttpResponse, option: Option, name: str) -> str:
    for inline in form_page.context["inline_admin_formsets"]:
        for form in inline.formset.forms:
            if form.instance.pk == option.pk:
                return f"{form.prefix}-{name}"
    raise AssertionError(f"{option} is not on the page")


@pytest.fixture
def question_url(published_rules: RuleSet) -> str:
    return reverse("admin:screening_question_change", args=[Question.objects.get(identifier="allergy").pk])


def test_their_change_to_an_option_makes_a_question_saved_from_an_older_form_a_conflict(
    clinician_client: Client, colleague_client: Client, question_url: str
) -> None:
    option = Option.objects.filter(question__identifier="allergy").first()
    assert option is not None
    theirs = clinician_client.get(question_url)
    mine = colleague_client.get(question_url)
    changes = {option_field(theirs, option, "label"): "Yes, I am allergic to it"}
    assert save_from(clinician_client, question_url, theirs, "Plainer option", **changes).status_code == 302

    conflict = save_from(colleague_client, question_url, mine, "Help text", help_text="Think of any rash.")
    assert conflict.status_code == 200
    box = conflict_box(conflict)
    assert "Yes, I am allergic to it" in box
    assert "Plainer option" in box
    again = save_from(colleague_client, question_url, conflict, "Help text")
    assert again.status_code == 302, conflict_box(again)
    option.refresh_from_db()
    assert option.label == "Yes, I am allergic to it"
    assert Question.objects.get(identifier="allergy").help_text == "Think of any rash."


def test_an_option_they_deleted_gives_the_conflict_page_and_stays_deleted(
    clinician_client: Client, colleague_client: Client, question_url: str
) -> None:
    question = Question.objects.get(identifier="allergy")
    extra = Option.objects.create(question=question, identifier="unsure_now", label="I am not sure", order=9)
    theirs = clinician_client.get(question_url)
    mine = colleague_client.get(question_url)
    delete = {option_field(theirs, extra, "DELETE"): "on"}
    assert save_from(clinician_client, question_url, theirs, "Not a useful answer", **delete).status_code == 302
    assert not Option.objects.filter(pk=extra.pk).exists()

    conflict = save_from(colleague_client, question_url, mine, "Help text", help_text="Think of any rash.")
    assert conflict.status_code == 200
    box = conflict_box(conflict)
    assert "I am not sure" in box and "Deleted" in box
    again = save_from(colleague_client, question_url, conflict, "Help text")
    assert again.status_code == 302, conflict_box(again)
    assert not Option.objects.filter(pk=extra.pk).exists()


def test_an_option_they_added_makes_a_question_saved_from_an_older_form_a_conflict(
    clinician_client: Client, colleague_client: Client, question_url: str
) -> None:
    mine = colleague_client.get(question_url)
    question = Question.objects.get(identifier="allergy")
    clinician = User.objects.get(username="clinician")
    added = Option(question=question, identifier="unsure_now", label="I am not sure", order=9)
    added._history_user = clinician  # type: ignore[attr-defined]  # simple-history reads it
    added._change_reason = "Some patients do not know"  # type: ignore[attr-defined]
    added.save()

    conflict = save_from(colleague_client, question_url, mine, "Help text", help_text="Think of any rash.")
    assert conflict.status_code == 200
    assert "I am not sure" in conflict_box(conflict)
    assert save_from(colleague_client, question_url, conflict, "Help text").status_code == 302
    assert Option.objects.filter(pk=added.pk).exists()


# ---------------------------------------------------------------------------------------------
# Test patients
# ---------------------------------------------------------------------------------------------


def test_a_test_patient_saved_from_an_older_form_is_refused(
    clinician_client: Client, colleague_client: Client, published_rules: RuleSet
) -> None:
    scenario = Scenario.objects.order_by("name").first()
    assert scenario is not None
    url = reverse("admin:screening_scenario_change", args=[scenario.pk])
    theirs = clinician_client.get(url)
    mine = colleague_client.get(url)
    renamed = save_from(clinician_client, url, theirs, "Clearer name", name="Renamed by the clinician")
    assert renamed.status_code == 302

    conflict = save_from(colleague_client, url, mine, "Not needed any more", active="")
    assert conflict.status_code == 200
    box = conflict_box(conflict)
    # Read from the test patient's own history, as for the draft: who, and the reason they gave.
    assert "Renamed by the clinician" in box and "clinician" in box and "Clearer name" in box
    assert Scenario.objects.get(pk=scenario.pk).active is True
    again = save_from(colleague_client, url, conflict, "Not needed any more")
    assert again.status_code == 302, conflict_box(again)
    scenario.refresh_from_db()
    assert (scenario.name, scenario.active) == ("Renamed by the clinician", False)


# ---------------------------------------------------------------------------------------------
# The race-proof backstop: one UPDATE that names the version the editor started from
# ---------------------------------------------------------------------------------------------


def test_saving_an_object_loaded_before_someone_elses_save_raises_an_edit_conflict(published_rules: RuleSet) -> None:
    mine = Rule.objects.get(identifier="allergy")
    theirs = Rule.objects.get(identifier="allergy")
    theirs.message = A_WARNING
    theirs.save()
    mine.next_steps = B_NEXT_STEPS
    with pytest.raises(EditConflict):
        mine.save()
    assert Rule.objects.get(identifier="allergy").next_steps != B_NEXT_STEPS


def test_saving_or_deleting_an_option_moves_its_question_on(published_rules: RuleSet) -> None:
    question = Question.objects.get(identifier="allergy")
    before = question.edit_version
    option = Option.objects.filter(question=question).first()
    assert option is not None
    option.label = "Changed"
    option.save()
    assert Question.objects.get(pk=question.pk).edit_version == before + 1
    option.delete()
    assert Question.objects.get(pk=question.pk).edit_version == before + 2


@pytest.mark.django_db(transaction=True)
def test_a_save_racing_another_save_never_loses_either(
    published_rules: RuleSet, colleague: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another clinician's save lands (in its own connection) after this form passed its check.

    PostgreSQL lets it commit first: the UPDATE naming the old version then matches no row, nothing of
    this save is written and the conflict page follows. SQLite's writers queue (each transaction takes the
    write lock when it begins): the other save waits and goes second, from fresh data. Either way no
    change is lost.
    """
    # SQLite runs tests on a database file (ruxguide/settings.py), where a second writer queues as in production.
    client = Client()
    client.force_login(colleague)
    url = reverse("admin:screening_rule_change", args=[Rule.objects.get(identifier="allergy").pk])
    mine = client.get(url)
    clean = ReasonForm.clean
    others: list[threading.Thread] = []

    def someone_else_saves(pk: int) -> None:
        try:
            with transaction.atomic():  # as the admin's own save runs
                theirs = Rule.objects.get(pk=pk)
                theirs.message = A_WARNING
                theirs.save()
        finally:
            connection.close()

    def clean_then_someone_saves(form: ReasonForm) -> dict[str, Any]:
        cleaned = clean(form)
        if isinstance(form.instance, Rule) and not others:
            others.append(threading.Thread(target=someone_else_saves, args=[form.instance.pk]))
            others[0].start()
            others[0].join(timeout=2)  # SQLite: still waiting for this request's write lock
        return cleaned

    monkeypatch.setattr(ReasonForm, "clean", clean_then_someone_saves)
    response = save_from(client, url, mine, "Pharmacist advice", next_steps=B_NEXT_STEPS)
    others[0].join(timeout=30)
    rule = Rule.objects.get(identifier="allergy")
    assert rule.message == A_WARNING
    if connection.vendor == "postgresql":
        assert response.status_code == 200
        assert A_WARNING in conflict_box(response)
        assert rule.next_steps != B_NEXT_STEPS
    else:
        assert response.status_code == 302
        assert rule.next_steps == B_NEXT_STEPS


# ---------------------------------------------------------------------------------------------
# Reverting from the history
# ---------------------------------------------------------------------------------------------


def test_a_revert_page_opened_before_someone_elses_save_is_a_conflict(
    clinician_client: Client, colleague_client: Client, rule_url: str
) -> None:
    rule = Rule.objects.get(identifier="allergy")
    original = rule.history.latest()
    url = reverse("admin:screening_rule_simple_history", args=[rule.pk, original.history_id])
    revert_page = colleague_client.get(url)
    save_from(clinician_client, rule_url, clinician_client.get(rule_url), "Add the warning", message=A_WARNING)

    conflict = colleague_client.post(url, admin_form_data(revert_page, reason="Back to the agreed wording"))
    assert conflict.status_code == 200
    assert A_WARNING in conflict_box(conflict)
    assert Rule.objects.get(pk=rule.pk).message == A_WARNING
    again = colleague_client.post(url, admin_form_data(conflict, reason="Back to the agreed wording"))
    assert again.status_code == 302
    assert Rule.objects.get(pk=rule.pk).message == original.message
