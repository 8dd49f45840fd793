"""The clinician's editor in the Django admin."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from django.urls import reverse

from screening.engine import RuleSet
from screening.live import current_ruleset
from screening.models import Condition, Option, PublishedRuleSet, Question, Rule
from screening.publishing import publish
from tests.support.admin_forms import admin_form_data


def test_the_clinical_editor_group_holds_exactly_the_screening_permissions(db: None) -> None:
    group = Group.objects.get(name="Clinical editor")
    apps = set(group.permissions.values_list("content_type__app_label", flat=True))
    assert apps == {"screening"}
    assert group.permissions.filter(codename="change_rule").exists()
    assert group.permissions.filter(codename="add_question").exists()
    # Approving a publication is a second clinician's: the "Clinical reviewer" group holds it.
    assert not group.permissions.filter(codename="approve_publication").exists()
    reviewers = Group.objects.get(name="Clinical reviewer")
    assert set(reviewers.permissions.values_list("content_type__app_label", flat=True)) == {"screening"}
    assert reviewers.permissions.filter(codename="approve_publication").exists()


def test_a_superuser_can_open_every_screening_page(admin_client: Client, published_rules: RuleSet) -> None:
    rule = Rule.objects.get(identifier="pregnancy")
    question = Question.objects.get(identifier="pregnancy")
    for url in [
        reverse("admin:index"),
        reverse("admin:screening_question_changelist"),
        reverse("admin:screening_rule_changelist"),
        reverse("admin:screening_rule_changelist") + "?level__exact=do_not_use",
        reverse("admin:screening_rule_changelist") + "?q=pregnan",
        reverse("admin:screening_rule_change", args=[rule.pk]),
        reverse("admin:screening_question_change", args=[question.pk]),
        reverse("admin:screening_source_changelist"),
        reverse("admin:screening_publishedruleset_changelist"),
    ]:
        assert admin_client.get(url).status_code == 200, url


def test_the_rule_list_filters_by_question(admin_client: Client, published_rules: RuleSet) -> None:
    question = Question.objects.get(identifier="health_conditions")
    response = admin_client.get(
        reverse("admin:screening_rule_changelist") + f"?conditions__question__id__exact={question.pk}"
    )
    shown = {rule.identifier for rule in response.context["cl"].result_list}
    assert shown == {
        "heart-clot-risk",
        "cancer-history",
        "diabetes-or-lung-disease",
        "high-cholesterol",
        "older-adult-with-conditions",
    }


def test_a_clinical_editor_can_edit_rules_but_not_manage_users(clinician_client: Client, published_rules: RuleSet):
    rule = Rule.objects.get(identifier="allergy")
    assert clinician_client.get(reverse("admin:screening_rule_change", args=[rule.pk])).status_code == 200
    assert clinician_client.get(reverse("admin:auth_user_changelist")).status_code == 403
    assert clinician_client.get(reverse("admin:auth_group_changelist")).status_code == 403


def test_saving_a_rule_changes_the_draft_and_patients_see_it_only_once_published(
    clinician: User, clinician_client: Client, published_rules: RuleSet
) -> None:
    rule = Rule.objects.get(identifier="allergy")
    url = reverse("admin:screening_rule_change", args=[rule.pk])
    data = admin_form_data(clinician_client.get(url))
    data["message"] = "You told us you are allergic to the cream. New wording from a clinician."
    response = clinician_client.post(url, data)
    assert response.status_code == 302, response.context and response.context["adminform"].form.errors
    assert current_ruleset().version == published_rules.version
    assert "New wording" not in next(r for r in current_ruleset().rules if r.id == "allergy").message

    publish(user=clinician, note="Clearer allergy wording")
    live = current_ruleset()
    assert live.version == published_rules.version + 1
    assert next(r for r in live.rules if r.id == "allergy").message.endswith("New wording from a clinician.")
    assert PublishedRuleSet.objects.get(version=live.version).published_by == clinician


def test_a_clinician_can_add_a_question_with_options_and_a_rule_on_it(admin_client: Client, published_rules: RuleSet):
    response = admin_client.get(reverse("admin:screening_question_add"))
    data = admin_form_data(response)
    data.update(
        {
            "identifier": "sun_exposure",
            "text": "Do you spend a lot of time in strong sun?",
            "order": "1000",
            "active": "on",
            "options-TOTAL_FORMS": "2",
            "options-0-identifier": "yes",
            "options-0-label": "Yes",
            "options-0-order": "0",
            "options-1-identifier": "no",
            "options-1-label": "No",
            "options-1-order": "1",
        }
    )
    response = admin_client.post(reverse("admin:screening_question_add"), data)
    assert response.status_code == 302
    question = Question.objects.get(identifier="sun_exposure")
    assert list(question.options.values_list("identifier", flat=True)) == ["yes", "no"]

    yes = question.options.get(identifier="yes")
    data = admin_form_data(admin_client.get(reverse("admin:screening_rule_add")))
    data.update(
        {
            "identifier": "sun-exposure",
            "title": "Protect treated skin from the sun",
            "level": "take_care",
            "message": "Strong sun can harm treated skin.",
            "next_steps": "Ask your pharmacist about sun protection.",
            "order": "1000",
            "active": "on",
            "conditions-TOTAL_FORMS": "1",
            "conditions-0-question": str(question.pk),
            "conditions-0-options": [str(yes.pk)],
        }
    )
    response = admin_client.post(reverse("admin:screening_rule_add"), data)
    assert response.status_code == 302
    publish(note="A new question and rule")
    live = current_ruleset()
    assert live.question("sun_exposure") is not None
    assert any(rule.id == "sun-exposure" for rule in live.rules)


def _rule_change_data(client: Client, identifier: str) -> tuple[str, dict[str, Any]]:
    rule = Rule.objects.get(identifier=identifier)
    url = reverse("admin:screening_rule_change", args=[rule.pk])
    return url, admin_form_data(client.get(url))


def test_it_rejects_a_condition_that_names_an_option_of_another_question(admin_client: Client, published_rules):
    url, data = _rule_change_data(admin_client, "allergy")
    foreign = Option.objects.get(question__identifier="pregnancy", identifier="pregnant")
    data["conditions-0-options"] = [str(foreign.pk)]
    response = admin_client.post(url, data)
    assert response.status_code == 200
    assert "belong to another question" in response.content.decode()
    assert Condition.objects.get(rule__identifier="allergy").options.get().identifier == "yes"


def test_it_rejects_a_rule_with_no_conditions(admin_client: Client, published_rules: RuleSet) -> None:
    url, data = _rule_change_data(admin_client, "allergy")
    data["conditions-0-DELETE"] = "on"
    response = admin_client.post(url, data)
    assert response.status_code == 200
    assert "A rule needs at least one condition: add the answer that makes it apply." in response.content.decode()
    assert "Please submit at least" not in response.content.decode()
    assert Condition.objects.filter(rule__identifier="allergy").exists()


def test_it_rejects_a_duplicate_rule_identifier(admin_client: Client, published_rules: RuleSet) -> None:
    url, data = _rule_change_data(admin_client, "allergy")
    data["identifier"] = "pregnancy"
    response = admin_client.post(url, data)
    assert response.status_code == 200
    assert "Rule with this Identifier already exists" in response.content.decode()


def _question_change_data(client: Client, identifier: str) -> tuple[str, dict[str, Any]]:
    question = Question.objects.get(identifier=identifier)
    url = reverse("admin:screening_question_change", args=[question.pk])
    return url, admin_form_data(client.get(url))


def test_it_rejects_a_skip_rule_that_points_forward(admin_client: Client, published_rules: RuleSet) -> None:
    url, data = _question_change_data(admin_client, "pregnancy")
    later = Question.objects.get(identifier="treatment_stage")
    data["show_when-0-depends_on"] = str(later.pk)
    data["show_when-0-options"] = [str(later.options.first().pk)]
    response = admin_client.post(url, data)
    assert response.status_code == 200
    assert "a question can only depend on an earlier one" in response.content.decode()


def test_it_rejects_a_skip_rule_that_points_at_its_own_question(admin_client: Client, published_rules: RuleSet):
    url, data = _question_change_data(admin_client, "pregnancy")
    own = Question.objects.get(identifier="pregnancy")
    data["show_when-0-depends_on"] = str(own.pk)
    data["show_when-0-options"] = [str(own.options.first().pk)]
    response = admin_client.post(url, data)
    assert response.status_code == 200
    assert "cannot be shown depending on its own answer" in response.content.decode()


def test_it_rejects_a_skip_rule_with_options_of_another_question(admin_client: Client, published_rules: RuleSet):
    url, data = _question_change_data(admin_client, "pregnancy")
    data["show_when-0-options"] = [str(Option.objects.get(question__identifier="allergy", identifier="yes").pk)]
    response = admin_client.post(url, data)
    assert response.status_code == 200
    assert "belong to another question" in response.content.decode()


def test_it_rejects_two_options_with_the_same_identifier(admin_client: Client, published_rules: RuleSet) -> None:
    url, data = _question_change_data(admin_client, "allergy")
    data["options-1-identifier"] = data["options-0-identifier"]
    response = admin_client.post(url, data)
    assert response.status_code == 200
    assert "same identifier" in response.content.decode()


def test_the_model_rejects_a_skip_rule_pointing_forward(published_rules: RuleSet) -> None:
    from django.core.exceptions import ValidationError

    from screening.models import ShowWhen

    show_when = ShowWhen(
        question=Question.objects.get(identifier="allergy"),
        depends_on=Question.objects.get(identifier="amount"),
    )
    with pytest.raises(ValidationError, match="earlier"):
        show_when.full_clean()


def test_published_versions_cannot_be_changed_in_the_admin(admin_client: Client, published_rules: RuleSet) -> None:
    snapshot = PublishedRuleSet.objects.get(version=published_rules.version)
    url = reverse("admin:screening_publishedruleset_change", args=[snapshot.pk])
    response = admin_client.get(url)
    assert response.status_code == 200
    assert b'name="note"' not in response.content
    assert admin_client.post(url, {"note": "tampered"}).status_code == 403
