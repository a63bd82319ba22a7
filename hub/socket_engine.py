"""engine.io's server made cheap per idle socket: what 10k open widget sockets cost in memory
and CPU while nothing happens, and what opening and closing them costs.

What the stock server (python-engineio 4.x) keeps per websocket, and what this one does:

- a writer task per socket waiting on an ``asyncio.Queue`` (with a timer), and a reader that
  starts a task and a ``wait_for`` timer for every frame it receives: here a socket that came in
  over a websocket (``transport=websocket``, as the widget and the console connect) reads in its
  request's own task with no timer, and its outgoing frames go out through a flush task that
  exists only while there is something to write;
- a task per socket sleeping ``ping_interval`` between two pings: here the server's one service
  task pings the sockets that are due, once a tick;
- a sweep that wakes once per socket (a timer each): here one pass per ``ping_timeout``.

The environ of a request names its real peer (``REMOTE_ADDR``), not the driver's 127.0.0.1.

A socket that is gone without a word is still closed within the stock bounds (no pong within
``ping_timeout`` of a ping). Polling clients, and their upgrade to a websocket, take the stock
path unchanged.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import math
import time
from typing import Any

import engineio
from aiohttp import web
from engineio import async_socket, exceptions
from engineio import packet as eio_packet

# The pings of due sockets go out once per this (at most; less with a shorter ping interval).
PING_TICK_S = 1.0
# The same PING frame for everyone: its encoding is cached on the packet.
_PING = eio_packet.Packet(eio_packet.PING)


class _Outbox:
    """A websocket socket's outgoing packets: the stock ``queue``'s ``put``, ``put_nowait`` and
    ``join``, written by a flush task that runs only while packets wait. ``None`` ends the
    socket: what was queued before it goes out, then the websocket closes."""

    __slots__ = ("_flushing", "_pending", "_ws")

    def __init__(self) -> None:
        self._pending: collections.deque[Any] = collections.deque()
        self._ws: Any = None
        self._flushing: asyncio.Task[None] | None = None

    def attach(self, ws: Any) -> None:
        """Start writing to ``ws`` (engine.io's websocket wrapper), what is queued first."""
        self._ws = ws
        self._kick()

    def put_nowait(self, pkt: Any) -> None:
        self._pending.append(pkt)
        self._kick()

    async def put(self, pkt: Any) -> None:
        self.put_nowait(pkt)

    async def join(self) -> None:
        """Until everything queued is written (or the connection failed)."""
        while self._flushing is not None:
            await asyncio.shield(self._flushing)

    def _kick(self) -> None:
        if self._ws is not None and self._flushing is None and self._pending:
            self._flushing = asyncio.get_running_loop().create_task(self._flush())

    async def _flush(self) -> None:
        ws = self._ws
        try:
            while self._pending:
                pkt = self._pending.popleft()
                if pkt is None:
                    self._pending.clear()
                    await ws.close()
                    return
                await ws.send(pkt.encode())
        except Exception:
            # The connection is gone: nothing queued can go out any more; the reader sees the
            # end of the connection and closes the socket.
            self._pending.clear()
        finally:
            self._flushing = None


class _WebSocketSocket(async_socket.AsyncSocket):  # type: ignore[misc]  # engineio is untyped
    """An engine.io socket opened over a websocket (no polling before it)."""

    server: EngineServer
    sid: str
    queue: _Outbox
    last_ping: float | None
    connected: bool
    upgraded: bool
    closing: bool
    closed: bool

    def __init__(self, server: EngineServer, sid: str) -> None:
        super().__init__(server, sid)
        self.queue = _Outbox()

    def schedule_ping(self) -> None:
        # As stock: only once the previous ping was answered.
        if self.last_ping:
            self.last_ping = None
            self.server.ping_later(self)

    def ping(self) -> None:
        if not self.closing and not self.closed:
            self.last_ping = time.time()
            self.queue.put_nowait(_PING)

    async def close(
        self, wait: bool = True, abort: bool = False, reason: str | None = None
    ) -> None:
        if self.closed or self.closing:
            return
        self.closing = True
        # Shielded: this runs in the connection's request task, which aiohttp may cancel as the
        # peer goes; the application's disconnect (presence's write) must still finish.
        await asyncio.shield(
            self.server._trigger_event(
                "disconnect",
                self.sid,
                reason or self.server.reason.SERVER_DISCONNECT,
                run_async=False,
            )
        )
        if not abort:
            self.queue.put_nowait(eio_packet.Packet(eio_packet.CLOSE))
        # Stock leaves the websocket to the client (or its read timeout) after a CLOSE; here
        # it is closed as soon as the CLOSE is out, so a stop does not wait for 10k clients.
        self.queue.put_nowait(None)
        self.closed = True
        if wait:
            await self.queue.join()

    async def _websocket_handler(self, ws: Any) -> None:
        """Read the client's packets until the connection ends, in the request's own task."""
        self.connected = True
        self.upgraded = True
        self.queue.attach(ws)
        limit = self.server.max_http_buffer_size
        try:
            while True:
                try:
                    data = await ws.wait()
                except OSError:  # closed, by either side
                    break
                if len(data) > limit:
                    break  # stock: "packet is too large", the connection ends
                try:
                    pkt = eio_packet.Packet(encoded_packet=data)
                except Exception:
                    break  # not engine.io: the connection ends
                try:
                    await self.receive(pkt)
                except exceptions.UnknownPacketError:
                    pass
                except exceptions.SocketIsClosedError:
                    break
                except Exception:
                    self.server.logger.exception("Unknown receive error")
        finally:
            await self.close(wait=False, abort=True, reason=self.server.reason.TRANSPORT_CLOSE)
            await self.queue.join()


class EngineServer(engineio.AsyncServer):  # type: ignore[misc]  # engineio is untyped
    """engine.io's server with cheap idle websockets, and one service task that pings the due
    sockets each tick and sweeps for silent ones once per ``ping_timeout``."""

    _async: dict[str, Any]
    service_task_handle: asyncio.Task[None] | None
    start_service_task: bool
    ping_interval: float
    ping_timeout: float

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # engine.io's aiohttp driver says every client is 127.0.0.1 (``REMOTE_ADDR``): each
        # visitor would count against one address's limits. The request knows the peer.
        translate = self._async["translate_request"]

        def translate_request(request: web.Request) -> dict[str, Any]:
            environ: dict[str, Any] = translate(request)
            environ["REMOTE_ADDR"] = request.remote or "unknown"
            return environ

        self._async = {**self._async, "translate_request": translate_request}
        # tick number -> the sockets whose next ping is due then (insertion order is due order)
        self._pings: dict[int, list[_WebSocketSocket]] = {}
        self._tick_s = min(PING_TICK_S, self.ping_interval / 4)

    def ping_later(self, socket: _WebSocketSocket) -> None:
        """Ping ``socket`` one ``ping_interval`` from now (to the next tick)."""
        due = math.ceil((time.monotonic() + self.ping_interval) / self._tick_s)
        self._pings.setdefault(due, []).append(socket)

    async def _handle_connect(
        self, environ: dict[str, Any], transport: str, jsonp_index: int | None = None
    ) -> Any:
        if transport != "websocket":
            return await super()._handle_connect(environ, transport, jsonp_index)
        # The stock connect of a websocket-first client, on the socket above.
        if self.service_task_handle is None:  # it pings: needed even without monitor_clients
            self.start_service_task = False
            self.service_task_handle = self.start_background_task(self._service_task)
        sid = self.generate_id()
        socket = _WebSocketSocket(self, sid)
        self.sockets[sid] = socket
        socket.queue.put_nowait(
            eio_packet.Packet(
                eio_packet.OPEN,
                {
                    "sid": sid,
                    "upgrades": [],
                    "pingTimeout": int(self.ping_timeout * 1000),
                    "pingInterval": int(self.ping_interval + self.ping_interval_grace_period)
                    * 1000,
                    "maxPayload": self.max_http_buffer_size,
                },
            )
        )
        ret = await self._trigger_event("connect", sid, environ, run_async=False)
        if ret is not None and ret is not True:
            del self.sockets[sid]
            self.logger.warning("Application rejected connection")
            return self._unauthorized(ret or None)
        socket.schedule_ping()
        try:
            return await socket._upgrade_websocket(environ)
        finally:
            # Ended, or the handshake failed: the socket is closed and forgotten either way.
            await socket.close(wait=False, abort=True, reason=self.reason.TRANSPORT_CLOSE)
            self.sockets.pop(sid, None)

    async def _service_task(self) -> None:
        self.service_task_event = self.create_event()
        next_sweep = time.monotonic() + self.ping_timeout
        while not self.service_task_event.is_set():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.service_task_event.wait(), timeout=self._tick_s)
                return
            try:
                self._send_due_pings()
                if time.monotonic() >= next_sweep:
                    next_sweep = time.monotonic() + self.ping_timeout
                    await self._sweep()
            except asyncio.CancelledError:
                return
            except Exception:
                self.logger.exception("service task exception")

    def _send_due_pings(self) -> None:
        now = math.floor(time.monotonic() / self._tick_s)
        pings = self._pings
        while pings:
            due = next(iter(pings))
            if due > now:
                return
            for socket in pings.pop(due):
                socket.ping()

    async def _sweep(self) -> None:
        """Forget closed sockets; close those whose client missed its pong (as stock)."""
        now = time.time()
        timeout = self.ping_timeout
        for socket in list(self.sockets.values()):
            if socket.closed:
                self.sockets.pop(socket.sid, None)
            elif not socket.closing and socket.last_ping and now - socket.last_ping > timeout:
                await socket.check_ping_timeout()
