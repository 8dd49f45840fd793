"""The order pytest-xdist hands the tests out in: the longest first, one worker each, so none is left
running a long test alone at the end.

xdist's `worksteal` gives each worker a contiguous share of the collected tests and lets an idle
worker take the back half of another's queue. A long test near the back of a share started late,
and the run waited on it: from one run to the next the suite took 296 to 326 s on the same code.
Here each share starts with its part of the long tests (the longest to the share with least so far)
and goes on with the rest in collected order, so modules stay together.
"""

from __future__ import annotations

import pytest

# Seconds each took (setup included) in a run with two workers; a test missing here is short. Only
# the order depends on these figures: a renamed test is merely handed out as a short one.
LONG_TESTS = {
    "tests/system/test_edge.py::test_slow_clients_do_not_slow_normal_requests_behind_nginx": 41,
    "tests/system/test_edge.py::test_hostile_requests_through_nginx_never_get_a_5xx_and_log_little": 30,
    "tests/system/test_bench.py::test_the_benchmark_runs_one_short_iteration_and_reports_every_figure": 24,
    "tests/documents/test_import_fuzz.py::test_no_document_makes_the_import_fail[0]": 15,
    "tests/documents/test_import_fuzz.py::test_no_document_makes_the_import_fail[1]": 15,
    "tests/documents/test_import_fuzz.py::test_no_document_makes_the_import_fail[2]": 15,
    "tests/documents/test_import_fuzz.py::test_no_document_makes_the_import_fail[3]": 15,
    "tests/browser/test_clinician_day.py::test_a_clinicians_day": 12,
    "tests/browser/test_lhc_forms.py::"
    "test_for_every_default_test_patient_lhc_forms_enables_exactly_the_questions_our_engine_shows": 9,
    "tests/browser/test_review_browser.py::test_two_clinicians_review_and_publish_a_change": 8,
    "tests/views/test_hostile_input.py::test_steps_in_any_order_never_fail_and_keep_earlier_answers": 8,
    "tests/system/test_servers.py::"
    "test_two_servers_share_one_database_and_sessions_and_see_a_publish_within_a_second": 7,
}


def shares(total: int, workers: int) -> list[int]:
    """How many tests xdist's worksteal first gives each worker (xdist 3.8, WorkStealingScheduling)."""
    sizes = []
    left = total
    for remaining in range(workers, 0, -1):
        sizes.append(left // remaining)
        left -= sizes[-1]
    return sizes


def longest_first(items: list[pytest.Item], workers: int) -> list[pytest.Item]:
    """`items` reordered so that each worker's first share starts with its part of the long tests."""
    long = sorted((item for item in items if item.nodeid in LONG_TESTS), key=lambda item: -LONG_TESTS[item.nodeid])
    if workers < 2 or not long:
        return items
    rest = iter([item for item in items if item.nodeid not in LONG_TESTS])
    given: list[list[pytest.Item]] = [[] for _ in range(workers)]
    seconds = [0] * workers
    for item in long:
        share = seconds.index(min(seconds))
        given[share].append(item)
        seconds[share] += LONG_TESTS[item.nodeid]
    ordered: list[pytest.Item] = []
    for share, size in zip(given, shares(len(items), workers), strict=True):
        ordered += share
        ordered += [next(rest) for _ in range(max(size - len(share), 0))]
    ordered += list(rest)
    return ordered
