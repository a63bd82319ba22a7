"""bench/harness.py: medians of per-run figures, goals, and the table docs/performance.md
carries."""

from __future__ import annotations

from bench.all import figures_of
from bench.harness import Figure, figures_from_json, markdown_table, median_figures


def closed_loop(value: float, baseline: float) -> Figure:
    return Figure(
        key="ingest.memory.closed_loop",
        label="closed-loop ingest",
        value=value,
        unit="msg/s",
        baseline_label="raw journaled `insert_one`",
        baseline=baseline,
        baseline_unit="/s",
        goal="≥ 1.0",
        ratio_at_least=1.0,
        detail="ack p50 10.0 ms",
    )


def test_a_ratio_is_against_its_own_run_and_the_median_is_of_ratios() -> None:
    runs = [[closed_loop(90, 100)], [closed_loop(50, 200)], [closed_loop(100, 80)]]
    [merged] = median_figures(runs)
    assert merged.value == 90 and merged.value_range == (50, 100)
    assert merged.baseline == 100
    # Ratios 0.9, 0.25, 1.25: their median, not 90 / 100 of the medians by chance alone.
    assert merged.ratio == 0.9 and merged.ratio_range == (0.25, 1.25)
    assert merged.runs == 3 and merged.met is False


def test_goals_bound_the_ratio_or_the_value() -> None:
    assert closed_loop(120, 100).met is True
    latency = Figure(key="p99", label="p99", value=40, unit="ms", goal="≤ 50", value_at_most=50)
    assert latency.met is True and latency.ratio is None
    within = Figure(
        key="x", label="x", value=30, unit="ms", baseline=10, goal="≤ 3", ratio_at_most=3.0
    )
    assert within.ratio == 3.0 and within.met is True
    assert Figure(key="y", label="y", value=1, unit="ms", goal="flat").met is None


def test_the_table_round_trips_through_json() -> None:
    [merged] = median_figures([[closed_loop(90, 100)], [closed_loop(110, 100)]])
    again = figures_from_json([merged.as_json()])
    assert again == [merged]
    table = markdown_table(again).splitlines()
    assert table[0].startswith("| figure | now | same-run baseline | ratio | goal |")
    assert table[2] == (
        "| closed-loop ingest | 100 msg/s (90.0–110); ack p50 10.0 ms | raw journaled "
        "`insert_one` 100 /s | 1.00× (0.90–1.10) | ≥ 1.0 | ✓ |"
    )


def test_the_suite_takes_a_bench_of_another_format_as_rows_without_goals() -> None:
    report = {"figures": {"connects_per_s": 1200.5, "close_s": 4, "verdict": True, "x": "y"}}
    rows = figures_of("sockets", report)
    assert [(f.key, f.value, f.met) for f in rows] == [
        ("sockets.connects_per_s", 1200.5, None),
        ("sockets.close_s", 4, None),
    ]
    harness_rows = figures_of("ingest", {"figures": [closed_loop(90, 100).as_json()]})
    assert harness_rows == [closed_loop(90, 100)]


def test_a_bench_of_its_own_format_has_its_nested_numbers_in_the_table() -> None:
    report = {
        "figures": {"50": {"ratio": 3.75, "hub_runs": [1, 2, 3]}, "ok": True, "rss": 32.9},
        "machine": {"nproc": 2},
    }
    found = {f.key: f.value for f in figures_of("fanout", report)}
    assert found == {"fanout.50.ratio": 3.75, "fanout.rss": 32.9}
