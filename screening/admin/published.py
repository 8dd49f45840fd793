"""The published versions: read-only records, read as sections, with the URLs of the publishing workflow."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404
from django.urls import path

from screening.admin.access import RecordAdmin, needs_permission
from screening.admin.workflow import WorkflowViews
from screening.documents import REVIEW_WORDS, readable_document
from screening.models import PublishedRuleSet


@admin.register(PublishedRuleSet)
class PublishedRuleSetAdmin(RecordAdmin, WorkflowViews):
    """Published versions are a record: they can be read, compared and restored, never changed."""

    list_display = ["version", "published_at", "published_by", "second_review_words", "note"]
    list_select_related = ["published_by"]
    # The page shows the version itself in sections (the template), not its JSON in a form field.
    fields = ("version",)
    readonly_fields = ("version",)
    change_list_template = "admin/screening/publishedruleset/change_list.html"
    change_form_template = "admin/screening/publishedruleset/change_form.html"

    @admin.display(description="Review")
    def second_review_words(self, obj: PublishedRuleSet) -> str:
        return REVIEW_WORDS[obj.second_review]

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        version = self.get_object(request, object_id)
        extra = {**(extra_context or {})}
        if version is not None:
            extra.update(
                version=version,
                rule_set=readable_document(version.document),
                review_words=self.second_review_words(version),
                title=f"Version {version.version}",
                subtitle=None,
            )
        return super().change_view(request, object_id, form_url, extra)

    @needs_permission("screening.export_draft")
    def document_view(self, request: HttpRequest, version: int) -> HttpResponse:
        """One published version's document, exactly as patients were shown it, to download."""
        snapshot = get_object_or_404(PublishedRuleSet, version=version)
        # Whether a second clinician approved it travels with the file; an import ignores this key.
        review = REVIEW_WORDS[snapshot.second_review]
        published = {"version": snapshot.version, "published_at": snapshot.published_at.isoformat(), "review": review}
        document = {"published": published, **snapshot.document}
        response = JsonResponse(document, json_dumps_params={"indent": 2, "ensure_ascii": False})
        unreviewed = "" if snapshot.second_review else "-published-without-a-second-review"
        response["Content-Disposition"] = f'attachment; filename="ruxguide-rule-set-version-{version}{unreviewed}.json"'
        return response

    def get_urls(self) -> list[Any]:
        def view(function: Any) -> Any:
            return self.admin_site.admin_view(function)

        return [
            path("publish/", view(self.publish_view), name="screening_publishedruleset_publish"),
            path("compare/", view(self.compare_view), name="screening_publishedruleset_compare"),
            path("<int:version>/restore/", view(self.restore_view), name="screening_publishedruleset_restore"),
            path("<int:version>/document.json", view(self.document_view), name="screening_publishedruleset_document"),
            path("export/draft.json", view(self.export_view), name="screening_publishedruleset_export"),
            path("export/questionnaire.fhir.json", view(self.fhir_view), name="screening_publishedruleset_fhir"),
            path("import/", view(self.import_view), name="screening_publishedruleset_import"),
            path("history/", view(self.change_log_view), name="screening_change_log"),
            path("translations/", view(self.translations_view), name="screening_translations"),
            *super().get_urls(),
        ]
