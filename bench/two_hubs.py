"""Two hubs on Redis against one: the closed loop of bench/ingest.py on one ``openlines serve``,
then the same load (the same visitors, operators and messages) spread over two processes that
share one SecantusDB and one Redis. While the database is the limit the second process must
cost nothing: two ÷ one ≥ 1.0x. Each run measures one, then two, so ``--runs`` alternates
them. See docs/performance.md.

    .venv/bin/python bench/two_hubs.py [--visitors N] [--operators M] [--messages K]
                                       [--json PATH] [--quick] [--runs R]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shutil
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
from pymongo import AsyncMongoClient

# Run as a plain script (``python bench/two_hubs.py``): make ``bench`` importable.
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
    summary_ms,
)
from bench.ingest import (  # noqa: E402
    CPU_ROLES,
    MONGO_DB,
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
from tests.support.processes import ServeProcess  # noqa: E402

GOAL_TWO_OVER_ONE = 1.0


async def measure(
    args: argparse.Namespace, mongo_url: str, tmp: Path, processes: int
) -> dict[str, Any]:
    """``processes`` hubs on one fresh database (and its Redis keys), the closed loop spread
    over them round robin; each hub stopped after."""
    db = f"{MONGO_DB}_hubs{processes}"
    await redis_forget(db)
    serves: list[ServeProcess] = []
    people: list[Operator | Visitor] = []
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url)
    logs = [tmp / f"serve-{processes}-{n}.log" for n in range(processes)]
    try:
        await mongo.drop_database(db)
        for number in range(processes):  # one after the other: the first seeds the admin
            env = hub_env(mongo_url, tmp / f"data-{processes}-{number}", redis=True, db=db)
            serves.append(await ServeProcess(env, logs[number]).start(SERVE_START_S))
        run = Run()
        async with aiohttp.ClientSession() as http:
            visitors, _, per_operator = await setup_world(
                [s.url for s in serves],
                mongo,
                http,
                run,
                people,
                visitors_n=args.visitors,
                operators_n=args.operators,
            )
            before = cpu_seconds()
            phase, wall_s = await closed_loop(run, visitors, args.messages)
            after = cpu_seconds()
        await asyncio.gather(*(p.close() for p in people))
        people.clear()
        exits = [await s.stop() for s in serves]
        serves.clear()
        return {
            "processes": processes,
            "messages": len(phase.received),
            "wall_s": round(wall_s, 3),
            "msgs_per_s": round(len(phase.received) / wall_s, 1),
            "end_to_end": summary_ms(phase.latencies()),
            "ack": summary_ms(phase.acks),
            # Both hubs' CPU summed under "hub": one figure per role.
            "cpu_percent_of_one_core": {
                role: round((after.get(role, 0.0) - before.get(role, 0.0)) / wall_s * 100)
                for role in CPU_ROLES
            },
            "conversations_per_operator": per_operator,
            "duplicates": phase.duplicates,
            "leaked_to_other_operators": phase.leaked,
            "serve_exit_codes": exits,
            "serve_log_problems": [p for log in logs for p in log_problems(log)],
        }
    finally:
        await asyncio.gather(*(p.close() for p in people), return_exceptions=True)
        for serve in serves:
            with contextlib.suppress(Exception):
                await serve.stop()
        with contextlib.suppress(Exception):
            await mongo.drop_database(db)
        await mongo.close()
        with contextlib.suppress(Exception):
            await redis_forget(db)


async def main(args: argparse.Namespace) -> dict[str, Any]:
    report: dict[str, Any] = {
        "date": now_iso(),
        "machine": machine(),
        "params": {
            "visitors": args.visitors,
            "operators": args.operators,
            "messages_per_visitor": args.messages,
            "bus": "redis",
        },
    }
    return await one_then_two(
        report,
        "openlines-bench-hubs-",
        lambda mongo_url, tmp, processes: measure(args, mongo_url, tmp, processes),
    )


async def one_then_two(
    report: dict[str, Any],
    prefix: str,
    measure: Callable[[str, Path, int], Awaitable[dict[str, Any]]],
) -> dict[str, Any]:
    """``measure`` one hub, then two, on one embedded SecantusDB (and the machine's Redis):
    ``report`` with ``one`` and ``two`` (also bench/two_hubs_fanout.py's)."""
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    mongo = EmbeddedMongo(tmp / "mongo-home")
    try:
        await redis_reachable()
        await asyncio.to_thread(mongo.start)
        report["one"] = await measure(mongo.url, tmp, 1)
        report["two"] = await measure(mongo.url, tmp, 2)
        finish_machine(report["machine"])
        return report
    finally:
        await asyncio.to_thread(mongo.stop)
        shutil.rmtree(tmp, ignore_errors=True)


def render(report: dict[str, Any]) -> str:
    lines = []
    for name in ("one", "two"):
        r = report[name]
        cpu = " / ".join(str(r["cpu_percent_of_one_core"][k]) for k in CPU_ROLES)
        lines.append(
            f"{r['processes']} hub(s): {r['msgs_per_s']} msg/s ({r['messages']} in "
            f"{r['wall_s']} s), e2e p50/p99 {r['end_to_end']['p50_ms']}/"
            f"{r['end_to_end']['p99_ms']} ms, ack p50 {r['ack']['p50_ms']} ms, CPU % of a core "
            f"hub/mongo/bench {cpu}, duplicates/leaked {r['duplicates']}/"
            f"{r['leaked_to_other_operators']}, exits {r['serve_exit_codes']}"
        )
        lines += [f"  serve log: {problem}" for problem in r["serve_log_problems"]]
    ratio = report["two"]["msgs_per_s"] / report["one"]["msgs_per_s"]
    lines.append(f"two ÷ one: {ratio:.2f}")
    return "\n".join(lines)


def figures(report: dict[str, Any]) -> list[Figure]:
    one, two = report["one"], report["two"]
    return [
        Figure(
            key="two_hubs.msgs_per_s",
            label="two hubs on Redis vs one (closed loop)",
            value=two["msgs_per_s"],
            unit="msg/s",
            baseline_label="one process",
            baseline=one["msgs_per_s"],
            baseline_unit="msg/s",
            goal=f"≥ {GOAL_TWO_OVER_ONE}{X} while the DB is the limit",
            ratio_at_least=GOAL_TWO_OVER_ONE,
            detail=f"DB CPU {two['cpu_percent_of_one_core']['mongo']} % of a core (one hub: "
            f"{one['cpu_percent_of_one_core']['mongo']} %)",
        )
    ]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="The closed loop on two `openlines serve` processes on Redis against one."
    )
    parser.add_argument("--visitors", metavar="N", type=positive, help="widget visitors (20)")
    parser.add_argument("--operators", metavar="M", type=positive, help="operators (4)")
    parser.add_argument("--messages", metavar="K", type=positive, help="messages per visitor (25)")
    add_common(parser)
    return apply_defaults(
        parser.parse_args(argv),
        quick={"visitors": 4, "operators": 2, "messages": 5},
        full={"visitors": 20, "operators": 4, "messages": 25},
    )


def cli(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return run_cli(args, lambda: main(args), render, figures, "two hubs")


if __name__ == "__main__":
    sys.exit(cli())
