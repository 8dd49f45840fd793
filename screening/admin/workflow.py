"""The pages around publishing: publish, compare, restore, export, FHIR, import, translations, history."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Field
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse

from screening import drafts, publishing, validation
from screening.admin.access import needs_permission
from screening.admin.change_log import change_log_page
from screening.admin.forms import ImportForm
from screening.admin.publish_form import ReviewedPublishForm
from screening.documents import document_diff, document_problems, translation_gaps, unchecked_translations
from screening.engine import Level
from screening.fhir import questionnaire
from screening.models import Condition, GuidanceSection, Option, PublishedRuleSet, Question, Rule, ShowWhen, Source
from screening.review import single_clinician_publishing
from screening.translations import TRANSLATED_TEXTS, TRANSLATIONS, checked_name, outdated_name, translated_name

# Django's ModelAdmin takes no type arguments at run time: the type checker alone sees it filled in.
if TYPE_CHECKING:
    PublishedModelAdmin = admin.ModelAdmin[PublishedRuleSet]
else:
    PublishedModelAdmin = admin.ModelAdmin


class WorkflowViews(PublishedModelAdmin):
    """The views PublishedRuleSetAdmin serves at its URLs; registered through it, never on their own."""

    def _context(self, request: HttpRequest, title: str, **extra: Any) -> dict[str, Any]:
        return {**self.admin_site.each_context(request), "title": title, "opts": self.model._meta, **extra}

    @needs_permission("screening.publish_draft")
    def publish_view(self, request: HttpRequest) -> HttpResponse:
        if not single_clinician_publishing():
            # A second clinician approves every publish: this page is the way in to sending for review.
            self.message_user(
                request,
                "Publishing needs a second clinician: send the draft for review, and a colleague who may approve "
                "drafts publishes it.",
            )
            return HttpResponseRedirect(reverse("admin:screening_review_send"))
        form = ReviewedPublishForm(request.POST or None)
        blocked: publishing.PublishBlocked | None = None
        conflict: publishing.PublishConflict | None = None
        if request.method == "POST" and form.is_valid():
            try:
                published = publishing.publish(user=request.user, note=form.cleaned_data["note"], **form.review())
            except publishing.PublishBlocked as error:
                blocked = error
            except publishing.PublishConflict as error:
                conflict = error
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
        document = drafts.draft_document()
        latest = PublishedRuleSet.objects.select_related("published_by").order_by("-version").first()
        context = self._context(
            request,
            "Publish the draft",
            # The hidden values describe this page, so a publish from it names what it showed.
            form=form.showing(live_version=latest.version if latest else 0, document=document),
            blocked=blocked,
            conflict=conflict,
            changes=document_diff(latest.document if latest else {}, document),
            live=latest,
            problems=document_problems(document),
            translation_gaps=translation_gaps(document),
            unchecked=len(unchecked_translations(document)),
            scenario_count=len(publishing.scenario_specs(document)),
        )
        # 409: what the clinician reviewed is out of date; the page shows the fresh changes.
        status = 409 if conflict else 200
        return render(request, "admin/screening/publishedruleset/publish.html", context, status=status)

    @needs_permission("screening.view_publishedruleset")
    def compare_view(self, request: HttpRequest) -> HttpResponse:
        versions = list(PublishedRuleSet.objects.values_list("version", flat=True))
        older = request.GET.get("from", "")
        newer = request.GET.get("to", "")
        changes = None
        if older and newer:
            old = get_object_or_404(PublishedRuleSet, version=older) if older != "draft" else None
            new = get_object_or_404(PublishedRuleSet, version=newer) if newer != "draft" else None
            changes = document_diff(
                old.document if old else drafts.draft_document(),
                new.document if new else drafts.draft_document(),
            )
        context = self._context(
            request, "Compare versions", versions=versions, older=older, newer=newer, changes=changes
        )
        return render(request, "admin/screening/publishedruleset/compare.html", context)

    @needs_permission("screening.restore_version")
    def restore_view(self, request: HttpRequest, version: int) -> HttpResponse:
        snapshot = get_object_or_404(PublishedRuleSet, version=version)
        problems: list[str] = []
        if request.method == "POST":
            try:
                drafts.replace_draft(snapshot.document, reason=f"Restored version {version} as the draft")
            except ValidationError as error:
                # An old version the draft's checks now refuse: the draft stays as it was, and the page says why.
                problems = error.messages
            else:
                self.message_user(
                    request, f"The draft is now a copy of version {version}. Publish it to make it live again."
                )
                return HttpResponseRedirect(reverse("admin:screening_publishedruleset_publish"))
        context = self._context(
            request,
            f"Restore version {version} as the draft",
            snapshot=snapshot,
            problems=problems,
            changes=document_diff(drafts.draft_document(), snapshot.document),
        )
        return render(request, "admin/screening/publishedruleset/restore.html", context)

    @needs_permission("screening.export_draft")
    def export_view(self, request: HttpRequest) -> HttpResponse:
        response = JsonResponse(drafts.draft_document(), json_dumps_params={"indent": 2, "ensure_ascii": False})
        response["Content-Disposition"] = 'attachment; filename="ruxguide-draft-rule-set.json"'
        return response

    @needs_permission("screening.export_draft")
    def fhir_view(self, request: HttpRequest) -> HttpResponse:
        latest = PublishedRuleSet.objects.order_by("-version").first()
        if latest is None:
            return HttpResponse("Nothing is published yet.", status=404, content_type="text/plain")
        resource = questionnaire(
            latest.document,
            version=latest.version,
            date=latest.published_at.date().isoformat(),
            second_review=latest.second_review,
        )
        response = JsonResponse(resource, json_dumps_params={"indent": 2, "ensure_ascii": False})
        response["Content-Type"] = "application/fhir+json"
        response["Content-Disposition"] = f'attachment; filename="ruxguide-questionnaire-v{latest.version}.json"'
        return response

    @needs_permission("screening.import_draft")
    def import_view(self, request: HttpRequest) -> HttpResponse:
        # The form refuses a file too large, not UTF-8 or not JSON before anything else reads it.
        form = ImportForm(request.POST or None, request.FILES or None)
        problems: list[str] = []
        unreadable = False
        if request.method == "POST" and form.is_valid():
            document = form.cleaned_data["document"]
            # A document unreadable as a rule set has only these problems (document_problems stops there).
            problems = validation.shape_problems(document)
            unreadable = bool(problems)
            if not problems:
                # replace_draft checks the whole document (document_problems) before the draft is
                # touched, and the import is one transaction: checking it here too would do it twice.
                try:
                    drafts.replace_draft(document, reason=form.cleaned_data["reason"])
                except ValidationError as error:
                    problems = error.messages
                except (ValueError, KeyError, TypeError) as error:
                    # A gap in the validation: the transaction left the draft as it was.
                    problems = [f"The file could not be imported ({type(error).__name__}: {error})."]
                else:
                    self.message_user(request, "Imported into the draft. Publish it to make it live.")
                    return HttpResponseRedirect(reverse("admin:screening_publishedruleset_publish"))
        context = self._context(
            request,
            "Import a rule set into the draft",
            form=form,
            problems=validation.first_problems(problems),
            problem_count=len(problems),
            unreadable=unreadable,
        )
        return render(request, "admin/screening/publishedruleset/import.html", context)

    @needs_permission("screening.view_translations")
    def translations_view(self, request: HttpRequest) -> HttpResponse:
        """The translations a clinician still has to write or check, or (with ?show=all) every one."""
        rows = translation_rows()
        show_all = request.GET.get("show") == "all"
        counts = {
            status: sum(1 for row in rows if row["status"] == status)
            for status in (OUTDATED, MISSING, NOT_CHECKED, CHECKED)
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

    @needs_permission("screening.view_change_history")
    def change_log_view(self, request: HttpRequest) -> HttpResponse:
        # Every model with a history; the page merges them by date, fifty rows a page (screening.admin.change_log).
        models: list[type[Any]] = [Question, Option, ShowWhen, Rule, Condition, Source, GuidanceSection]
        page = change_log_page(request, models)
        context = self._context(request, page["heading"] or "Change history of the draft", **page)
        return render(request, "admin/screening/publishedruleset/change_log.html", context)


OUTDATED = "outdated"
MISSING = "missing"
NOT_CHECKED = "unchecked"
CHECKED = "checked"
STATUS_LABELS = {
    OUTDATED: "Out of date: written for an earlier English text",
    MISSING: "Missing in one language",
    NOT_CHECKED: "Not checked yet",
    CHECKED: "Checked",
}
TRANSLATED_MODELS = (
    ("questions", Question),
    ("options", Option),
    ("rules", Rule),
    ("sections", GuidanceSection),
    ("sources", Source),
)


def translation_rows() -> list[dict[str, Any]]:
    """Every patient-facing text of the draft with its translations: out-of-date ones first (patients see
    the English until they are updated or confirmed), then missing, then unchecked."""
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
                    if not (english and translation):
                        status = MISSING
                    elif getattr(obj, outdated_name(name, language)):
                        status = OUTDATED
                    else:
                        status = CHECKED if checked else NOT_CHECKED
                    rows.append(
                        {
                            "item": f"{str(model._meta.verbose_name).capitalize()} {obj}",
                            # A text field of the model, never a relation.
                            "field": cast("Field[Any, Any]", obj._meta.get_field(name)).verbose_name,
                            "english": english,
                            "translation": translation,
                            "language": language,
                            "status": status,
                            "urgency": _urgency(obj),
                            "status_label": STATUS_LABELS[status],
                            "edit_url": reverse(f"admin:screening_{owner._meta.model_name}_change", args=[owner.pk]),
                        }
                    )
    order = {OUTDATED: 0, MISSING: 1, NOT_CHECKED: 2, CHECKED: 3}
    return sorted(rows, key=lambda row: (order[row["status"]], row["urgency"]))


# Texts a patient acts on in an emergency are the ones a wrong translation could hurt most.
URGENT_ITEMS = {"urgent_symptoms", "urgent_signs", "stop_and_call"}


def _urgency(obj: Any) -> int:
    """0 for the warning signs and the most severe rules, rising as the text matters less at once."""
    if isinstance(obj, Rule):
        return len(Level) - Level(obj.level).severity
    owner = obj.question if isinstance(obj, Option) else obj
    return 0 if getattr(owner, "identifier", "") in URGENT_ITEMS else len(Level)
