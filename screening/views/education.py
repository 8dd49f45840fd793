"""The patient-education page: every caution in general terms, how to use the cream, and the sources."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ruxguide.guard import accepts
from ruxguide.headers import vary_on
from screening.engine import APPROVED_USES, URGENT_SIGNS, Level, RuleSet
from screening.views.pages import render_page
from screening.views.problems import rules_for, shows_problems

EDUCATION_HEADINGS = {
    Level.URGENT: gettext_lazy("Get medical help now if…"),
    Level.STOP_AND_CALL: gettext_lazy("Stop the cream and contact your doctor soon if…"),
    Level.DO_NOT_USE: gettext_lazy("Who should not use it"),
    Level.TALK_FIRST: gettext_lazy("Talk to your doctor or pharmacist before you use it if…"),
    Level.TAKE_CARE: gettext_lazy("Take care while you use it if…"),
}
LEAD_SECTIONS = (APPROVED_USES,)


@accepts("GET", "HEAD")
@vary_on("HX-Request")
@shows_problems
def education(request: HttpRequest) -> HttpResponse:
    """Everything patients should know before and while using the cream, from the live rule set."""
    ruleset = rules_for(request)

    def context() -> dict[str, Any]:
        return {
            "ruleset": ruleset,
            "published_on": datetime.fromisoformat(ruleset.published_at) if ruleset.published_at else None,
            "levels": [
                {"level": level, "heading": heading, "rules": [r for r in ruleset.rules if r.level == level]}
                for level, heading in EDUCATION_HEADINGS.items()
            ],
            "documents": _documents(ruleset),
            # The warning signs are on every page already (the layout's aside).
            "lead_sections": [s for s in ruleset.sections if s.id in LEAD_SECTIONS],
            "closing_sections": [s for s in ruleset.sections if s.id not in LEAD_SECTIONS and s.id != URGENT_SIGNS],
        }

    # The same for every patient of a version and language: nothing of the visit is on it.
    title = _("About ruxolitinib cream: who should not use it")
    return render_page(
        request, "screening/education.html", title, context, shared=True, depends_on=(), shows_messages=False
    )


def _documents(ruleset: RuleSet) -> list[dict[str, str]]:
    """Each source document once, named without its section, so each address is printed once."""
    documents: dict[str, dict[str, str]] = {}
    for source in ruleset.sources:
        name = re.split(r"[,(]", source.document)[0].strip()
        key = source.url or name
        if key in documents:
            if name not in documents[key]["name"]:
                documents[key]["name"] += f"; {name}"
        else:
            documents[key] = {"name": name, "url": source.url}
    return list(documents.values())
