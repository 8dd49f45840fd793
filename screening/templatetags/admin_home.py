"""The admin home's summary of the draft (changes, test patients, translations, reviews), and levels in words."""

from __future__ import annotations

from typing import Any

from django import template
from django.db.models import Count, Q
from django.template.defaultfilters import pluralize
from django.urls import NoReverseMatch, reverse

from screening import documents, drafts
from screening.documents import document_diff
from screening.models import PublishedRuleSet, Review, Scenario
from screening.scenarios import ScenarioResult
from screening.translations import outdated_translations

register = template.Library()


def _url(name: str, *args: Any) -> str:
    """The address of a page, or "" while the page does not exist (another part of the admin adds it)."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return ""


@register.simple_tag(takes_context=True)
def draft_state(context: template.Context) -> dict[str, Any]:
    """The draft against the live version, read from what is stored: nothing is run to show the home."""
    user = context["request"].user
    if not user.has_module_perms("screening"):
        return {"shown": False}
    live = PublishedRuleSet.objects.order_by("-version").first()
    document = drafts.draft_document()
    patients = Scenario.objects.filter(active=True).aggregate(
        total=Count("pk"),
        passed=Count("pk", filter=Q(last_passed=True)),
        failed=Count("pk", filter=Q(last_passed=False)),
    )
    review = Review.objects.select_related("author").filter(status=Review.Status.WAITING).first()
    is_author = review is not None and review.author_id == user.pk
    return {
        "shown": True,
        "live": live,
        "changes": len(document_diff(live.document if live else {}, document)),
        "compare_url": _url("admin:screening_publishedruleset_compare") + f"?from={live.version}&to=draft"
        if live and user.has_perm("screening.view_publishedruleset")
        else "",
        "patients": {**patients, "not_run": patients["total"] - patients["passed"] - patients["failed"]},
        "patients_url": _url("admin:screening_scenario_changelist") if user.has_perm("screening.view_scenario") else "",
        "run_url": _url("admin:screening_scenario_run") if user.has_perm("screening.view_scenario") else "",
        "outdated": len(outdated_translations(document)),
        "translations_url": _url("admin:screening_translations")
        if user.has_perm("screening.view_translations")
        else "",
        "review": review,
        "is_author": is_author,
        "review_url": _url("admin:screening_review_review", review.pk) if review else "",
        "may_approve": review is not None and not is_author and user.has_perm("screening.approve_publication"),
        "preview_url": _url("preview:start") if user.has_perm("screening.preview_draft") else "",
        "send_url": (_url("admin:screening_review_send") or _url("admin:screening_publishedruleset_publish"))
        if user.has_perm("screening.publish_draft") and review is None
        else "",
    }


@register.filter
def level_words(level: str | None) -> str:
    """A level (or "none") as clinicians read it: "Get medical help now", "No cautions"."""
    return documents.level_words(level)


@register.simple_tag
def run_summary(results: list[ScenarioResult]) -> dict[str, Any]:
    """ "40 of 42 test patients pass; 2 fail: A, B." (or "All 42 test patients pass.") for a run's results."""
    failed = [result.scenario.name for result in results if not result.passed]
    total = len(results)
    if not failed:
        line = f"All {total} test patient{pluralize(total)} pass{'es' if total == 1 else ''}."
    else:
        verb = "fails" if len(failed) == 1 else "fail"
        line = f"{total - len(failed)} of {total} test patients pass; {len(failed)} {verb}: {', '.join(failed)}."
    return {"line": line, "failed": bool(failed)}
