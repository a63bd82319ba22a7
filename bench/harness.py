"""What every bench shares: figures next to their same-run baseline and goal, medians over
alternated runs, the machine and its load, the command line, JSON and a markdown table.

A bench builds ``Figure``s from one run (hub phase, then its baseline, in the same process and
against the same servers); ``median_figures`` folds the runs of ``--runs N`` into one figure
each, with the range. See docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import math
import os
import platform
import re
import signal
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
X = "\u00d7"  # the multiplication sign of a ratio in the table
DASH = "\u2013"  # the en dash of a range in the table


# --- figures ---------------------------------------------------------------------------------


def percentile(samples: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (no interpolation), in the unit of ``samples``."""
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def summary_ms(samples_s: Sequence[float]) -> dict[str, float]:
    ms = [s * 1000 for s in samples_s]
    return {
        "p50_ms": round(percentile(ms, 50), 2),
        "p99_ms": round(percentile(ms, 99), 2),
        "max_ms": round(max(ms), 2) if ms else float("nan"),
        "mean_ms": round(sum(ms) / len(ms), 2) if ms else float("nan"),
    }


@dataclass
class Figure:
    """One row of the table in docs/performance.md.

    ``ratio`` is ``value / baseline`` unless the bench gives another (e.g. last phase ÷ first);
    ``goal`` is a bound on the ratio (``ratio_at_least`` or ``ratio_at_most``), or on the value
    itself when there is no baseline (``value_at_most``)."""

    key: str
    label: str
    value: float
    unit: str
    baseline_label: str = ""
    baseline: float | None = None
    baseline_unit: str = ""
    ratio: float | None = None
    goal: str = ""
    ratio_at_least: float | None = None
    ratio_at_most: float | None = None
    value_at_most: float | None = None
    detail: str = ""  # extra text for the "now" cell, e.g. "p50 20 ms"
    value_range: tuple[float, float] | None = None
    ratio_range: tuple[float, float] | None = None
    runs: int = 1

    def __post_init__(self) -> None:
        if self.ratio is None and self.baseline:
            self.ratio = round(self.value / self.baseline, 3)

    @property
    def met(self) -> bool | None:
        if self.value_at_most is not None:
            return self.value <= self.value_at_most
        if self.ratio is None:
            return None
        if self.ratio_at_least is not None:
            return self.ratio >= self.ratio_at_least
        if self.ratio_at_most is not None:
            return self.ratio <= self.ratio_at_most
        return None

    def as_json(self) -> dict[str, Any]:
        return asdict(self) | {"met": self.met}


def median_figures(runs: Sequence[Sequence[Figure]]) -> list[Figure]:
    """One figure per key: the median value and the median of the per-run ratios, with ranges.
    (The median of ratios, not the ratio of medians: each ratio is against its own run's
    baseline, which is the point of measuring them side by side.)"""
    if len(runs) == 1:
        return list(runs[0])
    merged = []
    for first in runs[0]:
        same = [f for run in runs for f in run if f.key == first.key]
        values = [f.value for f in same]
        ratios = [f.ratio for f in same if f.ratio is not None]
        baselines = [f.baseline for f in same if f.baseline is not None]
        merged.append(
            Figure(
                **{
                    **asdict(first),
                    "value": round(statistics.median(values), 2),
                    "baseline": round(statistics.median(baselines), 2) if baselines else None,
                    "ratio": round(statistics.median(ratios), 3) if ratios else None,
                    "value_range": (min(values), max(values)),
                    "ratio_range": (min(ratios), max(ratios)) if ratios else None,
                    "runs": len(same),
                    "detail": first.detail if len(same) == 1 else _median_detail(same),
                }
            )
        )
    return merged


def _median_detail(same: Sequence[Figure]) -> str:
    """Details are "name number unit" pieces; the median of each number across runs."""
    pieces = [re.split(r"(?<![\w.])(-?\d+(?:\.\d+)?)", f.detail) for f in same]
    if len({len(p) for p in pieces}) != 1:
        return same[0].detail
    out = []
    for index, part in enumerate(pieces[0]):
        if index % 2:
            out.append(_num(statistics.median(float(p[index]) for p in pieces)))
        else:
            out.append(part)
    return "".join(out)


def _num(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return DASH
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}".rstrip("0").rstrip(".") if value else "0"


def _range(bounds: tuple[float, float] | None, form: Callable[[float], str] = _num) -> str:
    if not bounds or bounds[0] == bounds[1]:
        return ""
    return f" ({form(bounds[0])}{DASH}{form(bounds[1])})"


def _ratio(value: float) -> str:
    return f"{value:.3f}" if abs(value) < 0.1 else f"{value:.2f}"


def markdown_table(figures: Sequence[Figure]) -> str:
    """The table of docs/performance.md: paste it over the old one."""
    lines = [
        "| figure | now | same-run baseline | ratio | goal | met |",
        "|---|---|---|---|---|---|",
    ]
    for f in figures:
        now = f"{_num(f.value)} {f.unit}{_range(f.value_range)}"
        if f.detail:
            now += f"; {f.detail}"
        baseline = (
            f"{f.baseline_label} {_num(f.baseline)} {f.baseline_unit}".strip()
            if f.baseline is not None
            else f.baseline_label or DASH
        )
        ratio = (
            f"{_ratio(f.ratio)}{X}{_range(f.ratio_range, _ratio)}" if f.ratio is not None else DASH
        )
        met = {True: "✓", False: "✗", None: ""}[f.met]
        lines.append(f"| {f.label} | {now} | {baseline} | {ratio} | {f.goal} | {met} |")
    return "\n".join(lines)


# --- the machine -----------------------------------------------------------------------------


def cpu_pressure() -> float | None:
    """Linux PSI ``some avg10``: % of the last 10 s that runnable tasks waited for a CPU.
    Near 0 on a quiet box; other work on the machine shows up here first."""
    try:
        first = Path("/proc/pressure/cpu").read_text().splitlines()[0]
    except (OSError, IndexError):
        return None
    match = re.search(r"avg10=([\d.]+)", first)
    return float(match.group(1)) if match else None


def versions() -> dict[str, str]:
    found = {}
    for dist in ("openlines", "pymongo", "SecantusDB", "python-socketio", "aiohttp", "redis"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            found[dist] = metadata.version(dist)
    return found


def source_digest() -> str:
    """A short fingerprint of the product code measured (the tree has no commit to name)."""
    digest = hashlib.sha256()
    for package in ("hub", "routing", "widget", "operators_ui", "channels", "crm_bridge"):
        for path in sorted((REPO / package).rglob("*.py")):
            digest.update(str(path.relative_to(REPO)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def machine() -> dict[str, Any]:
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": versions(),
        "source_digest": source_digest(),
        # Everything (hub, SecantusDB, this client) shares these cores: a busy box skews it.
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
        "cpu_pressure_avg10_at_start": cpu_pressure(),
    }


def finish_machine(found: dict[str, Any]) -> None:
    found["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    found["cpu_pressure_avg10_at_end"] = cpu_pressure()
    found["source_changed_during_run"] = source_digest() != found["source_digest"]


def load_line(found: dict[str, Any]) -> str:
    """One line of what a bench recorded of the machine (a bench with its own report format
    records only some of it)."""
    return (
        f"machine: {found.get('nproc', '?')} cores, Python {found.get('python', '?')}; "
        f"CPU pressure some avg10 {found.get('cpu_pressure_avg10_at_start')} → "
        f"{found.get('cpu_pressure_avg10_at_end')} %, "
        f"load {found.get('loadavg_at_start')} → {found.get('loadavg_at_end')}"
        + ("; WARNING: product sources changed" if found.get("source_changed_during_run") else "")
    )


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# --- the command line ------------------------------------------------------------------------


def positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def add_common(parser: argparse.ArgumentParser, *, runs: int = 1) -> None:
    """``--json``, ``--quick`` and ``--runs``: what bench/all.py passes to every bench."""
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write figures as JSON")
    parser.add_argument(
        "--quick", action="store_true", help="a smoke run: small numbers, figures not meaningful"
    )
    parser.add_argument(
        "--runs",
        metavar="R",
        type=positive,
        default=runs,
        help=f"repeat the whole run (hub, then its baseline) R times; medians (default {runs})",
    )


def apply_defaults(
    args: argparse.Namespace, *, quick: dict[str, Any], full: dict[str, Any]
) -> argparse.Namespace:
    """Fill the options left unset from ``quick`` (with ``--quick``) or ``full``: a number
    given on the command line wins."""
    for name, value in (quick if args.quick else full).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    return args


def report_figures(report: dict[str, Any], figures: Sequence[Figure], title: str) -> str:
    """Put ``figures`` into ``report`` and return the printed summary."""
    report["figures"] = [f.as_json() for f in figures]
    runs = max((f.runs for f in figures), default=1)
    head = f"{title}: median of {runs} run(s)" if runs > 1 else f"{title}: one run"
    return "\n".join([head, load_line(report["machine"]), markdown_table(figures)])


def write_json(path: Path | None, report: dict[str, Any]) -> None:
    if path:
        path.write_text(json.dumps(report, indent=2, default=_json_default) + "\n")
        print(f"wrote {path}")


def _json_default(value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"not JSON: {type(value).__name__}")


def figures_from_json(items: Sequence[dict[str, Any]]) -> list[Figure]:
    known = set(Figure.__dataclass_fields__)
    out = []
    for item in items:
        fields = {k: v for k, v in item.items() if k in known}
        for name in ("value_range", "ratio_range"):
            if fields.get(name) is not None:
                fields[name] = tuple(fields[name])
        out.append(Figure(**fields))
    return out


class BenchError(RuntimeError):
    """The hub misbehaved (or did not answer in time): the run has no valid figures."""


def run_cli(
    args: argparse.Namespace,
    one_run: Callable[[], Awaitable[dict[str, Any]]],
    render: Callable[[dict[str, Any]], str],
    figures: Callable[[dict[str, Any]], list[Figure]],
    title: str,
) -> int:
    """``--runs`` whole runs, each printed; then the figures (medians) and ``--json``.
    A run that fails (the hub misbehaved) is reported and the others go on: the figures are
    the medians of the runs that completed, and the exit code is 1. Exit 0 when every run
    completed; 1 with none (no figures); 130 when interrupted."""
    began = time.monotonic()

    async def guarded() -> dict[str, Any]:
        task = asyncio.current_task()
        if task is not None:
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
        return await one_run()

    reports = []
    failures = []
    for number in range(args.runs):
        if args.runs > 1:
            print(f"--- {title}: run {number + 1} of {args.runs}", flush=True)
        try:
            report = asyncio.run(guarded())
        except RuntimeError as exc:  # BenchError, or a serve process that did not start
            print(f"bench failed: {exc}", file=sys.stderr)
            failures.append(f"run {number + 1}: {exc}")
            continue
        except (KeyboardInterrupt, asyncio.CancelledError):
            print("bench interrupted", file=sys.stderr)
            return 130
        print(render(report), flush=True)
        reports.append(report)
    if not reports:
        return 1
    combined = dict(reports[0])
    if len(reports) > 1:
        combined["machine"] = dict(reports[0]["machine"])
        for key in ("loadavg_at_end", "cpu_pressure_avg10_at_end"):
            combined["machine"][key] = reports[-1]["machine"].get(key)
        combined["machine"]["source_changed_during_run"] = any(
            r["machine"].get("source_changed_during_run") for r in reports
        )
        combined["runs"] = reports
    combined["run_s"] = round(time.monotonic() - began, 1)
    combined["failed_runs"] = failures
    print()
    print(report_figures(combined, median_figures([figures(r) for r in reports]), title))
    for failure in failures:
        print(f"FAILED {failure}")
    print(f"(whole run {combined['run_s']} s)")
    write_json(args.json, combined)
    return 1 if failures else 0
