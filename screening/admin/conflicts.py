"""The conflict page: a save from a page opened before someone else's save is shown again, not written.

The clinician's typed values stay in the form. Above it, a box says who saved what since the page was
opened, and shows per field "when you opened it", "their change" and "your change". The form is moved on
to the current version, and a field only they changed takes their value (so saving again does not undo
their change); a field both changed keeps yours and is named in the box for you to decide. A row they
deleted is ticked for deletion; a row they added is kept (your page never held it).
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django import forms
from django.core.exceptions import PermissionDenied
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from screening.concurrency import (
    ConflictReport,
    Edit,
    EditConflict,
    FieldChange,
    ItemChange,
    compare_fields,
    edit_of,
    edits_since,
    has_history,
    opened_record,
    row_record_before,
    row_records_since,
    values_of,
)

# A mixin for model admins: to the type checker, the ModelAdmin it is mixed into.
if TYPE_CHECKING:
    from django.contrib.admin import ModelAdmin

    ModelAdminBase = ModelAdmin[Any]
else:
    ModelAdminBase = object

PAGE_FIELDS = ("opened_version", "opened_at", "change_reason")
ROW_FIELDS = ("opened_version", "id", "DELETE")
RETRIES = 3


def _model_fields(form: forms.BaseForm, model: type[models.Model], skip: Iterable[str]) -> dict[str, str]:
    names = {f.name for f in model._meta.get_fields() if f.concrete}
    return {n: str(form[n].label) for n in form.fields if n in names and n not in skip}


def _display(form: forms.BaseForm, names: Iterable[str]) -> dict[str, dict[Any, str]]:
    """How ids and choice values read: the option's or source's name, the level's label."""
    display: dict[str, dict[Any, str]] = {}
    for name in names:
        field: Any = form.fields[name]
        if hasattr(field, "queryset"):
            display[name] = {o.pk: str(o) for o in field.queryset}
        elif getattr(field, "choices", None):
            flat: dict[Any, str] = {}
            for value, label in field.choices:
                if isinstance(label, list | tuple):
                    flat.update({v: str(lab) for v, lab in label})
                else:
                    flat[value] = str(label)
            display[name] = flat
    return display


def _yours(form: forms.BaseForm, names: Iterable[str]) -> dict[str, Any]:
    cleaned = getattr(form, "cleaned_data", {})
    return {n: cleaned[n] if n in cleaned else form[n].data for n in names}


def _put(data: Any, form: forms.BaseForm, name: str, value: Any) -> None:
    """Write a value into the form's data as the browser would send it."""
    key = form.add_prefix(name)
    field = form.fields[name]
    if isinstance(field, forms.BooleanField):
        if value:
            data[key] = "on"
        else:
            data.pop(key, None)
    elif isinstance(field, forms.MultipleChoiceField | forms.ModelMultipleChoiceField):
        data.setlist(key, [str(getattr(v, "pk", v)) for v in value])
    elif isinstance(field, forms.JSONField):
        data[key] = json.dumps(value, cls=DjangoJSONEncoder)
    else:
        data[key] = "" if value is None else str(getattr(value, "pk", value))


def _take_over(data: Any, form: forms.BaseForm, changes: list[FieldChange], theirs: dict[str, Any]) -> None:
    """A field only they changed takes their value, so saving the page again does not undo their change."""
    for change in changes:
        if not change.you_changed:
            _put(data, form, change.name, theirs[change.name])
            change.taken_over = True


def _opened_at(form: forms.BaseForm) -> datetime.datetime | None:
    raw = form.data.get(form.add_prefix("opened_at")) or ""
    try:
        return parse_datetime(raw)
    except ValueError:
        return None


def build_conflict(form: Any, formsets: list[Any]) -> ConflictReport:
    """Compare the submitted page with the saved object and its rows; move the form on to the saved version."""
    model = type(form.instance)
    data = form.data.copy()
    try:
        current = model._base_manager.get(pk=form.instance.pk)
    except model.DoesNotExist:
        return ConflictReport(edits=[], items=[ItemChange(title=str(form.instance), status="deleted")])
    seen = getattr(form, "cleaned_data", {}).get("opened_version") or 0
    labels = _model_fields(form, model, PAGE_FIELDS)
    theirs = values_of(current, labels, model)
    # Every model edited on a page of its own (the draft's and test patients) keeps an audit history.
    record = opened_record(current, seen=seen)
    opened = values_of(record, labels, model) if record is not None else None
    edits = [edit_of(r, str(current)) for r in edits_since(current, seen=seen)]
    changes = compare_fields(
        labels=labels, opened=opened, theirs=theirs, yours=_yours(form, labels), display=_display(form, labels)
    )
    if not getattr(form, "version_from_database", False):
        # A revert asks for an old version in full: nothing of theirs is taken over, the box shows it all.
        _take_over(data, form, changes, theirs)
    items = [ItemChange(title=str(current), status="changed", fields=changes)] if changes else []
    data[form.add_prefix("opened_version")] = str(current.edit_version)
    data[form.add_prefix("opened_at")] = timezone.now().isoformat()
    since = _opened_at(form)
    for formset in formsets:
        row_items, row_edits = _row_changes(formset, data, since)
        items += row_items
        edits += row_edits
    form.data = data
    for formset in formsets:
        formset.data = data
        for row in formset.forms:
            row.data = data
    edits.sort(key=lambda e: e.when, reverse=True)
    return ConflictReport(edits=edits, items=items)


def _row_changes(formset: Any, data: Any, since: datetime.datetime | None) -> tuple[list[ItemChange], list[Edit]]:
    model = formset.model
    parent_field = formset.fk.name
    name = str(model._meta.verbose_name).capitalize()
    by_pk = {}
    for row in formset.forms:
        if row.instance.pk is not None:
            by_pk[row.instance.pk] = row
            data[row.add_prefix("opened_version")] = str(row.instance.edit_version)
        elif raw := row.data.get(row.add_prefix("id")):
            by_pk[int(raw) if str(raw).isdigit() else raw] = row
    if since is None or not has_history(model):
        return [], []
    items: list[ItemChange] = []
    edits: list[Edit] = []
    records = row_records_since(model, parent_field=parent_field, parent_pk=formset.instance.pk, since=since)
    for pk, rows in records.items():
        latest = rows[0]
        title = f"{name} “{getattr(latest, 'label', None) or getattr(latest, 'identifier', None) or pk}”"
        edits += [edit_of(r, title) for r in rows]
        row = by_pk.get(pk)
        if latest.history_type == "-":
            items.append(ItemChange(title=title, status="deleted"))
            if row is not None:
                data[row.add_prefix("DELETE")] = "on"
            continue
        before = row_record_before(model, pk=pk, before=since)
        if before is None or row is None:
            items.append(ItemChange(title=title, status="added"))
            continue
        labels = _model_fields(row, model, (*ROW_FIELDS, parent_field))
        theirs = values_of(latest, labels, model)
        changes = compare_fields(
            labels=labels,
            opened=values_of(before, labels, model),
            theirs=theirs,
            yours=_yours(row, labels),
            display=_display(row, labels),
        )
        _take_over(data, row, changes, theirs)
        if changes:
            items.append(ItemChange(title=title, status="changed", fields=changes))
    return items, edits


class EditConflictAdmin(ModelAdminBase):
    """A model admin whose change page and history revert page show the conflict page for a stale save.

    Its change form template must be "admin/screening/edit_conflict_change_form.html" (and for
    simple-history's revert page "admin/screening/edit_conflict_history_form.html"), which show the box.
    """

    def changeform_view(
        self, request: HttpRequest, object_id: str | None = None, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        return self._retrying(super().changeform_view, request, object_id, form_url, extra_context)

    def history_form_view(
        self, request: HttpRequest, object_id: str, version_id: str, extra_context: Any = None
    ) -> HttpResponse:
        # Malformed ids are a missing page, not a server error (the history tables key on numbers).
        if not (object_id.isdigit() and version_id.isdigit()):
            raise Http404
        # simple-history only hides the revert button from those who may just read: its POST still saves.
        if request.method == "POST" and not self.has_change_permission(request):
            raise PermissionDenied
        # simple-history's admin, which the type checker does not see (it ships no type hints).
        view = super().history_form_view  # type: ignore[misc]
        return self._retrying(view, request, object_id, version_id, extra_context)

    def history_view(self, request: HttpRequest, object_id: str, extra_context: Any = None) -> HttpResponse:
        if not object_id.isdigit():
            raise Http404
        if not has_history(self.model) and not self.model._base_manager.filter(pk=object_id).exists():
            raise Http404
        return super().history_view(request, object_id, extra_context)

    def _retrying(self, view: Any, request: HttpRequest, *args: Any) -> HttpResponse:
        """A save that passed the form's check but lost the race to another save: nothing was written (the
        transaction rolled back); validating again now finds the newer version and shows the conflict page."""
        for _ in range(RETRIES - 1):
            try:
                return view(request, *args)  # type: ignore[no-any-return]
            except EditConflict:
                continue
        return view(request, *args)  # type: ignore[no-any-return]

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        match = request.resolver_match
        if match is not None and (match.url_name or "").endswith("_simple_history"):
            # A revert form starts from an old history row; the version it must match is the saved one.
            form = type(form.__name__, (form,), {"version_from_database": True})
        return form

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Any = None,
    ) -> HttpResponse:
        self._add_conflict(context)
        return super().render_change_form(request, context, add, change, form_url, obj)

    def render_history_view(
        self, request: HttpRequest, template: str, context: dict[str, Any], **kwargs: Any
    ) -> HttpResponse:
        if "adminform" in context:
            self._add_conflict(context)
        render = super().render_history_view  # type: ignore[misc]  # simple-history's admin, untyped
        return render(request, template, context, **kwargs)  # type: ignore[no-any-return]

    def _add_conflict(self, context: dict[str, Any]) -> None:
        form = context["adminform"].form
        formsets = [inline.formset for inline in context.get("inline_admin_formsets", [])]
        stale_rows = any(getattr(row, "edit_conflict", False) for fs in formsets for row in fs.forms)
        if getattr(form, "edit_conflict", False) or stale_rows:
            context["edit_conflict"] = build_conflict(form, formsets)
