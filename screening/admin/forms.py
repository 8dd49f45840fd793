"""The forms of the clinician's editor: translation checks, options of one question, reasons, test patients."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet

from screening.models import Condition, Option, Question, Rule, Scenario, ShowWhen, options_problem, skip_rule_problem
from screening.translations import ENGLISH, TRANSLATIONS, translated_name


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
    ScenarioModelForm = forms.ModelForm[Scenario]
    ShowWhenFormSetBase = BaseInlineFormSet[ShowWhen, Question, forms.ModelForm[ShowWhen]]
    OptionFormSetBase = BaseInlineFormSet[Option, Question, forms.ModelForm[Option]]
else:
    AnyModelForm = ScenarioModelForm = forms.ModelForm
    ShowWhenFormSetBase = OptionFormSetBase = BaseInlineFormSet


class TranslationCheckForm(AnyModelForm):
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


class OptionsOfOneQuestionForm(AnyModelForm):
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


class ReasonForm(TranslationCheckForm):
    """Every change to the draft says why; the reason is kept in the audit history."""

    change_reason = forms.CharField(
        label="Reason for this change",
        max_length=100,
        help_text="Required. Kept in the history with your name and the time.",
        widget=forms.TextInput(attrs={"size": 60}),
    )


class ScenarioForm(ScenarioModelForm):
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
