"""The publish and review forms: what the clinician read (the live version and the draft shown), notes and reasons."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Self

from django import forms

from screening.admin.forms import PublishForm
from screening.publishing import draft_fingerprint
from screening.review import reason_field
from screening.safety import SafetyItem


class ReviewedPublishForm(PublishForm):
    """The note, and (hidden) the live version and the draft fingerprint of the page the clinician read.

    A form sent without the hidden values (a script, a test) publishes whatever the draft holds, as
    publish() does when it is not told what was reviewed.
    """

    live_version = forms.IntegerField(min_value=0, required=False, widget=forms.HiddenInput)
    reviewed_draft = forms.CharField(max_length=64, required=False, widget=forms.HiddenInput)

    def review(self) -> dict[str, Any]:
        """publish()'s arguments for what was reviewed (call after is_valid())."""
        return {
            "expected_version": self.cleaned_data.get("live_version"),
            "reviewed_draft": self.cleaned_data.get("reviewed_draft") or None,
        }

    def showing(self, *, live_version: int, document: dict[str, Any]) -> Self:
        """The same form (the note as typed) for a page that shows this live version and this draft."""
        review = {"live_version": live_version, "reviewed_draft": draft_fingerprint(document)}
        if not self.is_bound:
            return type(self)(initial={**self.initial, **review})
        # The form's fields are single-valued, so a plain dict of the sent values (one each) holds them all.
        data = {**dict(self.data.items()), **{name: str(value) for name, value in review.items()}}
        return type(self)(data)


class SendForReviewForm(forms.Form):
    """The author's note, a written reason for each change to the safety net, and (hidden) the draft shown."""

    note = forms.CharField(
        label="What changed, and why",
        max_length=300,
        help_text="The reviewer reads this first; it is kept with the published version.",
        widget=forms.TextInput(attrs={"size": 80}),
    )
    reviewed_draft = forms.CharField(max_length=64, required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, safety: Sequence[SafetyItem] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.safety = list(safety)
        for number, item in enumerate(self.safety, start=1):
            self.fields[reason_field(item.key)] = forms.CharField(
                label=f"Your reason for change {number} to the safety net",
                max_length=1000,
                widget=forms.Textarea(attrs={"rows": 2, "cols": 80, "aria-describedby": f"safety-{number}"}),
                error_messages={"required": "Write why you make this change: the reviewer reads it before approving."},
            )

    def reason_rows(self) -> list[tuple[int, SafetyItem, forms.BoundField]]:
        """Each safety-net item, numbered, with the field for its reason."""
        return [(number, item, self[reason_field(item.key)]) for number, item in enumerate(self.safety, start=1)]

    def reasons(self) -> dict[str, str]:
        """The reasons by safety-net key (call after is_valid())."""
        return {item.key: self.cleaned_data[reason_field(item.key)] for item in self.safety}


class ApproveForm(forms.Form):
    """The reviewer's note and a tick for each change to the safety net."""

    note = forms.CharField(
        label="Your note as reviewer",
        max_length=300,
        required=False,
        help_text="Shown in the list of published versions, with the author's note.",
        widget=forms.TextInput(attrs={"size": 80}),
    )
    acknowledge = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args: Any, safety: Sequence[SafetyItem] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.safety = list(safety)
        acknowledge = self.fields["acknowledge"]
        assert isinstance(acknowledge, forms.MultipleChoiceField)
        acknowledge.choices = [(item.key, item.sentence) for item in self.safety]

    def clean_acknowledge(self) -> list[str]:
        ticked: list[str] = self.cleaned_data["acknowledge"]
        if any(item.key not in ticked for item in self.safety):
            raise forms.ValidationError(
                "Tick each change to the safety net to say you have read it and its reason, and accept it."
            )
        return ticked


class SendBackForm(forms.Form):
    comment = forms.CharField(
        label="What should change before it is published",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 80}),
        error_messages={"required": "Say what should change, so the author knows what to do next."},
    )
