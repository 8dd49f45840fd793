"""The order the tests are handed out in under pytest-xdist (tests/scheduling.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import pytest

from tests.scheduling import LONG_TESTS, longest_first, shares


@dataclass(frozen=True)
class Named:
    nodeid: str


def as_items(names: list[str]) -> list[pytest.Item]:
    return cast(list[pytest.Item], [Named(name) for name in names])


@pytest.mark.parametrize(("total", "workers"), [(1609, 3), (1609, 2), (10, 4), (5, 3)])
def test_the_shares_add_up_and_differ_by_at_most_one(total: int, workers: int) -> None:
    sizes = shares(total, workers)
    assert sum(sizes) == total and max(sizes) - min(sizes) <= 1


def test_each_share_starts_with_long_tests_and_keeps_every_test_once() -> None:
    short = [f"tests/x/test_{number}.py::test_it" for number in range(100)]
    names = short[:40] + list(LONG_TESTS) + short[40:]
    ordered = [cast(Any, item).nodeid for item in longest_first(as_items(names), 3)]
    assert sorted(ordered) == sorted(names)
    starts = [sum(shares(len(names), 3)[:share]) for share in range(3)]
    assert all(ordered[start] in LONG_TESTS for start in starts), "every worker starts on a long test"
    longest = max(LONG_TESTS, key=LONG_TESTS.__getitem__)
    assert ordered[0] == longest
    # The short tests keep their collected order (modules stay together).
    assert [name for name in ordered if name not in LONG_TESTS] == short


def test_one_worker_keeps_the_collected_order() -> None:
    names = [*LONG_TESTS, "tests/x/test_a.py::test_it"][::-1]
    assert [cast(Any, item).nodeid for item in longest_first(as_items(names), 1)] == names
