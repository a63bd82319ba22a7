"""Every bench of bench/ runs (``--quick``: small numbers) and its JSON carries every figure of
docs/performance.md's table, each with its value, baseline and goal. Not timed: the figures of
a smoke run on a busy CI box mean nothing, only that they are there."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
# A quick run still starts hubs: a minute or two on 2 busy cores, two_hubs.py (three serve
# processes) over six at a load average of 14.
BENCH_TIMEOUT_S = 720
pytestmark = [
    pytest.mark.processes,  # each starts openlines serve processes and an embedded SecantusDB
    pytest.mark.timeout(BENCH_TIMEOUT_S + 180),
]

# Figure keys with a same-run baseline, and those that have only a bound on the value.
WITH_BASELINE = {
    "ingest.memory.closed_loop",
    "ingest.memory.vs_insert_many",
    "ingest.memory.open_loop_p99",
    "ingest.redis.closed_loop",
    "ingest.redis.vs_insert_many",
    "ingest.redis.open_loop_p99",
    "sustained.memory.last_over_first",
    "sustained.memory.db_cpu_per_message",
    "two_hubs.msgs_per_s",
    "two_hubs_fanout.deliveries_per_s",
    "webhook.memory.closed_1_p99",
    "webhook.memory.closed_5_p99",
    "webhook.memory.half_load_p99",
}
VALUE_ONLY = {"ingest.memory.delivery_lag_p50", "ingest.redis.delivery_lag_p50"}


def run_bench(tmp_path: Path, script: str, *args: str) -> dict[str, Any]:
    out = tmp_path / "figures.json"
    process = subprocess.Popen(
        [sys.executable, f"bench/{script}", *args, "--quick", "--json", str(out)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=BENCH_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        # SIGTERM: the bench cancels its run and stops its serve processes (a kill would
        # leave them running, orphaned).
        process.terminate()
        stdout, stderr = process.communicate(timeout=120)
        pytest.fail(f"{script} took over {BENCH_TIMEOUT_S} s: {stdout[-2000:]}{stderr[-2000:]}")
    assert process.returncode == 0, stdout[-3000:] + stderr[-3000:]
    report: dict[str, Any] = json.loads(out.read_text())
    return report


def check_figures(figures: list[dict[str, Any]], prefix: str) -> None:
    by_key = {f["key"]: f for f in figures}
    expected = {k for k in WITH_BASELINE | VALUE_ONLY if k.startswith(prefix)}
    assert set(by_key) == expected
    for key, figure in by_key.items():
        assert math.isfinite(figure["value"]), key
        assert figure["goal"], key
        assert "met" in figure, key
        if key in WITH_BASELINE:
            assert figure["baseline"] > 0 and math.isfinite(figure["ratio"]), key


def test_the_suite_runs_ingest_and_combines_its_figures(tmp_path: Path) -> None:
    report = run_bench(tmp_path, "all.py", "--only", "ingest", "--runs", "1")
    assert report["failed"] == [] and list(report["benches"]) == ["ingest"]
    ingest = report["benches"]["ingest"]
    # The figures of the one bench, and the old report's figures beside them.
    check_figures(report["figures"], "ingest.memory.")
    assert ingest["hub"]["messages"] == ingest["params"]["total_messages"]
    assert ingest["hub"]["duplicates"] == 0 and ingest["hub"]["leaked_to_other_operators"] == 0
    assert ingest["hub"]["open_loop"]["messages"] > 0
    assert ingest["baseline_insert_many"]["batch_size"] == 1000


def test_ingest_on_redis(tmp_path: Path) -> None:
    report = run_bench(tmp_path, "ingest.py", "--redis")
    check_figures(report["figures"], "ingest.redis.")
    assert report["params"]["bus"] == "redis"


def test_sustained(tmp_path: Path) -> None:
    report = run_bench(tmp_path, "sustained.py")
    check_figures(report["figures"], "sustained.")
    assert len(report["phases"]) == 8 == len(report["baseline_blocks"])
    assert all(p["messages"] == 20 for p in report["phases"])


def test_two_hubs(tmp_path: Path) -> None:
    report = run_bench(tmp_path, "two_hubs.py")
    check_figures(report["figures"], "two_hubs.")
    assert report["two"]["serve_exit_codes"] == [0, 0]
    assert report["two"]["duplicates"] == 0 == report["two"]["leaked_to_other_operators"]


def test_webhook(tmp_path: Path) -> None:
    report = run_bench(tmp_path, "webhook.py")
    check_figures(report["figures"], "webhook.")
    assert report["open_half"]["updates"] > 0
    assert report["serve_log_problems"] == []


def test_two_hubs_on_a_fan_out_bound_load(tmp_path: Path) -> None:
    report = run_bench(tmp_path, "two_hubs_fanout.py")
    check_figures(report["figures"], "two_hubs_fanout.")
