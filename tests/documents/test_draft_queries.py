"""The draft document and a preview step cost a fixed number of queries, whatever the rule count."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import transaction
from django.test import Client

from screening.defaults import default_document
from screening.drafts import draft_document, replace_draft

# Enough for the draft's few tables and their prefetches; one per rule or option would be hundreds.
MOST_QUERIES = 10
STAFF_SESSION_QUERIES = 4
# The preview asks for its own permission: the clinician's own and their groups' permissions, once a request.
PREVIEW_PERMISSION_QUERIES = 2


def ten_times_larger(document: dict[str, Any]) -> dict[str, Any]:
    """The default set with nine more copies of every question and rule (new identifiers, same shape)."""
    larger = copy.deepcopy(document)
    for copy_number in range(1, 10):
        for question in document["questions"]:
            twin = copy.deepcopy(question)
            twin["id"] = f"{question['id']}-{copy_number}"
            twin["show_when"] = [{**c, "question": f"{c['question']}-{copy_number}"} for c in question["show_when"]]
            larger["questions"].append(twin)
        for rule in document["rules"]:
            twin = copy.deepcopy(rule)
            twin["id"] = f"{rule['id']}-{copy_number}"
            twin["conditions"] = [{**c, "question": f"{c['question']}-{copy_number}"} for c in rule["conditions"]]
            larger["rules"].append(twin)
    return larger


SIZES = ["default", pytest.param("ten times larger", marks=pytest.mark.slow)]


@pytest.fixture(scope="module", params=SIZES)
def size(request: pytest.FixtureRequest, django_db_setup: None, django_db_blocker: Any) -> Iterator[str]:
    """The draft at each size. The larger draft takes seconds to write: it is written once for this
    module's tests, in a transaction each test's own (rolled back) transaction sits inside, and is
    rolled back after them."""
    if request.param == "default":
        yield request.param
        return
    with django_db_blocker.unblock(), transaction.atomic():
        replace_draft(ten_times_larger(default_document()), reason="A much larger draft")
        yield request.param
        transaction.set_rollback(True)


def test_the_draft_document_takes_a_fixed_number_of_queries(
    published_rules, django_assert_max_num_queries, size: str
) -> None:
    with django_assert_max_num_queries(MOST_QUERIES):
        document = draft_document()
    assert len(document["rules"]) == len(default_document()["rules"]) * (1 if size == "default" else 10)


def test_a_preview_step_takes_a_fixed_number_of_queries(
    published_rules, clinician_client: Client, django_assert_max_num_queries, size: str
) -> None:
    clinician_client.get("/preview/check/")
    # The preview keeps its walk in the clinician's server-side session: read, and written back in a savepoint.
    with django_assert_max_num_queries(MOST_QUERIES + STAFF_SESSION_QUERIES + PREVIEW_PERMISSION_QUERIES):
        response = clinician_client.post("/preview/check/question/urgent_symptoms/", {"urgent_symptoms": "no"})
    assert response.status_code == 302
    assert response["Location"] == "/preview/check/question/condition/"
