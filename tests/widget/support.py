"""Helpers of the widget suite: a widget channel with a given config, opening the widget in a
page, accepting the conversation as an operator, refused connects, stored state, and a TCP path
to the hub that can be cut."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import struct
import zlib
from typing import Any

import socketio
from playwright.async_api import Browser, BrowserContext, Page

from tests.support.clients import Api, SocketClient, new_msg_id
from tests.support.waiting import eventually
from tests.support.world import LineWorld, make_line


async def widget_world(
    admin: Api, *, line: dict[str, Any] | None = None, **config: Any
) -> LineWorld:
    """A line with one operator and a widget channel configured with ``config``."""
    world = await make_line(admin, **(line or {}))
    world.widget = await admin.create_channel(
        world.line["id"], "widget", {"title": "Shop help", **config}
    )
    return world


async def open_widget(
    browser: Browser | BrowserContext, url: str, *, connected: bool = True
) -> Page:
    """A page of ``url`` with the widget open (and, by default, its session started)."""
    page = await browser.new_page()
    await page.goto(url)
    await page.get_by_test_id("ol-launcher").click()
    await page.get_by_test_id("ol-panel").wait_for()
    if connected:
        await page.locator("#openlines-widget[data-ol-state=ready]").wait_for(state="attached")
    return page


async def send_from_page(page: Page, text: str) -> None:
    await page.get_by_test_id("ol-input").fill(text)
    await page.get_by_test_id("ol-send").click()


async def accept_next(operator: SocketClient, skip: frozenset[str] = frozenset()) -> str:
    """Wait for an offer of a conversation not in ``skip``, accept it; its id."""
    offer = await operator.events.wait(
        "conversation:offered", lambda d: d["conversation"]["id"] not in skip
    )
    conversation_id = str(offer["conversation"]["id"])
    ack = await operator.call("conversation:accept", {"id": conversation_id})
    assert ack["ok"], ack
    return conversation_id


async def reply(operator: SocketClient, conversation_id: str, text: str) -> dict[str, Any]:
    ack = await operator.call(
        "message:send",
        {"conversation_id": conversation_id, "text": text, "client_msg_id": new_msg_id()},
    )
    assert ack["ok"], ack
    return dict(ack["message"])


async def stored_texts(api: Api, conversation_id: str) -> list[str]:
    body = await api.get(f"/api/v1/conversations/{conversation_id}/messages?limit=200")
    return [m["text"] for m in body["messages"] if m["direction"] == "in"]


async def only_conversation(api: Api, line_id: str) -> dict[str, Any]:
    listing = await eventually(
        lambda: api.get(f"/api/v1/conversations?line_id={line_id}"),
        lambda body: len(body["conversations"]) == 1,
    )
    return dict(listing["conversations"][0])


def png_bytes(width: int = 4, height: int = 3, *, padding: int = 0) -> bytes:
    """A valid PNG (red pixels); ``padding`` adds an ancillary chunk to make it bigger."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    extra = chunk(b"tEXt", b"pad\x00" + b"x" * padding) if padding else b""
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + extra
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


class CuttableProxy:
    """A TCP forwarder in front of the hub. ``cut()`` drops every connection and refuses new
    ones until ``restore()``; ``drop_downstream`` swallows what the hub sends (lost acks);
    ``refuse_websockets`` answers a websocket handshake 400 (a proxy that passes plain HTTP
    only)."""

    def __init__(self, target_port: int) -> None:
        self._target_port = target_port
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self.down = False
        self.drop_downstream = False
        self.refuse_websockets = False
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> CuttableProxy:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.down:
            writer.close()
            return
        head = b""
        if self.refuse_websockets:
            # A browser opens every websocket on a connection of its own: its first request.
            with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
                head = await reader.readuntil(b"\r\n\r\n")
            if b"upgrade: websocket" in head.lower():
                writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                self._close(writer)
                return
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self._target_port)
        up_writer.write(head)
        self._writers.update((writer, up_writer))
        upstream = asyncio.create_task(self._pipe(reader, up_writer, downstream=False))
        downstream = asyncio.create_task(self._pipe(up_reader, writer, downstream=True))
        self._tasks.update((upstream, downstream))
        await asyncio.gather(upstream, downstream, return_exceptions=True)

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, downstream: bool
    ) -> None:
        try:
            while data := await reader.read(65536):
                if downstream and self.drop_downstream:
                    continue
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            self._close(writer)

    def _close(self, writer: asyncio.StreamWriter) -> None:
        self._writers.discard(writer)
        with contextlib.suppress(Exception):
            writer.close()

    def cut(self) -> None:
        self.down = True
        self.drop_downstream = False
        for writer in list(self._writers):
            self._close(writer)

    def restore(self) -> None:
        self.down = False

    async def close(self) -> None:
        self.cut()
        if self._server:
            self._server.close()
            await self._server.wait_closed()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


async def refusal(
    base_url: str, auth: dict[str, Any], headers: dict[str, str] | None = None
) -> dict[str, Any]:
    """Connect to ``/widget`` expecting a refusal; its data (``{code, message}``)."""
    client = socketio.AsyncClient(reconnection=False)
    refused: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()

    async def on_error(data: Any = None) -> None:
        if not refused.done():
            refused.set_result(dict(data.get("data") or {}) if isinstance(data, dict) else {})

    client.on("connect_error", on_error, namespace="/widget")
    try:
        await client.connect(
            base_url,
            namespaces=["/widget"],
            auth=auth,
            transports=["websocket"],
            headers=headers or {},
            wait_timeout=20,
        )
    except socketio.exceptions.ConnectionError:
        return await asyncio.wait_for(refused, 20)
    finally:
        await client.disconnect()
    raise AssertionError("the connection was accepted")


async def stored_docs(
    mongo_url: str, db_name: str, collection: str, query: dict[str, Any]
) -> list[dict[str, Any]]:
    """Documents as stored, for state no endpoint shows (file counts, verified flags)."""
    from pymongo import AsyncMongoClient

    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url)
    try:
        return await client[db_name][collection].find(query).to_list()
    finally:
        await client.close()


def old_format_token(key: bytes, channel_id: str, visitor_id: str) -> str:
    """A visitor token as the hub signed them before they expired (three parts, no time)."""
    payload = f"{channel_id}.{visitor_id}"
    digest = hmac.new(key, payload.encode(), hashlib.sha256).digest()
    return f"{payload}.{base64.urlsafe_b64encode(digest).rstrip(b'=').decode()}"
