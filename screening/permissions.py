"""Who may do what: the workflow's own permissions, and each clinical group's list of them."""

from __future__ import annotations

from typing import Any

from django.apps import apps as django_apps
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import DEFAULT_DB_ALIAS, models

from screening.models import PublishedRuleSet, Review

CLINICAL_EDITOR = "Clinical editor"
CLINICAL_REVIEWER = "Clinical reviewer"
# A clinician who only opens the hand-off codes patients bring (screening/views/handoff.py): no editing.
TREATING_CLINICIAN = "Treating clinician"
APPROVE = "approve_publication"
OPEN_HANDOFF = "open_handoff_code"

# Declared on PublishedRuleSet's Meta, so migrations create them; one per page of the workflow.
WORKFLOW_PERMISSIONS: list[tuple[str, str]] = list(PublishedRuleSet._meta.permissions)

# The draft: clinicians add, change, delete and read every part of it.
DRAFT_MODELS = ("question", "option", "showwhen", "rule", "condition", "source", "guidancesection", "scenario")

# Kept exactly in step by `sync_clinical_editor_group` after every migrate. Not here, on purpose:
# changing or deleting published versions, and adding, changing or deleting history rows; and
# approving a publication, which needs a second clinician (the "Clinical reviewer" group).
CLINICAL_EDITOR_PERMISSIONS: tuple[str, ...] = (
    *(f"{action}_{model}" for model in DRAFT_MODELS for action in ("add", "change", "delete", "view")),
    "view_publishedruleset",
    "view_defaultcontentversion",
    "view_review",
    *(codename for codename, _ in WORKFLOW_PERMISSIONS if codename != APPROVE),
)

# A reviewer edits like an editor and may also approve another clinician's draft (never their own).
CLINICAL_REVIEWER_PERMISSIONS: tuple[str, ...] = (*CLINICAL_EDITOR_PERMISSIONS, APPROVE)

# Opening a patient's code and nothing else (the editors and reviewers can open codes too).
TREATING_CLINICIAN_PERMISSIONS: tuple[str, ...] = (OPEN_HANDOFF,)

CLINICAL_GROUPS: dict[str, tuple[str, ...]] = {
    CLINICAL_EDITOR: CLINICAL_EDITOR_PERMISSIONS,
    CLINICAL_REVIEWER: CLINICAL_REVIEWER_PERMISSIONS,
    TREATING_CLINICIAN: TREATING_CLINICIAN_PERMISSIONS,
}


def sync_clinical_editor_group(**kwargs: Any) -> None:
    """post_migrate: each clinical group holds exactly its list (CLINICAL_GROUPS), whatever was granted by hand."""
    if kwargs.get("app_config") is None or kwargs["app_config"].label != "screening":
        return
    using = kwargs.get("using", DEFAULT_DB_ALIAS)
    for name, codenames in CLINICAL_GROUPS.items():
        group, _ = Group.objects.using(using).get_or_create(name=name)
        wanted = Permission.objects.using(using).filter(content_type__app_label="screening", codename__in=codenames)
        missing = set(codenames) - set(wanted.values_list("codename", flat=True))
        if missing:
            raise ImproperlyConfigured(f"The {name} group names permissions that do not exist: {sorted(missing)}")
        group.permissions.set(wanted)


def refuse_deleting_a_record(sender: type[models.Model], instance: models.Model, **kwargs: Any) -> None:
    """pre_delete of published versions and history rows: they are the record, kept for good.

    Sent for instance deletes and for queryset deletes alike (a model with a pre_delete receiver is
    never fast-deleted), inside the delete's transaction, so nothing is removed.
    """
    raise ValidationError(f"{str(sender._meta.verbose_name).capitalize()} is a permanent record and cannot be deleted.")


def kept_records() -> list[type[models.Model]]:
    """Published versions, reviews and every draft model's history rows."""
    screening = django_apps.get_app_config("screening")
    history = [model for model in screening.get_models() if model.__name__.startswith("Historical")]
    return [PublishedRuleSet, Review, *history]


def permission_label(permission: str) -> str:
    """A permission as a clinician reads it: "export the draft (JSON and FHIR)"."""
    app_label, codename = permission.split(".", 1)
    name = Permission.objects.filter(content_type__app_label=app_label, codename=codename).values_list(
        "name", flat=True
    )
    return (name.first() or codename.replace("_", " ")).removeprefix("Can ")
