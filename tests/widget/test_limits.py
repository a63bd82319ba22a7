"""What one anonymous visitor and one IP address may use (issue #13, finding 8): uploaded files
and bytes, open sockets, connects per minute, typing/history/pre-chat events; counters shared
through Redis; an upload streams into the store instead of sitting in memory."""

from __future__ import annotations

import asyncio
import time
import tracemalloc
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from hub.app import create_app
from hub.settings import Settings
from tests.conftest import REDIS_URL, make_settings
from tests.support.clients import Api, SocketClient, visitor_socket
from tests.widget.support import png_bytes, refusal, stored_docs, widget_world
from tests.widget.test_files import upload

# Loopback is the "proxy": X-Real-IP then names the client, so one test can be many addresses.
BEHIND_PROXY = {"trusted_proxies": ["127.0.0.0/8"]}


def from_ip(ip: str) -> dict[str, str]:
    return {"X-Real-IP": ip}


async def visitor_token(base_url: str, key: str, ip: str) -> str:
    client = await visitor_socket_from(base_url, key, ip)
    token = str((await client.events.wait("session"))["token"])
    await client.close()
    return token


async def visitor_socket_from(base_url: str, key: str, ip: str) -> SocketClient:
    client = SocketClient("/widget")
    await client.connect(base_url, {"key": key}, headers=from_ip(ip))
    await client.events.wait("session")
    return client


async def stored_count(mongo_url: str, settings: Settings) -> int:
    return len(await stored_docs(mongo_url, settings.mongo_db, "attachments.files", {}))


@pytest.mark.parametrize("settings_overrides", [{**BEHIND_PROXY, "upload_rate_files": 2}])
async def test_uploads_per_visitor_and_per_ip_are_limited(
    base_url: str, admin: Api, http: aiohttp.ClientSession, mongo_url: str, settings: Settings
) -> None:
    world = await widget_world(admin)
    token = await visitor_token(base_url, world.key, "203.0.113.1")
    headers = {"X-Visitor-Token": token, **from_ip("203.0.113.1")}
    for name in ("a.png", "b.png"):
        status, body, _ = await upload(http, base_url, name, png_bytes(), headers)
        assert status == 201, body
    status, body, _ = await upload(http, base_url, "c.png", png_bytes(), headers)
    assert status == 429 and body["error"]["code"] == "rate_limited"
    assert body["error"]["details"]["limit"] == "files"
    # The address may send five visitors' worth (10): four more visitors with two each.
    for _ in range(4):
        other = await visitor_token(base_url, world.key, "203.0.113.1")
        for name in ("a.png", "b.png"):
            status, body, _ = await upload(
                http, base_url, name, png_bytes(), {**headers, "X-Visitor-Token": other}
            )
            assert status == 201, body
    sixth = await visitor_token(base_url, world.key, "203.0.113.1")
    status, body, _ = await upload(
        http, base_url, "a.png", png_bytes(), {**headers, "X-Visitor-Token": sixth}
    )
    assert status == 429 and body["error"]["code"] == "rate_limited"
    # The same visitor from another address is within the address's limit, not their own.
    status, body, _ = await upload(
        http, base_url, "a.png", png_bytes(), {"X-Visitor-Token": sixth, **from_ip("198.51.100.2")}
    )
    assert status == 201, body
    assert await stored_count(mongo_url, settings) == 11


@pytest.mark.parametrize("settings_overrides", [{**BEHIND_PROXY, "upload_quota_bytes": 10_000}])
async def test_upload_bytes_per_visitor_and_per_ip_have_a_quota(
    base_url: str, admin: Api, http: aiohttp.ClientSession, mongo_url: str, settings: Settings
) -> None:
    world = await widget_world(admin)
    picture = png_bytes(padding=6000)  # about 6.1 KB with its multipart framing
    token = await visitor_token(base_url, world.key, "203.0.113.1")
    headers = {"X-Visitor-Token": token, **from_ip("203.0.113.1")}
    status, body, _ = await upload(http, base_url, "a.png", picture, headers)
    assert status == 201, body
    status, body, _ = await upload(http, base_url, "b.png", picture, headers)
    assert status == 429 and body["error"]["code"] == "rate_limited"
    assert body["error"]["details"]["limit"] == "bytes"
    # A small file still fits the visitor's quota.
    status, body, _ = await upload(http, base_url, "c.png", png_bytes(), headers)
    assert status == 201, body
    # The address has four times as much (40 KB): five more of these fill it.
    uploaded = 0
    for _ in range(8):
        other = await visitor_token(base_url, world.key, "203.0.113.1")
        status, body, _ = await upload(
            http, base_url, "a.png", picture, {**headers, "X-Visitor-Token": other}
        )
        if status == 429:
            assert body["error"]["details"]["limit"] == "bytes"
            break
        assert status == 201, body
        uploaded += 1
    assert uploaded == 5
    assert await stored_count(mongo_url, settings) == 2 + uploaded


@pytest.mark.parametrize("settings_overrides", [{"upload_max_bytes": 8 << 20}])
async def test_an_upload_streams_into_the_store_with_bounded_memory(
    base_url: str, admin: Api, http: aiohttp.ClientSession
) -> None:
    world = await widget_world(admin)
    visitor = await visitor_socket(base_url, world.key)
    token = (await visitor.events.wait("session"))["token"]
    await visitor.close()
    picture = png_bytes(padding=6 << 20)
    head = (
        b'--b\r\nContent-Disposition: form-data; name="file"; filename="big.png"\r\n'
        b"Content-Type: image/png\r\n\r\n"
    )
    tail = b"\r\n--b--\r\n"

    async def body() -> AsyncIterator[bytes]:
        yield head
        view = memoryview(picture)
        for start in range(0, len(picture), 64 * 1024):
            yield bytes(view[start : start + 64 * 1024])
        yield tail

    headers = {
        "X-Visitor-Token": token,
        "Content-Type": "multipart/form-data; boundary=b",
        "Content-Length": str(len(head) + len(picture) + len(tail)),
    }
    tracemalloc.start()
    try:
        async with http.post(
            f"{base_url}/api/v1/widget/uploads", data=body(), headers=headers
        ) as response:
            assert response.status == 201, await response.text()
            stored = await response.json()
        _, peak_bytes = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert stored["size"] == len(picture)
    # A few chunks in flight (reading, the store's message), never the 6 MB file itself.
    assert peak_bytes < 4 << 20, f"peak {peak_bytes} bytes"
    async with http.get(
        f"{base_url}/api/v1/files/{stored['id']}", params={"token": token}
    ) as response:
        assert response.status == 200 and await response.read() == picture


@pytest.mark.parametrize("settings_overrides", [{"widget_sockets_per_ip": 2}])
async def test_open_widget_sockets_per_ip_are_limited(base_url: str, admin: Api) -> None:
    world = await widget_world(admin)
    first = await visitor_socket(base_url, world.key)
    second = await visitor_socket(base_url, world.key)
    refused = await refusal(base_url, {"key": world.key})
    assert refused["code"] == "too_many_connections"
    await first.close()
    # A closed socket frees its place (the hub hears the disconnect a moment later).
    third = await reconnect_when_free(base_url, world.key)
    await third.close()
    await second.close()


async def reconnect_when_free(base_url: str, key: str) -> SocketClient:
    from tests.support.waiting import eventually

    async def attempt() -> SocketClient | None:
        try:
            return await visitor_socket(base_url, key)
        except Exception:
            return None

    client = await eventually(attempt, lambda c: c is not None)
    assert client is not None
    return client


@pytest.mark.parametrize("settings_overrides", [{**BEHIND_PROXY, "widget_connects_per_ip": 3}])
async def test_connects_per_ip_per_minute_are_limited(base_url: str, admin: Api) -> None:
    world = await widget_world(admin)
    for _ in range(3):
        client = await visitor_socket_from(base_url, world.key, "203.0.113.9")
        await client.close()
    refused = await refusal(base_url, {"key": world.key}, from_ip("203.0.113.9"))
    assert refused["code"] == "rate_limited"
    # Another address is not affected.
    other = await visitor_socket_from(base_url, world.key, "198.51.100.9")
    await other.close()


@pytest.fixture
async def second_hub(mongo_url: str, db_name: str, tmp_path: Path) -> AsyncIterator[str]:
    """Another hub process (in this one) on the same database and Redis; its base URL."""
    settings = make_settings(
        mongo_url, db_name, tmp_path / "data-2", redis_url=REDIS_URL, widget_connects_per_ip=3
    )
    server = TestServer(await create_app(settings), host="127.0.0.1")
    await server.start_server(shutdown_timeout=5)
    yield str(server.make_url("")).rstrip("/")
    await server.close()


@pytest.mark.parametrize(
    "settings_overrides", [{"redis_url": REDIS_URL, "widget_connects_per_ip": 3}]
)
async def test_the_connect_limit_is_shared_through_redis(
    base_url: str, second_hub: str, admin: Api
) -> None:
    world = await widget_world(admin)
    # Redis counts per wall-clock minute: start well inside one, so all four connects share it.
    seconds_into_minute = time.time() % 60
    if seconds_into_minute > 45:
        await asyncio.sleep(60.5 - seconds_into_minute)
    for hub_url in (base_url, base_url, second_hub):
        client = await visitor_socket(hub_url, world.key)
        await client.close()
    refused = await refusal(second_hub, {"key": world.key})
    assert refused["code"] == "rate_limited"
    assert (await refusal(base_url, {"key": world.key}))["code"] == "rate_limited"


@pytest.mark.parametrize("settings_overrides", [{"widget_rate_events": 10}])
async def test_typing_history_and_prechat_events_are_limited(base_url: str, admin: Api) -> None:
    world = await widget_world(admin)
    visitor = await visitor_socket(base_url, world.key)

    async def codes(event: str, data: dict[str, Any], times: int) -> list[str]:
        acks = [await visitor.call(event, data) for _ in range(times)]
        return ["ok" if a["ok"] else a["error"]["code"] for a in acks]

    assert await codes("typing", {"on": True}, 11) == ["ok"] * 10 + ["rate_limited"]
    assert await codes("history", {}, 11) == ["ok"] * 10 + ["rate_limited"]
    # Pre-chat writes the client: a tenth of the allowance.
    assert await codes("prechat", {"name": f"Anna {uuid.uuid4().hex[:4]}"}, 2) == [
        "ok",
        "rate_limited",
    ]
    # Each visitor has their own allowance.
    other = await visitor_socket(base_url, world.key)
    assert (await other.call("typing", {"on": True}))["ok"]
    await other.close()
    await visitor.close()
