"""An admin address with a malformed or unknown id is a 404 (or the admin's own "not found" redirect),
never a server error, on every draft model's pages: change, delete, history and a history version.
"""

from __future__ import annotations

import pytest
from django.test import Client

from screening.engine import RuleSet
from screening.models import GuidanceSection, Question, Rule, Scenario, Source

DRAFT_MODELS = ["question", "rule", "source", "guidancesection", "scenario"]
WITH_HISTORY_VERSIONS = ["question", "rule", "source", "guidancesection"]
MISSING = "999999"


@pytest.fixture
def some_pk(published_rules: RuleSet) -> dict[str, int]:
    """An existing object of each draft model."""
    models = {"question": Question, "rule": Rule, "source": Source, "guidancesection": GuidanceSection}
    pks = {name: model.objects.values_list("pk", flat=True).first() for name, model in models.items()}
    pks["scenario"] = Scenario.objects.values_list("pk", flat=True).first()
    assert all(pks.values())
    return {name: int(pk) for name, pk in pks.items() if pk is not None}


def get(client: Client, url: str) -> int:
    response = client.get(url)
    assert response.status_code != 500, url
    return response.status_code


@pytest.mark.parametrize("model", DRAFT_MODELS)
@pytest.mark.parametrize("object_id", ["abc", MISSING, "1.5", "-1", "%20"])
@pytest.mark.parametrize("page", ["change/", "delete/", "history/"])
def test_a_malformed_or_unknown_id_is_not_found(
    clinician_client: Client, some_pk: dict[str, int], model: str, object_id: str, page: str
) -> None:
    status = get(clinician_client, f"/admin/screening/{model}/{object_id}/{page}")
    if page == "history/":
        assert status == 404
    else:
        # Django's admin sends an unknown object's change or delete page to the admin index with a message.
        assert status in (302, 404)


@pytest.mark.parametrize("model", WITH_HISTORY_VERSIONS)
@pytest.mark.parametrize(
    "object_id,version",
    [("abc", "1"), ("abc", "abc"), ("{pk}", "abc"), ("{pk}", MISSING), (MISSING, "1"), ("{pk}", "1.5"), ("{pk}", "-1")],
)
def test_a_malformed_or_unknown_history_version_is_not_found(
    clinician_client: Client, some_pk: dict[str, int], model: str, object_id: str, version: str
) -> None:
    object_id = object_id.format(pk=some_pk[model])
    assert get(clinician_client, f"/admin/screening/{model}/{object_id}/history/{version}/") == 404


@pytest.mark.parametrize("model", WITH_HISTORY_VERSIONS)
def test_a_history_version_of_another_object_is_not_found(
    clinician_client: Client, some_pk: dict[str, int], model: str
) -> None:
    """A version id that exists, under an object it does not belong to."""
    other = {"question": Question, "rule": Rule, "source": Source, "guidancesection": GuidanceSection}[model]
    record = other.history.exclude(id=some_pk[model]).first()  # type: ignore[attr-defined]
    assert record is not None
    assert get(clinician_client, f"/admin/screening/{model}/{some_pk[model]}/history/{record.history_id}/") == 404


@pytest.mark.parametrize("model", DRAFT_MODELS)
def test_the_existing_pages_still_open(clinician_client: Client, some_pk: dict[str, int], model: str) -> None:
    for page in ("change/", "history/"):
        assert get(clinician_client, f"/admin/screening/{model}/{some_pk[model]}/{page}") == 200
