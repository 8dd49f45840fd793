"""The draft rule set: questions, rules, sources and guidance, each change with a reason and a wording check."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import ActionLocation
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from simple_history.template_utils import HistoricalRecordContextHelper

from screening.admin.conflicts import EditConflictAdmin
from screening.admin.forms import (
    ConditionForm,
    ConditionFormSet,
    DeleteReasonForm,
    OptionFormSet,
    ReasonForm,
    ShowWhenForm,
    ShowWhenFormSet,
    TranslationCheckForm,
    translations_of_field,
)
from screening.admin.outdated import outdated_by_this_save
from screening.admin.widgets import option_groups
from screening.history import change_reason
from screening.models import Condition, GuidanceSection, Option, Question, Rule, Scenario, ShowWhen, Source
from screening.readability import TARGET_GRADE, check_text
from screening.translations import ENGLISH

# Django's admin classes take no type arguments at run time: the type checker alone sees them filled in.
if TYPE_CHECKING:
    from django.contrib.admin.options import _FieldGroups

    # django-simple-history ships no type hints: to the type checker its admin is the ModelAdmin it extends.
    HistoryAdmin = admin.ModelAdmin[Any]
    OptionInlineBase = admin.TabularInline[Option, Question]
    OptionsInlineBase = admin.TabularInline[Any, Any]
    # A mixin for model admins: to the type checker, the ModelAdmin it is mixed into.
    ModelAdminBase = admin.ModelAdmin[Any]
else:
    from simple_history.admin import SimpleHistoryAdmin as HistoryAdmin

    OptionInlineBase = OptionsInlineBase = admin.TabularInline
    ModelAdminBase = object


# Django's tabular inline with a header for its first column (axe: no empty table headers).
TABULAR = "admin/screening/edit_inline/tabular.html"


class OptionInline(OptionInlineBase):
    model = Option
    form = TranslationCheckForm
    formset = OptionFormSet
    template = TABULAR
    fields = ["identifier", "label", "label_zh_hans", "label_zh_hans_checked", "exclusive", "order", "opened_version"]
    extra = 0


class OptionsInline(OptionsInlineBase):
    """An inline whose rows pick options: the options, grouped by question, are read once for all its rows."""

    template = TABULAR

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        form = type(self.form.__name__, (self.form,), {"option_groups": option_groups()})
        return super().get_formset(request, obj, form=form, **kwargs)


class ShowWhenInline(OptionsInline):
    model = ShowWhen
    fk_name = "question"
    form = ShowWhenForm
    formset = ShowWhenFormSet
    extra = 0


class ConditionInline(OptionsInline):
    model = Condition
    form = ConditionForm
    formset = ConditionFormSet
    min_num = 1
    extra = 0

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        # A rule without conditions would never fire; the admin does not pass validate_min itself.
        return super().get_formset(request, obj, validate_min=True, **kwargs)


class ReadableValues(HistoricalRecordContextHelper):  # type: ignore[misc]  # simple-history, untyped
    """A history row's changes as a clinician reads them: "S1, S4" and "Yes", not Python lists and True."""

    def prepare_delta_change_value(self, change: Any, value: Any) -> Any:
        prepared = super().prepare_delta_change_value(change, value)
        if isinstance(prepared, list):
            return ", ".join(str(getattr(o, "code", None) or getattr(o, "label", None) or o) for o in prepared)
        if isinstance(prepared, bool):
            return "Yes" if prepared else "No"
        return prepared


class ReadableHistoryAdmin(ModelAdminBase):
    """simple-history's history page in a clinician's words: who, when, why and what changed."""

    object_history_template = "admin/screening/object_history.html"
    object_history_list_template = "admin/screening/object_history_list.html"

    def get_historical_record_context_helper(self, request: HttpRequest, historical_record: Any) -> Any:
        return ReadableValues(self.model, historical_record)


class ReasonedDeleteAdmin(ModelAdminBase):
    """A delete page that says, in words, what else the delete changes, and asks for the reason the history keeps.

    Deleting several at once from a list is not offered: it would ask no reason and list nothing.
    """

    delete_confirmation_template = "admin/screening/delete_confirmation.html"

    def get_actions(self, request: HttpRequest, action_location: Any = ActionLocation.CHANGE_LIST) -> dict[str, Any]:
        actions = super().get_actions(request, action_location=action_location)
        actions.pop("delete_selected", None)
        return actions

    def affected(self, obj: Any) -> list[tuple[str, list[str]]]:
        """What else changes when this object is deleted, as (heading, items) in a clinician's words."""
        return []

    def _delete_view(self, request: HttpRequest, object_id: str, extra_context: Any) -> HttpResponse:
        # Django's delete_view runs this in a transaction, after its CSRF check.
        obj = self.get_object(request, unquote(object_id))
        if not self.has_delete_permission(request, obj):
            raise PermissionDenied
        if obj is None:
            # Django's own answer to an unknown object: the admin home with a message (its private helper).
            missing = self._get_obj_does_not_exist_redirect  # type: ignore[attr-defined]
            return missing(request, self.opts, object_id)  # type: ignore[no-any-return]
        form = DeleteReasonForm(request.POST if request.method == "POST" else None)
        if form.is_valid():
            reason = form.cleaned_data["change_reason"]
            obj_display, obj_id = str(obj), obj.pk
            with change_reason(reason):
                obj._change_reason = reason
                self.log_deletions(request, self.get_queryset(request).filter(pk=obj.pk))
                self.delete_model(request, obj)
            return self.response_delete(request, obj_display, obj_id)
        name = str(self.opts.verbose_name)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Delete the {name} “{obj}”?",
            "subtitle": None,
            "object_name": name,
            "object": obj,
            "affected": [(heading, items) for heading, items in self.affected(obj) if items],
            "form": form,
            "opts": self.opts,
            "app_label": self.opts.app_label,
            "preserved_filters": self.get_preserved_filters(request),
            "is_popup": False,
            "to_field": None,
            "media": self.media,
            **(extra_context or {}),
        }
        return TemplateResponse(request, self.delete_confirmation_template, context)


def _answers_to(question: Question) -> list[str]:
    return [s.name for s in Scenario.objects.order_by("name") if question.identifier in (s.answers or {})]


def _options_in_words(condition: Any) -> str:
    labels = ", ".join(f"“{o.label}”" for o in condition.options.all())
    return f"“{condition.question.text}” is {labels}"


class DraftAdmin(ReadableHistoryAdmin, ReasonedDeleteAdmin, EditConflictAdmin, HistoryAdmin):
    """Shared by the draft models: a required reason, the audit history, wording checks, and a save from a
    page opened before someone else's save shown again as the conflict page instead of written."""

    form = ReasonForm
    wording_fields: tuple[str, ...] = ()
    change_form_template = "admin/screening/edit_conflict_change_form.html"
    object_history_form_template = "admin/screening/edit_conflict_history_form.html"

    class Media:
        css = {"all": ["css/admin.css"]}

    def get_fields(self, request: HttpRequest, obj: Any = None) -> _FieldGroups:
        return [*super().get_fields(request, obj), "change_reason", "opened_version", "opened_at"]

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        obj._change_reason = form.cleaned_data["change_reason"]
        with change_reason(form.cleaned_data["change_reason"]):
            super().save_model(request, obj, form, change)
        self._say_cleared_checks(request, str(obj), form)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        reason = form.cleaned_data["change_reason"]
        for inline_form in formset.forms:
            inline_form.instance._change_reason = reason
        with change_reason(reason):
            super().save_formset(request, form, formset, change)
        for inline_form in formset.forms:
            self._say_cleared_checks(request, str(inline_form.instance), inline_form)

    def _say_cleared_checks(self, request: HttpRequest, name: str, form: Any) -> None:
        outdated = outdated_by_this_save(form)
        for text in outdated:
            self.message_user(
                request,
                f"{name}: the {text} changed and its Chinese translation did not, so the translation is out of date. "
                "Patients reading Chinese see the English until you update it or tick “checked by a clinician”.",
                messages.WARNING,
            )
        for text in getattr(form, "cleared_checks", []):
            if text in outdated:
                continue
            self.message_user(
                request,
                f"{name}: the {text} changed, so its Chinese translation is marked as not checked again.",
                messages.WARNING,
            )

    def response_change(self, request: HttpRequest, obj: Any) -> HttpResponse:
        self._after_save(request, obj)
        return super().response_change(request, obj)

    def response_add(self, request: HttpRequest, obj: Any, post_url_continue: str | None = None) -> HttpResponse:
        self._after_save(request, obj)
        return super().response_add(request, obj, post_url_continue)

    def _after_save(self, request: HttpRequest, obj: Any) -> None:
        for label, text, language in self.wording_texts(obj):
            for warning in check_text(text, language).warnings:
                self.message_user(request, f"{label}: {warning}", messages.WARNING)
        publish_url = reverse("admin:screening_publishedruleset_publish")
        self.message_user(
            request,
            format_html(
                'Saved to the draft. Patients see it only after you <a href="{}">run the test patients and '
                "publish</a>.",
                publish_url,
            ),
            messages.INFO,
        )

    def wording_texts(self, obj: Any) -> list[tuple[str, str, str]]:
        """Every patient-facing text of this object in each language, labelled as a clinician would."""
        return [
            (obj._meta.get_field(field).verbose_name.capitalize(), getattr(obj, field), language)
            for name in self.wording_fields
            for language, field in translations_of_field(name)
        ]

    @admin.display(description="Wording check")
    def wording_check(self, obj: Any) -> str:
        if obj is None or obj.pk is None:
            return "Shown after saving."
        rows = []
        for label, text, language in self.wording_texts(obj):
            if not text:
                continue
            result = check_text(text, language)
            grade = "—" if result.grade is None else f"{result.grade:g}"
            verdict = " ".join(result.warnings) or "OK"
            rows.append((label, grade, "warning" if result.warnings else "ok", verdict))
        body = format_html_join("", '<tr><th scope="row">{}</th><td>{}</td><td class="wording-{}">{}</td></tr>', rows)
        return format_html(
            '<table class="wording-check"><caption>Reading grade (Flesch-Kincaid for English; aim for {} or '
            "lower), sentence length for Chinese, and words to avoid</caption>"
            "<thead><tr><th>Text</th><th>Grade</th><th>Check</th></tr></thead>"
            "<tbody>{}</tbody></table>",
            f"{TARGET_GRADE:g}",
            body,
        )


@admin.register(Question)
class QuestionAdmin(DraftAdmin):
    list_display = ["identifier", "text", "multiple", "order", "active"]
    list_filter = ["active", "multiple"]
    search_fields = ["identifier", "text", "help_text", "options__label"]
    fields = [
        "identifier",
        ("text", "text_zh_hans", "text_zh_hans_checked"),
        ("help_text", "help_text_zh_hans", "help_text_zh_hans_checked"),
        "multiple",
        "order",
        "active",
        "wording_check",
    ]
    readonly_fields = ["wording_check"]
    inlines = [OptionInline, ShowWhenInline]
    wording_fields = ("text", "help_text")

    def affected(self, obj: Question) -> list[tuple[str, list[str]]]:
        conditions = Condition.objects.filter(question=obj).select_related("rule").order_by("rule__order")
        rules = []
        for condition in conditions:
            rule = condition.rule
            only = rule.conditions.count() == 1
            rules.append(
                f"{rule.title} ({rule.get_level_display().lower()}): loses its condition "
                + _options_in_words(condition)
                + (". It then has no condition left and cannot be published until it has one." if only else ".")
            )
        depending = ShowWhen.objects.filter(depends_on=obj).select_related("question")
        return [
            ("Its answers, deleted with it", [o.label for o in obj.options.all()]),
            ("Rules that lose a condition", rules),
            (
                "Questions that lose their skip rule (and are then always asked)",
                [s.question.text for s in depending],
            ),
            ("Test patients that answer it (their answer to it then no longer counts)", _answers_to(obj)),
        ]

    def wording_texts(self, obj: Any) -> list[tuple[str, str, str]]:
        options = [
            (f"Option “{o.identifier}”{'' if language == ENGLISH else ' (简体中文)'}", getattr(o, field), language)
            for o in obj.options.all()
            for language, field in translations_of_field("label")
        ]
        return [*super().wording_texts(obj), *options]


@admin.register(Rule)
class RuleAdmin(DraftAdmin):
    list_display = ["identifier", "title", "level", "ends_check", "active", "order", "wording"]
    list_filter = ["level", "ends_check", "active", ("conditions__question", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["identifier", "title", "message", "next_steps", "education_text", "rationale"]
    fields = [
        "identifier",
        ("title", "title_zh_hans", "title_zh_hans_checked"),
        "level",
        ("message", "message_zh_hans", "message_zh_hans_checked"),
        ("next_steps", "next_steps_zh_hans", "next_steps_zh_hans_checked"),
        "ends_check",
        ("education_text", "education_text_zh_hans", "education_text_zh_hans_checked"),
        "rationale",
        "sources",
        "active",
        "order",
        "wording_check",
    ]
    readonly_fields = ["wording_check"]
    inlines = [ConditionInline]
    wording_fields = ("title", "message", "next_steps", "education_text")

    def affected(self, obj: Rule) -> list[tuple[str, list[str]]]:
        conditions = obj.conditions.select_related("question").prefetch_related("options")
        expecting = [s.name for s in Scenario.objects.order_by("name") if obj.identifier in (s.expected_rules or [])]
        return [
            (
                "What patients lose",
                [
                    f"The result “{obj.title}” (level: {obj.get_level_display().lower()}"
                    + ("; it ends the check" if obj.ends_check else "")
                    + f"): {obj.message}"
                ],
            ),
            ("Its conditions, deleted with it", [_options_in_words(c) for c in conditions]),
            ("Test patients that expect it (they fail until you change them)", expecting),
        ]

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "sources":
            kwargs["widget"] = forms.CheckboxSelectMultiple
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Rule]:
        return super().get_queryset(request).distinct()

    @admin.display(description="Wording")
    def wording(self, obj: Rule) -> str:
        warnings = sum(len(check_text(text, language).warnings) for _, text, language in self.wording_texts(obj))
        return f"{warnings} warning{'s' if warnings != 1 else ''}" if warnings else "OK"


@admin.register(Source)
class SourceAdmin(DraftAdmin):
    list_display = ["code", "document", "url"]
    search_fields = ["code", "document", "summary"]
    fields = [
        "code",
        "document",
        "url",
        ("summary", "summary_zh_hans", "summary_zh_hans_checked"),
        "order",
        "wording_check",
    ]
    readonly_fields = ["wording_check"]
    wording_fields = ("summary",)

    def affected(self, obj: Source) -> list[tuple[str, list[str]]]:
        return [
            ("Rules that no longer cite it", [r.title for r in obj.rules.all()]),
            ("Guidance sections that no longer cite it", [s.title for s in obj.sections.all()]),
        ]


@admin.register(GuidanceSection)
class GuidanceSectionAdmin(DraftAdmin):
    list_display = ["title", "identifier", "order"]
    search_fields = ["identifier", "title", "body"]
    fields = [
        "identifier",
        ("title", "title_zh_hans", "title_zh_hans_checked"),
        ("body", "body_zh_hans", "body_zh_hans_checked"),
        "sources",
        "order",
        "wording_check",
    ]
    readonly_fields = ["wording_check"]

    def affected(self, obj: GuidanceSection) -> list[tuple[str, list[str]]]:
        return [("What patients lose: this section of the result and education pages", obj.body_lines())]

    def wording_texts(self, obj: Any) -> list[tuple[str, str, str]]:
        chinese = "zh-hans"
        return [
            ("Title", obj.title, ENGLISH),
            ("Title (简体中文)", obj.title_zh_hans, chinese),
            *((f"Line {n}", line, ENGLISH) for n, line in enumerate(obj.body_lines(), start=1)),
            *((f"Line {n} (简体中文)", line, chinese) for n, line in enumerate(obj.body_zh_hans_lines(), start=1)),
        ]

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "sources":
            kwargs["widget"] = forms.CheckboxSelectMultiple
        return super().formfield_for_manytomany(db_field, request, **kwargs)
