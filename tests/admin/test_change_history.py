"""The change history of the draft: every change, fifty a page, newest first, filtered by object or by person."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import models
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from screening.engine import RuleSet
from screening.models import Condition, GuidanceSection, Option, Question, Rule, ShowWhen, Source
from tests.support.client import page_text as text

HISTORY_MODELS: list[type[models.Model]] = [Question, Option, ShowWhen, Rule, Condition, Source, GuidanceSection]
NAV = '<nav class="paginator" aria-label="Pages of the change history">'


def url(**query: Any) -> str:
    return reverse("admin:screening_change_log") + (
        "?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else ""
    )


def rows(response: Any) -> list[str]:
    table = re.search(r'<table class="change-log">.*?<tbody>(.*?)</tbody>', text(response), re.S)
    assert table, text(response)[:2000]
    return re.findall(r"<tr>(.*?)</tr>", table.group(1), re.S)


def all_history_count() -> int:
    return sum(model.history.count() for model in HISTORY_MODELS)  # type: ignore[attr-defined]


def add_history(instance: models.Model, count: int, *, user: User | None, reason: str) -> None:
    """`count` more history rows for the object, newer than anything else, the last one newest."""
    record = instance.history.latest()  # type: ignore[attr-defined]
    model = type(record)
    start = timezone.now() + timedelta(minutes=1)
    values = {f.attname: getattr(record, f.attname) for f in model._meta.concrete_fields if f.attname != "history_id"}
    model.objects.bulk_create(
        model(
            **{
                **values,
                "history_date": start + timedelta(seconds=i),
                "history_user_id": user.pk if user else None,
                "history_change_reason": f"{reason} {i}",
                "history_type": "~",
            }
        )
        for i in range(count)
    )


@pytest.fixture
def editor(clinician: User) -> User:
    return clinician


def test_the_history_shows_fifty_changes_a_page_newest_first(
    clinician: User, clinician_client: Client, published_rules: RuleSet
) -> None:
    add_history(Rule.objects.get(identifier="allergy"), 60, user=clinician, reason="Wording")
    total = all_history_count()

    first = clinician_client.get(url())
    second = clinician_client.get(url(page=2))

    assert first.status_code == second.status_code == 200
    assert len(rows(first)) == len(rows(second)) == 50
    assert ">Wording 59<" in rows(first)[0]
    assert ">Wording 10<" in rows(first)[49]
    assert ">Wording 9<" in rows(second)[0]
    pages = -(-total // 50)
    assert f"Page 1 of {pages}" in text(first)
    last = clinician_client.get(url(page=pages))
    assert len(rows(last)) == total - 50 * (pages - 1)
    assert "Default rule set loaded" in rows(last)[-1]


def test_the_pages_are_a_labelled_navigation_with_the_current_page_marked(
    clinician: User, clinician_client: Client, published_rules: RuleSet
) -> None:
    add_history(Rule.objects.get(identifier="allergy"), 60, user=clinician, reason="Wording")
    page = text(clinician_client.get(url(page=2)))
    nav = page[page.index(NAV) : page.index("</nav>", page.index(NAV))]
    assert re.search(r'<a href="\?page=1"[^>]*>', nav)
    assert re.search(r'<a href="\?page=3"[^>]*>', nav)
    assert re.search(r'aria-current="page"[^>]*>\s*2\s*<', nav)
    assert not re.search(r'aria-current="page"[^>]*>\s*1\s*<', nav)


def test_the_history_of_one_object_by_id_or_identifier(
    clinician: User, clinician_client: Client, published_rules: RuleSet
) -> None:
    rule = Rule.objects.get(identifier="allergy")
    add_history(rule, 3, user=clinician, reason="Wording")
    add_history(Rule.objects.get(identifier="pregnancy"), 3, user=clinician, reason="Other rule")
    expected = rule.history.count()  # type: ignore[attr-defined]

    for response in (
        clinician_client.get(url(kind="rule", object=rule.pk)),
        clinician_client.get(url(kind="rule", object="allergy")),
    ):
        assert response.status_code == 200
        found = rows(response)
        assert len(found) == expected
        assert all("Rule: allergy" in row for row in found)
        assert "Changes to rule allergy" in text(response)


def test_the_history_of_one_person(clinician: User, clinician_client: Client, published_rules: RuleSet) -> None:
    other = User.objects.create_user("dr_okafor", is_staff=True)
    add_history(Rule.objects.get(identifier="allergy"), 4, user=other, reason="Okafor's change")
    add_history(Question.objects.get(identifier="pregnancy"), 2, user=other, reason="Okafor's question")
    add_history(Rule.objects.get(identifier="pregnancy"), 3, user=clinician, reason="Not Okafor")

    response = clinician_client.get(url(user=other.pk))

    found = rows(response)
    assert len(found) == 6
    assert all("dr_okafor" in row and "Not Okafor" not in row for row in found)
    assert "Changes by dr_okafor" in text(response)


def test_each_row_links_to_its_objects_history_and_its_persons(
    clinician: User, clinician_client: Client, published_rules: RuleSet
) -> None:
    rule = Rule.objects.get(identifier="allergy")
    add_history(rule, 1, user=clinician, reason="Wording")

    newest = rows(clinician_client.get(url()))[0]

    assert f'href="?kind=rule&object={rule.pk}"' in newest
    assert f'href="?user={clinician.pk}"' in newest


def test_the_page_links_keep_the_filter(clinician: User, clinician_client: Client, published_rules: RuleSet) -> None:
    add_history(Rule.objects.get(identifier="allergy"), 60, user=clinician, reason="Wording")
    page = text(clinician_client.get(url(user=clinician.pk)))
    assert f'href="?user={clinician.pk}&page=2"' in page


@pytest.mark.parametrize(
    "query",
    [
        "page=abc",
        "page=",
        "page=1.5",
        "page=-1",
        "page=0",
        "page=99999",
        "page=99999999999999999999999",
        "user=abc",
        "user=99999999999999999999999",
        "user=",
        "kind=nothing",
        "kind=rule&object=",
        "kind=rule&object=%00",
        "kind=rule&object=99999999999999999999999",
        "kind=rule&object=no-such-rule",
        "object=allergy",
        "kind=history",
        "kind=__class__",
    ],
)
def test_a_malformed_filter_or_page_gives_a_page_or_a_404_never_an_error(
    clinician_client: Client, published_rules: RuleSet, query: str
) -> None:
    response = clinician_client.get(reverse("admin:screening_change_log") + "?" + query)
    assert response.status_code in (200, 404)


def test_the_page_takes_a_few_queries_however_long_the_history(
    clinician: User, clinician_client: Client, published_rules: RuleSet, django_assert_max_num_queries: Any
) -> None:
    for model in (Rule, Question, Option, Source):
        add_history(model.objects.first(), 250, user=clinician, reason="Many")  # type: ignore[attr-defined]
    with django_assert_max_num_queries(15):
        response = clinician_client.get(url(page=3))
    assert len(rows(response)) == 50


def test_the_options_of_a_deleted_question_are_still_named_by_it(
    clinician_client: Client, published_rules: RuleSet
) -> None:
    question = Question.objects.get(identifier="pregnancy")
    options = list(question.options.values_list("identifier", flat=True))  # type: ignore[attr-defined]
    question._change_reason = "Asked elsewhere now"  # type: ignore[attr-defined]
    question.delete()

    found = rows(clinician_client.get(url(kind="option")))

    for option in options:
        assert any(f"Option: pregnancy = {option}" in row and "Deleted" in row for row in found)
