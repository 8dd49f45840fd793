"""Who may do what in the clinician's editor: explicit permissions, and records nobody can delete."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.contrib.auth.models import Group, Permission, User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from screening.engine import RuleSet
from screening.models import PublishedRuleSet, Rule
from screening.permissions import (
    CLINICAL_EDITOR,
    CLINICAL_EDITOR_PERMISSIONS,
    CLINICAL_REVIEWER,
    CLINICAL_REVIEWER_PERMISSIONS,
    WORKFLOW_PERMISSIONS,
)

# Pages any signed-in staff member may open whatever their permissions: their own password, the
# (empty for them) index, the admin's translation catalogue, and signing in and out.
OPEN_TO_ALL_STAFF = {
    "admin:index",
    "admin:login",
    "admin:logout",
    "admin:password_change",
    "admin:password_change_done",
    "admin:jsi18n",
}


def _patterns(patterns: list[Any], prefix: str = "", namespace: str = "") -> Iterator[tuple[str, str]]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}:{pattern.namespace}" if namespace and pattern.namespace else pattern.namespace
            yield from _patterns(pattern.url_patterns, prefix + str(pattern.pattern), inner or namespace)
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), f"{namespace}:{pattern.name}"


def staff_only_urls() -> list[tuple[str, str]]:
    """Every admin and preview address, as (route, name), in the order the URLconf lists them."""
    found = [
        (route, name)
        for route, name in _patterns(get_resolver().url_patterns)
        if name.startswith(("admin:", "preview:")) and name not in OPEN_TO_ALL_STAFF
    ]
    assert len(found) > 80, "the admin's URLs were not found"
    return found


def _fill(route: str, values: dict[str, str]) -> str:
    """A route with its parameters filled in with real objects' ids."""
    model = re.search(r"admin/(\w+)/(\w+)/", route)
    object_id = values.get(model.group(2), "1") if model else "1"
    route = route.replace("<path:object_id>", object_id).replace("<id>", values["user"])
    route = route.replace("<int:version>", values["version"]).replace("<str:question_id>", "allergy")
    history_id = values.get(f"history of {model.group(2)}", "1") if model else "1"
    route = route.replace("^([^/]+)/history/([^/]+)/$", f"{object_id}/history/{history_id}/")
    route = re.sub(r"\^\(\?P<app_label>[^)]*\)/\$", "screening/", route)
    route = route.replace("^(?P<url>.*)$", "screening/nothing-here/")
    route = route.replace("<path:content_type_id>", "1")
    return "/" + re.sub(r"<[^>]+>", "1", route)


@pytest.fixture
def object_ids(published_rules: RuleSet, admin_user: User) -> dict[str, str]:
    # One sign-in record of each kind, so their pages exist and the refusal (not "not found") is tested.
    attempt = AccessAttempt.objects.create(username="someone", ip_address="192.0.2.1", failures_since_start=1)
    failure = AccessFailureLog.objects.create(username="someone", ip_address="192.0.2.1")
    log = AccessLog.objects.create(username="someone", ip_address="192.0.2.1")
    assert attempt.pk and failure.pk and log.pk
    values = {"user": str(admin_user.pk), "version": str(published_rules.version)}
    # Real ids: PostgreSQL does not restart its sequences between tests, so "1" may name nothing.
    for model in admin.site._registry:
        first = model._default_manager.first()
        if first is not None:
            values[model._meta.model_name or ""] = str(first.pk)
            if not model.__name__.startswith("Historical") and hasattr(model, "history"):
                values[f"history of {model._meta.model_name}"] = str(first.history.first().pk)
    return values


@pytest.fixture
def staff_without_permissions(db: None) -> Client:
    user = User.objects.create_user("visitor", password="a long enough password", is_staff=True)
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize(("route", "name"), staff_only_urls(), ids=[name for _, name in staff_only_urls()])
def test_staff_without_permissions_are_refused_every_admin_and_preview_page(
    staff_without_permissions: Client, object_ids: dict[str, str], route: str, name: str
) -> None:
    url = _fill(route, object_ids)
    response = staff_without_permissions.get(url, follow=True)
    # The admin's bare object address redirects to the change page, which is then refused. The admin
    # answers 404 rather than 403 where a page would name what exists: an app's page, "view on site"
    # (no draft object has a public page) and unknown admin addresses.
    unknown_address = route.endswith("(?P<url>.*)$")
    expected = 404 if name in {"admin:app_list", "admin:view_on_site"} or unknown_address else 403
    if name == "preview:language":
        expected = 405  # the switch only takes a form post: a GET is refused before anyone is asked who they are
    assert response.status_code == expected, (url, response.status_code, response.redirect_chain)


def test_the_refusal_says_what_is_missing_in_words(staff_without_permissions: Client, published_rules: RuleSet) -> None:
    response = staff_without_permissions.get(reverse("admin:screening_publishedruleset_export"))
    assert response.status_code == 403
    page = response.content.decode()
    assert "You do not have permission" in page
    assert "export the draft" in page


@pytest.mark.parametrize(
    ("permission", "url_name"),
    [
        ("export_draft", "admin:screening_publishedruleset_export"),
        ("export_draft", "admin:screening_publishedruleset_fhir"),
        ("view_change_history", "admin:screening_change_log"),
        ("view_translations", "admin:screening_translations"),
        ("view_publishedruleset", "admin:screening_publishedruleset_compare"),
        ("publish_draft", "admin:screening_review_send"),
        ("view_review", "admin:screening_review_changelist"),
        ("import_draft", "admin:screening_publishedruleset_import"),
        ("preview_draft", "preview:start"),
    ],
)
def test_each_workflow_page_opens_with_its_own_permission_alone(
    published_rules: RuleSet, permission: str, url_name: str
) -> None:
    user = User.objects.create_user(f"only-{permission}", password="a long enough password", is_staff=True)
    user.user_permissions.add(Permission.objects.get(content_type__app_label="screening", codename=permission))
    client = Client()
    client.force_login(user)
    assert client.get(reverse(url_name)).status_code == 200


def test_restoring_needs_its_own_permission(published_rules: RuleSet) -> None:
    user = User.objects.create_user("restorer", password="a long enough password", is_staff=True)
    client = Client()
    client.force_login(user)
    url = reverse("admin:screening_publishedruleset_restore", args=[published_rules.version])
    assert client.get(url).status_code == 403
    user.user_permissions.add(Permission.objects.get(codename="restore_version"))
    assert client.get(url).status_code == 200


def test_a_published_version_cannot_be_deleted_through_the_instance(published_rules: RuleSet) -> None:
    published = PublishedRuleSet.objects.get(version=published_rules.version)
    with pytest.raises(ValidationError):
        published.delete()
    assert PublishedRuleSet.objects.filter(pk=published.pk).exists()


def test_a_published_version_cannot_be_deleted_through_a_queryset(published_rules: RuleSet) -> None:
    with pytest.raises(ValidationError):
        PublishedRuleSet.objects.all().delete()
    assert PublishedRuleSet.objects.count() == 1


def test_history_rows_cannot_be_deleted_through_the_instance_or_a_queryset(published_rules: RuleSet) -> None:
    rule = Rule.objects.get(identifier="allergy")
    history = rule.history  # type: ignore[attr-defined]
    count = history.count()
    # Each attempt in its own savepoint: a refused delete spoils the transaction it ran in.
    with pytest.raises(ValidationError), transaction.atomic():
        history.first().delete()
    with pytest.raises(ValidationError), transaction.atomic():
        history.all().delete()
    with pytest.raises(ValidationError), transaction.atomic():
        Rule.history.all().delete()  # type: ignore[attr-defined]
    assert history.count() == count


def test_not_even_a_superuser_can_delete_a_published_version_or_history_in_the_admin(
    admin_client: Client, published_rules: RuleSet
) -> None:
    published = PublishedRuleSet.objects.get(version=published_rules.version)
    response = admin_client.post(
        reverse("admin:screening_publishedruleset_delete", args=[published.pk]), {"post": "yes"}
    )
    assert response.status_code == 403
    assert PublishedRuleSet.objects.filter(pk=published.pk).exists()


def test_the_clinical_editor_group_holds_exactly_the_listed_permissions(db: None) -> None:
    group = Group.objects.get(name=CLINICAL_EDITOR)
    granted = {
        f"{app}.{codename}" for app, codename in group.permissions.values_list("content_type__app_label", "codename")
    }
    assert granted == {f"screening.{codename}" for codename in CLINICAL_EDITOR_PERMISSIONS}
    # Every workflow page but approving: a second clinician (the "Clinical reviewer" group) approves.
    workflow = {f"screening.{codename}" for codename, _ in WORKFLOW_PERMISSIONS}
    assert granted & workflow == workflow - {"screening.approve_publication"}


def test_the_clinical_reviewer_group_holds_the_editors_list_and_approving(db: None) -> None:
    group = Group.objects.get(name=CLINICAL_REVIEWER)
    granted = {
        f"{app}.{codename}" for app, codename in group.permissions.values_list("content_type__app_label", "codename")
    }
    assert granted == {f"screening.{codename}" for codename in CLINICAL_REVIEWER_PERMISSIONS}
    editor = {f"screening.{codename}" for codename in CLINICAL_EDITOR_PERMISSIONS}
    assert granted - editor == {"screening.approve_publication"}
    assert {f"screening.{codename}" for codename, _ in WORKFLOW_PERMISSIONS} <= granted


def test_the_clinical_editor_group_cannot_delete_published_versions_or_history(db: None) -> None:
    group = Group.objects.get(name=CLINICAL_EDITOR)
    codenames = set(group.permissions.values_list("codename", flat=True))
    assert "delete_publishedruleset" not in codenames
    assert "change_publishedruleset" not in codenames
    assert not {
        codename
        for codename in codenames
        if codename.startswith(("add_historical", "change_historical", "delete_historical"))
    }


def test_the_group_is_put_back_in_step_by_migrate(db: None) -> None:
    from django.core.management import call_command

    group = Group.objects.get(name=CLINICAL_EDITOR)
    group.permissions.add(Permission.objects.get(codename="delete_publishedruleset"))
    group.permissions.remove(Permission.objects.get(codename="change_rule"))
    reviewers = Group.objects.get(name=CLINICAL_REVIEWER)
    reviewers.permissions.remove(Permission.objects.get(codename="approve_publication"))
    group.permissions.add(Permission.objects.get(codename="approve_publication"))
    call_command("migrate", verbosity=0)
    codenames = set(group.permissions.values_list("codename", flat=True))
    assert "delete_publishedruleset" not in codenames
    assert "change_rule" in codenames
    assert "approve_publication" not in codenames
    assert "approve_publication" in set(reviewers.permissions.values_list("codename", flat=True))


def test_a_reader_cannot_revert_a_rule_through_its_history_page(published_rules: RuleSet) -> None:
    rule = Rule.objects.get(identifier="allergy")
    old = rule.history.last()  # type: ignore[attr-defined]
    reader = User.objects.create_user("reader", password="a long enough password", is_staff=True)
    reader.user_permissions.add(Permission.objects.get(codename="view_rule"))
    client = Client()
    client.force_login(reader)
    url = reverse("admin:screening_rule_simple_history", args=[rule.pk, old.history_id])
    assert client.get(url).status_code == 200
    response = client.post(url, {"message": "Changed by someone who may only read.", "change_reason": "test"})
    assert response.status_code == 403
    assert Rule.objects.get(pk=rule.pk).message == rule.message
