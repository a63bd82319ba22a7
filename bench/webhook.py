"""Telegram webhook ack under load: how long ``POST /hooks/telegram/<channel>`` takes to answer
(verify, normalise, persist, ack) with 1 and 5 concurrent senders back to back, then with an
open loop at half of the 5-sender throughput. The Bot API is the local fake of the tests
(tests/fakes/telegram.py), so the channel's set-up and any reply succeed. Baseline: raw
journaled ``insert_one`` p99 on the same server, hub stopped (every webhook ends in one).
See docs/performance.md.

    .venv/bin/python bench/webhook.py [--updates U] [--open-loop-s S] [--redis]
                                      [--json PATH] [--quick] [--runs R]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

# Run as a plain script (``python bench/webhook.py``): make ``bench`` importable.
REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.harness import (  # noqa: E402
    BenchError,
    Figure,
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
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    OPEN_LOOP_SHARE,
    SERVE_START_S,
    TIMEOUT_S,
    bench_insert,
    hub_env,
    log_problems,
    redis_forget,
    redis_reachable,
)
from hub.embedded import EmbeddedMongo  # noqa: E402
from tests.fakes.telegram import FakeBotApi  # noqa: E402
from tests.support.clients import Api  # noqa: E402
from tests.support.processes import ServeProcess  # noqa: E402

TOKEN = "123456:BENCH-token_abcdefghijklmnopqrstuv"
PUBLIC_URL = "https://hub.example.com"
CHATS = 20  # updates come from this many Telegram chats, in turn
GOAL_P99_MS = 50.0
SENDERS = (1, 5)


class Hook:
    """Posts text updates to one Telegram channel's webhook; unique update and message ids."""

    def __init__(self, http: aiohttp.ClientSession, url: str, secret: str) -> None:
        self.http = http
        self.url = url
        self.headers = {"X-Telegram-Bot-Api-Secret-Token": secret}
        self.ids = itertools.count(1)

    def update(self) -> dict[str, Any]:
        n = next(self.ids)
        person = {"id": 500_000 + n % CHATS, "is_bot": False, "first_name": f"Bench {n % CHATS}"}
        return {
            "update_id": 800_000 + n,
            "message": {
                "message_id": n,
                "from": person,
                "chat": {**person, "type": "private"},
                "date": int(time.time()),
                "text": f"bench {n}",
            },
        }

    async def post(self) -> float:
        """Seconds until the webhook answered; a non-200 fails the run."""
        body = self.update()
        started = time.perf_counter()
        async with self.http.post(
            self.url,
            json=body,
            headers=self.headers,
            timeout=aiohttp.ClientTimeout(total=TIMEOUT_S),
        ) as response:
            await response.read()
            took = time.perf_counter() - started
            if response.status != 200:
                raise BenchError(f"webhook answered {response.status} to {body['update_id']}")
        return took


async def closed(hook: Hook, senders: int, updates: int) -> dict[str, Any]:
    """``senders`` concurrent senders, each posting after the previous answer."""
    samples: list[float] = []

    async def sender(count: int) -> None:
        for _ in range(count):
            samples.append(await hook.post())

    started = time.perf_counter()
    share, extra = divmod(updates, senders)
    await asyncio.gather(*(sender(share + (i < extra)) for i in range(senders)))
    wall_s = time.perf_counter() - started
    return {
        "senders": senders,
        "updates": len(samples),
        "updates_per_s": round(len(samples) / wall_s, 1),
        "answer": summary_ms(samples),
    }


async def opened(hook: Hook, rate_per_s: float, duration_s: float) -> dict[str, Any]:
    """Poisson arrivals at ``rate_per_s``, each posted without waiting for earlier answers."""
    rng = random.Random(16)
    samples: list[float] = []
    tasks: list[asyncio.Task[None]] = []

    async def one() -> None:
        samples.append(await hook.post())

    started = time.perf_counter()
    due = rng.expovariate(rate_per_s)
    try:
        while due <= duration_s:
            delay = started + due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one()))
            due += rng.expovariate(rate_per_s)
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return {
        "rate_per_s": round(rate_per_s, 1),
        "duration_s": duration_s,
        "updates": len(samples),
        "answer": summary_ms(samples),
    }


async def main(args: argparse.Namespace) -> dict[str, Any]:
    report: dict[str, Any] = {
        "date": now_iso(),
        "machine": machine(),
        "params": {
            "updates_per_closed_loop": args.updates,
            "open_loop_s": args.open_loop_s,
            "chats": CHATS,
            "bus": "redis" if args.redis else "in-memory",
        },
    }
    tmp = Path(tempfile.mkdtemp(prefix="openlines-bench-webhook-"))
    mongo = EmbeddedMongo(tmp / "mongo-home")
    fake = FakeBotApi()
    serve: ServeProcess | None = None
    serve_log = tmp / "serve.log"
    try:
        if args.redis:
            await redis_reachable()
            await redis_forget()
        await fake.start()
        fake.add_bot(TOKEN)
        await asyncio.to_thread(mongo.start)
        env = hub_env(mongo.url, tmp / "data", redis=args.redis) | {
            "OPENLINES_PUBLIC_URL": PUBLIC_URL,
            "OPENLINES_ALLOW_PRIVATE_URLS": "true",  # the fake Bot API is on 127.0.0.1
        }
        serve = await ServeProcess(env, serve_log).start(SERVE_START_S)
        async with aiohttp.ClientSession() as http:
            admin = await Api(serve.url, http).login(ADMIN_EMAIL, ADMIN_PASSWORD)
            line = await admin.create_line(name="Bench webhook")
            channel = await admin.create_channel(
                line["id"],
                "telegram",
                {"bot_token": TOKEN, "mode": "webhook", "api_base": fake.base_url},
            )
            url = f"{serve.url}/hooks/telegram/{channel['id']}"
            hook = Hook(http, url, channel["webhook_secret"])
            await closed(hook, 1, CHATS)  # warm-up: every chat's client and conversation
            phases: dict[str, Any] = {}
            for senders in SENDERS:
                phases[f"closed_{senders}"] = await closed(hook, senders, args.updates)
            rate = phases[f"closed_{SENDERS[-1]}"]["updates_per_s"] * OPEN_LOOP_SHARE
            phases["open_half"] = await opened(hook, rate, args.open_loop_s)
        report.update(phases)
        report["serve_exit_code"] = await serve.stop()
        serve = None
        report["serve_log_problems"] = log_problems(serve_log)
        report["baseline_journaled"] = await bench_insert(mongo.url, args.updates, journaled=True)
        finish_machine(report["machine"])
        return report
    finally:
        if serve is not None:
            with contextlib.suppress(Exception):
                await serve.stop()
        await fake.close()
        await asyncio.to_thread(mongo.stop)
        if args.redis:
            with contextlib.suppress(Exception):
                await redis_forget()
        shutil.rmtree(tmp, ignore_errors=True)


def render(report: dict[str, Any]) -> str:
    lines = []
    for senders in SENDERS:
        r = report[f"closed_{senders}"]
        a = r["answer"]
        lines.append(
            f"{senders} sender(s), back to back: {r['updates_per_s']} updates/s, answer "
            f"p50/p99/max {a['p50_ms']}/{a['p99_ms']}/{a['max_ms']} ms"
        )
    r = report["open_half"]
    a = r["answer"]
    lines.append(
        f"open loop at {r['rate_per_s']}/s (half of {SENDERS[-1]} senders' max): answer "
        f"p50/p99/max {a['p50_ms']}/{a['p99_ms']}/{a['max_ms']} ms ({r['updates']} updates)"
    )
    raw = report["baseline_journaled"]["insert"]
    lines.append(f"raw j insert_one p50/p99: {raw['p50_ms']}/{raw['p99_ms']} ms")
    lines.append(
        f"serve exit {report['serve_exit_code']}, {len(report['serve_log_problems'])} log problems"
    )
    lines += [f"  serve log: {problem}" for problem in report["serve_log_problems"]]
    return "\n".join(lines)


def figures(report: dict[str, Any], *, redis: bool) -> list[Figure]:
    raw_p99 = report["baseline_journaled"]["insert"]["p99_ms"]
    tag = "redis" if redis else "memory"
    where = " with `--redis`" if redis else ""
    found = []
    for senders in SENDERS:
        r = report[f"closed_{senders}"]
        found.append(
            Figure(
                key=f"webhook.{tag}.closed_{senders}_p99",
                label=f"Telegram webhook answer p99, {senders} sender(s) back to back{where}",
                value=r["answer"]["p99_ms"],
                unit="ms",
                baseline_label="raw journaled insert p99",
                baseline=raw_p99,
                baseline_unit="ms",
                goal="(full load)",
                detail=f"p50 {r['answer']['p50_ms']:.1f} ms at {r['updates_per_s']} updates/s",
            )
        )
    r = report["open_half"]
    found.append(
        Figure(
            key=f"webhook.{tag}.half_load_p99",
            label=f"Telegram webhook answer p99 at half load{where}",
            value=r["answer"]["p99_ms"],
            unit="ms",
            baseline_label="raw journaled insert p99",
            baseline=raw_p99,
            baseline_unit="ms",
            goal=f"≤ {GOAL_P99_MS:.0f} ms",
            value_at_most=GOAL_P99_MS,
            detail=f"p50 {r['answer']['p50_ms']:.1f} ms at {r['rate_per_s']} updates/s",
        )
    )
    return found


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Telegram webhook answer time of `openlines serve` under load."
    )
    parser.add_argument(
        "--updates", metavar="U", type=positive, help="updates per back-to-back phase (200)"
    )
    parser.add_argument(
        "--open-loop-s", metavar="S", type=float, help="seconds of the open loop (10)"
    )
    parser.add_argument("--redis", action="store_true", help="run the hub on Redis")
    add_common(parser)
    return apply_defaults(
        parser.parse_args(argv),
        quick={"updates": 20, "open_loop_s": 2.0},
        full={"updates": 200, "open_loop_s": 10.0},
    )


def cli(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    title = "webhook" + (" --redis" if args.redis else "")
    return run_cli(args, lambda: main(args), render, lambda r: figures(r, redis=args.redis), title)


if __name__ == "__main__":
    sys.exit(cli())
