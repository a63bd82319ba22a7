"""hub/socket_engine.py: a websocket opened straight away keeps no task of its own while idle,
is pinged by the server's one service task, ends its connection when the hub closes it, and
is forgotten when its client goes; polling clients (and their upgrade) work as before."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
import socketio

from hub.app.parts import disconnect_sockets
from hub.socket_manager import Manager
from tests.hub.test_socket_manager import Hub
from tests.support.waiting import eventually


@pytest.fixture
async def hub() -> AsyncIterator[Hub]:
    one = await Hub(Manager(), ping_interval=0.3, ping_timeout=2).start()
    yield one
    await one.stop()


@pytest.fixture
async def slow_pings() -> AsyncIterator[Hub]:
    """A hub whose sockets' own read timeout (ping interval + timeout) is far off."""
    one = await Hub(Manager(), ping_interval=25, ping_timeout=20).start()
    yield one
    await one.stop()


async def _raw_socket(http: aiohttp.ClientSession, hub: Hub) -> aiohttp.ClientWebSocketResponse:
    """An engine.io websocket connected to ``/operator``, driven by hand."""
    ws = await http.ws_connect(hub.url + "/socket.io/?EIO=4&transport=websocket", autoping=False)
    assert (await ws.receive_str()).startswith("0{")
    await ws.send_str("40/operator,{}")
    while not (await ws.receive_str()).startswith("40/operator,"):
        pass
    return ws


async def _until_closed(ws: aiohttp.ClientWebSocketResponse, pings: list[int]) -> list[str]:
    """What the hub sends until the websocket ends; its pings are answered and counted in
    ``pings`` (one more element per ping)."""
    got = []
    while True:
        message = await ws.receive()
        if message.type != aiohttp.WSMsgType.TEXT:
            return got
        if message.data == "2":
            pings.append(1)
            await ws.send_str("3")
        else:
            got.append(message.data)


async def test_idle_websockets_keep_no_task_of_their_own_and_stay_open(hub: Hub) -> None:
    async with aiohttp.ClientSession() as http:
        first = await _raw_socket(http, hub)  # starts the server's service task
        before = len(asyncio.all_tasks())
        sockets = [await _raw_socket(http, hub) for _ in range(30)]
        # Two tasks each, aiohttp's own for a request (its connection's and its handler's,
        # which reads). The stock server has six per socket: those, a writer, the writer's
        # wait for the queue, a read of the next frame and a sleeping ping.
        assert len(asyncio.all_tasks()) - before <= 2 * 30
        pings: list[list[int]] = [[] for _ in range(31)]
        readers = [
            asyncio.create_task(_until_closed(ws, p))
            for ws, p in zip([first, *sockets], pings, strict=True)
        ]
        # Every socket gets its pings (the service task's), answers them and stays open.
        await eventually(lambda: asyncio.sleep(0, min(map(len, pings))), lambda n: n >= 4)
        assert not any(r.done() for r in readers)
        assert len(hub.sio.eio.sockets) == 31
        for ws in [first, *sockets]:
            await ws.close()
        await asyncio.gather(*readers)
        await eventually(
            lambda: asyncio.sleep(0, len(hub.sio.eio.sockets)), lambda n: n == 0, timeout_s=10
        )
    assert len(hub.gone) == 31


async def test_closing_from_the_hub_ends_the_connection(slow_pings: Hub) -> None:
    hub = slow_pings
    async with aiohttp.ClientSession() as http:
        sockets = [await _raw_socket(http, hub) for _ in range(20)]
        readers = [asyncio.create_task(_until_closed(ws, [])) for ws in sockets]
        await disconnect_sockets(hub.sio)
        # Each hears engine.io's close, then the websocket ends (stock: it stayed open until
        # the client closed it or its read timed out).
        got = await asyncio.wait_for(asyncio.gather(*readers), 10)
        assert all(g[-1:] == ["1"] for g in got), got
        assert all(ws.closed for ws in sockets)
    assert len(hub.gone) == 20


async def test_polling_clients_and_their_upgrade_work_as_before(hub: Hub) -> None:
    clients = []
    for transports in (["polling"], ["polling", "websocket"]):
        client = socketio.AsyncClient(reconnection=False)
        got: asyncio.Queue[object] = asyncio.Queue()
        client.on("hello", got.put, namespace="/operator")
        await client.connect(
            hub.url, namespaces=["/operator"], transports=transports, auth={"room": "r"}
        )
        await hub.sio.emit("hello", {"n": 1}, room="r", namespace="/operator")
        assert await asyncio.wait_for(got.get(), 10) == {"n": 1}
        # Past a few ping intervals, still connected (pinged by the stock path).
        await asyncio.sleep(1)
        assert client.connected
        clients.append(client)
        assert client.transport() == transports[-1]
    for client in clients:
        await client.disconnect()
    await eventually(lambda: asyncio.sleep(0, len(hub.gone)), lambda n: n == 2)
