"""Out-of-date translations on the admin's forms: which flags a save sets or clears, and a note beside
each translation written for an earlier English text, read out with its field.

A translation is out of date once its English changes and it does not. Updating it, or ticking
"checked by a clinician" (the clinician confirms it still says the same as the new English), clears it.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any

from django.forms import BoundField
from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from screening.translations import TRANSLATIONS

if TYPE_CHECKING:
    from django import forms

OUTDATED_SUFFIX = "_outdated"
CHECKED_SUFFIX = "_checked"


def english_of(name: str) -> str | None:
    """`message` for the translation field `message_zh_hans`; None for a field that is no translation."""
    for suffix in TRANSLATIONS.values():
        if name.endswith(f"_{suffix}"):
            return name.removesuffix(f"_{suffix}")
    return None


def translation_fields(form: forms.BaseForm) -> list[tuple[str, str]]:
    """(English field, translation field) for each translation the form edits beside its English."""
    return [
        (english, name)
        for name in form.fields
        if (english := english_of(name)) and english in form.fields and hasattr(form.instance, name + OUTDATED_SUFFIX)  # type: ignore[attr-defined]
    ]


def outdated_changes(form: Any, *, text_changed: Any) -> dict[str, bool]:
    """The out-of-date flags a valid form's save sets (True) or clears (False); others stay as they are.

    `text_changed(name)` says whether the clinician changed a text (ignoring line-break differences).
    """
    changes: dict[str, bool] = {}
    cleaned = form.cleaned_data
    for english, translation in translation_fields(form):
        checked = translation + CHECKED_SUFFIX
        confirmed = checked in form.changed_data and bool(cleaned.get(checked))
        if not cleaned.get(translation) or text_changed(translation) or confirmed:
            changes[translation + OUTDATED_SUFFIX] = False
        elif text_changed(english):
            changes[translation + OUTDATED_SUFFIX] = True
    return changes


def show_outdated_notes(form: Any) -> None:
    """Render each out-of-date translation of the form's object with a note saying so."""
    instance = form.instance
    if instance.pk is None:
        return
    for _, translation in translation_fields(form):
        flag = translation + OUTDATED_SUFFIX
        if getattr(instance, flag):
            field = form.fields[translation]
            field.bound_field_class = OutdatedTranslationBoundField
            field.outdated_note = outdated_note(outdated_since(instance, flag))


def outdated_since(instance: Any, flag: str) -> datetime.datetime | None:
    """When the English changed and left this translation behind: the first of the latest run of history rows
    in which it was out of date (None for an object without history)."""
    history = getattr(instance, "history", None)
    if history is None:
        return None
    since = None
    for outdated, date in history.order_by("-history_date", "-history_id").values_list(flag, "history_date")[:50]:
        if not outdated:
            break
        since = date
    return since


def outdated_note(since: datetime.datetime | None) -> str:
    when = f"on {formats.date_format(timezone.localtime(since), 'j F Y')}" if since else "after it was written"
    return (
        f"the English changed {when}. Patients reading Chinese see the English until you update this translation, "
        "or tick “checked by a clinician” if it still says the same."
    )


class OutdatedTranslationBoundField(BoundField):
    """A translation written for an earlier English text: its field, then a note that says so, read out with it."""

    @property
    def note_id(self) -> str:
        return f"{self.auto_id}{OUTDATED_SUFFIX}_note"

    @property
    def aria_describedby(self) -> str | None:
        return " ".join(filter(None, [super().aria_describedby, self.note_id]))

    def as_widget(self, widget: Any = None, attrs: Any = None, only_initial: bool = False) -> SafeString:
        return format_html(
            '{}<p class="translation-outdated-note" id="{}"><strong>Out of date:</strong> {}</p>',
            super().as_widget(widget, attrs, only_initial),
            self.note_id,
            getattr(self.field, "outdated_note", ""),
        )


def outdated_by_this_save(form: Any) -> list[str]:
    """The English texts (in words) whose change left their translation out of date in this save, for a
    message such as "the message changed, so its Chinese translation is out of date"."""
    changes = getattr(form, "outdated_changes", {})
    return [
        english.replace("_", " ")
        for english, translation in translation_fields(form)
        if changes.get(translation + OUTDATED_SUFFIX)
    ]
