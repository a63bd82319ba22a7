"""hub/socket_manager.py: the sid → rooms index keeps python-socketio's room bookkeeping, and
the one-encoding broadcast delivers each emit once to each socket, alone and across Redis."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import socketio
from aiohttp import web

from hub.socket_manager import Manager, RedisManager, SocketServer
from tests.conftest import REDIS_URL
from tests.support.waiting import eventually

NAMESPACES = ("/widget", "/operator")


def _normalised(manager: Any, eio_of: dict[str, str]) -> dict[str, dict[Any, set[str]]]:
    """The rooms of a manager with every sid replaced by its engine.io sid (sids are random)."""
    out: dict[str, dict[Any, set[str]]] = {}
    for namespace, rooms in manager.rooms.items():
        out[namespace] = {}
        for room, members in rooms.items():
            name = eio_of.get(room, room) if room is not None else None
            out[namespace][("sid", name) if room in eio_of else name] = {
                eio_of[sid] for sid in members
            }
    return out


def _rooms_named(rooms: list[Any], sid: str, eio_sid: str) -> list[str]:
    return sorted(f"sid:{eio_sid}" if room == sid else str(room) for room in rooms)


async def test_the_index_keeps_the_rooms_of_the_stock_manager() -> None:
    stock_server = socketio.AsyncServer(async_mode="aiohttp")
    ours_server = socketio.AsyncServer(async_mode="aiohttp", client_manager=Manager())
    stock, ours = stock_server.manager, ours_server.manager
    rng = random.Random(16)
    # (namespace, eio sid) -> sid on each side
    sids: dict[tuple[str, str], tuple[str, str]] = {}
    eio_of_stock: dict[str, str] = {}
    eio_of_ours: dict[str, str] = {}
    rooms = [f"room:{n}" for n in range(6)]
    for step in range(3000):
        action = rng.choice(["connect", "enter", "enter", "leave", "close", "disconnect"])
        namespace = rng.choice(NAMESPACES)
        if action == "connect" or not sids:
            eio_sid = f"eio{step}"
            a = await stock.connect(eio_sid, namespace)
            b = await ours.connect(eio_sid, namespace)
            sids[(namespace, eio_sid)] = (a, b)
            eio_of_stock[a], eio_of_ours[b] = eio_sid, eio_sid
            continue
        (namespace, eio_sid), (a, b) = rng.choice(sorted(sids.items()))
        room = rng.choice(rooms)
        if action == "enter":
            await stock.enter_room(a, namespace, room)
            await ours.enter_room(b, namespace, room)
        elif action == "leave":
            await stock.leave_room(a, namespace, room)
            await ours.leave_room(b, namespace, room)
        elif action == "close":
            await stock.close_room(room, namespace)
            await ours.close_room(room, namespace)
        else:
            # The server's own order: pending first, then gone.
            stock.pre_disconnect(a, namespace)
            ours.pre_disconnect(b, namespace)
            assert not stock.is_connected(a, namespace)
            assert not ours.is_connected(b, namespace)
            await stock.disconnect(a, namespace)
            await ours.disconnect(b, namespace)
            del sids[(namespace, eio_sid)]
        assert _normalised(ours, eio_of_ours) == _normalised(stock, eio_of_stock), step
        for (ns, eio_sid), (x, y) in sids.items():
            assert _rooms_named(ours.get_rooms(y, ns), y, eio_sid) == _rooms_named(
                stock.get_rooms(x, ns), x, eio_sid
            )
            assert ours.is_connected(y, ns) == stock.is_connected(x, ns)
    # Everyone gone: nothing left in either.
    for (namespace, _), (a, b) in list(sids.items()):
        await stock.disconnect(a, namespace)
        await ours.disconnect(b, namespace)
    assert stock.rooms == {} and ours.rooms == {}
    assert ours._rooms_of == {}
    assert not ours.pending_connect and not ours.pending_disconnect


async def test_a_refused_connect_leaves_nothing_behind() -> None:
    server = socketio.AsyncServer(async_mode="aiohttp", client_manager=Manager())
    manager = server.manager
    sid = await manager.pre_connect("eio1", "/widget")
    assert manager.is_pre_connected(sid, "/widget")
    await manager.disconnect(sid, "/widget", ignore_queue=True)
    assert manager.rooms == {} and manager._rooms_of == {} and not manager.pending_connect


class Hub:
    """A bare python-socketio server on our manager, on a real port."""

    def __init__(self, manager: Any, **options: Any) -> None:
        self.sio = SocketServer(async_mode="aiohttp", client_manager=manager, **options)
        self.gone: list[str] = []
        self.app = web.Application()
        self.sio.attach(self.app)
        self.runner = web.AppRunner(self.app)
        self.url = ""

        async def connect(sid: str, environ: Any, auth: Any) -> None:
            await self.sio.enter_room(sid, "everyone", namespace="/operator")
            if auth and auth.get("room"):
                await self.sio.enter_room(sid, auth["room"], namespace="/operator")

        async def disconnect(sid: str, reason: Any = None) -> None:
            self.gone.append(sid)

        self.sio.on("connect", connect, namespace="/operator")
        self.sio.on("disconnect", disconnect, namespace="/operator")

    async def start(self) -> Hub:
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def stop(self) -> None:
        await self.runner.cleanup()


class Client:
    def __init__(self) -> None:
        self.sio = socketio.AsyncClient(reconnection=False)
        self.got: dict[str, list[Any]] = {}

        async def any_event(event: str, data: Any = None) -> None:
            self.got.setdefault(event, []).append(data)

        self.sio.on("*", any_event, namespace="/operator")

    async def connect(self, url: str, room: str | None = None) -> Client:
        await self.sio.connect(
            url, namespaces=["/operator"], transports=["websocket"], auth={"room": room}
        )
        return self

    def count(self, event: str) -> int:
        return len(self.got.get(event, []))


@pytest.fixture
async def hub() -> AsyncIterator[Hub]:
    one = await Hub(Manager()).start()
    yield one
    await one.stop()


async def test_an_emit_to_several_rooms_reaches_each_socket_once(hub: Hub) -> None:
    a = await Client().connect(hub.url, "room:a")
    b = await Client().connect(hub.url, "room:b")
    c = await Client().connect(hub.url)
    try:
        a_sid = a.sio.get_sid("/operator")
        # a is in "everyone" and "room:a": still one delivery.
        await hub.sio.emit(
            "message:new", {"n": 1}, room=["everyone", "room:a", "room:b"], namespace="/operator"
        )
        await hub.sio.emit("only:b", {"n": 2}, room="room:b", namespace="/operator")
        await hub.sio.emit(
            "not:a", {"n": 3}, room="everyone", skip_sid=a_sid, namespace="/operator"
        )
        await hub.sio.emit("end", None, room="everyone", namespace="/operator")
        await eventually(
            lambda: asyncio.sleep(0, [x.count("end") for x in (a, b, c)]),
            lambda got: got == [1, 1, 1],
        )
        assert [x.got["message:new"] for x in (a, b, c)] == [[{"n": 1}]] * 3
        assert [x.count("only:b") for x in (a, b, c)] == [0, 1, 0]
        assert [x.count("not:a") for x in (a, b, c)] == [0, 1, 1]
        # An emit with an ack takes the stock path and still gets its answer.
        b.sio.on("ask", lambda data: {"answer": data["q"] * 2}, namespace="/operator")
        reply = await hub.sio.call(
            "ask", {"q": 21}, to=b.sio.get_sid("/operator"), namespace="/operator"
        )
        assert reply == {"answer": 42}
    finally:
        for x in (a, b, c):
            await x.sio.disconnect()


async def test_closing_many_sockets_leaves_no_room_behind(hub: Hub) -> None:
    clients = [await Client().connect(hub.url, f"visitor:{n}") for n in range(40)]
    manager = hub.sio.manager
    assert len(manager.rooms["/operator"]["everyone"]) == 40
    await asyncio.gather(*(c.sio.disconnect() for c in clients))
    await eventually(lambda: asyncio.sleep(0, dict(manager.rooms)), lambda rooms: rooms == {})
    assert manager._rooms_of == {}


async def test_on_redis_an_emit_reaches_each_socket_once_on_both_hubs() -> None:
    channel = f"openlines:test:{uuid.uuid4().hex}:socketio"
    one = await Hub(RedisManager(REDIS_URL, channel=channel)).start()
    two = await Hub(RedisManager(REDIS_URL, channel=channel)).start()
    try:
        here = await Client().connect(one.url, "room:x")
        there = await Client().connect(two.url, "room:x")
        elsewhere = await Client().connect(two.url)

        # Both managers listen before anything is published (they subscribe on first use).
        async def both_listen() -> int:
            await one.sio.emit("probe", None, room="everyone", namespace="/operator")
            return min(here.count("probe"), there.count("probe"))

        await eventually(both_listen, lambda n: n >= 1, interval_s=0.2)
        await one.sio.emit("message:new", {"text": "hi"}, room="room:x", namespace="/operator")
        await one.sio.emit("end", None, room="everyone", namespace="/operator")
        await eventually(
            lambda: asyncio.sleep(0, [x.count("end") for x in (here, there, elsewhere)]),
            lambda got: got == [1, 1, 1],
        )
        assert here.got["message:new"] == [{"text": "hi"}]
        assert there.got["message:new"] == [{"text": "hi"}]
        assert elsewhere.count("message:new") == 0
        # A stock sender on the channel (a write-only manager of python-socketio) is understood.
        stock = socketio.AsyncRedisManager(REDIS_URL, channel=channel, write_only=True)
        await stock.emit("stock", {"n": 1}, room="room:x", namespace="/operator")
        await eventually(
            lambda: asyncio.sleep(0, [x.count("stock") for x in (here, there, elsewhere)]),
            lambda got: got == [1, 1, 0],
        )
        for x in (here, there, elsewhere):
            await x.sio.disconnect()
        await stock.redis.aclose()
    finally:
        for hub in (one, two):
            await hub.stop()
            await hub.sio.manager.close()


async def test_a_client_that_stops_answering_pings_is_closed() -> None:
    hub = await Hub(Manager(), ping_interval=0.3, ping_timeout=0.5).start()
    try:
        async with aiohttp.ClientSession() as http:
            ws = await http.ws_connect(hub.url + "/socket.io/?EIO=4&transport=websocket")
            await ws.receive_str()  # open
            await ws.send_str("40/operator,{}")
            assert (await ws.receive_str()).startswith("40/operator,")
            alive = Client()
            await alive.connect(hub.url)  # answers its pings: stays
            # This one never answers "2" with "3": gone within the ping bounds.
            await eventually(
                lambda: asyncio.sleep(0, len(hub.gone)), lambda n: n == 1, timeout_s=10
            )
            # Forgotten by the next sweep (or when its connection ends).
            await eventually(
                lambda: asyncio.sleep(0, len(hub.sio.eio.sockets)), lambda n: n == 1, timeout_s=10
            )
            assert alive.sio.connected
            await alive.sio.disconnect()
            await ws.close()
    finally:
        await hub.stop()
