"""End-to-end ingest benchmark: visitor send -> stored in MongoDB -> event bus -> operator socket.

Runs a real ``openlines serve`` against an embedded SecantusDB, drives it with N widget visitors
and M operators over Socket.IO (a probe, the closed loop, then an open loop at half of the
closed loop's throughput), and compares the result with raw ``insert_one`` and ``insert_many``
baselines measured in the same run against the same database server. Its simulated people and
phases serve the other benches too (sustained.py, two_hubs.py). See docs/performance.md.

    .venv/bin/python bench/ingest.py [--visitors N] [--operators M] [--messages K]
                                     [--open-loop-s S] [--insert-many-batches B]
                                     [--redis] [--json PATH] [--keep] [--quick] [--runs R]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import re
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import bson
import redis.asyncio as aioredis
import socketio
from pymongo import AsyncMongoClient, WriteConcern

from hub.embedded import EmbeddedMongo

# Run as a plain script (``python bench/ingest.py``): make ``tests.support`` importable.
REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.harness import (  # noqa: E402
    BenchError,
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
from tests.support.clients import Api, new_msg_id  # noqa: E402
from tests.support.processes import ServeProcess  # noqa: E402

REDIS_URL = "redis://127.0.0.1:6379/0"
# The hub's database, and with it its Redis keys (``openlines:<db>:*``): one per bench process,
# because benches of other worktrees share the machine's Redis (a shared stream would hand
# this run's events to another run's consumers, and each run's clean-up would delete the other's).
MONGO_DB = f"bench{os.getpid()}"
BASELINE_DB = "bench_baseline"
ADMIN_EMAIL = "bench-admin@example.com"
ADMIN_PASSWORD = "bench admin password"
OPERATOR_NS = "/operator"
WIDGET_NS = "/widget"
# Every wait is bounded by this: a message not seen by its operator within it fails the run.
TIMEOUT_S = 30.0
BASELINE_WARMUP = 20
# Sent one at a time (each awaited at the operator) before the measured phase.
PROBE_MESSAGES = 20
CPU_ROLES = ("hub", "mongo", "bench")
# The open loop sends at this share of the closed-loop throughput measured in the same run.
OPEN_LOOP_SHARE = 0.5
INSERT_MANY_BATCH = 1000
# The settings' ceilings (hub/settings.py) per 10 s window: far above what the bench sends.
RATE_PER_VISITOR_MAX = 100_000
RATE_PER_IP_MAX = 1_000_000
# "The hub is idle": at most this many database operations (its pollers, our serverStatus)
# in this window. Busy, it does hundreds a second.
QUIET_WINDOW_S = 1.0
QUIET_OPS = 8
# A serve start imports everything first: seconds on an idle box, over a minute when the
# machine's load is 13 (other worktrees' tests and benches), as seen on 2026-12-03.
SERVE_START_S = 240.0


# --- the simulated people --------------------------------------------------------------------


@dataclass
class Sent:
    visitor: int
    conversation_id: str
    at: float


@dataclass
class Phase:
    """Messages sent in one phase and when their owning operator got them."""

    expected: int
    sent: dict[str, Sent] = field(default_factory=dict)  # text (unique id) -> send record
    received: dict[str, float] = field(default_factory=dict)  # text -> perf_counter at owner
    acks: list[float] = field(default_factory=list)
    duplicates: int = 0
    leaked: int = 0  # messages delivered to an operator who does not own the conversation
    all_received: asyncio.Event = field(default_factory=asyncio.Event)

    def latencies(self) -> list[float]:
        return [self.received[t] - s.at for t, s in self.sent.items() if t in self.received]


@dataclass
class Run:
    """What the bench process observed; written by the socket handlers."""

    owner: dict[str, int] = field(default_factory=dict)  # conversation id -> operator index
    already_taken: int = 0
    accept_not_found: int = 0
    accept_errors: list[str] = field(default_factory=list)
    phase: Phase | None = None

    def on_operator_message(self, operator: int, data: Any, at: float) -> None:
        phase = self.phase
        text = (data or {}).get("message", {}).get("text")
        sent = phase.sent.get(text) if phase and isinstance(text, str) else None
        if phase is None or sent is None:  # a set-up message, not part of a measured phase
            return
        if self.owner.get(sent.conversation_id) != operator:
            phase.leaked += 1
            return
        if text in phase.received:
            phase.duplicates += 1
            return
        phase.received[text] = at
        if len(phase.received) == phase.expected:
            phase.all_received.set()


class Operator:
    """One operator console: accepts every offer it gets and timestamps ``message:new``."""

    def __init__(self, index: int, token: str, run: Run) -> None:
        self.index = index
        self.token = token
        self.run = run
        self.sio = socketio.AsyncClient(reconnection=False)
        self.accepts: set[asyncio.Task[None]] = set()
        self.sio.on("conversation:offered", self._on_offered, namespace=OPERATOR_NS)
        self.sio.on("message:new", self._on_message, namespace=OPERATOR_NS)

    async def connect(self, url: str) -> None:
        try:
            await self.sio.connect(
                url,
                namespaces=[OPERATOR_NS],
                auth={"token": self.token},
                transports=["websocket"],
                wait_timeout=TIMEOUT_S,
            )
        except socketio.exceptions.ConnectionError as exc:
            raise BenchError(
                f"operator {self.index}: cannot connect to /operator: {exc}"
            ) from None
        ack = await self.sio.call(
            "status:set", {"status": "online"}, namespace=OPERATOR_NS, timeout=TIMEOUT_S
        )
        if not ack.get("ok"):
            raise BenchError(f"operator {self.index}: status:set failed: {ack}")

    async def _on_message(self, data: Any) -> None:
        self.run.on_operator_message(self.index, data, time.perf_counter())

    async def _on_offered(self, data: Any) -> None:
        conversation_id = data["conversation"]["id"]
        # Accepting awaits an ack: keep it off the receive path, and keep the task owned.
        task = asyncio.create_task(self._accept(conversation_id))
        self.accepts.add(task)
        task.add_done_callback(self.accepts.discard)

    async def _accept(self, conversation_id: str) -> None:
        try:
            ack = await self.sio.call(
                "conversation:accept",
                {"id": conversation_id},
                namespace=OPERATOR_NS,
                timeout=TIMEOUT_S,
            )
        except Exception as exc:
            self.run.accept_errors.append(f"operator {self.index}: {type(exc).__name__}: {exc}")
            return
        code = (ack.get("error") or {}).get("code")
        if ack.get("ok"):
            previous = self.run.owner.setdefault(conversation_id, self.index)
            if previous != self.index:
                self.run.accept_errors.append(
                    f"conversation {conversation_id} accepted by operators {previous} and "
                    f"{self.index}: two winners"
                )
        elif code == "already_taken":
            self.run.already_taken += 1
        elif code == "not_found":
            # A colleague's accept landed first and cleared ``offered_to``: the conversation
            # is now invisible to this operator, so the hub answers not_found, not
            # already_taken. Counted and reported; the set-up still checks every
            # conversation got exactly one owner.
            self.run.accept_not_found += 1
        else:
            self.run.accept_errors.append(f"operator {self.index}: {ack}")

    async def close(self) -> None:
        for task in list(self.accepts):
            task.cancel()
        await asyncio.gather(*self.accepts, return_exceptions=True)
        await _disconnect(self.sio)


class Visitor:
    """One widget visitor: one conversation, messages sent back to back."""

    def __init__(self, index: int, run: Run) -> None:
        self.index = index
        self.run = run
        self.conversation_id = ""
        self.sio = socketio.AsyncClient(reconnection=False)
        self._session: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.sio.on("session", self._on_session, namespace=WIDGET_NS)

    async def _on_session(self, data: Any) -> None:
        if not self._session.done():
            self._session.set_result(data)

    async def connect(self, url: str, key: str) -> None:
        try:
            await self.sio.connect(
                url,
                namespaces=[WIDGET_NS],
                auth={"key": key},
                transports=["websocket"],
                wait_timeout=TIMEOUT_S,
            )
        except socketio.exceptions.ConnectionError as exc:
            raise BenchError(f"visitor {self.index}: cannot connect to /widget: {exc}") from None
        try:
            await asyncio.wait_for(self._session, TIMEOUT_S)
        except TimeoutError:
            raise BenchError(
                f"visitor {self.index}: no `session` event in {TIMEOUT_S:.0f} s"
            ) from None

    async def send(self, text: str) -> dict[str, Any]:
        try:
            ack = await self.sio.call(
                "message:send",
                {"text": text, "client_msg_id": text},
                namespace=WIDGET_NS,
                timeout=TIMEOUT_S,
            )
        except socketio.exceptions.TimeoutError:
            raise BenchError(
                f"visitor {self.index}: no ack for message:send within {TIMEOUT_S:.0f} s"
            ) from None
        if not ack.get("ok"):
            hint = ""
            if (ack.get("error") or {}).get("code") == "rate_limited":
                hint = " (the hub's widget rate limit: check the OPENLINES_WIDGET_RATE_* settings)"
            raise BenchError(f"visitor {self.index}: message:send refused: {ack}{hint}")
        message: dict[str, Any] = ack["message"]
        return message

    async def open_conversation(self) -> None:
        message = await self.send(new_msg_id())
        self.conversation_id = message["conversation_id"]

    async def send_measured(self, phase: Phase, count: int, *, wait_each: bool = False) -> None:
        """Send ``count`` messages back to back (each after the previous ack); with
        ``wait_each``, also wait until the operator has it before sending the next."""
        for _ in range(count):
            text = new_msg_id()
            started = time.perf_counter()
            phase.sent[text] = Sent(self.index, self.conversation_id, started)
            message = await self.send(text)
            phase.acks.append(time.perf_counter() - started)
            if message["conversation_id"] != self.conversation_id:
                raise BenchError(
                    f"visitor {self.index}: message went to conversation "
                    f"{message['conversation_id']}, expected {self.conversation_id}"
                )
            if wait_each:
                await _until(
                    lambda t=text: t in phase.received,
                    f"message {text} at its operator",
                    poll_s=0.002,
                )

    async def send_one(self, phase: Phase) -> None:
        """One message, without waiting for earlier ones (the open loop)."""
        text = new_msg_id()
        started = time.perf_counter()
        phase.sent[text] = Sent(self.index, self.conversation_id, started)
        await self.send(text)
        phase.acks.append(time.perf_counter() - started)

    async def close(self) -> None:
        await _disconnect(self.sio)


async def _disconnect(sio: socketio.AsyncClient) -> None:
    with contextlib.suppress(Exception):
        if sio.connected:
            await asyncio.wait_for(sio.disconnect(), 10)


# --- phases ----------------------------------------------------------------------------------


async def _until(
    condition: Any, what: str, timeout_s: float = TIMEOUT_S, poll_s: float = 0.02
) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise BenchError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        await asyncio.sleep(poll_s)


async def _watchdog(run: Run, phase: Phase) -> None:
    """Fail the run as soon as any measured message is overdue at its operator."""
    while True:
        await asyncio.sleep(0.5)
        now = time.perf_counter()
        late = [
            (t, s)
            for t, s in phase.sent.items()
            if t not in phase.received and now - s.at > TIMEOUT_S
        ]
        if late:
            text, sent = late[0]
            raise BenchError(
                f"{len(late)} message(s) not received by their operator within "
                f"{TIMEOUT_S:.0f} s; first: text={text} visitor={sent.visitor} "
                f"conversation={sent.conversation_id} owner=operator "
                f"{run.owner.get(sent.conversation_id)} (received {len(phase.received)}/"
                f"{phase.expected}, leaked to others {phase.leaked})"
            )


async def _first_of(*aws: Any) -> None:
    """Await the first to finish; re-raise its error; cancel the others."""
    tasks = [asyncio.ensure_future(a) for a in aws]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            task.result()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _scrape_ingest(http: aiohttp.ClientSession, url: str) -> tuple[float, float]:
    """(sum seconds, count) of the hub's own ``openlines_ingest_seconds`` histogram."""
    async with http.get(url + "/metrics", timeout=aiohttp.ClientTimeout(total=10)) as response:
        text = await response.text()
    values = {}
    for name in ("sum", "count"):
        match = re.search(rf"^openlines_ingest_seconds_{name} (\S+)$", text, re.MULTILINE)
        values[name] = float(match.group(1)) if match else 0.0
    return values["sum"], values["count"]


def cpu_seconds() -> dict[str, float]:
    """CPU seconds (user + system) used so far by this process and its children by role:
    ``bench`` (this client), ``hub`` (openlines serve), ``mongo`` (SecantusDB)."""
    times = os.times()
    found = {"bench": times.user + times.system}
    tick = os.sysconf("SC_CLK_TCK")
    children: list[str] = []
    for path in Path("/proc/self/task").glob("*/children"):
        with contextlib.suppress(OSError):
            children += path.read_text().split()
    for pid in children:
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        role = "hub" if "hub.cli" in cmdline else "mongo" if "secantus" in cmdline else None
        if role:  # utime and stime are fields 14 and 15 of /proc/<pid>/stat
            found[role] = found.get(role, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return found


def _per_message(
    before: dict[str, int], after: dict[str, int], own_commands: int, messages: int
) -> dict[str, float]:
    ops = {k: after.get(k, 0) - before.get(k, 0) for k in after}
    ops["command"] = ops.get("command", 0) - own_commands
    return {k: round(v / messages, 2) for k, v in ops.items() if v > 0}


async def opcounters(mongo: AsyncMongoClient[dict[str, Any]]) -> dict[str, int]:
    status = await mongo.admin.command("serverStatus")
    return {k: int(v) for k, v in status.get("opcounters", {}).items()}


async def quiesce(
    mongo: AsyncMongoClient[dict[str, Any]], quiet_ops: int = QUIET_OPS
) -> float | None:
    """Wait until the hub stops working the database (its event subscribers may still be
    catching up after the sockets went quiet); seconds waited, None if not within TIMEOUT_S."""
    started = time.perf_counter()
    previous = sum((await opcounters(mongo)).values())
    while time.perf_counter() - started < TIMEOUT_S:
        await asyncio.sleep(QUIET_WINDOW_S)
        current = sum((await opcounters(mongo)).values())
        if current - previous <= quiet_ops:
            return round(time.perf_counter() - started - QUIET_WINDOW_S, 2)
        previous = current
    return None


async def setup_world(
    serve_urls: list[str],
    mongo: AsyncMongoClient[dict[str, Any]],
    http: aiohttp.ClientSession,
    run: Run,
    people: list[Operator | Visitor],
    *,
    visitors_n: int,
    operators_n: int,
) -> tuple[list[Visitor], list[Operator], list[int]]:
    """Operators online, one widget visitor per conversation, each conversation accepted by
    one operator; then wait until the hub is idle. People are spread round robin over
    ``serve_urls`` (two hubs on Redis: bench/two_hubs.py)."""
    admin = await Api(serve_urls[0], http).login(ADMIN_EMAIL, ADMIN_PASSWORD)
    staff = [await admin.create_user("operator") for _ in range(operators_n)]
    line = await admin.create_line(
        name="Bench",
        operators=[api.user["id"] for api in staff if api.user],
        max_active_per_operator=0,
    )
    widget = await admin.create_channel(line["id"], "widget", {"title": "Bench"})

    def url(index: int) -> str:
        return serve_urls[index % len(serve_urls)]

    operators = [Operator(i, api.token or "", run) for i, api in enumerate(staff)]
    people.extend(operators)
    await asyncio.gather(*(op.connect(url(op.index)) for op in operators))
    visitors = [Visitor(i, run) for i in range(visitors_n)]
    people.extend(visitors)
    await asyncio.gather(*(v.connect(url(v.index), widget["key"]) for v in visitors))

    # Set-up: one first message per visitor opens its conversation; an operator takes it.
    await asyncio.gather(*(v.open_conversation() for v in visitors))
    await _until(
        lambda: run.accept_errors or all(v.conversation_id in run.owner for v in visitors),
        f"all {len(visitors)} conversations to be accepted",
    )
    await _until(lambda: not any(op.accepts for op in operators), "accept calls to settle")
    if run.accept_errors:
        raise BenchError("conversation:accept failed: " + "; ".join(run.accept_errors[:5]))
    per_operator = [sum(1 for o in run.owner.values() if o == op.index) for op in operators]
    # Routing and timers finish reacting to the set-up (each hub has its own pollers).
    await quiesce(mongo, QUIET_OPS * len(serve_urls))
    return visitors, operators, per_operator


async def closed_loop(run: Run, visitors: list[Visitor], messages: int) -> tuple[Phase, float]:
    """Every visitor at once, ``messages`` each, each send after the previous ack; the phase
    and its wall time (start to the last delivery)."""
    phase = run.phase = Phase(expected=len(visitors) * messages)
    started = time.perf_counter()

    async def measured() -> None:
        await asyncio.gather(*(v.send_measured(phase, messages) for v in visitors))
        await phase.all_received.wait()

    await _first_of(measured(), _watchdog(run, phase))
    return phase, max(phase.received.values()) - started


async def open_loop(
    run: Run, visitors: list[Visitor], rate_per_s: float, duration_s: float
) -> dict[str, Any]:
    """Poisson arrivals at ``rate_per_s`` for ``duration_s``, each sent without waiting for
    any earlier ack (visitors taken in turn): latency as a steady arrival rate sees it, with
    no coordinated omission from a sender that waits."""
    rng = random.Random(16)
    schedule, at = [], 0.0
    while True:
        at += rng.expovariate(rate_per_s)
        if at > duration_s:
            break
        schedule.append(at)
    phase = run.phase = Phase(expected=len(schedule))
    late: list[float] = []  # how far behind its schedule each send started (a busy client)
    tasks: set[asyncio.Task[None]] = set()

    async def arrivals() -> None:
        started = time.perf_counter()
        for index, due in enumerate(schedule):
            delay = started + due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            late.append(max(0.0, -delay))
            task = asyncio.create_task(visitors[index % len(visitors)].send_one(phase))
            tasks.add(task)
        await asyncio.gather(*tasks)
        await phase.all_received.wait()

    try:
        await _first_of(arrivals(), _watchdog(run, phase))
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return {
        "rate_per_s": round(rate_per_s, 1),
        "duration_s": duration_s,
        "messages": len(phase.received),
        "end_to_end": summary_ms(phase.latencies()),
        "ack": summary_ms(phase.acks),
        "sender_behind_schedule": summary_ms(late),
        "duplicates": phase.duplicates,
        "leaked_to_other_operators": phase.leaked,
    }


async def bench_hub(
    args: argparse.Namespace,
    serve: ServeProcess,
    mongo_url: str,
    people: list[Operator | Visitor],
) -> dict[str, Any]:
    run = Run()
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url)
    async with aiohttp.ClientSession() as http, contextlib.AsyncExitStack() as stack:
        stack.push_async_callback(mongo.close)
        visitors, _, per_operator = await setup_world(
            [serve.url],
            mongo,
            http,
            run,
            people,
            visitors_n=args.visitors,
            operators_n=args.operators,
        )

        # Probe: one visitor, one message in flight at a time: the hub's service time.
        probe = run.phase = Phase(expected=PROBE_MESSAGES)
        await _first_of(
            visitors[0].send_measured(probe, PROBE_MESSAGES, wait_each=True),
            _watchdog(run, probe),
        )
        await quiesce(mongo)

        # Measured phase: every visitor at once, K messages each.
        ingest_sum0, ingest_count0 = await _scrape_ingest(http, serve.url)
        ops_before = await opcounters(mongo)
        cpu_before = cpu_seconds()
        phase, wall_s = await closed_loop(run, visitors, args.messages)
        cpu_after = cpu_seconds()
        ops_after = await opcounters(mongo)
        # Deferred work (event subscribers other than the realtime one) may still be queued.
        drain_s = await quiesce(mongo)
        ops_drained = await opcounters(mongo)
        ingest_sum1, ingest_count1 = await _scrape_ingest(http, serve.url)
        async with http.get(serve.url + "/healthz?verbose=1") as response:
            health = await response.json()

        # Open loop at half of the throughput just measured.
        opened = None
        if args.open_loop_s > 0:
            rate = len(phase.received) / wall_s * OPEN_LOOP_SHARE
            opened = await open_loop(run, visitors, rate, args.open_loop_s)
            await quiesce(mongo)

    cpu_busy = {  # share of one core during the measured phase
        role: round((cpu_after[role] - cpu_before.get(role, 0.0)) / wall_s * 100)
        for role in cpu_after
    }
    ingested = ingest_count1 - ingest_count0
    # Every database operation the server counted while the phase ran (the hub's, plus one
    # serverStatus of ours), per measured message.
    ops_per_message = _per_message(ops_before, ops_after, 1, len(phase.received))
    # The whole cost: until the hub went idle again (our serverStatus polls included).
    polls = 2 + round((drain_s or TIMEOUT_S) / QUIET_WINDOW_S)
    ops_total_per_message = _per_message(ops_before, ops_drained, polls, len(phase.received))
    return {
        "messages": len(phase.received),
        "wall_s": round(wall_s, 3),
        "msgs_per_s": round(len(phase.received) / wall_s, 1),
        "end_to_end": summary_ms(phase.latencies()),
        "ack": summary_ms(phase.acks),
        "server_ingest_mean_ms": (
            round((ingest_sum1 - ingest_sum0) / ingested * 1000, 2) if ingested else None
        ),
        "server_ingested": int(ingested),
        "cpu_percent_of_one_core": cpu_busy,
        "db_ops_per_message": ops_per_message,
        "db_ops_per_message_incl_deferred": ops_total_per_message,
        "deferred_drain_s": drain_s,
        "probe_messages": PROBE_MESSAGES,
        "probe_end_to_end": summary_ms(probe.latencies()),
        "probe_ack": summary_ms(probe.acks),
        "open_loop": opened,
        "conversations_per_operator": per_operator,
        "accept_already_taken": run.already_taken,
        "accept_not_found": run.accept_not_found,
        "duplicates": phase.duplicates + probe.duplicates,
        "leaked_to_other_operators": phase.leaked + probe.leaked,
        "health": health,
    }


async def bench_insert(url: str, count: int, *, journaled: bool) -> dict[str, Any]:
    """Sequential ``insert_one`` of small documents: the floor under any hub message write."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(url)
    try:
        name = "journaled" if journaled else "default"
        collection = client[BASELINE_DB].get_collection(
            name, write_concern=WriteConcern(j=True) if journaled else None
        )
        conversation_id = new_msg_id()[:24]

        def doc(seq: int) -> dict[str, Any]:
            return {"c": conversation_id, "s": seq, "t": new_msg_id(), "at": datetime.now(UTC)}

        for seq in range(BASELINE_WARMUP):  # connection pool and first-write costs
            await collection.insert_one(doc(-seq - 1))
        samples = []
        started = time.perf_counter()
        for seq in range(count):
            one = doc(seq)
            before = time.perf_counter()
            await collection.insert_one(one)
            samples.append(time.perf_counter() - before)
        wall_s = time.perf_counter() - started
        await client.drop_database(BASELINE_DB)
        return {
            "inserts": count,
            "doc_bytes": len(bson.encode(doc(0) | {"_id": bson.ObjectId()})),
            "wall_s": round(wall_s, 3),
            "inserts_per_s": round(count / wall_s, 1),
            "insert": summary_ms(samples),
        }
    finally:
        await client.close()


async def bench_insert_many(url: str, batches: int, batch_size: int) -> dict[str, Any]:
    """Journaled ``insert_many`` of ``batch_size`` documents, one batch after another: what
    one journal flush per batch buys on this server (the ceiling for group commit)."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(url)
    try:
        collection = client[BASELINE_DB].get_collection(
            "insert_many", write_concern=WriteConcern(j=True)
        )
        conversation_id = new_msg_id()[:24]

        def batch(first: int) -> list[dict[str, Any]]:
            at = datetime.now(UTC)
            return [
                {"c": conversation_id, "s": first + n, "t": new_msg_id(), "at": at}
                for n in range(batch_size)
            ]

        await collection.insert_many(batch(-batch_size))  # warm-up, not counted
        samples = []
        started = time.perf_counter()
        for number in range(batches):
            docs = batch(number * batch_size)
            before = time.perf_counter()
            await collection.insert_many(docs)
            samples.append(time.perf_counter() - before)
        wall_s = time.perf_counter() - started
        await client.drop_database(BASELINE_DB)
        return {
            "batches": batches,
            "batch_size": batch_size,
            "wall_s": round(wall_s, 3),
            "docs_per_s": round(batches * batch_size / wall_s, 1),
            "batch": summary_ms(samples),
        }
    finally:
        await client.close()


# --- the run ---------------------------------------------------------------------------------


def log_problems(path: Path, limit: int = 20) -> list[str]:
    """Warnings, errors and whole tracebacks from the serve log; repeats counted, not shown."""
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return []
    blocks: dict[str, int] = {}
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if line.startswith("Traceback"):
            block = [line]
            while index < len(lines) and lines[index][:1] in (" ", "\t"):
                block.append(lines[index])
                index += 1
            if index < len(lines):  # the exception line itself
                block.append(lines[index])
                index += 1
            text = "\n".join(block)
        elif re.search(r"\b(WARNING|ERROR|CRITICAL)\b", line):
            text = re.sub(r"^\d{4}-\d\d-\d\d [\d:,]+ ", "", line)  # drop the timestamp
        else:
            continue
        blocks[text] = blocks.get(text, 0) + 1
    shown = [f"[x{count}] {text}" if count > 1 else text for text, count in blocks.items()]
    return shown[:limit]


async def redis_reachable() -> None:
    client = aioredis.Redis.from_url(REDIS_URL)
    try:
        await asyncio.wait_for(client.ping(), 3)
    except Exception as exc:
        raise BenchError(
            f"--redis: cannot reach {REDIS_URL} ({type(exc).__name__}); "
            "run scripts/test-services.sh first"
        ) from None
    finally:
        await client.aclose()


async def redis_forget(db: str = MONGO_DB) -> None:
    """Drop this bench's stream and consumer groups so runs do not see each other's events."""
    client = aioredis.Redis.from_url(REDIS_URL)
    try:
        keys = [k async for k in client.scan_iter(f"openlines:{db}:*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


def hub_env(mongo_url: str, data_dir: Path, *, redis: bool, db: str = MONGO_DB) -> dict[str, str]:
    """The settings of every bench's ``openlines serve``."""
    env = {
        "OPENLINES_MONGO_URL": mongo_url,
        "OPENLINES_MONGO_DB": db,
        "OPENLINES_DATA_DIR": str(data_dir),
        "OPENLINES_SECRET_KEY": "bench-secret-key-not-for-production",
        "OPENLINES_ADMIN_EMAIL": ADMIN_EMAIL,
        "OPENLINES_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "OPENLINES_LOG_LEVEL": "WARNING",
        # Every simulated visitor shares 127.0.0.1 and types faster than a person: lift the
        # widget's per-visitor and per-IP send limits (the check itself still runs).
        "OPENLINES_WIDGET_RATE_MESSAGES": str(RATE_PER_VISITOR_MAX),
        "OPENLINES_WIDGET_RATE_IP_MESSAGES": str(RATE_PER_IP_MAX),
    }
    if redis:
        env["OPENLINES_REDIS_URL"] = REDIS_URL
    return env


async def main(args: argparse.Namespace) -> dict[str, Any]:
    report: dict[str, Any] = {
        "date": now_iso(),
        "machine": machine(),
        "params": {
            "visitors": args.visitors,
            "operators": args.operators,
            "messages_per_visitor": args.messages,
            "total_messages": args.visitors * args.messages,
            "bus": "redis" if args.redis else "in-memory",
            "open_loop_s": args.open_loop_s,
            "insert_many": f"{args.insert_many_batches} x {INSERT_MANY_BATCH}",
        },
    }
    tmp = Path(tempfile.mkdtemp(prefix="openlines-bench-"))
    mongo = EmbeddedMongo(tmp / "mongo-home")
    serve: ServeProcess | None = None
    people: list[Operator | Visitor] = []
    serve_log = tmp / "serve.log"
    ok = False
    try:
        if args.redis:
            await redis_reachable()
            await redis_forget()
        await asyncio.to_thread(mongo.start)
        env = hub_env(mongo.url, tmp / "data", redis=args.redis)
        serve = await ServeProcess(env, serve_log).start(SERVE_START_S)
        report["hub"] = await bench_hub(args, serve, mongo.url, people)
        await asyncio.gather(*(p.close() for p in people))
        people.clear()
        exit_code = await serve.stop()
        serve = None
        report["hub"]["serve_exit_code"] = exit_code
        report["hub"]["serve_log_problems"] = log_problems(serve_log)

        # Baselines against the same (now idle) database server, hub process stopped, through
        # the same URL as the hub (EmbeddedMongo.url: retryWrites=false, as the hub has it).
        total = args.visitors * args.messages
        report["baseline_journaled"] = await bench_insert(mongo.url, total, journaled=True)
        report["baseline_default"] = await bench_insert(mongo.url, total, journaled=False)
        report["baseline_insert_many"] = await bench_insert_many(
            mongo.url, args.insert_many_batches, INSERT_MANY_BATCH
        )
        hub = report["hub"]
        raw = report["baseline_journaled"]
        report["ratios"] = {
            "hub_msgs_per_s_over_raw_j_inserts_per_s": round(
                hub["msgs_per_s"] / raw["inserts_per_s"], 3
            ),
            "hub_p50_over_raw_j_insert_p50": round(
                hub["end_to_end"]["p50_ms"] / raw["insert"]["p50_ms"], 1
            ),
            "hub_probe_p50_over_raw_j_insert_p50": round(
                hub["probe_end_to_end"]["p50_ms"] / raw["insert"]["p50_ms"], 1
            ),
            "hub_msgs_per_s_over_raw_insert_many_docs_per_s": round(
                hub["msgs_per_s"] / report["baseline_insert_many"]["docs_per_s"], 4
            ),
        }
        if hub["open_loop"]:
            report["ratios"]["open_loop_p99_over_raw_j_insert_p99"] = round(
                hub["open_loop"]["end_to_end"]["p99_ms"] / raw["insert"]["p99_ms"], 2
            )
        # What the hub asks of the database per second, against what one client gets raw.
        hub_ops = sum(hub["db_ops_per_message_incl_deferred"].values()) * hub["msgs_per_s"]
        report["ratios"]["hub_db_ops_per_s_over_raw_j_inserts_per_s"] = round(
            hub_ops / raw["inserts_per_s"], 2
        )
        hub["db_ops_per_s"] = round(hub_ops, 1)
        finish_machine(report["machine"])
        ok = True
        return report
    finally:
        await asyncio.gather(*(p.close() for p in people), return_exceptions=True)
        if serve is not None:
            with contextlib.suppress(Exception):
                await serve.stop()
        if not ok:
            problems = log_problems(serve_log, limit=40)
            if problems:
                print("--- serve log (errors and warnings) ---", file=sys.stderr)
                print("\n".join(problems), file=sys.stderr)
        await asyncio.to_thread(mongo.stop)
        if args.redis:
            with contextlib.suppress(Exception):
                await redis_forget()
        if args.keep:
            print(f"kept {tmp} (serve.log, mongo-home/mongo.log)", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def figures(report: dict[str, Any], *, redis: bool) -> list[Figure]:
    """The issue's rows this run gives (docs/performance.md)."""
    hub, raw = report["hub"], report["baseline_journaled"]
    many = report["baseline_insert_many"]
    tag = "redis" if redis else "memory"
    where = " with `--redis`" if redis else ", in-memory bus"
    found = [
        Figure(
            key=f"ingest.{tag}.closed_loop",
            label=f"closed-loop ingest{where}",
            value=hub["msgs_per_s"],
            unit="msg/s",
            baseline_label="raw journaled `insert_one`",
            baseline=raw["inserts_per_s"],
            baseline_unit="/s",
            goal=f"≥ 0.9{X}" if redis else f"≥ 1.0{X}",
            ratio_at_least=0.9 if redis else 1.0,
            detail=f"ack p50 {hub['ack']['p50_ms']:.1f} ms, "
            f"e2e p50 {hub['end_to_end']['p50_ms']:.1f} ms",
        ),
        Figure(
            key=f"ingest.{tag}.vs_insert_many",
            label=f"closed-loop ingest{where} vs raw `insert_many`",
            value=hub["msgs_per_s"],
            unit="msg/s",
            baseline_label=f"journaled `insert_many` ({many['batch_size']} per batch)",
            baseline=many["docs_per_s"],
            baseline_unit="docs/s",
            goal=f"≥ 0.3{X}",
            ratio_at_least=0.3,
        ),
    ]
    opened = hub["open_loop"]
    if opened:
        found.append(
            Figure(
                key=f"ingest.{tag}.open_loop_p99",
                label=f"open loop at half of max{where}, end-to-end p99",
                value=opened["end_to_end"]["p99_ms"],
                unit="ms",
                baseline_label="raw journaled insert p99",
                baseline=raw["insert"]["p99_ms"],
                baseline_unit="ms",
                goal=f"≤ 3{X}",
                ratio_at_most=3.0,
                detail=f"p50 {opened['end_to_end']['p50_ms']:.1f} ms, ack p50 "
                f"{opened['ack']['p50_ms']:.1f} / p99 {opened['ack']['p99_ms']:.1f} ms at "
                f"{opened['rate_per_s']} msg/s",
            )
        )
        # Issue 16 point 3: delivery within 5 ms of the ack (p50), at half load.
        lag = opened["end_to_end"]["p50_ms"] - opened["ack"]["p50_ms"]
        found.append(
            Figure(
                key=f"ingest.{tag}.delivery_lag_p50",
                label=f"delivery lag behind the ack at half load{where}, p50",
                value=round(lag, 2),
                unit="ms",
                goal="≤ 5 ms",
                value_at_most=5.0,
            )
        )
    return found


def render(report: dict[str, Any]) -> str:
    machine, params, hub = report["machine"], report["params"], report["hub"]
    j, d, ratios = report["baseline_journaled"], report["baseline_default"], report["ratios"]
    versions = ", ".join(f"{k} {v}" for k, v in machine["versions"].items())
    rows: list[tuple[str, str]] = [
        ("date (UTC)", report["date"]),
        (
            "machine",
            f"{machine['nproc']} cores, Python {machine['python']}, {machine['platform']}",
        ),
        ("versions", f"{versions}; product source sha256 {machine['source_digest']}"),
        (
            "CPU pressure some avg10 start / end",
            f"{machine['cpu_pressure_avg10_at_start']} / {machine['cpu_pressure_avg10_at_end']} %"
            " (0 = nothing else wanted the CPUs)",
        ),
        (
            "load average start / end",
            f"{machine['loadavg_at_start']} / {machine['loadavg_at_end']}",
        ),
        (
            "parameters",
            f"{params['visitors']} visitors x {params['messages_per_visitor']} msgs, "
            f"{params['operators']} operators, bus {params['bus']}",
        ),
        ("", ""),
        ("HUB end to end (visitor send -> operator message:new)", ""),
        ("  messages received", f"{hub['messages']} / {params['total_messages']}"),
        ("  wall time", f"{hub['wall_s']:.2f} s"),
        ("  throughput (received / wall)", f"{hub['msgs_per_s']:.1f} msgs/s"),
        ("  latency p50 / p99 / max", _lat(hub["end_to_end"])),
        ("  ack (send -> ack) p50 / p99 / max", _lat(hub["ack"])),
        (
            "  CPU, % of one core (hub/mongo/bench)",
            " / ".join(str(hub["cpu_percent_of_one_core"].get(k, "?")) for k in CPU_ROLES),
        ),
        (
            "  DB ops per message, during the phase",
            ", ".join(f"{k} {v}" for k, v in hub["db_ops_per_message"].items()),
        ),
        (
            "  DB ops per message, until hub idle",
            ", ".join(f"{k} {v}" for k, v in hub["db_ops_per_message_incl_deferred"].items()),
        ),
        (
            "  hub busy after the last delivery",
            f"{hub['deferred_drain_s']} s"
            if hub["deferred_drain_s"] is not None
            else f"still busy after {TIMEOUT_S:.0f} s",
        ),
        ("  hub-side ingest mean (/metrics)", f"{hub['server_ingest_mean_ms']} ms"),
        (f"HUB probe ({hub['probe_messages']} msgs, one in flight)", ""),
        ("  latency p50 / p99 / max", _lat(hub["probe_end_to_end"])),
        ("  ack p50 / p99 / max", _lat(hub["probe_ack"])),
        *_open_loop_rows(hub["open_loop"]),
        ("HUB checks", ""),
        ("  conversations per operator", str(hub["conversations_per_operator"])),
        (
            "  losing accepts: already_taken / not_found",
            f"{hub['accept_already_taken']} / {hub['accept_not_found']}",
        ),
        (
            "  duplicates / leaked to others",
            f"{hub['duplicates']} / {hub['leaked_to_other_operators']}",
        ),
        (
            "  hub failures: emit / handler / publish",
            " / ".join(
                str(hub["health"].get("counters", {}).get(k, "?"))
                for k in ("emit_failures", "event_handler_failures", "event_publish_failures")
            ),
        ),
        (
            "  serve exit code / log problems",
            f"{hub['serve_exit_code']} / {len(hub['serve_log_problems'])} lines",
        ),
        ("", ""),
        (f"RAW insert_one j=True ({j['doc_bytes']} B docs, sequential)", ""),
        (
            "  throughput",
            f"{j['inserts_per_s']:.1f} inserts/s ({j['inserts']} in {j['wall_s']:.2f} s)",
        ),
        ("  latency p50 / p99 / max", _lat(j["insert"])),
        ("RAW insert_one default write concern", ""),
        (
            "  throughput",
            f"{d['inserts_per_s']:.1f} inserts/s ({d['inserts']} in {d['wall_s']:.2f} s)",
        ),
        ("  latency p50 / p99 / max", _lat(d["insert"])),
        (
            f"RAW insert_many j=True ({report['baseline_insert_many']['batch_size']} per batch, "
            "sequential)",
            "",
        ),
        (
            "  throughput",
            f"{report['baseline_insert_many']['docs_per_s']:.0f} docs/s "
            f"({report['baseline_insert_many']['batches']} batches in "
            f"{report['baseline_insert_many']['wall_s']:.2f} s)",
        ),
        ("  batch latency p50 / p99 / max", _lat(report["baseline_insert_many"]["batch"])),
        ("", ""),
        ("RATIOS", ""),
        ("  hub msgs/s / raw j insert/s", f"{ratios['hub_msgs_per_s_over_raw_j_inserts_per_s']}"),
        ("  hub p50 / raw j insert p50", f"{ratios['hub_p50_over_raw_j_insert_p50']}x"),
        (
            "  hub probe p50 / raw j insert p50",
            f"{ratios['hub_probe_p50_over_raw_j_insert_p50']}x",
        ),
        (
            f"  hub DB ops/s ({hub['db_ops_per_s']}) / raw j insert/s",
            f"{ratios['hub_db_ops_per_s_over_raw_j_inserts_per_s']}",
        ),
        (
            "  hub msgs/s / raw insert_many docs/s",
            f"{ratios['hub_msgs_per_s_over_raw_insert_many_docs_per_s']}",
        ),
    ]
    if "open_loop_p99_over_raw_j_insert_p99" in ratios:
        rows.append(
            (
                "  open loop p99 / raw j insert p99",
                f"{ratios['open_loop_p99_over_raw_j_insert_p99']}x",
            )
        )
    if machine["source_changed_during_run"]:
        rows.insert(5, ("WARNING", "product source files changed during the run"))
    width = max(len(k) for k, _ in rows) + 2
    lines = [f"{k:<{width}}{v}" if v else k for k, v in rows]
    for problem in hub["serve_log_problems"]:
        lines.append(f"  serve log: {problem}")
    bar = "=" * min(99, max(len(line) for line in lines))
    return "\n".join([bar, "OpenLines ingest benchmark", bar, *lines, bar])


def _open_loop_rows(opened: dict[str, Any] | None) -> list[tuple[str, str]]:
    if not opened:
        return []
    return [
        (
            f"HUB open loop ({opened['rate_per_s']} msg/s Poisson, half of the closed loop, "
            f"{opened['duration_s']:.0f} s)",
            "",
        ),
        ("  messages received", str(opened["messages"])),
        ("  latency p50 / p99 / max", _lat(opened["end_to_end"])),
        ("  ack p50 / p99 / max", _lat(opened["ack"])),
        ("  sender behind schedule p99", f"{opened['sender_behind_schedule']['p99_ms']} ms"),
    ]


def _lat(figures: dict[str, float]) -> str:
    return f"{figures['p50_ms']:.1f} / {figures['p99_ms']:.1f} / {figures['max_ms']:.1f} ms"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="End-to-end message throughput and latency of `openlines serve`, "
        "against raw MongoDB insert_one and insert_many baselines measured in the same run."
    )
    parser.add_argument(
        "--visitors", metavar="N", type=positive, default=None, help="widget visitors (N, 20)"
    )
    parser.add_argument(
        "--operators", metavar="M", type=positive, default=None, help="operators (M, 4)"
    )
    parser.add_argument(
        "--messages",
        metavar="K",
        type=positive,
        default=None,
        help="measured messages per visitor (K, 25)",
    )
    parser.add_argument(
        "--redis", action="store_true", help=f"run the hub with OPENLINES_REDIS_URL={REDIS_URL}"
    )
    parser.add_argument(
        "--open-loop-s",
        metavar="S",
        type=float,
        default=None,
        help="seconds of the open loop at half of the closed-loop throughput (10; 0: none)",
    )
    parser.add_argument(
        "--insert-many-batches",
        metavar="B",
        type=positive,
        default=None,
        help=f"batches of {INSERT_MANY_BATCH} documents in the insert_many baseline (10)",
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the temporary directory (serve and mongo logs)"
    )
    add_common(parser)
    return apply_defaults(
        parser.parse_args(argv),
        quick={
            "visitors": 4,
            "operators": 2,
            "messages": 5,
            "open_loop_s": 2.0,
            "insert_many_batches": 2,
        },
        full={
            "visitors": 20,
            "operators": 4,
            "messages": 25,
            "open_loop_s": 10.0,
            "insert_many_batches": 10,
        },
    )


def cli(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    title = "ingest" + (" --redis" if args.redis else "")
    return run_cli(args, lambda: main(args), render, lambda r: figures(r, redis=args.redis), title)


if __name__ == "__main__":
    sys.exit(cli())
