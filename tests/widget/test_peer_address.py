"""A widget socket counts against its own peer's address, not one address for everybody
(engine.io's aiohttp driver said 127.0.0.1 for every client, so with no proxy in front the
whole site shared one address's open sockets and connects)."""

from __future__ import annotations

import json

import aiohttp
import pytest

from tests.support.clients import Api
from tests.widget.support import widget_world


async def _connect_from(
    base_url: str, key: str, source: str
) -> tuple[str, aiohttp.ClientWebSocketResponse, aiohttp.ClientSession]:
    """A widget connect from the loopback address ``source``: "session" or the refusal's code,
    the websocket (kept, it stays open) and its client session."""
    http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=(source, 0)))
    ws = await http.ws_connect(base_url + "/socket.io/?EIO=4&transport=websocket")
    assert (await ws.receive_str()).startswith("0{")
    await ws.send_str("40/widget," + json.dumps({"key": key}))
    while True:
        text = await ws.receive_str()
        if text.startswith("44/widget,"):
            return str(json.loads(text[len("44/widget,") :])["data"]["code"]), ws, http
        if text.startswith('42/widget,["session",'):
            return "session", ws, http


@pytest.mark.parametrize("settings_overrides", [{"widget_sockets_per_ip": 1}])
async def test_open_sockets_are_counted_per_peer_address(base_url: str, admin: Api) -> None:
    world = await widget_world(admin)
    opened = []
    try:
        for source, outcome in (
            ("127.0.0.1", "session"),
            ("127.0.0.2", "session"),  # another address: its own allowance
            ("127.0.0.2", "too_many_connections"),  # that address is full
        ):
            got, ws, http = await _connect_from(base_url, world.key, source)
            opened.append((ws, http))
            assert got == outcome, source
    finally:
        for ws, http in opened:
            await ws.close()
            await http.close()
