from __future__ import annotations

from argparse import ArgumentParser
from typing import Any, NoReturn

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from screening.defaults import UPDATE_REASON, UpdateReport, ensure_default_rules, update_draft, update_waiting
from screening.merge import field_words

UPDATE_COMMAND = ".venv/bin/python manage.py ensure_default_rules --update"
NOT_PUBLISHED = "Nothing is published yet: a clinician must review and publish the draft."


class Command(BaseCommand):
    help = (
        "Load and publish the default rule set when the draft is empty. Never overwrites edits. "
        "With --update, bring newer default content into the draft, keeping the clinicians' edits (never publishes)."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--update",
            action="store_true",
            help="Merge the newer shipped default content into the draft; edits made here are kept.",
        )
        parser.add_argument("--reason", default=UPDATE_REASON, help="The change reason the audit history records.")

    def handle(self, *args: object, **options: Any) -> None:
        if options["update"]:
            self._update(reason=options["reason"])
        elif self._load():
            self.stdout.write("Loaded and published the default rule set.")
        elif waiting := update_waiting():
            self.stdout.write(self.style.WARNING(_waiting_notice(installed=waiting[0], shipped=waiting[1])))
        else:
            self.stdout.write("Rule set already present; left it as it is.")

    def _load(self) -> bool:
        try:
            return ensure_default_rules()
        except ValidationError as error:
            self._refuse(error, "The default rule set has the problems above, so nothing was loaded.")

    def _update(self, *, reason: str) -> None:
        try:
            report = update_draft(reason=reason)
        except ValidationError as error:
            self._refuse(error, "The updated draft would have the problems above, so nothing was changed.")
        for line in report_lines(report):
            self.stdout.write(line)

    def _refuse(self, error: ValidationError, summary: str) -> NoReturn:
        """List each problem on its own line, then stop with exit status 2 (no traceback)."""
        for problem in error.messages:
            self.stderr.write(f"- {problem}")
        raise CommandError(summary, returncode=2) from error


def _waiting_notice(*, installed: int, shipped: int) -> str:
    return (
        f"An update to the default content is waiting (version {installed} -> version {shipped}, "
        f"after a clinical review). Bring it into the draft with: {UPDATE_COMMAND} — then preview it, "
        "run the test patients and publish it in the admin. Nothing changes for patients until a clinician publishes."
    )


def report_lines(report: UpdateReport) -> list[str]:
    """What an update did, one plain line each, ending with the reminder that nothing is live yet."""
    if report.loaded:
        return [f"The draft was empty: loaded the default content (version {report.shipped}) into it.", NOT_PUBLISHED]
    if not report.updated:
        return [f"The draft already has the default content version {report.shipped}; nothing to update."]
    lines = [
        f"Brought the default content from version {report.installed or 1} to version {report.shipped} into the draft."
    ]
    lines += [line for change in report.changes if (line := change_line(change))]
    unchecked = sum(
        1
        for change in report.changes
        for f in change["fields"]
        if f["field"].endswith("_checked") and f["old"] and not f["new"]
    )
    if unchecked:
        lines.append(f"{unchecked} translations changed and are marked as not yet checked.")
    lines += [str(conflict) for conflict in report.conflicts]
    return [*lines, NOT_PUBLISHED]


# A translation's checked and out-of-date flags follow its texts; the report counts them apart.
TRANSLATION_FLAGS = ("_checked", "_outdated")


def change_line(change: dict[str, Any]) -> str:
    """One change from document_diff in plain words, e.g. "Rule 'large-area': changed conditions, message"."""
    kind, identifier = change["kind"], change["id"]
    if change["change"] == "reordered":
        return f"{kind}s: new order"
    if change["change"] in ("added", "removed"):
        return f"{kind} '{identifier}': {change['change']}"
    fields = [_field_change(f) for f in change["fields"] if not f["field"].endswith(TRANSLATION_FLAGS)]
    fields = [f for f in fields if f]
    return f"{kind} '{identifier}': changed {', '.join(fields)}" if fields else ""


def _field_change(change: dict[str, Any]) -> str:
    if change["field"] != "options":
        return field_words(change["field"])
    old = {o["id"]: o for o in change["old"] or []}
    new = {o["id"]: o for o in change["new"] or []}
    parts = [f"added {i}" for i in new if i not in old] + [f"removed {i}" for i in old if i not in new]
    parts += [f"changed {i}" for i in new if i in old and new[i] != old[i] and not _only_checks(old[i], new[i])]
    if list(old) != [i for i in new if i in old] and not parts:
        parts.append("new order")
    # Options whose only change is a translation check are counted with the other checks.
    return f"options ({'; '.join(parts)})" if parts else ""


def _only_checks(old: dict[str, Any], new: dict[str, Any]) -> bool:
    return all(old.get(k) == new.get(k) for k in {*old, *new} if not k.endswith(TRANSLATION_FLAGS))
