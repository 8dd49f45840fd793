"""The publish form with what the clinician reviewed: the live version and the draft the page showed."""

from __future__ import annotations

from typing import Any, Self

from django import forms

from screening.admin.forms import PublishForm
from screening.publishing import draft_fingerprint


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
