"""Fuzzing the admin import: thousands of broken documents, and not one server error.

Each example is the default document with a few mutations (a value swapped for one of another type,
a key deleted, a list item duplicated, a hostile string, deep nesting) or plain random JSON or
bytes, posted to the real import page as a clinician. The page must answer (never a 500 or an
unhandled exception); when it lists problems, nothing in the draft was written; when it accepts
the file, the validation found nothing wrong with it.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from screening import defaults, drafts
from screening.documents import document_problems
from screening.engine import RuleSet
from screening.models import PublishedRuleSet

pytestmark = pytest.mark.slow

Path = tuple[str | int, ...]
DEEP = "\u2063deep\u2063"

HOSTILE = [
    "",
    " ",
    "con/dition",
    "con dition",
    'say "hi"',
    "it's",
    "javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "<script>alert(1)</script>",
    "../../etc/passwd",
    "%2F",
    "a" * 5000,
    "x" * 300_001,
    "\x00",
    "\ud800",
    "\u202eevil",
    "é",
    "urgent_symptoms",
    "yes",
    "none",
    "S1",
    "null",
    "1e999",
    "\n\n",
]

# Drawn by position, so that a strategy's description never repeats the long ones.
hostile = st.sampled_from(range(len(HOSTILE))).map(HOSTILE.__getitem__)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    hostile,
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=10,
)


def default_document() -> dict[str, Any]:
    document = defaults.default_document()
    del document["content_version"]
    return document


def paths(value: Any, path: Path = ()) -> Iterator[Path]:
    """Every place in a document, the document itself first."""
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from paths(item, (*path, index))


BASE = default_document()
BASE_PATHS = list(paths(BASE))[1:]
# Each example starts from a fresh copy: parsing the JSON text is twice as fast as copy.deepcopy.
BASE_TEXT = json.dumps(BASE)


def parent_of(document: Any, path: Path) -> dict[str, Any] | list[Any]:
    """The object or list holding the value at `path`; a LookupError when an earlier mutation removed it."""
    for step in path[:-1]:
        if not isinstance(document, dict | list):
            raise LookupError(path)
        document = document[step]  # type: ignore[index]  # a dict's key or a list's index, as the path was made
    if not isinstance(document, dict | list):
        raise LookupError(path)
    return document


def kind(value: Any) -> str:
    return type(value).__name__


@st.composite
def mutated_documents(draw: st.DrawFn) -> str:
    document = json.loads(BASE_TEXT)
    depth = 0
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        path = draw(st.sampled_from(BASE_PATHS))
        try:
            parent = parent_of(document, path)
            current = parent[path[-1]]
        except (LookupError, TypeError):
            continue
        how = draw(st.sampled_from(["replace", "replace", "hostile", "delete", "duplicate", "deep"]))
        if how == "replace":
            parent[path[-1]] = draw(json_values.filter(lambda v, current=current: kind(v) != kind(current)))
        elif how == "hostile":
            parent[path[-1]] = draw(hostile)
        elif how == "delete":
            del parent[path[-1]]
        elif how == "duplicate" and isinstance(parent, list):
            parent.insert(path[-1], copy.deepcopy(current))
        elif how == "deep" and not depth:
            depth = draw(st.sampled_from([50, 2_000, 100_000]))
            parent[path[-1]] = DEEP
    text = json.dumps(document)
    if depth:
        text = text.replace(json.dumps(DEEP), "[" * depth + "]" * depth, 1)
    return text


documents = st.one_of(
    mutated_documents(),
    mutated_documents(),
    mutated_documents(),
    json_values.map(json.dumps),
    st.dictionaries(st.sampled_from(["format", "questions", "rules", "sources", "sections", "scenarios"]), json_values)
    .map(lambda d: {"format": "ruxguide.ruleset/1", **d})
    .map(json.dumps),
    st.binary(max_size=200),
)

WRITES = ("INSERT", "UPDATE", "DELETE")


@pytest.fixture
def draft_before(published_rules: RuleSet) -> dict[str, Any]:
    return drafts.draft_document()


# An accepted file is a whole import: more queries than the capture keeps, and only refusals are read.
# 2000 documents in all, in four runs of 500 (each from its own random seed), so the suite's workers share them.
FUZZ_RUNS = 4
FUZZ_EXAMPLES = 2000 // FUZZ_RUNS


@pytest.mark.filterwarnings("ignore:Limit for query logging exceeded")
@pytest.mark.parametrize("run", range(FUZZ_RUNS))
def test_no_document_makes_the_import_fail(clinician_client: Client, draft_before: dict[str, Any], run: int) -> None:
    seen = {"refused": 0, "imported": 0}
    versions = PublishedRuleSet.objects.count()

    @settings(
        max_examples=FUZZ_EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
        ],
    )
    @given(content=documents)
    def import_one(content: str | bytes) -> None:
        data = content.encode("utf-8", "surrogatepass") if isinstance(content, str) else content
        upload = SimpleUploadedFile("rules.json", data, content_type="application/json")
        with transaction.atomic():
            with CaptureQueriesContext(connection) as queries:
                response = clinician_client.post(
                    reverse("admin:screening_publishedruleset_import"),
                    {
                        "document": upload,
                        "reason": "Fuzzing",
                    },
                )
            assert response.status_code in (200, 302, 400), response.status_code
            if response.status_code == 302:
                seen["imported"] += 1
                assert document_problems(json.loads(data.decode("utf-8-sig"))) == []
            else:
                seen["refused"] += 1
                assert b"errornote" in response.content or b"errorlist" in response.content
                writes = [q["sql"] for q in queries if q["sql"].startswith(WRITES) and "screening_" in q["sql"]]
                assert writes == []
            transaction.set_rollback(True)

    import_one()
    assert drafts.draft_document() == draft_before
    assert PublishedRuleSet.objects.count() == versions
    print(f"\nimport fuzz: {seen['refused']} refused, {seen['imported']} imported")
    assert seen["refused"] + seen["imported"] >= FUZZ_EXAMPLES
