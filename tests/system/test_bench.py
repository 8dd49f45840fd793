"""`make bench` is not part of the suite, but its code must keep running: one short iteration."""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.system.loopback import PROJECT

# Runs the benchmark (app servers under wrk) for one short iteration.
pytestmark = pytest.mark.slow


def test_the_benchmark_runs_one_short_iteration_and_reports_every_figure(tmp_path: Path) -> None:
    if shutil.which("wrk") is None:
        message = "wrk is required for the benchmark check: apt-get install wrk"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    output = tmp_path / "bench.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    result = subprocess.run(
        [sys.executable, "-m", "tests.system.bench", "--quick", "--output", str(output)],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    report = json.loads(output.read_text())
    pages = {
        "static file",
        "bare Django view",
        "start page",
        "education page",
        "question step (htmx POST)",
        "check your answers",
        "result page (16 rules fired)",
        "printable result",
    }
    for table in ("load", "load_through_nginx"):
        assert set(report[table]) == pages, table
        bare = report[table]["bare Django view"]
        for name, figures in report[table].items():
            assert figures["rps"] > 0, (table, name)
            assert 0 < figures["p50_ms"] <= figures["p99_ms"], (table, name)
            assert figures["non_2xx_3xx"] == 0, (table, name)
            assert f"{name:34} {figures['rps']:>9.1f}" in result.stdout, (table, name)
        # The yardstick is not a result; every page is a finite, positive share of it, as reported.
        assert "ratio_to_bare" not in bare
        for name, figures in report[table].items():
            if name != "bare Django view":
                ratio = figures["ratio_to_bare"]
                assert math.isfinite(ratio) and ratio > 0, (table, name)
                assert ratio == round(figures["rps"] / bare["rps"], 3), (table, name)
    assert set(report["queries"]) == {
        "question step GET",
        "question step POST (htmx)",
        "start page",
        "education page",
        "check your answers",
        "result page",
        "printable result",
    }
    for name, count in report["queries"].items():
        assert type(count) is int and count >= 0, name
    printed = re.search(r"^SQL queries \(warm\): (.*)$", result.stdout, re.MULTILINE)
    assert printed, result.stdout
    assert printed.group(1) == ", ".join(f"{name}: {count}" for name, count in report["queries"].items())
    assert report["queries"]["question step POST (htmx)"] <= 1
    sizes = report["sizes"]
    assert 0 < sizes["start_page_html_compressed_bytes"] < sizes["start_page_html_bytes"]
    assert sizes["start_page_total_compressed_bytes"] > sizes["start_page_html_compressed_bytes"]
    assert sizes["step_partial_bytes"] > 0
    assert sizes["start_page_requests_to_other_hosts"] == 0
    assert len(report["worker_rss_mb"]) == 2
    assert all(megabytes > 0 for megabytes in report["worker_rss_mb"])
    timings = report["engine"]["microseconds_per_evaluation"]
    assert set(timings) == {"30", "300"}
    assert all(math.isfinite(t) and t > 0 for t in timings.values())
    assert set(report["engine"]["ratios"]) == {"300/30"}
    assert math.isfinite(report["engine"]["ratios"]["300/30"]) and report["engine"]["ratios"]["300/30"] > 0
    step_target = report["targets"]["question step (htmx POST) >= 0.7x bare view"]
    assert step_target["value"] == report["load"]["question step (htmx POST)"]["ratio_to_bare"]
    assert all(isinstance(target["met"], bool) for target in report["targets"].values())
    assert "Targets:" in result.stdout
    for name, target in report["targets"].items():
        assert f"{'met ' if target['met'] else 'MISSED'}  {name}: " in result.stdout, name
    assert set(report["admin"]) == {"1x rules", "10x rules"}
    assert report["admin"]["10x rules"]["rules"] == 10 * report["admin"]["1x rules"]["rules"]
