"""Idle widget sockets against a real ``openlines serve``: memory per socket, connect rate,
close time, stop time and idle CPU for N sockets (10k by default). See issue 16, point 5.

The clients speak engine.io v4 / Socket.IO v5 over websockets written by hand on asyncio
protocols (a python-socketio client per socket, or aiohttp's websocket client, costs too much
per connect: the load client must be far cheaper than the hub), from ``--clients`` processes of
their own, visitors coming from many loopback addresses:

    .venv/bin/python bench/sockets.py [--sockets N] [--clients 2] [--idle-s 30] [--json PATH]

Phases: N new visitors connect (a cold storm); RSS and idle CPU with N open; every client
closes (close time: until the hub counts no widget socket); the same visitors reconnect with
their tokens (a reconnect storm); SIGTERM with N open (stop time); a new hub on the same data,
and the N reconnect again (the storm after a restart).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import multiprocessing
import os
import resource
import shutil
import sys
import tempfile
import time
import urllib.parse
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import aiohttp

from hub.embedded import EmbeddedMongo

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.support.clients import Api  # noqa: E402
from tests.support.processes import ServeProcess  # noqa: E402

ADMIN_EMAIL = "bench-admin@example.com"
ADMIN_PASSWORD = "bench admin password"
UNLIMITED = 1_000_000_000
TIMEOUT_S = 120.0
# A loaded box takes its time to import and start a hub.
START_TIMEOUT_S = 240.0
# Sockets each client process has opening at once.
IN_FLIGHT = 100
GOALS = {
    "connects_per_s": 1000.0,
    "close_s": 5.0,
    "stop_s": 10.0,
    "rss_kib_per_socket": 25.0,
    "idle_cpu_percent": 10.0,
}


# --- the client processes ----------------------------------------------------------------------


class _Visitor(asyncio.Protocol):
    """One widget visitor on a raw websocket, written by hand on an asyncio protocol: the
    handshake, engine.io's open and pings, Socket.IO's connect to ``/widget``: a few writes
    and parses per connect, far cheaper than the hub's side, so the load client is not what a
    storm measures."""

    def __init__(self, host: str, key: str, token: str | None, done: asyncio.Future[Any]) -> None:
        self._request = (
            f"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: {host}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {_WS_KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
        auth: dict[str, str] = {"key": key}
        if token:
            auth["token"] = token
        self._connect = "40/widget," + json.dumps(auth)
        self._done = done
        self._buffer = b""
        self._upgraded = False
        self.transport: asyncio.Transport | None = None
        self.token: str | None = None
        self.lost: asyncio.Future[None] = done.get_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(self._request)

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if not self._upgraded:
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            if not self._buffer.startswith(b"HTTP/1.1 101"):
                self._finish(None)
                return
            self._upgraded = True
            self._buffer = self._buffer[end + 4 :]
        while (frame := _read_frame(self._buffer)) is not None:
            opcode, text, used = frame
            self._buffer = self._buffer[used:]
            if opcode == 0x8:  # close
                self.close()
            elif opcode == 0x1:
                self._on_text(text)

    def _on_text(self, text: str) -> None:
        if text == "2":
            self.send("3")
        elif text.startswith("0{"):
            self.send(self._connect)
        elif text.startswith("44/widget,"):  # refused
            self._finish(None)
        elif text.startswith('42/widget,["session",'):
            self.token = json.loads(text[len("42/widget,") :])[1]["token"]
            self._finish(self)

    def _finish(self, result: _Visitor | None) -> None:
        if not self._done.done():
            self._done.set_result(result)
        if result is None:
            self.close()

    def send(self, text: str) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(_client_frame(0x1, text.encode()))

    def close(self) -> None:
        """A close frame, then the end of the connection (the hub answers it or not)."""
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(_client_frame(0x8, b"\x03\xe8"))
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self._done.done():
            self._done.set_result(None)
        if not self.lost.done():
            self.lost.set_result(None)


_WS_KEY = base64.b64encode(b"openlines-bench!").decode()


def _client_frame(opcode: int, payload: bytes) -> bytes:
    """A final client frame; masked (clients must) with a zero key, so the payload is as is."""
    size = len(payload)
    if size < 126:
        header = bytes((0x80 | opcode, 0x80 | size))
    elif size < 1 << 16:
        header = bytes((0x80 | opcode, 0x80 | 126)) + size.to_bytes(2, "big")
    else:
        header = bytes((0x80 | opcode, 0x80 | 127)) + size.to_bytes(8, "big")
    return header + b"\0\0\0\0" + payload


def _read_frame(buffer: bytes) -> tuple[int, str, int] | None:
    """The first whole (unmasked, unfragmented) server frame: opcode, text, bytes used."""
    if len(buffer) < 2:
        return None
    opcode, size, start = buffer[0] & 0x0F, buffer[1] & 0x7F, 2
    if size == 126:
        if len(buffer) < 4:
            return None
        size, start = int.from_bytes(buffer[2:4], "big"), 4
    elif size == 127:
        if len(buffer) < 10:
            return None
        size, start = int.from_bytes(buffer[2:10], "big"), 10
    if len(buffer) < start + size:
        return None
    payload = buffer[start : start + size]
    return opcode, payload.decode("utf-8", "replace") if opcode == 0x1 else "", start + size


async def _one(
    host: str, port: int, key: str, token: str | None, source: str, gate: asyncio.Semaphore
) -> _Visitor | None:
    async with gate:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[_Visitor | None] = loop.create_future()
        try:
            await loop.create_connection(
                lambda: _Visitor(f"{host}:{port}", key, token, done),
                host,
                port,
                local_addr=(source, 0),
            )
            return await asyncio.wait_for(done, TIMEOUT_S)
        except Exception:
            return None


def _source(n: int) -> str:
    """The loopback address the ``n``-th visitor of a client process connects from: visitors
    come from many addresses (as on the internet), so per-address counters stay small."""
    return f"127.0.{n // 250 % 250 + 1}.{n % 250 + 1}"


async def _client(url: str, key: str, conn: Connection) -> None:
    address = urllib.parse.urlsplit(url)
    host, port = address.hostname or "127.0.0.1", address.port or 80
    visitors: list[_Visitor] = []
    while True:
        command, arg = await asyncio.to_thread(conn.recv)
        if command == "connect":
            tokens: list[str | None] = arg
            gate = asyncio.Semaphore(IN_FLIGHT)
            started = time.monotonic()
            opened = await asyncio.gather(
                *(_one(host, port, key, t, _source(i), gate) for i, t in enumerate(tokens))
            )
            elapsed = time.monotonic() - started
            visitors = [v for v in opened if v is not None]
            failures = len(tokens) - len(visitors)
            conn.send((elapsed, [v.token for v in visitors], failures))
        elif command in ("close", "forget"):  # forget: the hub went away, drop what is left
            for v in visitors:
                v.close()
            await asyncio.gather(*(v.lost for v in visitors))
            visitors = []
            conn.send(None)
        else:
            conn.send(None)
            return


def _client_main(url: str, key: str, conn: Connection) -> None:
    asyncio.run(_client(url, key, conn))


class Clients:
    """``count`` client processes sharing the sockets."""

    def __init__(self, count: int) -> None:
        self._count = count
        self._procs: list[tuple[Any, Connection]] = []

    def start(self, url: str, key: str) -> None:
        ctx = multiprocessing.get_context("spawn")
        for _ in range(self._count):
            ours, theirs = ctx.Pipe()
            proc = ctx.Process(target=_client_main, args=(url, key, theirs), daemon=True)
            proc.start()
            self._procs.append((proc, ours))

    async def _all(self, command: str, args: list[Any]) -> list[Any]:
        for (_, conn), arg in zip(self._procs, args, strict=True):
            conn.send((command, arg))
        return list(await asyncio.gather(*(asyncio.to_thread(c.recv) for _, c in self._procs)))

    async def connect(self, tokens: list[str | None]) -> tuple[float, list[str], int]:
        shares = [tokens[i :: self._count] for i in range(self._count)]
        answers = await self._all("connect", shares)
        elapsed = max(a[0] for a in answers)
        return elapsed, [t for a in answers for t in a[1]], sum(a[2] for a in answers)

    async def close(self) -> None:
        await self._all("close", [None] * self._count)

    async def forget(self) -> None:
        await self._all("forget", [None] * self._count)

    async def stop(self) -> None:
        with contextlib.suppress(Exception):
            await self._all("exit", [None] * self._count)
        for proc, _ in self._procs:
            proc.join(5)
            if proc.is_alive():
                proc.kill()
        self._procs = []


# --- measuring the hub -------------------------------------------------------------------------


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _cpu_pressure() -> float | None:
    try:
        first = Path("/proc/pressure/cpu").read_text().splitlines()[0]
    except OSError:
        return None
    return float(first.split()[1].split("=")[1])


async def _widget_sockets(http: aiohttp.ClientSession, url: str) -> float:
    async with http.get(url + "/metrics") as response:
        text = await response.text()
    for line in text.splitlines():
        if line.startswith("openlines_socket_connections") and 'widget"' in line:
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def _until_sockets(http: aiohttp.ClientSession, url: str, check: Any, what: str) -> float:
    started = time.monotonic()
    while time.monotonic() - started < TIMEOUT_S:
        if check(await _widget_sockets(http, url)):
            return time.monotonic() - started
        await asyncio.sleep(0.05)
    raise RuntimeError(f"the hub did not reach {what} within {TIMEOUT_S} s")


async def _settled(http: aiohttp.ClientSession, url: str, expected: int) -> int:
    """The hub's count of widget sockets once it reaches ``expected`` or stops moving."""
    last, still_since = -1.0, time.monotonic()
    while True:
        count = await _widget_sockets(http, url)
        if count >= expected:
            return int(count)
        if count != last:
            last, still_since = count, time.monotonic()
        elif time.monotonic() - still_since > 3:
            return int(count)
        await asyncio.sleep(0.1)


def _note(text: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {text}", file=sys.stderr, flush=True)


class _Cost:
    """CPU seconds the hub and its database spent between start and ``per(n)``."""

    def __init__(self, hub_pid: int, mongo_pid: int | None) -> None:
        self._pids = {"hub": hub_pid, "mongo": mongo_pid}
        self._start = {k: _cpu_s(p) for k, p in self._pids.items() if p}

    def per(self, n: int) -> dict[str, float]:
        return {
            f"{k}_cpu_ms_per_connect": round((_cpu_s(p) - self._start[k]) / max(n, 1) * 1000, 2)
            for k, p in self._pids.items()
            if p
        }


def _serve_env(mongo_url: str, data_dir: Path) -> dict[str, str]:
    return {
        "OPENLINES_MONGO_URL": mongo_url,
        "OPENLINES_MONGO_DB": "bench_sockets",
        "OPENLINES_DATA_DIR": str(data_dir),
        "OPENLINES_SECRET_KEY": "bench-secret-key-not-for-production",
        "OPENLINES_ADMIN_EMAIL": ADMIN_EMAIL,
        "OPENLINES_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "OPENLINES_LOG_LEVEL": "WARNING",
        # Visitors of the client processes share addresses: lift the per-address limits.
        "OPENLINES_WIDGET_CONNECTS_PER_IP": "1000000",
        "OPENLINES_WIDGET_SOCKETS_PER_IP": "100000",
    }


async def _stop_timed(serve: ServeProcess) -> tuple[float, int, float]:
    """Seconds from SIGTERM to exit, the exit code, and the hub's CPU seconds meanwhile (to
    its last 50 ms: read until the process is gone)."""
    pid, started = serve.pid, time.monotonic()
    cpu_before = cpu_last = _cpu_s(pid)
    stopping = asyncio.create_task(serve.stop())
    while not stopping.done():
        with contextlib.suppress(OSError, IndexError, ValueError):
            cpu_last = _cpu_s(pid)
        await asyncio.wait([stopping], timeout=0.05)
    code = await stopping
    return time.monotonic() - started, code, round(cpu_last - cpu_before, 2)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    n = args.sockets
    report: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "nproc": len(os.sched_getaffinity(0)),
            "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
            "cpu_pressure_avg10_at_start": _cpu_pressure(),
        },
        "params": {"sockets": n, "clients": args.clients, "idle_s": args.idle_s},
        "goals": GOALS,
    }
    tmp = Path(tempfile.mkdtemp(prefix="openlines-bench-sockets-"))
    mongo = EmbeddedMongo(tmp / "mongo-home")
    serve: ServeProcess | None = None
    clients = Clients(args.clients)
    figures: dict[str, Any] = {}
    try:
        await asyncio.to_thread(mongo.start)
        env = _serve_env(mongo.url, tmp / "data")
        serve = await ServeProcess(env, tmp / "serve.log").start(START_TIMEOUT_S)
        async with aiohttp.ClientSession() as http:
            admin = await Api(serve.url, http).login(ADMIN_EMAIL, ADMIN_PASSWORD)
            operator = await admin.create_user("operator")
            line = await admin.create_line(
                name="Bench", operators=[operator.user["id"]] if operator.user else []
            )
            widget = await admin.create_channel(line["id"], "widget", {"title": "Bench"})
            clients.start(serve.url, widget["key"])
            # Warm up (imports, caches, the first connects), then the baseline RSS.
            await clients.connect([None] * 100)
            await clients.close()
            await _until_sockets(http, serve.url, lambda v: v <= 0, "0 sockets")
            await asyncio.sleep(1)
            rss_before = _rss_kib(serve.pid)

            _note(f"{n} new visitors connect")
            cost = _Cost(serve.pid, mongo.pid)
            elapsed, tokens, failures = await clients.connect([None] * n)
            figures["cold_connects_per_s"] = round(len(tokens) / elapsed, 1)
            figures["cold_connect_failures"] = failures
            figures["cold"] = cost.per(len(tokens))
            figures["open_after_cold_connect"] = await _settled(http, serve.url, len(tokens))
            _note(f"cold: {figures['cold_connects_per_s']}/s {figures['cold']}")
            await asyncio.sleep(2)
            rss_after = _rss_kib(serve.pid)
            figures["rss_kib_before"] = rss_before
            figures["rss_kib_with_sockets"] = rss_after
            figures["rss_kib_per_socket"] = round((rss_after - rss_before) / len(tokens), 2)

            _note(f"RSS {figures['rss_kib_per_socket']} KiB per socket; idle {args.idle_s} s")
            cpu0, t0 = _cpu_s(serve.pid), time.monotonic()
            await asyncio.sleep(args.idle_s)
            cpu1, t1 = _cpu_s(serve.pid), time.monotonic()
            figures["idle_cpu_percent"] = round((cpu1 - cpu0) / (t1 - t0) * 100, 1)

            _note(f"idle CPU {figures['idle_cpu_percent']} %; close")
            started, cpu0 = time.monotonic(), _cpu_s(serve.pid)
            await clients.close()
            await _until_sockets(http, serve.url, lambda v: v <= 0, "0 sockets")
            figures["close_s"] = round(time.monotonic() - started, 2)
            figures["close_hub_cpu_s"] = round(_cpu_s(serve.pid) - cpu0, 2)

            _note(f"closed in {figures['close_s']} s; reconnect")
            cost = _Cost(serve.pid, mongo.pid)
            elapsed, tokens2, failures = await clients.connect(list(tokens))
            figures["reconnects_per_s"] = round(len(tokens2) / elapsed, 1)
            figures["reconnect_failures"] = failures
            figures["reconnect"] = cost.per(len(tokens2))
            figures["open_after_reconnect"] = await _settled(http, serve.url, len(tokens2))
            _note(f"reconnect: {figures['reconnects_per_s']}/s {figures['reconnect']}; stop")

            stop_s, code, stop_cpu_s = await _stop_timed(serve)
            serve = None
            figures["stop_s"] = round(stop_s, 2)
            figures["stop_hub_cpu_s"] = stop_cpu_s
            figures["stop_exit_code"] = code
            await clients.forget()

            serve = await ServeProcess(env, tmp / "serve2.log").start(START_TIMEOUT_S)
            await clients.stop()
            clients = Clients(args.clients)
            clients.start(serve.url, widget["key"])
            _note(f"stopped in {figures['stop_s']} s; reconnect after the restart")
            cost = _Cost(serve.pid, mongo.pid)
            elapsed, tokens3, failures = await clients.connect(list(tokens2))
            figures["restart"] = cost.per(len(tokens3))
            figures["restart_reconnects_per_s"] = round(len(tokens3) / elapsed, 1)
            figures["restart_reconnect_failures"] = failures
            await clients.close()
        report["figures"] = figures
        report["machine"]["cpu_pressure_avg10_at_end"] = _cpu_pressure()
        report["verdict"] = {
            "connects_per_s": min(
                figures["cold_connects_per_s"],
                figures["reconnects_per_s"],
                figures["restart_reconnects_per_s"],
            )
            >= GOALS["connects_per_s"],
            "close_s": figures["close_s"] <= GOALS["close_s"],
            "stop_s": figures["stop_s"] <= GOALS["stop_s"],
            "rss_kib_per_socket": figures["rss_kib_per_socket"] <= GOALS["rss_kib_per_socket"],
            "idle_cpu_percent": figures["idle_cpu_percent"] <= GOALS["idle_cpu_percent"],
        }
        return report
    finally:
        await clients.stop()
        if serve is not None:
            await serve.stop()
        await asyncio.to_thread(mongo.stop)
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def render(report: dict[str, Any]) -> str:
    f, n = report["figures"], report["params"]["sockets"]
    rows = [
        ("connects/s, new visitors", f["cold_connects_per_s"], "≥ 1,000"),
        ("connects/s, reconnect storm", f["reconnects_per_s"], "≥ 1,000"),
        ("connects/s, storm after a restart", f["restart_reconnects_per_s"], "≥ 1,000"),
        ("RSS KiB per idle socket", f["rss_kib_per_socket"], "≤ 25"),
        ("idle CPU % of a core", f["idle_cpu_percent"], "≤ 10"),
        (f"close {n} sockets, s", f["close_s"], "≤ 5"),
        (f"stop with {n} open, s", f["stop_s"], "≤ 10"),
    ]
    costs = f"hub CPU s: close {f['close_hub_cpu_s']}, stop {f['stop_hub_cpu_s']}"
    m = report["machine"]
    lines = [
        f"{n} widget sockets, {report['params']['clients']} client processes; load "
        f"{m['loadavg_at_start']}, cpu PSI avg10 {m['cpu_pressure_avg10_at_start']} → "
        f"{m.get('cpu_pressure_avg10_at_end')}",
        *(f"  {name:<36} {value:>10}   goal {goal}" for name, value, goal in rows),
        f"  CPU ms per connect (hub, database): new {f['cold']}, reconnect {f['reconnect']}, "
        f"after a restart {f['restart']}",
        f"  {costs}",
        f"  open after the storms: {f['open_after_cold_connect']} / {f['open_after_reconnect']}",
        f"  failures: {f['cold_connect_failures']} / {f['reconnect_failures']} / "
        f"{f['restart_reconnect_failures']}; stop exit code {f['stop_exit_code']}",
    ]
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else "")
    parser.add_argument("--sockets", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--idle-s", type=float, default=30.0)
    parser.add_argument("--json", type=Path, default=None, help="write every figure here")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    return parser.parse_args(argv)


def cli(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    report = asyncio.run(run(args))
    print(render(report))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0 if all(report["verdict"].values()) else 1


if __name__ == "__main__":
    sys.exit(cli())
