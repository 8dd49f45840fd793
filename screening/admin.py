"""The clinician's editor: questions with their options and skip logic, rules with their conditions."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest

from screening import publishing
from screening.models import (
    Condition,
    GuidanceSection,
    Option,
    PublishedRuleSet,
    Question,
    Rule,
    ShowWhen,
    Source,
    options_problem,
    skip_rule_problem,
)


def grouped_option_choices() -> list[tuple[str, list[tuple[int, str]]]]:
    """Every option, grouped under its question, for a select box a clinician can read."""
    groups: dict[str, list[tuple[int, str]]] = {}
    for option in Option.objects.select_related("question").order_by("question__order", "order"):
        groups.setdefault(option.question.identifier, []).append((option.pk, f"{option.label} ({option.identifier})"))
    return list(groups.items())


class OptionsOfOneQuestionForm(forms.ModelForm):
    """A condition or skip rule: the options must all belong to the question it names."""

    question_field = "question"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["options"].choices = grouped_option_choices()
        self.fields["options"].widget.attrs["size"] = 8

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
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


class ShowWhenFormSet(BaseInlineFormSet):
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


class OptionFormSet(BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        kept = [f for f in self.forms if getattr(f, "cleaned_data", None) and not f.cleaned_data.get("DELETE")]
        identifiers = [f.cleaned_data.get("identifier") for f in kept]
        if any(identifiers.count(i) > 1 for i in identifiers if i):
            raise ValidationError("Two options of this question have the same identifier.")


class OptionInline(admin.TabularInline):
    model = Option
    formset = OptionFormSet
    fields = ["identifier", "label", "exclusive", "order"]
    extra = 0


class ShowWhenInline(admin.TabularInline):
    model = ShowWhen
    fk_name = "question"
    form = ShowWhenForm
    formset = ShowWhenFormSet
    extra = 0


class ConditionInline(admin.TabularInline):
    model = Condition
    form = ConditionForm
    min_num = 1
    extra = 0

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        # A rule without conditions would never fire; the admin does not pass validate_min itself.
        return super().get_formset(request, obj, validate_min=True, **kwargs)


class PublishOnSaveMixin:
    """Until review-before-release exists, every saved change goes live as a new version."""

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)  # type: ignore[misc]
        self._publish(request, f"Saved {form.instance}")

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        super().delete_model(request, obj)  # type: ignore[misc]
        self._publish(request, f"Deleted {obj}")

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        super().delete_queryset(request, queryset)  # type: ignore[misc]
        self._publish(request, "Deleted several items")

    def _publish(self, request: HttpRequest, note: str) -> None:
        try:
            published = publishing.publish(user=request.user, note=note)  # type: ignore[arg-type]
        except ValidationError as error:
            problems = "; ".join(error.messages)
            self.message_user(  # type: ignore[attr-defined]
                request, f"Saved, but patients still see the previous version because: {problems}", messages.WARNING
            )
        else:
            self.message_user(request, f"Patients now see version {published.version}.", messages.INFO)  # type: ignore[attr-defined]


@admin.register(Question)
class QuestionAdmin(PublishOnSaveMixin, admin.ModelAdmin):
    list_display = ["identifier", "text", "multiple", "order", "active"]
    list_filter = ["active", "multiple"]
    list_editable = ["order", "active"]
    search_fields = ["identifier", "text", "help_text", "options__label"]
    fields = ["identifier", "text", "help_text", "multiple", "order", "active"]
    inlines = [OptionInline, ShowWhenInline]


@admin.register(Rule)
class RuleAdmin(PublishOnSaveMixin, admin.ModelAdmin):
    list_display = ["identifier", "title", "level", "active", "order"]
    list_filter = ["level", "active", ("conditions__question", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["identifier", "title", "message", "next_steps", "rationale"]
    fields = ["identifier", "title", "level", "message", "next_steps", "rationale", "sources", "active", "order"]
    inlines = [ConditionInline]

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "sources":
            kwargs["widget"] = forms.CheckboxSelectMultiple
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Rule]:
        return super().get_queryset(request).distinct()


@admin.register(Source)
class SourceAdmin(PublishOnSaveMixin, admin.ModelAdmin):
    list_display = ["code", "document", "url"]
    search_fields = ["code", "document", "summary"]


@admin.register(GuidanceSection)
class GuidanceSectionAdmin(PublishOnSaveMixin, admin.ModelAdmin):
    list_display = ["title", "identifier", "order"]
    search_fields = ["identifier", "title", "body"]

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "sources":
            kwargs["widget"] = forms.CheckboxSelectMultiple
        return super().formfield_for_manytomany(db_field, request, **kwargs)


@admin.register(PublishedRuleSet)
class PublishedRuleSetAdmin(admin.ModelAdmin):
    """Published versions are a record: they can be read, never changed."""

    list_display = ["version", "published_at", "published_by", "note"]
    readonly_fields = ["version", "published_at", "published_by", "note", "document"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
