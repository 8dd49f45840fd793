"""The forms of the clinician's editor: translation checks, options of one question, reasons, test patients."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import MaxLengthValidator
from django.forms.models import BaseInlineFormSet
from django.utils import timezone

from screening.concurrency import has_history
from screening.models import Condition, Option, Question, Rule, Scenario, ShowWhen, options_problem, skip_rule_problem
from screening.translations import ENGLISH, TRANSLATIONS, translated_name
from screening.validation import LONG_TEXT_MAX_LENGTH, Answers, read_document


def translations_of_field(name: str) -> list[tuple[str, str]]:
    """(language, model field) for a text in English and in each translation."""
    return [(ENGLISH, name), *((language, translated_name(name, language)) for language in TRANSLATIONS)]


def grouped_option_choices() -> list[tuple[str, list[tuple[int, str]]]]:
    """Every option, grouped under its question, for a select box a clinician can read."""
    groups: dict[str, list[tuple[int, str]]] = {}
    for option in Option.objects.select_related("question").order_by("question__order", "order"):
        groups.setdefault(option.question.identifier, []).append((option.pk, f"{option.label} ({option.identifier})"))
    return list(groups.items())


CHECKED_SUFFIX = "_checked"

# Django's form classes take no type arguments at run time: the type checker alone sees them filled in.
if TYPE_CHECKING:
    AnyModelForm = forms.ModelForm[Any]
    ShowWhenFormSetBase = BaseInlineFormSet[ShowWhen, Question, forms.ModelForm[ShowWhen]]
    OptionFormSetBase = BaseInlineFormSet[Option, Question, forms.ModelForm[Option]]
else:
    AnyModelForm = forms.ModelForm
    ShowWhenFormSetBase = OptionFormSetBase = BaseInlineFormSet


CONFLICT_MESSAGE = "Someone else saved this while you had it open. Nothing was saved: see what they changed above."
ROW_CONFLICT_MESSAGE = "Someone else changed this row while you had the page open: see above."


class EditVersionForm(AnyModelForm):
    """Carries the edit version the clinician started from; a form opened before someone else's save is refused.

    The admin has just read the object, so the check costs no query; the UPDATE in `EditVersioned.save()`
    names the same version and refuses a save that raced past this check.
    """

    opened_version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=0)
    # The history view's form is built from an old history row: its version is the database's, not the row's.
    version_from_database = False
    conflict_message = ROW_CONFLICT_MESSAGE

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.edit_conflict = False
        self.current_version: int | None = None
        if self.instance.pk is not None and not self.instance._state.adding:
            self.current_version = (
                type(self.instance)
                ._base_manager.filter(pk=self.instance.pk)
                .values_list("edit_version", flat=True)
                .first()
                if self.version_from_database
                else self.instance.edit_version
            )
        self.fields["opened_version"].initial = self.current_version
        # Long texts have no length in the database; the same limit as an import keeps them to a readable size.
        for field in self.fields.values():
            if (
                isinstance(field, forms.CharField)
                and field.max_length is None
                and isinstance(field.widget, forms.Textarea)
            ):
                field.max_length = LONG_TEXT_MAX_LENGTH
                field.validators.append(MaxLengthValidator(LONG_TEXT_MAX_LENGTH))
                field.widget.attrs["maxlength"] = str(LONG_TEXT_MAX_LENGTH)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or self.cleaned_data
        if self.current_version is None:
            return cleaned
        seen = cleaned.get("opened_version")
        if seen is None:
            seen = self.current_version if self.add_prefix("opened_version") not in self.data else -1
        if seen != self.current_version:
            self.edit_conflict = True
            raise ValidationError(self.conflict_message, code="edit_conflict")
        # The UPDATE of the save names the version this form was opened at.
        self.instance.edit_version = seen
        return cleaned


class EditPageForm(EditVersionForm):
    """The form of a whole page: also when it was opened, and for a model without history, what it showed."""

    opened_at = forms.CharField(widget=forms.HiddenInput, required=False)
    opened_values = forms.CharField(widget=forms.HiddenInput, required=False)
    conflict_message = CONFLICT_MESSAGE

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["opened_at"].initial = timezone.now().isoformat()
        if self.current_version is not None and not has_history(type(self.instance)):
            shown = {name: self.initial.get(name) for name in self.fields if name in self.initial}
            self.fields["opened_values"].initial = json.dumps(shown, cls=DjangoJSONEncoder)


class TranslationCheckForm(EditVersionForm):
    """A translation checked against one wording is no longer checked once either text changes."""

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        for name in self.fields:
            if not name.endswith(CHECKED_SUFFIX) or name in self.changed_data or not cleaned.get(name):
                continue
            translation = name.removesuffix(CHECKED_SUFFIX)
            english = next(
                translation.removesuffix(f"_{suffix}")
                for suffix in TRANSLATIONS.values()
                if translation.endswith(f"_{suffix}")
            )
            if self._text_changed(english) or self._text_changed(translation):
                cleaned[name] = False
                self.cleared_checks = [*getattr(self, "cleared_checks", []), english.replace("_", " ")]
        return cleaned

    def _text_changed(self, name: str) -> bool:
        # Browsers send a text area's line breaks as CRLF: the same words saved again are no change.
        def words(value: object) -> str:
            return "\n".join(line.strip() for line in str(value or "").splitlines() if line.strip())

        return name in self.fields and words(self.initial.get(name)) != words(self.cleaned_data.get(name))


class OptionsOfOneQuestionForm(EditVersionForm):
    """A condition or skip rule: the options must all belong to the question it names."""

    question_field = "question"
    # Set once per formset by OptionsInline, so a rule with many conditions costs one query.
    option_choices: list[tuple[str, list[tuple[int, str]]]] | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = self.option_choices if self.option_choices is not None else grouped_option_choices()
        # A model many-to-many field: a multiple-choice field, which Form.fields types as a plain Field.
        cast(forms.ChoiceField, self.fields["options"]).choices = choices
        self.fields["options"].widget.attrs["size"] = 8

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        question = cleaned.get(self.question_field)
        options = list(cleaned.get("options") or [])
        if question is not None and cleaned and not cleaned.get("DELETE"):
            problem = options_problem(question=question, options=options)
            if problem:
                self.add_error("options", problem)
        return cleaned


class ConditionForm(OptionsOfOneQuestionForm):
    class Meta:
        model = Condition
        fields = ["question", "options"]


class ShowWhenForm(OptionsOfOneQuestionForm):
    question_field = "depends_on"

    class Meta:
        model = ShowWhen
        fields = ["depends_on", "options"]


class ShowWhenFormSet(ShowWhenFormSetBase):
    def clean(self) -> None:
        super().clean()
        question: Question = self.instance
        for form in self.forms:
            depends_on = form.cleaned_data.get("depends_on") if hasattr(form, "cleaned_data") else None
            if depends_on is None or form.cleaned_data.get("DELETE"):
                continue
            problem = skip_rule_problem(question=question, depends_on=depends_on)
            if problem:
                form.add_error("depends_on", problem)


class OptionFormSet(OptionFormSetBase):
    def clean(self) -> None:
        super().clean()
        kept = [f for f in self.forms if getattr(f, "cleaned_data", None) and not f.cleaned_data.get("DELETE")]
        identifiers = [f.cleaned_data.get("identifier") for f in kept]
        if any(identifiers.count(i) > 1 for i in identifiers if i):
            raise ValidationError("Two options of this question have the same identifier.")
        if sum(1 for f in kept if f.cleaned_data.get("exclusive")) > 1:
            raise ValidationError("Only one option of a question can be “none of these”.")


class ReasonForm(TranslationCheckForm, EditPageForm):
    """Every change to the draft says why; the reason is kept in the audit history."""

    change_reason = forms.CharField(
        label="Reason for this change",
        max_length=100,
        help_text="Required. Kept in the history with your name and the time.",
        widget=forms.TextInput(attrs={"size": 60}),
    )


class ScenarioForm(EditPageForm):
    expected_rules = forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="The rules that must fire for this test patient, and no others.",
    )

    class Meta:
        model = Scenario
        fields = ["name", "answers", "expected_overall", "expected_rules", "active"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        known = list(Rule.objects.values_list("identifier", "title"))
        extra = [(r, f"{r} (no longer in the draft)") for r in self.initial.get("expected_rules", []) or []]
        # Declared above as a MultipleChoiceField; Form.fields types it as a plain Field.
        cast(forms.ChoiceField, self.fields["expected_rules"]).choices = [(i, f"{i}: {t}") for i, t in known] + [
            c for c in extra if c[0] not in dict(known)
        ]

    def clean_answers(self) -> Any:
        """The same check as a test patient in an imported document: answers by question, as lists of options."""
        answers = self.cleaned_data.get("answers")
        problems = Answers().problems(answers)
        if problems:
            raise ValidationError([f"Answers: {problem}" for problem in problems])
        return answers


class PublishForm(forms.Form):
    note = forms.CharField(
        label="What changed, and why",
        max_length=300,
        help_text="Shown in the list of published versions.",
        widget=forms.TextInput(attrs={"size": 80}),
    )


class ImportForm(forms.Form):
    document = forms.FileField(label="Rule set JSON file", help_text="A file made by “Export the draft as JSON”.")
    reason = forms.CharField(label="Reason for this change", max_length=100)

    def clean_document(self) -> dict[str, Any]:
        """The rule set in the file: refused unread when too large, then read as strict UTF-8 JSON."""
        return read_document(self.cleaned_data["document"])
