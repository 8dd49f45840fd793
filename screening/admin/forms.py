"""The forms of the clinician's editor: translation checks, options of one question, reasons, test patients."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.forms.models import BaseInlineFormSet
from django.utils import timezone

from screening.admin.outdated import outdated_changes, show_outdated_notes
from screening.admin.widgets import OptionGroup, OptionPicker
from screening.models import Condition, Option, Question, Rule, Scenario, ShowWhen, options_problem, skip_rule_problem
from screening.translations import ENGLISH, TRANSLATIONS, translated_name
from screening.validation import LONG_TEXT_MAX_LENGTH, Answers, read_document


def translations_of_field(name: str) -> list[tuple[str, str]]:
    """(language, model field) for a text in English and in each translation."""
    return [(ENGLISH, name), *((language, translated_name(name, language)) for language in TRANSLATIONS)]


CHECKED_SUFFIX = "_checked"

# Django's form classes take no type arguments at run time: the type checker alone sees them filled in.
if TYPE_CHECKING:
    AnyModelForm = forms.ModelForm[Any]
    RowsFormSetBase = BaseInlineFormSet[Any, Any, forms.ModelForm[Any]]
else:
    AnyModelForm = forms.ModelForm
    RowsFormSetBase = BaseInlineFormSet


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
        # Django's "This field is required." names no field: in a table row or a long page it says too little.
        for name, field in self.fields.items():
            field.error_messages["required"] = required_message(name, field)

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


def required_message(name: str, field: forms.Field) -> str:
    """A missing answer in plain words that name the field: "Enter the title.", "Choose the level."."""
    label = str(field.label or name.replace("_", " ")).lower()
    if isinstance(field.widget, forms.CheckboxInput):
        return f"Tick “{label}”."
    if isinstance(field, forms.ChoiceField | forms.ModelChoiceField | forms.ModelMultipleChoiceField):
        return f"Choose the {label}."
    return f"Enter the {label}."


def reason_field() -> forms.CharField:
    """The reason every change to the draft and to test patients gives; the history keeps it."""
    return forms.CharField(
        label="Reason for this change",
        max_length=100,
        help_text="Required. Kept in the history with your name and the time.",
        error_messages={"required": REASON_REQUIRED},
        widget=forms.TextInput(attrs={"size": 60}),
    )


REASON_REQUIRED = "Give the reason for this change."


class EditPageForm(EditVersionForm):
    """The form of a whole page: also when it was opened (the history says what changed since)."""

    opened_at = forms.CharField(widget=forms.HiddenInput, required=False)
    conflict_message = CONFLICT_MESSAGE

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["opened_at"].initial = timezone.now().isoformat()
        if "change_reason" in self.fields:
            self.fields["change_reason"].error_messages["required"] = REASON_REQUIRED


class TranslationCheckForm(EditVersionForm):
    """A translation checked against one wording is no longer checked once either text changes; one whose
    English changes while it does not is out of date (patients reading it see the English) until it is
    updated or ticked "checked by a clinician" again (screening.admin.outdated)."""

    class Media:
        css = {"all": ["css/translations.css"]}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        show_outdated_notes(self)

    def save(self, commit: bool = True) -> Any:
        for flag, outdated in getattr(self, "outdated_changes", {}).items():
            setattr(self.instance, flag, outdated)
        return super().save(commit)

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
        self.outdated_changes = outdated_changes(self, text_changed=self._text_changed)
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
    option_groups: list[OptionGroup] | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        picker = OptionPicker(question_field=self.question_field)
        picker.groups = self.option_groups
        self.fields["options"].widget = picker
        self.fields["options"].help_text = "Tick the answers that make it apply (any one of them is enough)."
        self.fields["options"].error_messages["invalid_choice"] = (
            "One of the ticked answers no longer exists (someone deleted it): tick the answers again."
        )

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


class NamedRowsFormSet(RowsFormSetBase):
    """An inline table whose every input has a name a screen reader can say: its column and its row."""

    def add_fields(self, form: Any, index: int | None) -> None:
        super().add_fields(form, index)
        row = self.row_name(form, index)
        for name, field in form.fields.items():
            if not field.widget.is_hidden:
                label = "Delete" if name == "DELETE" else str(field.label or name).capitalize()
                # The admin wraps a foreign key's select (with add and change links): name the select itself.
                widget = field.widget
                while isinstance(getattr(widget, "widget", None), forms.Widget):
                    widget = widget.widget
                widget.attrs = {**widget.attrs, "aria-label": f"{label}, {row}"}

    def row_name(self, form: Any, index: int | None) -> str:
        noun = str(self.model._meta.verbose_name) if self.model is not None else "row"
        return f"new {noun}" if index is None else f"{noun} {index + 1}"


class ConditionFormSet(NamedRowsFormSet):
    default_error_messages = {
        "too_few_forms": "A rule needs at least one condition: add the answer that makes it apply.",
    }


class ShowWhenFormSet(NamedRowsFormSet):
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


class OptionFormSet(NamedRowsFormSet):
    def row_name(self, form: Any, index: int | None) -> str:
        if index is not None and form.instance.pk is not None:
            return f"option “{form.instance.label or form.instance.identifier}”"
        return "new option" if index is None else f"option {index + 1}"

    def clean(self) -> None:
        super().clean()
        kept = [f for f in self.forms if getattr(f, "cleaned_data", None) and not f.cleaned_data.get("DELETE")]
        identifiers = [f.cleaned_data.get("identifier") for f in kept]
        if any(identifiers.count(i) > 1 for i in identifiers if i):
            raise ValidationError("Two options of this question have the same identifier.")
        if sum(1 for f in kept if f.cleaned_data.get("exclusive")) > 1:
            raise ValidationError("Only one option of a question can be “none of these”.")
        deleted = [f.instance for f in self.forms if f.instance.pk and getattr(f, "cleaned_data", {}).get("DELETE")]
        problems = [
            f"The option “{option.label}” is used by {' and by '.join(uses)}: change those first, then delete it."
            for option, uses in options_in_use(deleted)
        ]
        if problems:
            raise ValidationError(problems)

    def save(self, commit: bool = True) -> list[Any]:
        saved = super().save(commit)
        if commit:
            added = [f for f in self.extra_forms if f.instance.pk]
            left_alone = [f.instance for f in added if "order" not in f.changed_data]
            place_options(self.instance, added=[f.instance for f in added], left_alone=left_alone)
        return saved


def options_in_use(options: list[Option]) -> list[tuple[Option, list[str]]]:
    """Each option that a rule's condition or another question's skip rule uses, with those uses in words."""
    uses: dict[int, list[str]] = {}
    conditions = Condition.options.through.objects.filter(option__in=options)
    for option_id, title in conditions.values_list("option_id", "condition__rule__title"):
        uses.setdefault(option_id, []).append(f"the rule “{title}”")
    skip_rules = ShowWhen.options.through.objects.filter(option__in=options)
    for option_id, text in skip_rules.values_list("option_id", "showwhen__question__text"):
        uses.setdefault(option_id, []).append(f"the skip rule of the question “{text}”")
    return [(option, uses[option.pk]) for option in options if option.pk in uses]


def place_options(question: Question, *, added: list[Option], left_alone: list[Option]) -> None:
    """New options whose order was left alone go after the options the question already had, in the order
    they were added, and "none of these" stays last.

    Patients, the document and the admin all list options by `order`; an option is renumbered only when it
    would otherwise come too early, so a clinician's own order is kept.
    """
    options = {option.pk: option for option in question.options.all()}
    new = {option.pk for option in added}
    earlier = [o.order for o in options.values() if o.pk not in new and not o.exclusive]
    after = max(earlier, default=None)
    moved: list[Option] = []
    if after is not None:
        for option in (options[o.pk] for o in left_alone if o.pk in options and not options[o.pk].exclusive):
            if option.order <= after:
                after += 1
                option.order = after
                moved.append(option)
    highest = max((o.order for o in options.values() if not o.exclusive), default=-1)
    for option in (o for o in options.values() if o.exclusive and o.order <= highest):
        highest += 1
        option.order = highest
        moved.append(option)
    for option in moved:
        option.save(update_fields=["order"])


class ReasonForm(TranslationCheckForm, EditPageForm):
    """Every change to the draft says why; the reason is kept in the audit history."""

    change_reason = reason_field()


class ScenarioForm(EditPageForm):
    """A test patient: every change says why, like the draft's (they guard the rules)."""

    change_reason = reason_field()
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
        self.fields["answers"].error_messages["invalid"] = (
            'The answers could not be read: write them by question, e.g. {"allergy": ["no"], "pregnancy": ["no"]}.'
        )

    def clean_answers(self) -> Any:
        """The same check as a test patient in an imported document: answers by question, as lists of options."""
        answers = self.cleaned_data.get("answers")
        problems = Answers().problems(answers)
        if problems:
            raise ValidationError([f"Answers: {problem}" for problem in problems])
        return answers


class DeleteReasonForm(forms.Form):
    """Why a draft object or test patient is deleted; the history keeps it with the name and the time."""

    change_reason = reason_field()


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
