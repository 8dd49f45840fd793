"""Publishing: the draft becomes the next live version only when it is valid and every test patient passes."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db import transaction
from django.utils import timezone

from screening.documents import document_problems
from screening.drafts import draft_document
from screening.engine import ruleset_from_document
from screening.live import forget_live_ruleset
from screening.models import PublishedRuleSet, Scenario
from screening.scenarios import ScenarioResult, ScenarioSpec, run_scenarios


class PublishBlocked(Exception):
    """The draft cannot go live: it has problems, or a test patient's outcome changed."""

    def __init__(self, problems: list[str], failures: list[ScenarioResult]) -> None:
        super().__init__("; ".join(problems + [f"{f.scenario.name}: {' '.join(f.differences)}" for f in failures]))
        self.problems = problems
        self.failures = failures


def scenario_specs(document: dict[str, Any]) -> list[ScenarioSpec]:
    return [ScenarioSpec.from_document(item) for item in document.get("scenarios", []) if item.get("active", True)]


def run_document_scenarios(document: dict[str, Any]) -> list[ScenarioResult]:
    """The document's active test patients run against the document's own rules."""
    withdrawn = frozenset(q["id"] for q in document.get("questions", []) if not q.get("active", True))
    return run_scenarios(ruleset_from_document(document), scenario_specs(document), withdrawn=withdrawn)


def run_draft_scenarios() -> list[ScenarioResult]:
    """Run every active test patient against the draft and remember each one's result."""
    results = run_document_scenarios(draft_document())
    _record_results(results)
    return results


def _record_results(results: list[ScenarioResult]) -> None:
    now = timezone.now()
    for result in results:
        Scenario.objects.filter(name=result.scenario.name).update(
            last_run_at=now,
            last_passed=result.passed,
            last_report="\n".join(result.differences) if result.differences else "Passed.",
        )


def publish(*, user: User | AnonymousUser | None = None, note: str = "") -> PublishedRuleSet:
    """Validate the draft, run its test patients, and make it the live rule set under the next version.

    All of it happens in one transaction: if anything fails, the version that was live stays live.
    """
    with transaction.atomic():
        document = draft_document()
        problems = document_problems(document)
        results = run_document_scenarios(document)
        failures = [result for result in results if not result.passed]
        if problems or failures:
            raise PublishBlocked(problems, failures)
        # Locking the latest row serialises concurrent publishers on databases that support it.
        latest = PublishedRuleSet.objects.select_for_update().order_by("-version").first()
        published = PublishedRuleSet.objects.create(
            version=(latest.version if latest else 0) + 1,
            document=document,
            published_by=user if user is not None and user.is_authenticated else None,
            note=note,
        )
        _record_results(results)
    forget_live_ruleset()
    return published
