"""Two hubs on Redis against one on a fan-out-bound load: many staff sockets watching the same
conversations and few messages, so delivering to sockets, not the database, is the limit.

The staff sockets are the admin's (the ``admins`` room hears every message of every
conversation), in client processes of their own (``bench/fanout.py``'s raw engine.io clients);
a few widget visitors send their messages all at once (none waits for an ack). Sockets
and visitors are spread round robin over the hubs, which share one SecantusDB and one Redis.
The figure is deliveries per second, from the first send to the last delivery; every socket
must get every message exactly once. With two hubs each process writes to half of the
sockets: the goal is two ÷ one ≥ 1.8. Each run measures one hub, then two, so ``--runs``
alternates them. See docs/performance.md.

    .venv/bin/python bench/two_hubs_fanout.py [--sockets S] [--visitors N] [--messages K]
                                              [--clients C] [--json PATH] [--quick] [--runs R]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
from pymongo import AsyncMongoClient

# Run as a plain script (``python bench/two_hubs_fanout.py``): make ``bench`` importable.
REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.fanout import Clients  # noqa: E402
from bench.harness import (  # noqa: E402
    BenchError,
    Figure,
    X,
    add_common,
    apply_defaults,
    machine,
    now_iso,
    positive,
    run_cli,
)
from bench.ingest import (  # noqa: E402
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    CPU_ROLES,
    MONGO_DB,
    SERVE_START_S,
    Run,
    Visitor,
    cpu_seconds,
    hub_env,
    log_problems,
    quiesce,
    redis_forget,
)
from bench.two_hubs import one_then_two  # noqa: E402
from tests.support.clients import Api  # noqa: E402
from tests.support.processes import ServeProcess  # noqa: E402

GOAL_TWO_OVER_ONE = 1.8


async def measure(
    args: argparse.Namespace, mongo_url: str, tmp: Path, clients: Clients, processes: int
) -> dict[str, Any]:
    """``processes`` hubs on one fresh database (and its Redis keys); the staff sockets and
    the visitors spread over them round robin; each hub stopped after."""
    db = f"{MONGO_DB}_fanout{processes}"
    await redis_forget(db)
    serves: list[ServeProcess] = []
    visitors: list[Visitor] = []
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url)
    logs = [tmp / f"serve-{processes}-{n}.log" for n in range(processes)]
    try:
        await mongo.drop_database(db)
        for number in range(processes):  # one after the other: the first seeds the admin
            env = hub_env(mongo_url, tmp / f"data-{processes}-{number}", redis=True, db=db)
            serves.append(await ServeProcess(env, logs[number]).start(SERVE_START_S))
        urls = [s.url for s in serves]
        marker = f"fanout-{time.time_ns()}"
        async with aiohttp.ClientSession() as http:
            admin = await Api(urls[0], http).login(ADMIN_EMAIL, ADMIN_PASSWORD)
            line = await admin.create_line(name="Bench", operators=[])
            widget = await admin.create_channel(line["id"], "widget", {"title": "Bench"})
            shares = await clients.connect(urls, admin.token or "", args.sockets, marker)
            run = Run()
            visitors = [Visitor(i, run) for i in range(args.visitors)]
            await asyncio.gather(
                *(v.connect(urls[v.index % len(urls)], widget["key"]) for v in visitors)
            )
            # Set-up: each visitor's first message opens its conversation (not counted).
            await asyncio.gather(*(v.open_conversation() for v in visitors))
            await quiesce(mongo, 8 * processes)

            # Every message at once (none waits for an ack): the hubs store them in a few
            # batches, and what remains is delivering them to every socket.
            sends = [
                v.send(f"{marker} visitor {v.index} message {n}")
                for v in visitors
                for n in range(args.messages)
            ]
            before = cpu_seconds()
            started_ns = time.monotonic_ns()
            await asyncio.gather(*sends)
            acked_s = (time.monotonic_ns() - started_ns) / 1e9
            messages = args.visitors * args.messages
            got, last_ns, fewest, most = await clients.wait([s * messages for s in shares])
            after = cpu_seconds()
            await clients.close()
        if got != args.sockets * messages or fewest != most:
            raise BenchError(
                f"{processes} hub(s): {got} of {args.sockets * messages} deliveries; one "
                f"socket got {fewest}, another {most} (each must get all {messages} once)"
            )
        wall_s = (last_ns - started_ns) / 1e9
        await asyncio.gather(*(v.close() for v in visitors))
        visitors.clear()
        exits = [await s.stop() for s in serves]
        serves.clear()
        return {
            "processes": processes,
            "sockets": args.sockets,
            "messages": messages,
            "deliveries": got,
            "wall_s": round(wall_s, 3),
            "acked_s": round(acked_s, 3),
            "deliveries_per_s": round(got / wall_s),
            "cpu_percent_of_one_core": {
                role: round((after.get(role, 0.0) - before.get(role, 0.0)) / wall_s * 100)
                for role in CPU_ROLES
            },
            "serve_exit_codes": exits,
            "serve_log_problems": [p for log in logs for p in log_problems(log)],
        }
    finally:
        with contextlib.suppress(Exception):
            await clients.close()
        await asyncio.gather(*(v.close() for v in visitors), return_exceptions=True)
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
            "sockets": args.sockets,
            "visitors": args.visitors,
            "messages_per_visitor": args.messages,
            "client_processes": args.clients,
            "bus": "redis",
        },
    }
    clients = Clients(args.clients)
    try:
        return await one_then_two(
            report,
            "openlines-bench-fanout2-",
            lambda mongo_url, tmp, processes: measure(args, mongo_url, tmp, clients, processes),
        )
    finally:
        await clients.stop()


def render(report: dict[str, Any]) -> str:
    lines = []
    for name in ("one", "two"):
        r = report[name]
        cpu = " / ".join(str(r["cpu_percent_of_one_core"][k]) for k in CPU_ROLES)
        lines.append(
            f"{r['processes']} hub(s): {r['deliveries_per_s']} deliveries/s ({r['messages']} "
            f"messages to {r['sockets']} sockets in {r['wall_s']} s, all acked after "
            f"{r['acked_s']} s), CPU % of a core hub/mongo/bench {cpu}, exits "
            f"{r['serve_exit_codes']}"
        )
        lines += [f"  serve log: {problem}" for problem in r["serve_log_problems"]]
    ratio = report["two"]["deliveries_per_s"] / report["one"]["deliveries_per_s"]
    lines.append(f"two ÷ one: {ratio:.2f}")
    return "\n".join(lines)


def figures(report: dict[str, Any]) -> list[Figure]:
    one, two = report["one"], report["two"]
    return [
        Figure(
            key="two_hubs_fanout.deliveries_per_s",
            label=f"two hubs on Redis vs one, fan-out bound ({two['sockets']} staff sockets)",
            value=two["deliveries_per_s"],
            unit="deliveries/s",
            baseline_label="one hub",
            baseline=one["deliveries_per_s"],
            baseline_unit="deliveries/s",
            goal=f"≥ {GOAL_TWO_OVER_ONE}{X} on a fan-out-bound load",
            ratio_at_least=GOAL_TWO_OVER_ONE,
            detail=f"last ack after {two['acked_s']} s of {two['wall_s']} s; hub CPU "
            f"{two['cpu_percent_of_one_core']['hub']} % of a core (one hub: "
            f"{one['cpu_percent_of_one_core']['hub']} %)",
        )
    ]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Fan-out to many staff sockets on two `openlines serve` processes on Redis "
        "against one."
    )
    parser.add_argument("--sockets", metavar="S", type=positive, help="staff sockets (600)")
    parser.add_argument("--visitors", metavar="N", type=positive, help="widget visitors (4)")
    parser.add_argument("--messages", metavar="K", type=positive, help="messages per visitor (5)")
    parser.add_argument(
        "--clients", metavar="C", type=positive, help="client processes for the sockets (4)"
    )
    add_common(parser)
    return apply_defaults(
        parser.parse_args(argv),
        quick={"sockets": 20, "visitors": 2, "messages": 3, "clients": 2},
        full={"sockets": 600, "visitors": 4, "messages": 5, "clients": 4},
    )


def cli(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return run_cli(args, lambda: main(args), render, figures, "two hubs, fan-out")


if __name__ == "__main__":
    sys.exit(cli())
