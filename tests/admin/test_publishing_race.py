"""Two clinicians publishing at the same moment: one version each time, never a duplicate, a gap or an error.

These tests use real threads and the real database (committed transactions), so that the two publishes
meet in the database the way two app servers' would.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection
from django.test import Client
from django.urls import reverse

from screening import drafts, publishing
from screening.engine import RuleSet
from screening.models import PublishedRuleSet, Rule
from tests.support.client import page_text as text

PASSWORD = "a long enough password"
PUBLISH_URL = "admin:screening_publishedruleset_publish"


@pytest.fixture(autouse=True)
def single_clinician_publishing(settings: Any) -> None:
    """These tests publish through the publish page, which does so only where one clinician may publish alone."""
    settings.RUXGUIDE_SINGLE_CLINICIAN_PUBLISH = True


def editor(username: str) -> User:
    user = User.objects.create_user(username, password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name="Clinical editor"))
    return user


def versions() -> list[int]:
    return sorted(PublishedRuleSet.objects.values_list("version", flat=True))


def at_once[T](*calls: Callable[[], T]) -> tuple[list[T], list[str]]:
    """Run the calls in threads that start together; their results, and any error each raised, by name."""
    barrier = threading.Barrier(len(calls))
    results: list[T] = []
    errors: list[str] = []
    lock = threading.Lock()

    def run(call: Callable[[], T]) -> None:
        try:
            barrier.wait(timeout=10)
            result = call()
            with lock:
                results.append(result)
        except Exception as error:  # every error is what the test counts
            with lock:
                errors.append(f"{type(error).__name__}: {error}")
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a publish never finished"
    return results, errors


def publish_as_reviewed(user: User, note: str, *, version: int, reviewed: str) -> Callable[[], str]:
    """A publish from a page that showed live version `version` and the draft `reviewed`."""

    def call() -> str:
        try:
            publishing.publish(user=user, note=note, expected_version=version, reviewed_draft=reviewed)
        except publishing.PublishConflict:
            return "already published"
        return "published"

    return call


@pytest.mark.django_db(transaction=True)
def test_twenty_rounds_of_two_publishes_at_once_give_one_version_each_and_no_error(published_rules: RuleSet) -> None:
    first = versions()[-1]
    alice, bob = editor("alice"), editor("bob")
    outcomes: list[list[str]] = []
    all_errors: list[str] = []
    for round_number in range(20):
        live = versions()[-1]
        reviewed = publishing.draft_fingerprint(drafts.draft_document())
        results, errors = at_once(
            publish_as_reviewed(alice, f"Round {round_number} (Alice)", version=live, reviewed=reviewed),
            publish_as_reviewed(bob, f"Round {round_number} (Bob)", version=live, reviewed=reviewed),
        )
        outcomes.append(sorted(results))
        all_errors.extend(errors)
    assert all_errors == []
    assert outcomes == [["already published", "published"]] * 20
    assert versions() == list(range(1, first + 21))


@pytest.mark.django_db(transaction=True)
def test_two_publishes_at_once_without_a_reviewed_version_both_go_live_one_after_the_other(
    published_rules: RuleSet,
) -> None:
    """Callers that name no reviewed version (commands, scripts) queue: two versions, consecutive."""
    first = versions()[-1]
    all_errors: list[str] = []
    for round_number in range(10):
        _, errors = at_once(
            lambda n=round_number: publishing.publish(note=f"Round {n} A").version,
            lambda n=round_number: publishing.publish(note=f"Round {n} B").version,
        )
        all_errors.extend(errors)
    assert all_errors == []
    assert versions() == list(range(1, first + 21))


def hidden_fields(response: Any) -> dict[str, str]:
    """The hidden inputs of the publish form, as the browser would send them back."""
    return {
        name: value
        for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', text(response))
        if name != "csrfmiddlewaretoken"
    }


def post_publish(client: Client, name: str, form: dict[str, str]) -> Callable[[], tuple[str, int, str]]:
    def call() -> tuple[str, int, str]:
        response = client.post(reverse(PUBLISH_URL), form)
        return name, response.status_code, text(response)

    return call


@pytest.mark.django_db(transaction=True)
def test_two_clinicians_pressing_publish_at_once_get_one_version_and_a_clear_message(
    published_rules: RuleSet,
) -> None:
    live = versions()[-1]
    clients: dict[str, Client] = {}
    forms: dict[str, dict[str, str]] = {}
    for name in ("alice", "bob"):
        clients[name] = Client()
        clients[name].force_login(editor(name))
        page = clients[name].get(reverse(PUBLISH_URL))
        forms[name] = {**hidden_fields(page), "note": f"Reviewed by {name}"}
    outcomes: list[list[tuple[str, int, str]]] = []
    for _ in range(5):
        results, errors = at_once(*(post_publish(clients[name], name, forms[name]) for name in ("alice", "bob")))
        assert errors == []
        outcomes.append(results)
        winner = next(name for name, status, _ in results if status == 302)
        [(loser, status, page)] = [result for result in results if result[0] != winner]
        assert status in (200, 409)
        assert f"Version {versions()[-1]} was published by {winner} a moment ago; review the draft again." in page
        assert f'value="Reviewed by {loser}"' in page
        # Both reload the page, as they would to review again.
        for name in ("alice", "bob"):
            forms[name] = {**hidden_fields(clients[name].get(reverse(PUBLISH_URL))), "note": f"Reviewed by {name}"}
    assert versions() == list(range(1, live + 6))
    assert [PublishedRuleSet.objects.get(version=v).note for v in range(live + 1, live + 6)] == [
        f"Reviewed by {next(n for n, s, _ in results if s == 302)}" for results in outcomes
    ]


# A publish form opened before someone else published, through the view (no threads needed).


@pytest.mark.django_db
def test_a_publish_form_opened_before_someone_else_published_names_them_and_publishes_nothing(
    clinician: User, clinician_client: Client, published_rules: RuleSet
) -> None:
    other = editor("dr_okafor")
    page = clinician_client.get(reverse(PUBLISH_URL))
    form = {**hidden_fields(page), "note": "Clearer allergy wording"}
    assert form.keys() >= {"live_version", "reviewed_draft"}
    newer = publishing.publish(user=other, note="Published first")

    response = clinician_client.post(reverse(PUBLISH_URL), form)

    assert response.status_code == 409
    page_text = text(response)
    assert f"Version {newer.version} was published by dr_okafor a moment ago; review the draft again." in page_text
    assert 'value="Clearer allergy wording"' in page_text
    assert f'name="live_version" value="{newer.version}"' in page_text
    assert versions()[-1] == newer.version
    # Sent again from the refreshed page, it publishes.
    again = clinician_client.post(reverse(PUBLISH_URL), {**hidden_fields(response), "note": "Clearer allergy wording"})
    assert again.status_code == 302
    assert versions()[-1] == newer.version + 1


@pytest.mark.django_db
def test_a_publish_form_opened_before_the_draft_changed_shows_the_new_changes_and_publishes_nothing(
    clinician_client: Client, published_rules: RuleSet
) -> None:
    page = clinician_client.get(reverse(PUBLISH_URL))
    form = {**hidden_fields(page), "note": "No change"}
    rule = Rule.objects.get(identifier="allergy")
    rule.message = "Do not use it. Ask your doctor."
    rule._change_reason = "Shorter"  # type: ignore[attr-defined]
    rule.save()

    response = clinician_client.post(reverse(PUBLISH_URL), form)

    assert response.status_code == 409
    page_text = text(response)
    assert "The draft changed since you opened this page: review the changes again." in page_text
    assert 'data-change="Rule:allergy"' in page_text
    assert 'value="No change"' in page_text
    assert versions()[-1] == published_rules.version


@pytest.mark.django_db
def test_the_publish_function_refuses_a_stale_review_with_who_published_and_which_version(
    clinician: User, published_rules: RuleSet
) -> None:
    reviewed = publishing.draft_fingerprint(drafts.draft_document())
    newer = publishing.publish(user=editor("dr_okafor"), note="First")
    with pytest.raises(publishing.PublishConflict) as raised:
        publishing.publish(
            user=clinician, note="Second", expected_version=published_rules.version, reviewed_draft=reviewed
        )
    assert raised.value.published == newer
    assert not raised.value.draft_changed
    assert versions()[-1] == newer.version
