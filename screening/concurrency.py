"""Optimistic concurrency for the draft: a save made from a stale form is refused, never silently merged.

Every draft object carries an edit version. Saving an existing object first bumps that version in one
UPDATE that names the version the editor started from; when no row matches, someone else saved (or
deleted) the object in the meantime and the save is refused with `EditConflict`.
"""

from __future__ import annotations

from typing import Any

from django.db import models, router, transaction
from django.db.models import F


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
        if self._state.adding or self.pk is None:
            super().save(*args, **kwargs)
            return
        using = kwargs.get("using") or router.db_for_write(type(self), instance=self)
        with transaction.atomic(using=using):
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
