"""The option picker of conditions and skip rules: checkboxes grouped under their question, not one long list.

Without JavaScript every question's group is shown (and the form refuses an option of another question);
static/js/option-picker.js then shows only the group of the question picked in the same row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe

from screening.models import Option


@dataclass(frozen=True)
class OptionGroup:
    """One question's options, as the picker shows them: the question's text as legend, each option's label."""

    question: int
    legend: str
    options: list[tuple[int, str]]


def option_groups() -> list[OptionGroup]:
    """Every option, grouped under its question in the order patients meet them (one query)."""
    groups: dict[int, OptionGroup] = {}
    for option in Option.objects.select_related("question").order_by("question__order", "order", "identifier"):
        question = option.question
        group = groups.setdefault(question.pk, OptionGroup(question.pk, question.text, []))
        group.options.append((option.pk, option.label))
    return list(groups.values())


class OptionPicker(forms.CheckboxSelectMultiple):
    """Checkboxes in one fieldset per question; `question_field` names the row's question select."""

    template_name = "admin/screening/widgets/option_picker.html"

    class Media:
        js = ["js/option-picker.js"]
        css = {"all": ["css/admin.css"]}

    def __init__(self, *, question_field: str, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs)
        self.question_field = question_field
        self.groups: list[OptionGroup] | None = None

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context: dict[str, Any] = super().get_context(name, value, attrs)
        chosen = {str(v) for v in (value or [])}
        base_id = context["widget"]["attrs"].get("id") or f"id_{name}"
        groups = self.groups if self.groups is not None else option_groups()
        context["widget"].update(
            question_field=self.question_field,
            groups=[
                {
                    "question": group.question,
                    "legend": group.legend,
                    "options": [
                        {"value": pk, "label": label, "id": f"{base_id}_{pk}", "checked": str(pk) in chosen}
                        for pk, label in group.options
                    ],
                }
                for group in groups
            ],
        )
        return context

    def optgroups(self, name: str, value: Any, attrs: dict[str, Any] | None = None) -> list[Any]:
        # The template reads the groups above; the flat list of every option is never built.
        return []

    def render(self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None) -> SafeString:
        # The project's templates folder, which Django's default form renderer does not search.
        return mark_safe(render_to_string(self.template_name, self.get_context(name, value, attrs)))

    def id_for_label(self, id_: str, index: str | None = None) -> str:
        # The fieldsets' legends label the groups; there is no single element for a <label for> to point at.
        return ""
