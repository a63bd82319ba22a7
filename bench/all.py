"""The whole suite (``make bench``): every bench of bench/, one after the other, each with
``--json``; one combined JSON and one markdown table of every figure (docs/performance.md).

Benches in ``SUITE`` run with their arguments; any other ``bench/*.py`` that is not a module
of the suite (``harness``, ``all``) runs with ``--json`` (and ``--quick``) only, so a bench
added in another branch joins without an edit here. A bench whose file is missing is skipped.

    .venv/bin/python bench/all.py [--json PATH] [--quick] [--runs R] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.harness import (  # noqa: E402
    Figure,
    add_common,
    figures_from_json,
    finish_machine,
    load_line,
    machine,
    markdown_table,
    now_iso,
    write_json,
)

BENCH = REPO / "bench"
# (name, script, arguments): in the order of the table in docs/performance.md.
SUITE: list[tuple[str, str, list[str]]] = [
    ("ingest", "ingest.py", []),
    ("ingest_redis", "ingest.py", ["--redis"]),
    ("sustained", "sustained.py", []),
    ("two_hubs", "two_hubs.py", []),
    ("two_hubs_fanout", "two_hubs_fanout.py", []),
    ("fanout", "fanout.py", []),
    ("sockets", "sockets.py", []),
    ("webhook", "webhook.py", []),
]
NOT_BENCHES = {"__init__.py", "harness.py", "all.py"}


def suite() -> list[tuple[str, Path, list[str]]]:
    known = {script for _, script, _ in SUITE}
    found = [(n, BENCH / s, a) for n, s, a in SUITE if (BENCH / s).exists()]
    for path in sorted(BENCH.glob("*.py")):
        if path.name not in known | NOT_BENCHES:
            found.append((path.stem, path, []))
    return found


def options(script: Path) -> set[str]:
    """Which of ``--quick`` and ``--runs`` the bench takes (from its ``--help``)."""
    done = subprocess.run(
        [sys.executable, str(script), "--help"], cwd=REPO, capture_output=True, text=True
    )
    return {flag for flag in ("--quick", "--runs") if flag in done.stdout}


def figures_of(name: str, report: dict[str, Any]) -> list[Figure]:
    """A bench's figures: the harness's rows, or (a bench with its own format) a row per
    number of its ``figures`` mapping, with no baseline or goal."""
    found = report.get("figures", [])
    if isinstance(found, list):
        return figures_from_json(found)
    if isinstance(found, dict):
        return [
            Figure(key=f"{name}.{key}", label=f"{name}: {key}", value=value, unit="")
            for key, value in _numbers(found)
        ]
    return []


def _numbers(found: dict[str, Any], prefix: str = "") -> list[tuple[str, float]]:
    """The numbers of a bench's own ``figures`` mapping, nested ones by dotted key (fanout.py
    keeps one mapping per socket count); lists (the runs behind a median) are left out."""
    numbers: list[tuple[str, float]] = []
    for key, value in found.items():
        if isinstance(value, dict):
            numbers += _numbers(value, f"{prefix}{key}.")
        elif isinstance(value, int | float) and not isinstance(value, bool):
            numbers.append((f"{prefix}{key}", value))
    return numbers


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run every bench; one JSON, one table.")
    add_common(parser, runs=3)
    parser.add_argument(
        "--only", nargs="+", metavar="NAME", help="run these benches only (names as in SUITE)"
    )
    parser.add_argument(
        "--merge",
        nargs="+",
        type=Path,
        metavar="JSON",
        help="run nothing: one table of these suite JSONs (a bench in a later one wins)",
    )
    args = parser.parse_args(argv)
    if args.merge:
        return merge(args.merge, args.json)
    combined: dict[str, Any] = {"date": now_iso(), "machine": machine(), "benches": {}}
    failed = []
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="openlines-bench-all-") as tmp:
        for name, script, extra in suite():
            if args.only and name not in args.only:
                continue
            out = Path(tmp) / f"{name}.json"
            command = [sys.executable, str(script), *extra, "--json", str(out)]
            takes = options(script)
            if args.quick and "--quick" in takes:
                command.append("--quick")
            if "--runs" in takes:
                command += ["--runs", str(args.runs)]
            print(f"=== {name}: {' '.join(command[1:])}", flush=True)
            started = time.monotonic()
            code = subprocess.call(command, cwd=REPO)
            print(f"=== {name}: exit {code} in {time.monotonic() - started:.0f} s", flush=True)
            # A bench exits 1 with figures when some of its runs failed (or a goal was missed).
            if not out.exists():
                failed.append(name)
                combined["benches"][name] = {"exit_code": code}
                continue
            combined["benches"][name] = json.loads(out.read_text()) | {"exit_code": code}
    finish_machine(combined["machine"])
    combined["run_s"] = round(time.monotonic() - began, 1)
    combined["failed"] = failed
    figures = [
        figure
        for name, report in combined["benches"].items()
        for figure in figures_of(name, report)
    ]
    combined["figures"] = [f.as_json() for f in figures]
    print()
    print(f"OpenLines benchmarks, {now_iso()}: median of {args.runs} run(s) each")
    print(load_line(combined["machine"]))
    print(markdown_table(figures))
    partial = [n for n, r in combined["benches"].items() if r.get("failed_runs")]
    for name in partial:
        print(f"{name}: {len(combined['benches'][name]['failed_runs'])} run(s) failed:")
        print("\n".join(f"  {f}" for f in combined["benches"][name]["failed_runs"]))
    if failed:
        print(f"FAILED: {', '.join(failed)}", file=sys.stderr)
    print(f"(whole suite {combined['run_s']} s)")
    write_json(args.json, combined)
    return 1 if failed else 0


def merge(paths: list[Path], out: Path | None) -> int:
    """One table from several runs of the suite (say, a bench re-run after the rest)."""
    benches: dict[str, Any] = {}
    for path in paths:
        benches.update(json.loads(path.read_text())["benches"])
    figures = [f for name, report in benches.items() for f in figures_of(name, report)]
    for name, report in benches.items():
        if "machine" in report:
            print(f"{name} ({report.get('date', '?')}): {load_line(report['machine'])}")
    print(markdown_table(figures))
    write_json(out, {"benches": benches, "figures": [f.as_json() for f in figures]})
    return 0


if __name__ == "__main__":
    sys.exit(main())
