"""Review before publish: one clinician sends the draft, a second one approves (which publishes) or sends it back."""

from __future__ import annotations

import re
import threading
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection
from django.test import Client
from django.urls import reverse
from fhir.resources.R4B.questionnaire import Questionnaire

from screening import live
from screening.engine import RuleSet
from screening.models import PublishedRuleSet, Review, Rule, Scenario
from screening.review import reason_field
from tests.support.client import page_text
from tests.support.staff import clinical_editor, signed_in

SEND = "admin:screening_review_send"
URGENT_RULE = "urgent-symptoms"
URGENT_KEY = "rule:urgent-symptoms:deactivated"


def clinical_reviewer(username: str) -> User:
    """A staff member of the "Clinical reviewer" group (the editor's permissions and approving)."""
    user = User.objects.create_user(username, password="a long enough password", is_staff=True)
    user.groups.add(Group.objects.get(name="Clinical reviewer"))
    return user


def review_url(review: Review) -> str:
    return reverse("admin:screening_review_review", args=[review.pk])


def edit_allergy_message(message: str = "Do not use the cream if you are allergic to it.") -> None:
    rule = Rule.objects.get(identifier="allergy")
    rule.message = message
    rule._change_reason = "Shorter"  # type: ignore[attr-defined]
    rule.save()


def switch_off_the_urgent_rule() -> list[str]:
    """Deactivate the urgent rule and the test patients that expect it (else they would fail); their keys."""
    rule = Rule.objects.get(identifier=URGENT_RULE)
    rule.active = False
    rule._change_reason = "Testing"  # type: ignore[attr-defined]
    rule.save()
    keys = [URGENT_KEY]
    for scenario in Scenario.objects.all():
        if URGENT_RULE in scenario.expected_rules:
            scenario.active = False
            scenario.save()
            keys.append(f"test-patient:{scenario.name}:deactivated")
    return keys


def send(client: Client, note: str = "Shorter allergy advice", **reasons: str) -> Any:
    return client.post(reverse(SEND), {"note": note, **{reason_field(key): text for key, text in reasons.items()}})


def sent_review(author: User, note: str = "Shorter allergy advice", reasons: dict[str, str] | None = None) -> Review:
    response = signed_in(author).post(
        reverse(SEND), {"note": note, **{reason_field(key): text for key, text in (reasons or {}).items()}}
    )
    assert response.status_code == 302, page_text(response)[:3000]
    return Review.objects.get(status=Review.Status.WAITING)


def approve(client: Client, review: Review, note: str = "Checked against the leaflet", ticks: list[str] = ()) -> Any:  # type: ignore[assignment]
    return client.post(review_url(review), {"action": "approve", "note": note, "acknowledge": list(ticks)})


@pytest.fixture
def author(db: None) -> User:
    # Holds the approve permission too: what stops them is being the author, not the permission.
    return clinical_reviewer("alice")


@pytest.fixture
def reviewer(db: None) -> User:
    return clinical_reviewer("bob")


# ---------------------------------------------------------------------------------------------
# Roles
# ---------------------------------------------------------------------------------------------


def test_a_clinical_editor_can_send_for_review_but_not_approve(published_rules: RuleSet) -> None:
    editor = clinical_editor("carol")
    assert editor.has_perm("screening.publish_draft")
    assert not editor.has_perm("screening.approve_publication")
    assert clinical_reviewer("dave").has_perm("screening.approve_publication")


def test_an_editor_reads_a_review_but_cannot_approve_it(published_rules: RuleSet, author: User) -> None:
    edit_allergy_message()
    review = sent_review(author)
    editor = signed_in(clinical_editor("carol"))
    page = page_text(editor.get(review_url(review)))
    assert "Shorter allergy advice" in page
    assert "Approve and publish" not in page
    response = approve(editor, review)
    assert response.status_code == 403
    assert "approve a draft for publishing" in page_text(response)
    assert PublishedRuleSet.objects.count() == 1


# ---------------------------------------------------------------------------------------------
# Sending
# ---------------------------------------------------------------------------------------------


def test_the_send_page_shows_the_changes_and_the_test_patient_run(published_rules: RuleSet, author: User) -> None:
    edit_allergy_message("A new allergy message for the send page.")
    page = page_text(signed_in(author).get(reverse(SEND)))
    assert 'data-change="Rule:allergy"' in page
    assert "A new allergy message for the send page." in page
    assert "42 of 42 test patients pass" in page
    assert "Send for review" in page


def test_a_weakening_change_cannot_be_sent_without_its_reason(published_rules: RuleSet, author: User) -> None:
    keys = switch_off_the_urgent_rule()
    client = signed_in(author)
    page = page_text(client.get(reverse(SEND)))
    safety = page.index('class="safety-net')
    assert safety < page.index("What the draft changes")
    assert "The rule “Get medical help now” (urgent-symptoms" in page[safety:]
    assert "switched off" in page[safety:]

    refused = send(client, "Urgent rule off", **{key: "A reason" for key in keys[1:]})
    assert refused.status_code == 200
    assert "Write why you make this change" in page_text(refused)
    assert not Review.objects.exists()

    sent = send(client, "Urgent rule off", **{key: f"Reason for {key}" for key in keys})
    assert sent.status_code == 302
    review = Review.objects.get()
    assert review.status == Review.Status.WAITING
    assert review.author == author
    assert review.author_note == "Urgent rule off"
    assert review.safety_reasons == {key: f"Reason for {key}" for key in keys}
    assert review.live_version == published_rules.version
    assert PublishedRuleSet.objects.count() == 1


def test_a_failing_test_patient_blocks_sending(published_rules: RuleSet, author: User) -> None:
    Rule.objects.filter(identifier="allergy").update(level="take_care")
    response = send(signed_in(author), "Milder allergy advice")
    assert response.status_code == 200
    page = page_text(response)
    assert "Not sent." in page
    assert "expected “Do not use it unless your doctor decides otherwise”" in page
    assert not Review.objects.exists()


def test_an_unchanged_draft_is_not_sent(published_rules: RuleSet, author: User) -> None:
    response = send(signed_in(author), "Nothing")
    assert response.status_code == 200
    assert "The draft is the same as version" in page_text(response)
    assert not Review.objects.exists()


def test_a_second_send_while_one_waits_is_refused_with_a_message(published_rules: RuleSet, author: User) -> None:
    edit_allergy_message()
    first = signed_in(author)
    second = signed_in(clinical_editor("carol"))
    second.get(reverse(SEND))
    assert send(first).status_code == 302
    response = send(second, "Mine too")
    assert response.status_code == 200
    assert "already waiting for review" in page_text(response)
    assert Review.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_sends_at_once_make_one_review_and_no_error(published_rules: RuleSet) -> None:
    edit_allergy_message()
    clients = [signed_in(clinical_editor(name)) for name in ("erin", "frank")]
    barrier = threading.Barrier(2)
    statuses: list[int] = []
    pages: list[str] = []

    def run(client: Client) -> None:
        try:
            barrier.wait(timeout=10)
            response = send(client, "At once")
            statuses.append(response.status_code)
            pages.append(page_text(response))
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(statuses) == [200, 302]
    assert any("already waiting for review" in page for page in pages)
    assert Review.objects.count() == 1


# ---------------------------------------------------------------------------------------------
# Reviewing
# ---------------------------------------------------------------------------------------------


def test_the_author_cannot_approve_their_own_review(published_rules: RuleSet, author: User) -> None:
    edit_allergy_message()
    review = sent_review(author)
    client = signed_in(author)
    page = page_text(client.get(review_url(review)))
    assert "You sent this draft for review" in page
    assert "Approve and publish" not in page
    forged = approve(client, review)
    assert forged.status_code == 403
    assert "another clinician must approve it" in page_text(forged)
    assert PublishedRuleSet.objects.count() == 1
    review.refresh_from_db()
    assert review.status == Review.Status.WAITING


def test_the_reviewer_sees_the_safety_net_first_and_must_tick_each_item(
    published_rules: RuleSet, author: User, reviewer: User
) -> None:
    keys = switch_off_the_urgent_rule()
    review = sent_review(author, "Urgent rule off", {key: f"Because {key}" for key in keys})
    client = signed_in(reviewer)
    page = page_text(client.get(review_url(review)))
    safety = page.index('class="safety-net')
    assert safety < page.index("What the draft changes")
    assert f"Because {URGENT_KEY}" in page[safety:]
    assert page.count('name="acknowledge"') == len(keys)

    refused = approve(client, review, ticks=keys[:1])
    assert refused.status_code == 200
    assert "Tick each change to the safety net" in page_text(refused)
    assert PublishedRuleSet.objects.count() == 1

    approved = approve(client, review, ticks=keys)
    assert approved.status_code == 302
    assert PublishedRuleSet.objects.count() == 2
    review.refresh_from_db()
    assert sorted(review.acknowledged) == sorted(keys)


def test_approving_publishes_and_records_who_and_when(published_rules: RuleSet, author: User, reviewer: User) -> None:
    edit_allergy_message("Approved allergy message.")
    review = sent_review(author, "Shorter allergy advice")
    response = approve(signed_in(reviewer), review, "Checked against the leaflet")
    assert response.status_code == 302
    version = PublishedRuleSet.objects.get(version=published_rules.version + 1)
    review.refresh_from_db()
    assert version.author == author
    assert version.author_note == "Shorter allergy advice"
    assert version.sent_at == review.sent_at
    assert version.second_review is True
    assert version.published_by == reviewer
    assert version.note == "Checked against the leaflet"
    assert review.status == Review.Status.APPROVED
    assert review.reviewer == reviewer
    assert review.reviewer_note == "Checked against the leaflet"
    assert review.reviewed_at is not None and review.reviewed_at >= review.sent_at
    assert review.published == version
    rule = next(rule for rule in live.current_ruleset().rules if rule.id == "allergy")
    assert rule.message == "Approved allergy message."


def test_sending_back_keeps_the_draft_and_records_the_comment(
    published_rules: RuleSet, author: User, reviewer: User
) -> None:
    edit_allergy_message("Kept in the draft.")
    review = sent_review(author)
    client = signed_in(reviewer)
    empty = client.post(review_url(review), {"action": "return", "comment": ""})
    assert empty.status_code == 200
    assert "Say what should change" in page_text(empty)
    response = client.post(review_url(review), {"action": "return", "comment": "Cite the leaflet section."})
    assert response.status_code == 302
    review.refresh_from_db()
    assert review.status == Review.Status.RETURNED
    assert review.reviewer == reviewer
    assert review.reviewer_note == "Cite the leaflet section."
    assert PublishedRuleSet.objects.count() == 1
    assert Rule.objects.get(identifier="allergy").message == "Kept in the draft."
    assert "Cite the leaflet section." in page_text(signed_in(author).get(review_url(review)))


def test_a_draft_edited_after_sending_cannot_be_approved_until_sent_again(
    published_rules: RuleSet, author: User, reviewer: User
) -> None:
    edit_allergy_message("First wording.")
    review = sent_review(author)
    edit_allergy_message("Second wording, after sending.")
    client = signed_in(reviewer)
    page = page_text(client.get(review_url(review)))
    assert "The draft changed after it was sent" in page
    assert "Approve and publish" not in page
    response = approve(client, review)
    assert response.status_code == 409
    assert "The draft changed after it was sent" in page_text(response)
    assert PublishedRuleSet.objects.count() == 1

    # The author withdraws it and sends the draft as it is now.
    author_client = signed_in(author)
    withdrawn = author_client.post(reverse("admin:screening_review_withdraw", args=[review.pk]))
    assert withdrawn.status_code == 302
    review.refresh_from_db()
    assert review.status == Review.Status.WITHDRAWN
    again = sent_review(author, "Second wording")
    assert approve(client, again).status_code == 302
    assert PublishedRuleSet.objects.get(version=published_rules.version + 1).document["rules"]


def test_the_review_page_lists_out_of_date_translations_before_other_translation_notes(
    published_rules: RuleSet, author: User, reviewer: User
) -> None:
    edit_allergy_message("A changed English message.")
    Rule.objects.filter(identifier="allergy").update(message_zh_hans_outdated=True)
    review = sent_review(author)
    page = page_text(signed_in(reviewer).get(review_url(review)))
    outdated = page.index('class="translations-outdated')
    assert "A changed English message." in page[outdated:]
    assert outdated < page.index("What the draft changes")


# ---------------------------------------------------------------------------------------------
# Publishing directly, and saying so
# ---------------------------------------------------------------------------------------------


def test_the_defaults_are_published_without_a_second_review(published_rules: RuleSet) -> None:
    assert PublishedRuleSet.objects.get(version=published_rules.version).second_review is False


def test_without_the_setting_the_publish_page_does_not_publish(
    published_rules: RuleSet, author: User, settings: Any
) -> None:
    settings.RUXGUIDE_SINGLE_CLINICIAN_PUBLISH = False
    edit_allergy_message()
    client = signed_in(author)
    shown = client.get(reverse("admin:screening_publishedruleset_publish"))
    assert shown.status_code == 302
    assert shown["Location"] == reverse(SEND)
    posted = client.post(reverse("admin:screening_publishedruleset_publish"), {"note": "Straight out"})
    assert posted.status_code == 302
    assert posted["Location"] == reverse(SEND)
    assert PublishedRuleSet.objects.count() == 1
    assert "a second clinician" in page_text(client.get(posted["Location"]))


def test_with_the_setting_one_clinician_publishes_and_every_record_says_so(
    published_rules: RuleSet, author: User, settings: Any
) -> None:
    settings.RUXGUIDE_SINGLE_CLINICIAN_PUBLISH = True
    edit_allergy_message()
    client = signed_in(author)
    response = client.post(reverse("admin:screening_publishedruleset_publish"), {"note": "Alone"})
    assert response.status_code == 302
    version = PublishedRuleSet.objects.get(version=published_rules.version + 1)
    assert version.second_review is False
    assert version.published_by == author

    listing = page_text(client.get(reverse("admin:screening_publishedruleset_changelist")))
    [row] = [row for row in re.findall(r"<tr[^>]*>(.*?)</tr>", listing, re.S) if "Alone" in row]
    assert "ublished without a second review" in row

    fhir = client.get(reverse("admin:screening_publishedruleset_fhir")).json()
    Questionnaire.model_validate(fhir)
    assert "Published without a second review" in str(fhir["meta"]["tag"])
    assert "published without a second review" in fhir["description"]


def test_a_reviewed_version_says_so_in_the_fhir_export(published_rules: RuleSet, author: User, reviewer: User) -> None:
    edit_allergy_message()
    approve(signed_in(reviewer), sent_review(author))
    fhir = signed_in(author).get(reverse("admin:screening_publishedruleset_fhir")).json()
    Questionnaire.model_validate(fhir)
    assert "Approved by a second clinician" in str(fhir["meta"]["tag"])
    assert "without a second review" not in str(fhir)


def test_only_the_author_withdraws_and_the_author_cannot_send_back(
    published_rules: RuleSet, author: User, reviewer: User
) -> None:
    edit_allergy_message()
    review = sent_review(author)
    withdraw = reverse("admin:screening_review_withdraw", args=[review.pk])
    refused = signed_in(reviewer).post(withdraw)
    assert refused.status_code == 403
    assert "Only the clinician who sent this draft for review can withdraw it." in page_text(refused)
    returned = signed_in(author).post(review_url(review), {"action": "return", "comment": "My own"})
    assert returned.status_code == 403
    review.refresh_from_db()
    assert review.status == Review.Status.WAITING


def test_a_version_published_after_sending_stops_the_approval(
    published_rules: RuleSet, author: User, reviewer: User, settings: Any
) -> None:
    edit_allergy_message()
    review = sent_review(author)
    settings.RUXGUIDE_SINGLE_CLINICIAN_PUBLISH = True
    assert (
        signed_in(author).post(reverse("admin:screening_publishedruleset_publish"), {"note": "Alone"}).status_code
        == 302
    )
    client = signed_in(reviewer)
    page = page_text(client.get(review_url(review)))
    assert f"Version {published_rules.version + 1} was published after this draft was sent" in page
    assert "Approve and publish" not in page
    response = approve(client, review)
    assert response.status_code == 409
    assert PublishedRuleSet.objects.count() == 2
