"""The clinician's editor: the draft rule set, its audit history, test patients and publishing."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from simple_history.admin import SimpleHistoryAdmin

from screening import publishing
from screening.documents import document_diff, document_problems, translation_gaps, unchecked_translations
from screening.engine import ENGLISH, TRANSLATED_TEXTS, TRANSLATIONS, Level, checked_name, translated_name
from screening.fhir import questionnaire
from screening.history import change_reason
from screening.models import (
    Condition,
    GuidanceSection,
    Option,
    PublishedRuleSet,
    Question,
    Rule,
    Scenario,
    ShowWhen,
    Source,
    options_problem,
    skip_rule_problem,
)
from screening.readability import TARGET_GRADE, check_text


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


class TranslationCheckForm(forms.ModelForm):
    """A translation checked against one wording is no longer checked once either text changes."""

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
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


class OptionsOfOneQuestionForm(forms.ModelForm):
    """A condition or skip rule: the options must all belong to the question it names."""

    question_field = "question"
    # Set once per formset by OptionsInline, so a rule with many conditions costs one query.
    option_choices: list[tuple[str, list[tuple[int, str]]]] | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = self.option_choices if self.option_choices is not None else grouped_option_choices()
        self.fields["options"].choices = choices
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
    form = TranslationCheckForm
    formset = OptionFormSet
    fields = ["identifier", "label", "label_zh_hans", "label_zh_hans_checked", "exclusive", "order"]
    extra = 0


class OptionsInline(admin.TabularInline):
    """An inline whose rows pick options: the grouped option list is read once for all its rows."""

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        form = type(self.form.__name__, (self.form,), {"option_choices": grouped_option_choices()})
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
    min_num = 1
    extra = 0

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        # A rule without conditions would never fire; the admin does not pass validate_min itself.
        return super().get_formset(request, obj, validate_min=True, **kwargs)


class ReasonForm(TranslationCheckForm):
    """Every change to the draft says why; the reason is kept in the audit history."""

    change_reason = forms.CharField(
        label="Reason for this change",
        max_length=100,
        help_text="Required. Kept in the history with your name and the time.",
        widget=forms.TextInput(attrs={"size": 60}),
    )


class DraftAdmin(SimpleHistoryAdmin):
    """Shared by the draft models: a required reason, the audit history, wording checks."""

    form = ReasonForm
    wording_fields: tuple[str, ...] = ()

    class Media:
        css = {"all": ["css/admin.css"]}

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [*super().get_fields(request, obj), "change_reason"]

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
        for text in getattr(form, "cleared_checks", []):
            self.message_user(
                request,
                f"{name}: the {text} changed, so its Chinese translation is marked as not checked again.",
                messages.WARNING,
            )

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        with change_reason(f"Deleted in the admin by {request.user}"):
            super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        with change_reason(f"Deleted in the admin by {request.user}"):
            super().delete_queryset(request, queryset)

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


class ScenarioForm(forms.ModelForm):
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
        self.fields["expected_rules"].choices = [(i, f"{i}: {t}") for i, t in known] + [
            c for c in extra if c[0] not in dict(known)
        ]


@admin.register(Scenario)
class ScenarioAdmin(admin.ModelAdmin):
    form = ScenarioForm
    list_display = ["name", "expected_overall", "active", "last_passed", "last_run_at"]
    list_filter = ["expected_overall", "active", "last_passed"]
    search_fields = ["name"]
    readonly_fields = ["last_run_at", "last_passed", "last_report"]
    actions = ["run_selected"]
    change_list_template = "admin/screening/scenario/change_list.html"

    class Media:
        css = {"all": ["css/admin.css"]}

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        """Prefill from the preview's "Save these answers as a test patient" link."""
        initial = super().get_changeform_initial_data(request)
        if isinstance(initial.get("expected_rules"), str):
            initial["expected_rules"] = [r for r in initial["expected_rules"].split(",") if r]
        if isinstance(initial.get("answers"), str):
            try:
                initial["answers"] = json.loads(initial["answers"])
            except ValueError:
                del initial["answers"]
        return initial

    def get_urls(self) -> list[Any]:
        run = self.admin_site.admin_view(self.run_all_view)
        return [path("run/", run, name="screening_scenario_run"), *super().get_urls()]

    def run_all_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            return HttpResponse(status=403)
        if request.method != "POST":
            return HttpResponseRedirect(reverse("admin:screening_scenario_changelist"))
        results = publishing.run_draft_scenarios()
        return self._results(request, results)

    def _results(self, request: HttpRequest, results: list[Any]) -> HttpResponse:
        context = {**self.admin_site.each_context(request), "title": "Test patients run against the draft"}
        return render(request, "admin/screening/scenario/results.html", {**context, "results": results})

    @admin.action(description="Run the selected test patients against the draft")
    def run_selected(self, request: HttpRequest, queryset: QuerySet[Scenario]) -> HttpResponse:
        names = set(queryset.values_list("name", flat=True))
        results = [r for r in publishing.run_draft_scenarios() if r.scenario.name in names]
        return self._results(request, results)


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


@admin.register(PublishedRuleSet)
class PublishedRuleSetAdmin(admin.ModelAdmin):
    """Published versions are a record: they can be read, compared and restored, never changed."""

    list_display = ["version", "published_at", "published_by", "note"]
    readonly_fields = ["version", "published_at", "published_by", "note", "document"]
    change_list_template = "admin/screening/publishedruleset/change_list.html"
    change_form_template = "admin/screening/publishedruleset/change_form.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_urls(self) -> list[Any]:
        def view(function: Any) -> Any:
            return self.admin_site.admin_view(function)

        return [
            path("publish/", view(self.publish_view), name="screening_publishedruleset_publish"),
            path("compare/", view(self.compare_view), name="screening_publishedruleset_compare"),
            path("<int:version>/restore/", view(self.restore_view), name="screening_publishedruleset_restore"),
            path("export/draft.json", view(self.export_view), name="screening_publishedruleset_export"),
            path("export/questionnaire.fhir.json", view(self.fhir_view), name="screening_publishedruleset_fhir"),
            path("import/", view(self.import_view), name="screening_publishedruleset_import"),
            path("history/", view(self.change_log_view), name="screening_change_log"),
            path("translations/", view(self.translations_view), name="screening_translations"),
            *super().get_urls(),
        ]

    def _can_edit_draft(self, request: HttpRequest) -> bool:
        return request.user.has_perms(["screening.change_rule", "screening.change_question"])

    def _context(self, request: HttpRequest, title: str, **extra: Any) -> dict[str, Any]:
        return {**self.admin_site.each_context(request), "title": title, "opts": self.model._meta, **extra}

    def publish_view(self, request: HttpRequest) -> HttpResponse:
        if not self._can_edit_draft(request):
            return HttpResponse(status=403)
        form = PublishForm(request.POST or None)
        blocked: publishing.PublishBlocked | None = None
        if request.method == "POST" and form.is_valid():
            try:
                published = publishing.publish(user=request.user, note=form.cleaned_data["note"])  # type: ignore[arg-type]
            except publishing.PublishBlocked as error:
                blocked = error
            else:
                self.message_user(request, f"Published version {published.version}. Patients now see it.")
                gaps = translation_gaps(published.document)
                if gaps:
                    self.message_user(
                        request,
                        f"{len(gaps)} text{' is' if len(gaps) == 1 else 's are'} in one language only: patients "
                        "reading the other language see them in the language they are in.",
                        messages.WARNING,
                    )
                return HttpResponseRedirect(reverse("admin:screening_publishedruleset_changelist"))
        document = publishing.draft_document()
        latest = PublishedRuleSet.objects.order_by("-version").first()
        context = self._context(
            request,
            "Publish the draft",
            form=form,
            blocked=blocked,
            changes=document_diff(latest.document if latest else {}, document),
            live=latest,
            problems=document_problems(document),
            translation_gaps=translation_gaps(document),
            unchecked=len(unchecked_translations(document)),
            scenario_count=len(publishing.scenario_specs(document)),
        )
        return render(request, "admin/screening/publishedruleset/publish.html", context)

    def compare_view(self, request: HttpRequest) -> HttpResponse:
        versions = list(PublishedRuleSet.objects.values_list("version", flat=True))
        older = request.GET.get("from", "")
        newer = request.GET.get("to", "")
        changes = None
        if older and newer:
            old = get_object_or_404(PublishedRuleSet, version=older) if older != "draft" else None
            new = get_object_or_404(PublishedRuleSet, version=newer) if newer != "draft" else None
            changes = document_diff(
                old.document if old else publishing.draft_document(),
                new.document if new else publishing.draft_document(),
            )
        context = self._context(
            request, "Compare versions", versions=versions, older=older, newer=newer, changes=changes
        )
        return render(request, "admin/screening/publishedruleset/compare.html", context)

    def restore_view(self, request: HttpRequest, version: int) -> HttpResponse:
        snapshot = get_object_or_404(PublishedRuleSet, version=version)
        if not self._can_edit_draft(request):
            return HttpResponse(status=403)
        if request.method == "POST":
            publishing.replace_draft(snapshot.document, reason=f"Restored version {version} as the draft")
            self.message_user(
                request, f"The draft is now a copy of version {version}. Publish it to make it live again."
            )
            return HttpResponseRedirect(reverse("admin:screening_publishedruleset_publish"))
        context = self._context(request, f"Restore version {version} as the draft", snapshot=snapshot)
        return render(request, "admin/screening/publishedruleset/restore.html", context)

    def export_view(self, request: HttpRequest) -> HttpResponse:
        response = JsonResponse(publishing.draft_document(), json_dumps_params={"indent": 2, "ensure_ascii": False})
        response["Content-Disposition"] = 'attachment; filename="ruxguide-draft-rule-set.json"'
        return response

    def fhir_view(self, request: HttpRequest) -> HttpResponse:
        latest = PublishedRuleSet.objects.order_by("-version").first()
        if latest is None:
            return HttpResponse("Nothing is published yet.", status=404, content_type="text/plain")
        resource = questionnaire(latest.document, version=latest.version, date=latest.published_at.date().isoformat())
        response = JsonResponse(resource, json_dumps_params={"indent": 2, "ensure_ascii": False})
        response["Content-Type"] = "application/fhir+json"
        response["Content-Disposition"] = f'attachment; filename="ruxguide-questionnaire-v{latest.version}.json"'
        return response

    def import_view(self, request: HttpRequest) -> HttpResponse:
        if not self._can_edit_draft(request):
            return HttpResponse(status=403)
        form = ImportForm(request.POST or None, request.FILES or None)
        problems: list[str] = []
        if request.method == "POST" and form.is_valid():
            try:
                document = json.loads(form.cleaned_data["document"].read().decode("utf-8"))
                if not isinstance(document, dict):
                    raise ValueError("the file is not a rule set")
                publishing.replace_draft(document, reason=form.cleaned_data["reason"])
            except (ValueError, KeyError, TypeError) as error:
                problems = [f"The file could not be read: {error}"]
            except ValidationError as error:
                problems = error.messages
            else:
                self.message_user(request, "Imported into the draft. Publish it to make it live.")
                return HttpResponseRedirect(reverse("admin:screening_publishedruleset_publish"))
        context = self._context(request, "Import a rule set into the draft", form=form, problems=problems)
        return render(request, "admin/screening/publishedruleset/import.html", context)

    def translations_view(self, request: HttpRequest) -> HttpResponse:
        """The translations a clinician still has to write or check, or (with ?show=all) every one."""
        rows = translation_rows()
        show_all = request.GET.get("show") == "all"
        counts = {
            status: sum(1 for row in rows if row["status"] == status) for status in (MISSING, NOT_CHECKED, CHECKED)
        }
        context = self._context(
            request,
            "Translations" if show_all else "Translations to write or check",
            rows=rows if show_all else [row for row in rows if row["status"] != CHECKED],
            counts=counts,
            total=len(rows),
            show_all=show_all,
        )
        return render(request, "admin/screening/publishedruleset/translations.html", context)

    def change_log_view(self, request: HttpRequest) -> HttpResponse:
        models = [Question, Option, ShowWhen, Rule, Condition, Source, GuidanceSection]
        records = sorted(
            (
                {"record": record, "kind": model._meta.verbose_name}
                for model in models
                for record in model.history.select_related("history_user").order_by("-history_date")[:100]
            ),
            key=lambda row: row["record"].history_date,
            reverse=True,
        )[:150]
        context = self._context(request, "Change history of the draft", records=records)
        return render(request, "admin/screening/publishedruleset/change_log.html", context)


MISSING = "missing"
NOT_CHECKED = "unchecked"
CHECKED = "checked"
STATUS_LABELS = {MISSING: "Missing in one language", NOT_CHECKED: "Not checked yet", CHECKED: "Checked"}
TRANSLATED_MODELS = (
    ("questions", Question),
    ("options", Option),
    ("rules", Rule),
    ("sections", GuidanceSection),
    ("sources", Source),
)


def translation_rows() -> list[dict[str, Any]]:
    """Every patient-facing text of the draft with its translations: missing ones first, then unchecked."""
    rows: list[dict[str, Any]] = []
    for collection, model in TRANSLATED_MODELS:
        objects = model.objects.select_related("question") if model is Option else model.objects.all()
        for obj in objects:
            # An option is edited on its question's page.
            owner = obj.question if isinstance(obj, Option) else obj
            for name in TRANSLATED_TEXTS[collection]:
                for language in TRANSLATIONS:
                    english = getattr(obj, name)
                    translation = getattr(obj, translated_name(name, language))
                    if not english and not translation:
                        continue
                    checked = getattr(obj, checked_name(name, language))
                    status = MISSING if not (english and translation) else CHECKED if checked else NOT_CHECKED
                    rows.append(
                        {
                            "item": f"{model._meta.verbose_name.capitalize()} {obj}",
                            "field": obj._meta.get_field(name).verbose_name,
                            "english": english,
                            "translation": translation,
                            "language": language,
                            "status": status,
                            "urgency": _urgency(obj),
                            "status_label": STATUS_LABELS[status],
                            "edit_url": reverse(f"admin:screening_{owner._meta.model_name}_change", args=[owner.pk]),
                        }
                    )
    order = {MISSING: 0, NOT_CHECKED: 1, CHECKED: 2}
    return sorted(rows, key=lambda row: (order[row["status"]], row["urgency"]))


# Texts a patient acts on in an emergency are the ones a wrong translation could hurt most.
URGENT_ITEMS = {"urgent_symptoms", "urgent_signs", "stop_and_call"}


def _urgency(obj: Any) -> int:
    """0 for the warning signs and the most severe rules, rising as the text matters less at once."""
    if isinstance(obj, Rule):
        return len(Level) - Level(obj.level).severity
    owner = obj.question if isinstance(obj, Option) else obj
    return 0 if getattr(owner, "identifier", "") in URGENT_ITEMS else len(Level)
