"""Test patients: answers with the outcome a clinician expects, run against the draft."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import path, reverse

from screening import publishing
from screening.admin.conflicts import EditConflictAdmin
from screening.admin.drafts import ReadableHistoryAdmin, ReasonedDeleteAdmin
from screening.admin.forms import ScenarioForm
from screening.history import change_reason
from screening.models import Scenario

# Django's ModelAdmin takes no type arguments at run time: the type checker alone sees it filled in.
if TYPE_CHECKING:
    # django-simple-history ships no type hints: to the type checker its admin is the ModelAdmin it extends.
    HistoryAdmin = admin.ModelAdmin[Scenario]
else:
    from simple_history.admin import SimpleHistoryAdmin as HistoryAdmin


@admin.register(Scenario)
class ScenarioAdmin(ReadableHistoryAdmin, ReasonedDeleteAdmin, EditConflictAdmin, HistoryAdmin):
    """Test patients guard the rules: every change and every delete gives a reason the history keeps."""

    form = ScenarioForm
    list_display = ["name", "expected_overall", "active", "last_passed", "last_run_at"]
    list_filter = ["expected_overall", "active", "last_passed"]
    search_fields = ["name"]
    readonly_fields = ["last_run_at", "last_passed", "last_report"]
    actions = ["run_selected"]
    change_list_template = "admin/screening/scenario/change_list.html"
    change_form_template = "admin/screening/edit_conflict_change_form.html"
    object_history_form_template = "admin/screening/edit_conflict_history_form.html"

    class Media:
        css = {"all": ["css/admin.css"]}

    def affected(self, obj: Scenario) -> list[tuple[str, list[str]]]:
        expected = obj.get_expected_overall_display()
        rules = ", ".join(obj.expected_rules) or "none"
        return [("What stops being checked before each publish", [f"{expected}, with the rules: {rules}"])]

    def save_model(self, request: HttpRequest, obj: Scenario, form: Any, change: bool) -> None:
        reason = form.cleaned_data["change_reason"]
        obj._change_reason = reason  # type: ignore[attr-defined]  # simple-history reads it
        with change_reason(reason):
            super().save_model(request, obj, form, change)

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        """Prefill from the preview's "Save these answers as a test patient" link."""
        initial = super().get_changeform_initial_data(request)
        if isinstance(rules := initial.get("expected_rules"), str):
            initial["expected_rules"] = [r for r in rules.split(",") if r]
        if isinstance(answers := initial.get("answers"), str):
            try:
                initial["answers"] = json.loads(answers)
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
