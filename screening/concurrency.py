"""Optimistic concurrency for the draft: a save made from a stale form is refused, never silently merged.

Every draft object carries an edit version. Saving an existing object first bumps that version in one
UPDATE that names the version the editor started from; when no row matches, someone else saved (or
deleted) the object in the meantime and the save is refused with `EditConflict`.

A row edited inside its parent's page (an option or skip rule of a question, a condition of a rule) also
moves its parent's version on when it is saved or deleted, so a page opened before the change is stale as a
whole, including a row someone else added. The admin checks the versions while validating a form (no
query: the admin has just read the objects) and `save()` is the race-proof backstop.

The helpers below read the audit history (simple-history) so the conflict page can tell the clinician who
changed what since they opened the page; screening/admin/conflicts.py builds that page.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import models, router, transaction
from django.db.models import F

# The row models edited inline on their parent's page, and the foreign key to that parent.
EDIT_PARENTS = {"screening.option": "question", "screening.showwhen": "question", "screening.condition": "rule"}


class EditConflict(Exception):
    """The object changed (or was deleted) after the editor opened it."""

    def __init__(self, instance: models.Model, seen_version: int) -> None:
        super().__init__(f"{instance._meta.verbose_name} {instance.pk} changed since version {seen_version}")
        self.instance = instance
        self.seen_version = seen_version


class EditVersioned(models.Model):
    edit_version = models.PositiveIntegerField(
        "edit version", default=1, editable=False, help_text="Goes up by one with every saved change."
    )

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        using = kwargs.get("using") or router.db_for_write(type(self), instance=self)
        with transaction.atomic(using=using):
            if not (self._state.adding or self.pk is None):
                seen = self.edit_version
                bumped = (
                    type(self)
                    ._base_manager.using(using)
                    .filter(pk=self.pk, edit_version=seen)
                    .update(edit_version=F("edit_version") + 1)
                )
                if not bumped:
                    raise EditConflict(self, seen)
                self.edit_version = seen + 1
            super().save(*args, **kwargs)
            self._move_parent_on(using)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        using = kwargs.get("using") or router.db_for_write(type(self), instance=self)
        with transaction.atomic(using=using):
            self._move_parent_on(using)
            return super().delete(*args, **kwargs)

    def _move_parent_on(self, using: str) -> None:
        """A saved or deleted row changes its parent's page: a form of the parent opened earlier is stale."""
        name = EDIT_PARENTS.get(self._meta.label_lower)
        if name is None:
            return
        fk: Any = self._meta.get_field(name)  # a ForeignKey, named in EDIT_PARENTS
        parent_model: Any = fk.related_model
        parent_model._base_manager.using(using).filter(pk=getattr(self, fk.attname)).update(
            edit_version=F("edit_version") + 1
        )
        # The admin's inline rows hold the very parent object it saved: keep its version in step.
        if fk.is_cached(self):
            parent = getattr(self, name)
            parent.edit_version += 1


def current_version(instance: models.Model) -> int | None:
    """The saved object's edit version now, or None when it has been deleted."""
    return type(instance)._base_manager.filter(pk=instance.pk).values_list("edit_version", flat=True).first()


# ---------------------------------------------------------------------------------------------
# What changed since a page was opened: read from the audit history (simple-history)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Edit:
    """One saved change: who, when and the reason they gave."""

    who: str
    when: datetime.datetime
    reason: str
    what: str


@dataclass
class FieldChange:
    name: str
    label: str
    opened: str
    theirs: str
    yours: str
    you_changed: bool
    taken_over: bool = False


@dataclass
class ItemChange:
    """One object of the page (the object itself or a row) that someone else changed, added or deleted."""

    title: str
    status: str  # "changed", "added" or "deleted"
    fields: list[FieldChange] = field(default_factory=list)


@dataclass
class ConflictReport:
    edits: list[Edit]
    items: list[ItemChange]

    @property
    def both_changed(self) -> list[str]:
        return [f.label for item in self.items for f in item.fields if f.you_changed and not f.taken_over]

    @property
    def taken_over(self) -> list[str]:
        return [f.label for item in self.items for f in item.fields if f.taken_over]


def has_history(model: type[models.Model]) -> bool:
    return hasattr(model, "history")


def _history(model: type[models.Model]) -> Any:
    return model.history  # type: ignore[attr-defined]  # simple-history adds the manager at run time


def opened_record(instance: models.Model, *, seen: int) -> Any:
    """The history row of the object as it was at edit version `seen` (when the clinician opened the page)."""
    history = _history(type(instance))
    return (
        history.filter(**{instance._meta.pk.attname: instance.pk}, edit_version__lte=seen)
        .order_by("-edit_version", "-history_date", "-history_id")
        .first()
    )


def edits_since(instance: models.Model, *, seen: int) -> list[Any]:
    """The object's history rows saved after edit version `seen`, newest first."""
    history = _history(type(instance))
    return list(
        history.filter(**{instance._meta.pk.attname: instance.pk}, edit_version__gt=seen)
        .select_related("history_user")
        .order_by("-history_date", "-history_id")
    )


def row_records_since(
    model: type[models.Model], *, parent_field: str, parent_pk: Any, since: datetime.datetime
) -> dict[Any, list[Any]]:
    """History rows of a parent's inline rows saved after `since`, newest first, by row id."""
    history = _history(model)
    rows: dict[Any, list[Any]] = {}
    records = (
        history.filter(**{f"{parent_field}_id": parent_pk}, history_date__gt=since)
        .select_related("history_user")
        .order_by("-history_date", "-history_id")
    )
    for record in records:
        rows.setdefault(record.id, []).append(record)
    return rows


def row_record_before(model: type[models.Model], *, pk: Any, before: datetime.datetime) -> Any:
    history = _history(model)
    return history.filter(id=pk, history_date__lte=before).order_by("-history_date", "-history_id").first()


def edit_of(record: Any, what: str) -> Edit:
    user = record.history_user
    return Edit(
        who=(user.get_full_name() or user.get_username()) if user is not None else "Someone (not signed in)",
        when=record.history_date,
        reason=record.history_change_reason or "",
        what=what,
    )


# ---------------------------------------------------------------------------------------------
# Comparing and showing field values
# ---------------------------------------------------------------------------------------------


def comparable(value: Any) -> Any:
    """A value reduced so that the same content compares equal (CRLF from browsers, objects by id)."""
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, str):
        return "\n".join(line.rstrip() for line in value.replace("\r\n", "\n").strip().split("\n"))
    if isinstance(value, models.QuerySet | list | tuple | set | frozenset):
        return sorted((comparable(v) for v in value), key=str)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    if value is None:
        return ""
    return value


def shown(value: Any, choices: Mapping[Any, str] | None = None) -> str:
    """A value as a clinician reads it in the comparison table."""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if value is None or value == "" or value == [] or value == {}:
        return "(empty)"
    if isinstance(value, models.QuerySet | list | tuple | set | frozenset):
        return ", ".join(shown(v, choices) for v in value) or "(empty)"
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    if choices and value in choices:
        return str(choices[value])
    return str(value)


def m2m_ids_at(record: Any, name: str, model: type[models.Model]) -> list[Any]:
    """The ids a many-to-many field held in a history row (simple-history keeps them in its own table)."""
    from simple_history.utils import get_m2m_reverse_field_name

    reverse = get_m2m_reverse_field_name(model._meta.get_field(name))
    return list(getattr(record, name).values_list(f"{reverse}_id", flat=True))


def values_of(instance: Any, names: Iterable[str], model: type[models.Model]) -> dict[str, Any]:
    """Field values of an object or a history row; many-to-many fields as lists of ids."""
    values: dict[str, Any] = {}
    is_record = hasattr(instance, "history_id")
    for name in names:
        model_field: Any = model._meta.get_field(name)
        if model_field.many_to_many:
            values[name] = (
                m2m_ids_at(instance, name, model) if is_record else [o.pk for o in getattr(instance, name).all()]
            )
        elif model_field.is_relation:
            values[name] = getattr(instance, model_field.attname)
        else:
            values[name] = getattr(instance, name)
    return values


def compare_fields(
    *,
    labels: Mapping[str, str],
    opened: Mapping[str, Any] | None,
    theirs: Mapping[str, Any],
    yours: Mapping[str, Any],
    display: Mapping[str, Mapping[Any, str]],
) -> list[FieldChange]:
    """Fields someone else changed since the page was opened (every differing field when that is unknown)."""
    changes = []
    for name, label in labels.items():
        before = comparable(opened[name]) if opened is not None and name in opened else None
        if before is not None and before == comparable(theirs[name]):
            continue
        if before is None and comparable(theirs[name]) == comparable(yours[name]):
            continue
        choices = display.get(name)
        changes.append(
            FieldChange(
                name=name,
                label=label,
                opened="(not recorded)" if opened is None else shown(opened.get(name), choices),
                theirs=shown(theirs[name], choices),
                yours=shown(yours[name], choices),
                you_changed=before is None or before != comparable(yours[name]),
            )
        )
    return changes
