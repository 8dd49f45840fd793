"""The change history of the draft: every history table merged by date in the database, fifty rows a page,
filtered by object (?kind=rule&object=<id or identifier>) or by person (?user=<id>).

The database merges and orders the tables (one UNION ALL) and returns one page of keys; the page's rows
are then read by key, one query per kind on the page. So a page costs the same at row 50 and at row 50,000.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.core.paginator import Page, Paginator
from django.db import models
from django.http import Http404, HttpRequest, QueryDict

from screening.models import Question

PER_PAGE = 50
# Keys are 64-bit integers; a longer number names nothing (and would overflow the database's integer).
BIGGEST_KEY = 2**63 - 1
# What an identifier or source code can look like (see screening.models); anything else names nothing.
IDENTIFIER = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
# The field each kind is known by besides its key; skip rules and conditions have none.
IDENTIFIER_FIELDS = {
    "source": "code",
    "guidancesection": "identifier",
    "question": "identifier",
    "option": "identifier",
    "rule": "identifier",
}


def _key(value: str) -> int | None:
    """A positive database key written in digits, else None."""
    if not value.isascii() or not value.isdigit():
        return None
    number = int(value)
    return number if 0 < number <= BIGGEST_KEY else None


@dataclass(frozen=True)
class Filter:
    """Which rows the page shows: of one kind (and one object of it), by one person, or every row."""

    kinds: Mapping[str, type[models.Model]]
    object_ids: Any = None  # a list or a subquery of keys, None for every object
    user: Any = None
    object_name: str = ""

    def history(self, kind: str) -> models.QuerySet[Any]:
        rows: models.QuerySet[Any] = self.kinds[kind].history.all()  # type: ignore[attr-defined]
        if self.object_ids is not None:
            rows = rows.filter(id__in=self.object_ids)
        if self.user is not None:
            rows = rows.filter(history_user_id=self.user.pk)
        return rows

    def query(self) -> QueryDict:
        """The filter as query parameters, for the page links."""
        query = QueryDict(mutable=True)
        if len(self.kinds) == 1:
            query["kind"] = next(iter(self.kinds))
        if self.object_name:
            query["object"] = self.object_name
        if self.user is not None:
            query["user"] = str(self.user.pk)
        return query


def _filter(request: HttpRequest, kinds: Mapping[str, type[models.Model]]) -> Filter:
    """The filter the query asks for; Http404 when it names a kind, an object or a person that cannot exist."""
    kind, name, user_key = (request.GET.get(key, "").strip() for key in ("kind", "object", "user"))
    user = None
    if user_key:
        key = _key(user_key)
        user = get_user_model().objects.filter(pk=key).first() if key else None
        if user is None:
            raise Http404("No such person.")
    if not kind:
        if name:
            raise Http404("Name the kind of object too, e.g. ?kind=rule&object=allergy.")
        return Filter(kinds=kinds, user=user)
    if kind not in kinds:
        raise Http404("No such kind of object.")
    one = {kind: kinds[kind]}
    if not name:
        return Filter(kinds=one, user=user)
    key = _key(name)
    if key is not None:
        return Filter(kinds=one, object_ids=[key], user=user, object_name=name)
    field = IDENTIFIER_FIELDS.get(kind)
    if field is None or not IDENTIFIER.fullmatch(name):
        raise Http404("No such object.")
    # Every object that ever had this identifier: its trail, across a delete and a re-create too.
    history = kinds[kind].history  # type: ignore[attr-defined]
    ids = history.filter(**{field: name}).values("id")
    return Filter(kinds=one, object_ids=ids, user=user, object_name=name)


def _page_number(request: HttpRequest) -> int:
    """The page asked for; anything but a positive whole number is the first page."""
    return _key(request.GET.get("page", "").strip()) or 1


@dataclass(frozen=True)
class Row:
    record: Any
    kind: str
    kind_name: str
    label: str
    object_query: str
    user_query: str


def _labels(records: Sequence[tuple[str, Any]]) -> Callable[[str, Any], str]:
    """How each row names its object, without a query per row: one query for the questions that options,
    skip rules and conditions name (and one more, of the history, for questions since deleted)."""
    wanted = {
        key
        for kind, record in records
        if kind in ("option", "showwhen", "condition")
        for key in (record.question_id, getattr(record, "depends_on_id", None))
        if key is not None
    }
    names: dict[int, str] = dict(Question.objects.filter(id__in=wanted).values_list("id", "identifier"))
    if deleted := wanted - names.keys():
        # A deleted question is named as its history last knew it.
        history = Question.history.filter(id__in=deleted).order_by("history_date").values_list("id", "identifier")
        names.update(history)  # the newest name wins

    def label(kind: str, record: Any) -> str:
        def question(key: int) -> str:
            return names.get(key, f"question {key}")

        if kind == "option":
            return f"{question(record.question_id)} = {record.identifier}"
        if kind == "showwhen":
            return f"{question(record.question_id)} shown when {question(record.depends_on_id)} is …"
        if kind == "condition":
            return f"{question(record.question_id)} is any of …"
        return str(record.instance)

    return label


def change_log_page(request: HttpRequest, models_with_history: Sequence[type[models.Model]]) -> dict[str, Any]:
    """The page's context: the rows of one page, the paginator and the filter. Http404 for a bad filter or page."""
    kinds = {model._meta.model_name or "": model for model in models_with_history}
    chosen = _filter(request, kinds)
    merged = [
        chosen.history(kind)
        .annotate(log_kind=models.Value(kind, output_field=models.CharField()))
        .values_list("log_kind", "history_id", "history_date")
        .order_by()  # the history's own ordering: a part of a UNION cannot have one
        for kind in chosen.kinds
    ]
    # Newest first; rows of the same moment in a fixed order, so no row shows on two pages.
    everything = merged[0].union(*merged[1:], all=True).order_by("-history_date", "log_kind", "-history_id")
    paginator = Paginator(everything, PER_PAGE)
    number = _page_number(request)
    if number > paginator.num_pages:
        raise Http404("There is no such page of the change history.")
    page: Page[Any] = paginator.page(number)
    keys: dict[str, list[int]] = {}
    for kind, history_id, _ in page.object_list:
        keys.setdefault(kind, []).append(history_id)
    found = {
        (kind, record.history_id): record
        for kind, ids in keys.items()
        for record in kinds[kind].history.filter(history_id__in=ids).select_related("history_user")  # type: ignore[attr-defined]
    }
    ordered = [(kind, found[kind, history_id]) for kind, history_id, _ in page.object_list]
    label = _labels(ordered)
    rows = [
        Row(
            record=record,
            kind=kind,
            kind_name=str(kinds[kind]._meta.verbose_name),
            label=label(kind, record),
            object_query=_query(kind=kind, object=str(record.id)),
            user_query=_query(user=str(record.history_user_id)) if record.history_user_id else "",
        )
        for kind, record in ordered
    ]
    query = chosen.query()
    return {
        "rows": rows,
        "page": page,
        "page_range": list(paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1)),
        "page_query": query.urlencode() + "&" if query else "",
        "filtered": bool(query),
        "heading": _heading(chosen, found_label=rows[0].label if rows and chosen.object_name else ""),
    }


def _query(**values: str) -> str:
    query = QueryDict(mutable=True)
    query.update(values)
    return query.urlencode()


def _heading(chosen: Filter, *, found_label: str) -> str:
    parts = []
    if len(chosen.kinds) == 1:
        model = next(iter(chosen.kinds.values()))
        if chosen.object_name:
            parts.append(f"Changes to {model._meta.verbose_name} {found_label or chosen.object_name}")
        else:
            parts.append(f"Changes to {model._meta.verbose_name_plural}")
    if chosen.user is not None:
        parts.append(f"{'by' if parts else 'Changes by'} {chosen.user.get_username()}")
    return " ".join(parts)
