"""The published versions: read-only records, with the URLs of the publishing workflow."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.urls import path

from screening.admin.workflow import WorkflowViews
from screening.models import PublishedRuleSet


@admin.register(PublishedRuleSet)
class PublishedRuleSetAdmin(WorkflowViews):
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
