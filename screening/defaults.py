"""The shipped default content: loading it into an empty draft, and updating an edited draft to a newer version.

An update brings the newly shipped version into the draft with a three-way merge (screening.merge)
and writes it in place (screening.drafts); it never publishes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max

from screening.documents import document_diff, document_problems
from screening.draft_writer import write_draft
from screening.drafts import draft_document, load_document
from screening.history import change_reason
from screening.merge import Conflict, canonical, merge_documents, reference_problems
from screening.models import DefaultContentVersion, Question, Rule
from screening.publishing import publish
from screening.validation import shape_problems

DEFAULT_RULESET_PATH = Path(__file__).with_name("default_ruleset.json")

LOADED_REASON = "Default rule set loaded"
UPDATE_REASON = "Default content updated to version 2 after an independent clinical review"


def default_document() -> dict[str, Any]:
    """The default content this code ships."""
    document: dict[str, Any] = json.loads(DEFAULT_RULESET_PATH.read_text(encoding="utf-8"))
    return document


def content_version(document: Mapping[str, Any]) -> int:
    """The default-content version a document declares (documents from before versioning are 1)."""
    return int(document.get("content_version", 1))


def shipped_content_version() -> int:
    """The version of the default content this code ships."""
    return content_version(default_document())


def installed_content_version() -> int | None:
    """The newest default-content version the draft was loaded from or updated to, if recorded."""
    latest: int | None = DefaultContentVersion.objects.aggregate(latest=Max("version"))["latest"]
    return latest


def shipped_document(version: int) -> dict[str, Any]:
    """An earlier shipped version, kept beside the current one as `default_ruleset_v<N>.json`."""
    path = Path(__file__).with_name(f"default_ruleset_v{version}.json")
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document


def update_waiting() -> tuple[int, int] | None:
    """(installed, shipped) when the draft holds older default content than this code ships."""
    installed = installed_content_version()
    shipped = shipped_content_version()
    if not _draft_is_empty() and (installed or 1) < shipped:
        return installed or 1, shipped
    return None


def _draft_is_empty() -> bool:
    return not (Question.objects.exists() or Rule.objects.exists())


def ensure_default_rules() -> bool:
    """Load and publish the default rule set if the draft is empty; never touch an edited one."""
    with transaction.atomic():
        if not _draft_is_empty():
            return False
        document = default_document()
        load_document(document, reason=LOADED_REASON)
        DefaultContentVersion.objects.get_or_create(version=content_version(document))
    publish(note="Default rule set")
    return True


@dataclass(frozen=True)
class UpdateReport:
    """What an update did to the draft: the changes, the kept edits, and between which versions."""

    installed: int | None
    shipped: int
    changes: list[dict[str, Any]] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    updated: bool = False
    loaded: bool = False


def update_draft(*, reason: str) -> UpdateReport:
    """Bring the shipped default content into the draft in place, keeping the clinicians' edits; never publish."""
    with transaction.atomic():
        installed, document = installed_content_version(), default_document()
        # The shipped file is checked like an import before the merge reads it, so a malformed one is
        # refused with its problems named instead of failing half-way through the merge.
        problems = document_problems(document)
        if problems:
            raise ValidationError(problems)
        shipped = content_version(document)
        if _draft_is_empty():
            load_document(document, reason=reason)
            DefaultContentVersion.objects.get_or_create(version=shipped)
            return UpdateReport(installed=installed, shipped=shipped, loaded=True)
        if installed is not None and installed >= shipped:
            return UpdateReport(installed=installed, shipped=shipped)
        ours = canonical(draft_document())
        # A draft from before versioning was loaded from version 1.
        base = shipped_document(installed or 1)
        if problems := shape_problems(base):
            raise ValidationError(
                [f"The shipped version {installed or 1} the draft was loaded from: {p}" for p in problems]
            )
        merged, conflicts = merge_documents(base, ours, document)
        # The same problem can be found by both checks; say it once.
        problems = list(dict.fromkeys(document_problems(merged) + reference_problems(merged)))
        if problems:
            raise ValidationError(problems)
        with change_reason(reason):
            write_draft(ours=ours, merged=merged, reason=reason)
        DefaultContentVersion.objects.get_or_create(version=shipped)
    return UpdateReport(
        installed=installed,
        shipped=shipped,
        changes=document_diff(ours, merged),
        conflicts=conflicts,
        updated=True,
    )
