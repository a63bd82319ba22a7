"""Sustained load: the closed loop of bench/ingest.py eight times over, back to back, on one
hub; msg/s and SecantusDB CPU per message in each phase. Then, as the same-run baseline,
raw journaled ``insert_one`` in eight blocks of the same size on the same server (through
``EmbeddedMongo.url``, retryWrites=false like the hub). No decay: the last phase runs at
≥ 0.9x the first. See docs/performance.md.

    .venv/bin/python bench/sustained.py [--visitors N] [--messages K] [--phases P] [--redis]
                                        [--json PATH] [--quick] [--runs R]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
from pymongo import AsyncMongoClient, WriteConcern

# Run as a plain script (``python bench/sustained.py``): make ``bench`` importable.
REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.harness import (  # noqa: E402
    Figure,
    X,
    add_common,
    apply_defaults,
    finish_machine,
    machine,
    now_iso,
    positive,
    run_cli,
)
from bench.ingest import (  # noqa: E402
    BASELINE_DB,
    SERVE_START_S,
    Operator,
    Run,
    Visitor,
    closed_loop,
    cpu_seconds,
    hub_env,
    log_problems,
    redis_forget,
    redis_reachable,
    setup_world,
)
from hub.embedded import EmbeddedMongo  # noqa: E402
from tests.support.clients import new_msg_id  # noqa: E402
from tests.support.processes import ServeProcess  # noqa: E402

GOAL_LAST_OVER_FIRST = 0.9


async def hub_phases(
    args: argparse.Namespace, serve: ServeProcess, mongo_url: str, people: list[Any]
) -> list[dict[str, Any]]:
    run = Run()
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url)
    try:
        async with aiohttp.ClientSession() as http:
            visitors, _, _ = await setup_world(
                [serve.url],
                mongo,
                http,
                run,
                people,
                visitors_n=args.visitors,
                operators_n=args.operators,
            )
        phases = []
        for number in range(args.phases):
            before = cpu_seconds()
            phase, wall_s = await closed_loop(run, visitors, args.messages)
            after = cpu_seconds()
            count = len(phase.received)
            phases.append(
                {
                    "phase": number + 1,
                    "messages": count,
                    "wall_s": round(wall_s, 3),
                    "msgs_per_s": round(count / wall_s, 1),
                    # Deferred work of one phase may run in the next: per phase, not exact;
                    # over eight phases it is all counted.
                    "db_cpu_ms_per_message": round(
                        (after["mongo"] - before.get("mongo", 0.0)) * 1000 / count, 2
                    ),
                    "hub_cpu_ms_per_message": round(
                        (after.get("hub", 0.0) - before.get("hub", 0.0)) * 1000 / count, 2
                    ),
                    "duplicates": phase.duplicates,
                    "leaked_to_other_operators": phase.leaked,
                }
            )
            print(
                f"  phase {number + 1}: {phases[-1]['msgs_per_s']} msg/s, DB CPU "
                f"{phases[-1]['db_cpu_ms_per_message']} ms/msg",
                flush=True,
            )
        return phases
    finally:
        await mongo.close()


async def raw_blocks(url: str, blocks: int, size: int) -> list[dict[str, Any]]:
    """Sequential journaled ``insert_one`` in ``blocks`` blocks of ``size``: the server's own
    rate over as many writes as the hub made, and its CPU per insert."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(url)
    try:
        collection = client[BASELINE_DB].get_collection(
            "sustained", write_concern=WriteConcern(j=True)
        )
        conversation_id = new_msg_id()[:24]
        found = []
        for block in range(blocks):
            before = cpu_seconds()
            started = time.perf_counter()
            for seq in range(size):
                await collection.insert_one(
                    {"c": conversation_id, "s": block * size + seq, "t": new_msg_id()}
                )
            wall_s = time.perf_counter() - started
            after = cpu_seconds()
            found.append(
                {
                    "block": block + 1,
                    "inserts_per_s": round(size / wall_s, 1),
                    "db_cpu_ms_per_insert": round(
                        (after["mongo"] - before.get("mongo", 0.0)) * 1000 / size, 2
                    ),
                }
            )
        await client.drop_database(BASELINE_DB)
        return found
    finally:
        await client.close()


async def main(args: argparse.Namespace) -> dict[str, Any]:
    report: dict[str, Any] = {
        "date": now_iso(),
        "machine": machine(),
        "params": {
            "visitors": args.visitors,
            "operators": args.operators,
            "messages_per_visitor_per_phase": args.messages,
            "phases": args.phases,
            "bus": "redis" if args.redis else "in-memory",
        },
    }
    tmp = Path(tempfile.mkdtemp(prefix="openlines-bench-sustained-"))
    mongo = EmbeddedMongo(tmp / "mongo-home")
    serve: ServeProcess | None = None
    people: list[Operator | Visitor] = []
    serve_log = tmp / "serve.log"
    try:
        if args.redis:
            await redis_reachable()
            await redis_forget()
        await asyncio.to_thread(mongo.start)
        serve = ServeProcess(hub_env(mongo.url, tmp / "data", redis=args.redis), serve_log)
        await serve.start(SERVE_START_S)
        report["phases"] = await hub_phases(args, serve, mongo.url, people)
        await asyncio.gather(*(p.close() for p in people))
        people.clear()
        report["serve_exit_code"] = await serve.stop()
        serve = None
        report["serve_log_problems"] = log_problems(serve_log)
        report["baseline_blocks"] = await raw_blocks(
            mongo.url, args.phases, args.visitors * args.messages
        )
        finish_machine(report["machine"])
        return report
    finally:
        await asyncio.gather(*(p.close() for p in people), return_exceptions=True)
        if serve is not None:
            with contextlib.suppress(Exception):
                await serve.stop()
        await asyncio.to_thread(mongo.stop)
        if args.redis:
            with contextlib.suppress(Exception):
                await redis_forget()
        shutil.rmtree(tmp, ignore_errors=True)


def render(report: dict[str, Any]) -> str:
    lines = ["phase  hub msg/s  DB CPU ms/msg  hub CPU ms/msg | raw j insert/s  DB CPU ms/insert"]
    for hub, raw in zip(report["phases"], report["baseline_blocks"], strict=True):
        lines.append(
            f"{hub['phase']:>5}  {hub['msgs_per_s']:>9}  {hub['db_cpu_ms_per_message']:>13}  "
            f"{hub['hub_cpu_ms_per_message']:>14} | {raw['inserts_per_s']:>14}  "
            f"{raw['db_cpu_ms_per_insert']:>16}"
        )
    duplicates = sum(p["duplicates"] for p in report["phases"])
    leaked = sum(p["leaked_to_other_operators"] for p in report["phases"])
    lines.append(
        f"duplicates / leaked: {duplicates} / {leaked}; serve exit {report['serve_exit_code']}, "
        f"{len(report['serve_log_problems'])} log problems"
    )
    lines += [f"  serve log: {problem}" for problem in report["serve_log_problems"]]
    return "\n".join(lines)


def figures(report: dict[str, Any], *, redis: bool) -> list[Figure]:
    first, last = report["phases"][0], report["phases"][-1]
    raw_first, raw_last = report["baseline_blocks"][0], report["baseline_blocks"][-1]
    tag = "redis" if redis else "memory"
    where = " with `--redis`" if redis else ""
    count = len(report["phases"])
    return [
        Figure(
            key=f"sustained.{tag}.last_over_first",
            label=f"{count} phases of sustained load{where}: last phase ÷ first",
            value=last["msgs_per_s"],
            unit="msg/s",
            baseline_label="first phase",
            baseline=first["msgs_per_s"],
            baseline_unit="msg/s",
            goal=f"≥ {GOAL_LAST_OVER_FIRST}{X}",
            ratio_at_least=GOAL_LAST_OVER_FIRST,
            detail=f"raw j insert last ÷ first block "
            f"{raw_last['inserts_per_s'] / raw_first['inserts_per_s']:.2f}",
        ),
        Figure(
            key=f"sustained.{tag}.db_cpu_per_message",
            label=f"DB CPU per message, last phase{where}",
            value=last["db_cpu_ms_per_message"],
            unit="ms",
            baseline_label="first phase",
            baseline=first["db_cpu_ms_per_message"],
            baseline_unit="ms",
            goal="flat",
            detail=f"raw j insert {raw_first['db_cpu_ms_per_insert']:.2f} → "
            f"{raw_last['db_cpu_ms_per_insert']:.2f} ms",
        ),
    ]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Sustained closed-loop load on `openlines serve`: msg/s and SecantusDB "
        "CPU per message per phase, against raw insert_one blocks of the same size."
    )
    parser.add_argument("--visitors", metavar="N", type=positive, help="widget visitors (20)")
    parser.add_argument("--operators", metavar="M", type=positive, help="operators (4)")
    parser.add_argument(
        "--messages", metavar="K", type=positive, help="messages per visitor per phase (10)"
    )
    parser.add_argument("--phases", metavar="P", type=positive, default=8, help="phases (8)")
    parser.add_argument("--redis", action="store_true", help="run the hub on Redis")
    add_common(parser)
    return apply_defaults(
        parser.parse_args(argv),
        quick={"visitors": 4, "operators": 2, "messages": 5},
        full={"visitors": 20, "operators": 4, "messages": 10},
    )


def cli(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    title = "sustained" + (" --redis" if args.redis else "")
    return run_cli(args, lambda: main(args), render, lambda r: figures(r, redis=args.redis), title)


if __name__ == "__main__":
    sys.exit(cli())
