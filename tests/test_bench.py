"""`make bench` is not part of the suite, but its code must keep running: one short iteration."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parent.parent


def test_the_benchmark_runs_one_short_iteration_and_reports_every_figure(tmp_path: Path) -> None:
    if shutil.which("wrk") is None:
        message = "wrk is required for the benchmark check: apt-get install wrk"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    output = tmp_path / "bench.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    result = subprocess.run(
        [sys.executable, "-m", "ruxguide.bench", "--quick", "--output", str(output)],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    report = json.loads(output.read_text())
    assert set(report["load"]) == {
        "static file (WhiteNoise)",
        "bare Django view",
        "start page",
        "question step (htmx POST)",
        "result page (16 rules fired)",
    }
    for name, figures in report["load"].items():
        assert figures["rps"] > 0, name
        assert figures["non_2xx_3xx"] == 0, name
    assert report["load"]["bare Django view"]["ratio_to_bare"] == 1.0
    assert report["queries"]["question step POST (htmx)"] <= 1
    assert report["sizes"]["start_page_requests_to_other_hosts"] == 0
    assert len(report["worker_rss_mb"]) == 2
    assert set(report["engine"]["microseconds_per_evaluation"]) == {"30", "300"}
    assert "question step >= 0.7x bare view" in report["targets"]
    assert "Targets:" in result.stdout
