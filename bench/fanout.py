"""Fan-out: the hub delivering ``message:new`` to 50 and 100 staff sockets, against a bare
python-socketio server delivering the same payload to the same sockets (issue 16, point 4).

Both servers run in processes of their own on this machine; the same client (raw engine.io v4
/ Socket.IO v5 over aiohttp websockets, in ``--clients`` processes) counts deliveries. The
hub's side is a real hub app (``create_app``, its embedded database) whose realtime gateway
handles ``MessageStored`` events of one real stored message, as the bus hands them to it: the
staff rooms, the view of the message, the emit, the socket manager and engine.io; what the
database costs per message is ingest's figure (bench/ingest.py), not this one. The bare
server emits the hub's own view of that message to a room of the same sockets. Runs alternate
(hub, bare, hub, ...), the median of ``--repeats`` is taken, and the ratio is hub / bare.

    .venv/bin/python bench/fanout.py [--sockets 50 100] [--deliveries 20000] [--json PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from hub.embedded import EmbeddedMongo, free_port

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.support.clients import Api  # noqa: E402

ADMIN_EMAIL = "bench-admin@example.com"
ADMIN_PASSWORD = "bench admin password"
GOAL_RATIO = 0.8
TIMEOUT_S = 120.0
EVENT_PREFIX = '42/operator,["message:new"'


# --- the servers (``--serve hub|bare --port P``) -----------------------------------------------


async def _serve_hub(port: int) -> None:
    from hub.app import create_app
    from hub.appkeys import HUB
    from hub.events import MessageStored
    from hub.models import Inbound, Sender
    from hub.realtime import message_view
    from hub.settings import Settings

    app = await create_app(Settings())
    fired: set[asyncio.Task[None]] = set()

    async def fire(request: web.Request) -> web.Response:
        body = await request.json()
        hub = request.app[HUB]
        channel = await hub.stream.channel(body["channel_id"])
        assert channel is not None
        stored = await hub.stream.ingest(
            Inbound(
                channel_id=channel.id,
                chat_id=f"bench-{time.time_ns()}",
                external_id=f"bench-{time.time_ns()}",
                sender=Sender(external_id="bench-visitor", name="Bench visitor"),
                text=f"A message of the length a visitor writes ({body['marker']}).",
            ),
            channel,
        )
        gateway = hub.gateway
        event = MessageStored(message=stored.message, conversation=stored.conversation)

        async def burst() -> None:
            for _ in range(int(body["count"])):
                await gateway._on_event(event)

        started_ns = time.monotonic_ns()
        task = asyncio.create_task(burst())
        fired.add(task)
        task.add_done_callback(fired.discard)
        return web.json_response(
            {"message": message_view(stored.message), "started_ns": started_ns}
        )

    app.router.add_post("/bench/fire", fire)
    await _run(app, port)


async def _serve_bare(port: int) -> None:
    import socketio

    sio = socketio.AsyncServer(async_mode="aiohttp")
    app = web.Application()
    sio.attach(app)
    fired: set[asyncio.Task[None]] = set()

    async def connect(sid: str, environ: Any, auth: Any) -> None:
        await sio.enter_room(sid, "admins", namespace="/operator")

    sio.on("connect", connect, namespace="/operator")

    async def fire(request: web.Request) -> web.Response:
        body = await request.json()

        async def burst() -> None:
            for _ in range(int(body["count"])):
                await sio.emit(
                    "message:new",
                    {"message": body["message"]},
                    room="admins",
                    namespace="/operator",
                )

        started_ns = time.monotonic_ns()
        task = asyncio.create_task(burst())
        fired.add(task)
        task.add_done_callback(fired.discard)
        return web.json_response({"started_ns": started_ns})

    app.router.add_post("/bench/fire", fire)
    await _run(app, port)


async def _run(app: web.Application, port: int) -> None:
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


class Server:
    def __init__(self, kind: str, env: dict[str, str], log: Path) -> None:
        self.kind = kind
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._env = {**os.environ, **env}
        self._log = log
        self.process: subprocess.Popen[bytes] | None = None

    async def start(self) -> Server:
        with self._log.open("ab") as log:
            self.process = subprocess.Popen(  # noqa: ASYNC220 -- returns at once
                [sys.executable, __file__, "--serve", self.kind, "--port", str(self.port)],
                env=self._env,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=REPO,
            )
        deadline = time.monotonic() + 180
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"{self.kind} server exited: {self._log.read_text()}")
                with contextlib.suppress(aiohttp.ClientError):
                    async with http.get(self.url + "/socket.io/?EIO=4&transport=polling") as r:
                        if r.status == 200:
                            return self
                await asyncio.sleep(0.2)
        raise RuntimeError(f"{self.kind} server did not start: {self._log.read_text()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


# --- the client processes ----------------------------------------------------------------------


class _Count:
    """Deliveries to this process's sockets, the time of the last, and a wait for a number."""

    def __init__(self) -> None:
        self.got = 0
        self.last_ns = 0
        self.target = 0
        self.reached = asyncio.Event()

    def add(self) -> None:
        self.got += 1
        self.last_ns = time.monotonic_ns()
        if self.got >= self.target:
            self.reached.set()

    def expect(self, target: int) -> None:
        self.target = target
        self.reached.clear()
        if self.got >= target:
            self.reached.set()


class _Staff:
    def __init__(self, ws: aiohttp.ClientWebSocketResponse, counter: _Count, marker: str) -> None:
        self.ws = ws
        self.counter = counter
        self.marker = marker
        self.got = 0  # this socket's deliveries: each socket must get each message once
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        with contextlib.suppress(Exception):
            async for message in self.ws:
                if message.type != aiohttp.WSMsgType.TEXT:
                    continue
                # Only the run's message: the router's own notices are message:new too.
                if message.data.startswith(EVENT_PREFIX) and self.marker in message.data:
                    self.got += 1
                    self.counter.add()
                elif message.data == "2":
                    await self.ws.send_str("3")


async def _connect_staff(
    http: aiohttp.ClientSession, url: str, token: str, counter: _Count, marker: str
) -> _Staff:
    ws = await http.ws_connect(url + "/socket.io/?EIO=4&transport=websocket", max_msg_size=0)
    await ws.receive_str()  # engine.io open
    await ws.send_str("40/operator," + json.dumps({"token": token}))
    while True:
        text = await ws.receive_str()
        if text.startswith("40/operator,"):
            return _Staff(ws, counter, marker)
        if text.startswith("44/operator,"):
            raise RuntimeError(f"refused: {text}")


async def _client(conn: Connection) -> None:
    staff: list[_Staff] = []
    counter = _Count()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        while True:
            command, arg = await asyncio.to_thread(conn.recv)
            if command == "connect":
                urls, token, count, marker = arg  # the sockets spread over urls in turn
                staff = list(
                    await asyncio.gather(
                        *(
                            _connect_staff(http, urls[n % len(urls)], token, counter, marker)
                            for n in range(count)
                        )
                    )
                )
                counter.got = 0
                conn.send(None)
            elif command == "wait":
                counter.expect(arg)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(counter.reached.wait(), TIMEOUT_S)
                per_socket = [s.got for s in staff] or [0]
                conn.send((counter.got, counter.last_ns, min(per_socket), max(per_socket)))
                counter.got = 0
                for one in staff:
                    one.got = 0
            elif command == "close":
                await asyncio.gather(*(s.ws.close() for s in staff), return_exceptions=True)
                await asyncio.gather(*(s.task for s in staff), return_exceptions=True)
                staff = []
                conn.send(None)
            else:
                conn.send(None)
                return


def _client_main(conn: Connection) -> None:
    asyncio.run(_client(conn))


class Clients:
    def __init__(self, count: int) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._conns: list[Connection] = []
        self._procs: list[Any] = []
        for _ in range(count):
            ours, theirs = ctx.Pipe()
            proc = ctx.Process(target=_client_main, args=(theirs,), daemon=True)
            proc.start()
            self._procs.append(proc)
            self._conns.append(ours)

    async def _all(self, command: str, args: list[Any]) -> list[Any]:
        for conn, arg in zip(self._conns, args, strict=True):
            conn.send((command, arg))
        return list(await asyncio.gather(*(asyncio.to_thread(c.recv) for c in self._conns)))

    def shares(self, total: int) -> list[int]:
        n = len(self._conns)
        return [total // n + (1 if i < total % n else 0) for i in range(n)]

    async def connect(
        self, url: str | list[str], token: str, sockets: int, marker: str
    ) -> list[int]:
        """``sockets`` staff sockets over the client processes; with several urls each
        process spreads its own over them in turn."""
        urls = [url] if isinstance(url, str) else url
        shares = self.shares(sockets)
        await self._all("connect", [(urls, token, s, marker) for s in shares])
        return shares

    async def wait(self, expected: list[int]) -> tuple[int, int, int, int]:
        """Until each process has its ``expected`` deliveries (or TIMEOUT_S): the deliveries,
        the monotonic ns of the last, and the fewest and most one socket got."""
        answers = await self._all("wait", expected)
        return (
            sum(a[0] for a in answers),
            max(a[1] for a in answers),
            min(a[2] for a in answers),
            max(a[3] for a in answers),
        )

    async def close(self) -> None:
        await self._all("close", [None] * len(self._conns))

    async def stop(self) -> None:
        with contextlib.suppress(Exception):
            await self._all("exit", [None] * len(self._conns))
        for proc in self._procs:
            proc.join(5)
            if proc.is_alive():
                proc.kill()


# --- the benchmark -----------------------------------------------------------------------------


def _cpu_pressure() -> float | None:
    try:
        first = Path("/proc/pressure/cpu").read_text().splitlines()[0]
    except OSError:
        return None
    return float(first.split()[1].split("=")[1])


async def _one_run(
    http: aiohttp.ClientSession,
    clients: Clients,
    server: Server,
    token: str,
    sockets: int,
    messages: int,
    body: dict[str, Any],
) -> tuple[float, dict[str, Any]]:
    marker = body["marker"]
    shares = await clients.connect(server.url, token, sockets, marker)
    await asyncio.sleep(0.5)  # the connects settle (presence writes on the hub)
    async with http.post(server.url + "/bench/fire", json={**body, "count": messages}) as r:
        answer = await r.json()
    # The hub also delivers the stored message itself once (its own MessageStored on the bus).
    extra = 1 if server.kind == "hub" else 0
    got, last_ns, _, _ = await clients.wait([s * (messages + extra) for s in shares])
    await clients.close()
    if got != sockets * (messages + extra):
        raise RuntimeError(f"{server.kind}: {got} of {sockets * messages} deliveries")
    got -= sockets * extra
    # Both clocks are the system's CLOCK_MONOTONIC: from the burst's start to the last delivery.
    return got / ((last_ns - answer["started_ns"]) / 1e9), answer


async def run(args: argparse.Namespace) -> dict[str, Any]:
    report: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "nproc": len(os.sched_getaffinity(0)),
            "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
            "cpu_pressure_avg10_at_start": _cpu_pressure(),
        },
        "params": {
            "sockets": args.sockets,
            "deliveries_per_run": args.deliveries,
            "repeats": args.repeats,
            "clients": args.clients,
        },
        "goal_ratio": GOAL_RATIO,
        "figures": {},
    }
    tmp = Path(tempfile.mkdtemp(prefix="openlines-bench-fanout-"))
    mongo = EmbeddedMongo(tmp / "mongo-home")
    servers: list[Server] = []
    clients = Clients(args.clients)
    try:
        await asyncio.to_thread(mongo.start)
        env = {
            "OPENLINES_MONGO_URL": mongo.url,
            "OPENLINES_MONGO_DB": "bench_fanout",
            "OPENLINES_DATA_DIR": str(tmp / "data"),
            "OPENLINES_SECRET_KEY": "bench-secret-key-not-for-production",
            "OPENLINES_ADMIN_EMAIL": ADMIN_EMAIL,
            "OPENLINES_ADMIN_PASSWORD": ADMIN_PASSWORD,
            "OPENLINES_LOG_LEVEL": "WARNING",
        }
        hub = await Server("hub", env, tmp / "hub.log").start()
        bare = await Server("bare", {}, tmp / "bare.log").start()
        servers += [hub, bare]
        async with aiohttp.ClientSession() as http:
            admin = await Api(hub.url, http).login(ADMIN_EMAIL, ADMIN_PASSWORD)
            line = await admin.create_line(name="Bench", operators=[])
            widget = await admin.create_channel(line["id"], "widget", {"title": "Bench"})
            token = admin.token or ""
            # Warm-up of both, and the hub's view of the message the bare server sends.
            hub_body = {"channel_id": widget["id"], "marker": f"bench-{time.time_ns()}"}
            _, answer = await _one_run(http, clients, hub, token, 10, 50, hub_body)
            view = answer["message"]
            bare_body = {"message": view, "marker": hub_body["marker"]}
            await _one_run(http, clients, bare, token, 10, 50, bare_body)
            for sockets in args.sockets:
                messages = max(1, args.deliveries // sockets)
                rates: dict[str, list[float]] = {"hub": [], "bare": []}
                for _ in range(args.repeats):
                    rate, _ = await _one_run(
                        http, clients, hub, token, sockets, messages, hub_body
                    )
                    rates["hub"].append(rate)
                    rate, _ = await _one_run(
                        http, clients, bare, token, sockets, messages, bare_body
                    )
                    rates["bare"].append(rate)
                hub_rate = statistics.median(rates["hub"])
                bare_rate = statistics.median(rates["bare"])
                report["figures"][str(sockets)] = {
                    "messages": messages,
                    "hub_deliveries_per_s": round(hub_rate),
                    "bare_deliveries_per_s": round(bare_rate),
                    "ratio": round(hub_rate / bare_rate, 3),
                    "hub_runs": [round(r) for r in rates["hub"]],
                    "bare_runs": [round(r) for r in rates["bare"]],
                }
        report["machine"]["cpu_pressure_avg10_at_end"] = _cpu_pressure()
        return report
    finally:
        await clients.stop()
        for server in servers:
            server.stop()
        await asyncio.to_thread(mongo.stop)
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


def render(report: dict[str, Any]) -> str:
    m = report["machine"]
    lines = [
        f"fan-out of message:new, median of {report['params']['repeats']} alternated runs; load "
        f"{m['loadavg_at_start']}, cpu PSI avg10 {m['cpu_pressure_avg10_at_start']} → "
        f"{m.get('cpu_pressure_avg10_at_end')}"
    ]
    for sockets, f in report["figures"].items():
        lines.append(
            f"  {sockets:>4} staff sockets: hub {f['hub_deliveries_per_s']:>7} deliveries/s, "
            f"bare python-socketio {f['bare_deliveries_per_s']:>7}, ratio {f['ratio']:.2f}x "
            f"(goal ≥ {report['goal_ratio']}x)"
        )
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else "")
    parser.add_argument("--sockets", type=int, nargs="+", default=[50, 100])
    parser.add_argument("--deliveries", type=int, default=20_000, help="per run")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--json", type=Path, default=None, help="write every figure here")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument("--serve", choices=["hub", "bare"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def cli(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.serve:
        asyncio.run(_serve_hub(args.port) if args.serve == "hub" else _serve_bare(args.port))
        return 0
    report = asyncio.run(run(args))
    print(render(report))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    ok = all(f["ratio"] >= GOAL_RATIO for f in report["figures"].values())
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(cli())
