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
# (name, script, arguments, takes --runs): in the order of the table in docs/performance.md.
SUITE: list[tuple[str, str, list[str], bool]] = [
    ("ingest", "ingest.py", [], True),
    ("ingest_redis", "ingest.py", ["--redis"], True),
    ("sustained", "sustained.py", [], True),
    ("two_hubs", "two_hubs.py", [], True),
    ("fanout", "fanout.py", [], False),
    ("sockets", "sockets.py", [], False),
    ("webhook", "webhook.py", [], True),
]
NOT_BENCHES = {"__init__.py", "harness.py", "all.py"}


def suite() -> list[tuple[str, Path, list[str], bool]]:
    known = {script for _, script, _, _ in SUITE}
    found = [(n, BENCH / s, a, r) for n, s, a, r in SUITE if (BENCH / s).exists()]
    for path in sorted(BENCH.glob("*.py")):
        if path.name not in known | NOT_BENCHES:
            found.append((path.stem, path, [], False))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run every bench; one JSON, one table.")
    add_common(parser, runs=3)
    parser.add_argument(
        "--only", nargs="+", metavar="NAME", help="run these benches only (names as in SUITE)"
    )
    args = parser.parse_args(argv)
    combined: dict[str, Any] = {"date": now_iso(), "machine": machine(), "benches": {}}
    failed = []
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="openlines-bench-all-") as tmp:
        for name, script, extra, takes_runs in suite():
            if args.only and name not in args.only:
                continue
            out = Path(tmp) / f"{name}.json"
            command = [sys.executable, str(script), *extra, "--json", str(out)]
            if args.quick:
                command.append("--quick")
            if takes_runs:
                command += ["--runs", str(args.runs)]
            print(f"=== {name}: {' '.join(command[1:])}", flush=True)
            started = time.monotonic()
            code = subprocess.call(command, cwd=REPO)
            print(f"=== {name}: exit {code} in {time.monotonic() - started:.0f} s", flush=True)
            if code != 0 or not out.exists():
                failed.append(name)
                combined["benches"][name] = {"exit_code": code}
                continue
            combined["benches"][name] = json.loads(out.read_text())
    finish_machine(combined["machine"])
    combined["run_s"] = round(time.monotonic() - began, 1)
    combined["failed"] = failed
    figures = [
        figure
        for report in combined["benches"].values()
        for figure in figures_from_json(report.get("figures", []))
    ]
    combined["figures"] = [f.as_json() for f in figures]
    print()
    print(f"OpenLines benchmarks, {now_iso()}: median of {args.runs} run(s) each")
    print(load_line(combined["machine"]))
    print(markdown_table(figures))
    if failed:
        print(f"FAILED: {', '.join(failed)}", file=sys.stderr)
    print(f"(whole suite {combined['run_s']} s)")
    write_json(args.json, combined)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
