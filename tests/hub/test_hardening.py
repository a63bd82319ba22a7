"""The hub's own defences (issue #13): CSRF, who writes lines, ranges of every number, sign-in
throttling, slow clients, quiet logs on bad input, the headers on every answer, /metrics."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

import aiohttp
import pytest
import socketio
from aiohttp import web
from pymongo import AsyncMongoClient

from hub.appkeys import HUB
from hub.http import TOKEN_COOKIE
from hub.lognoise import QuietClientErrors
from hub.settings import Settings
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.support.clients import Api, SocketClient, new_msg_id, operator_socket
from tests.support.world import make_line, visitor_says
from tests.widget.support import png_bytes

# --- CSRF ------------------------------------------------------------------------------------


async def test_the_login_cookie_authorises_only_reading_files(
    base_url: str, http: aiohttp.ClientSession, admin: Api
) -> None:
    """A page elsewhere can make the browser send the cookie; it must not change anything."""
    status, body = await Api(base_url, http).call(
        "POST", "/api/v1/auth/login", {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
    )
    assert status == 200
    cookie = {"Cookie": f"{TOKEN_COOKIE}={body['token']}"}
    users_before = await admin.get("/api/v1/users")
    line = await admin.create_line()
    new_user = b'{"email": "csrf@example.com", "password": "long enough 1", "name": "X"}'
    for content_type in ("text/plain", "application/json"):
        async with http.post(
            f"{base_url}/api/v1/users",
            data=new_user,
            headers={**cookie, "Content-Type": content_type, "Origin": "https://evil.example"},
        ) as response:
            assert response.status == 401, content_type
    async with http.post(
        f"{base_url}/api/v1/lines/{line['id']}/channels",
        data=b'{"type": "widget", "config": {}}',
        headers={**cookie, "Content-Type": "text/plain"},
    ) as response:
        assert response.status == 401
    # With the bearer token a JSON body must still say it is JSON.
    async with http.post(
        f"{base_url}/api/v1/users",
        data=new_user,
        headers={"Authorization": f"Bearer {admin.token}", "Content-Type": "text/plain"},
    ) as response:
        assert response.status == 415
        assert (await response.json())["error"]["code"] == "unsupported_media_type"
    assert await admin.get("/api/v1/users") == users_before
    assert (await admin.get(f"/api/v1/lines/{line['id']}/channels"))["channels"] == []

    # Reading a file with the cookie alone (an <img src>) still works.
    form = aiohttp.FormData()
    form.add_field("file", png_bytes(), filename="chart.png", content_type="image/png")
    status, upload = await admin.call("POST", "/api/v1/widget/uploads", data=form)
    assert status == 201
    async with http.get(f"{base_url}/api/v1/files/{upload['id']}", headers=cookie) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "image/png"


# --- lines -----------------------------------------------------------------------------------


async def test_only_admins_write_lines(admin: Api) -> None:
    supervisor = await admin.create_user("supervisor")
    world = await make_line(admin, supervisors=[supervisor.user["id"]])  # type: ignore[index]
    line_id = world.line["id"]
    before = await admin.get(f"/api/v1/lines/{line_id}")
    for patch in ({"operators": []}, {"name": "Mine now"}, {"accept_timeout_s": 5}):
        status, body = await supervisor.call("PATCH", f"/api/v1/lines/{line_id}", patch)
        assert status == 403, (patch, body)
    operator = world.operators[0]
    status, _ = await operator.call("PATCH", f"/api/v1/lines/{line_id}", {"name": "x"})
    assert status == 403
    assert await admin.get(f"/api/v1/lines/{line_id}") == before
    # Supervisors still read their line.
    assert (await supervisor.get(f"/api/v1/lines/{line_id}"))["id"] == line_id


@pytest.mark.parametrize(
    "patch",
    [
        {"no_answer_after_s": 10**18},
        {"auto_close_after_s": 10**18},
        {"accept_timeout_s": 10**9},
        {"max_active_per_operator": 10**9},
        {"working_hours": {"timezone": "A" * 100_000, "week": {}}},
        {"working_hours": {"timezone": "UTC", "holidays": ["2026-01-01"] * 5000}},
    ],
)
async def test_numbers_and_names_out_of_range_are_422(admin: Api, patch: dict[str, Any]) -> None:
    line = await admin.get(f"/api/v1/lines/{(await admin.create_line())['id']}")
    status, body = await admin.call("PATCH", f"/api/v1/lines/{line['id']}", patch)
    assert status == 422, body
    assert body["error"]["code"] == "validation_failed"
    status, body = await admin.call("POST", "/api/v1/lines", {"name": "New", **patch})
    assert status == 422, body
    assert await admin.get(f"/api/v1/lines/{line['id']}") == line


async def test_a_stored_huge_timer_does_not_stop_routing(
    base_url: str, admin: Api, settings: Settings
) -> None:
    """A line stored before the ranges existed is read within them: routing goes on."""
    world = await make_line(admin)
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(settings.mongo_url)
    await client[settings.mongo_db]["lines"].update_one(
        {"_id": world.line["id"]},
        {"$set": {"no_answer_after_s": 10**18, "auto_close_after_s": 10**18}},
    )
    await client.close()
    operator = await operator_socket(base_url, world.operators[0].token or "")
    visitor, _ = await visitor_says(base_url, world.key, "hello")
    offered = await operator.events.wait("conversation:offered")
    ack = await operator.call("conversation:accept", {"id": offered["conversation"]["id"]})
    assert ack["ok"], ack
    await visitor.close()
    await operator.close()


# --- sign-in throttling ----------------------------------------------------------------------


async def _login(anon: Api, email: str, password: str) -> tuple[int, Any, Any]:
    async with anon._session.post(
        f"{anon.base_url}/api/v1/auth/login", json={"email": email, "password": password}
    ) as response:
        return response.status, await response.json(), response.headers.get("Retry-After")


async def test_wrong_passwords_lock_the_account_out(anon: Api) -> None:
    for _ in range(60):
        status, body, _ = await _login(anon, ADMIN_EMAIL, "guess")
        assert status in (401, 429), body
    status, body, retry_after = await _login(anon, ADMIN_EMAIL, ADMIN_PASSWORD)
    assert status == 429, body
    assert body["error"]["code"] == "login_throttled"
    assert retry_after is not None and int(retry_after) > 0
    assert body["error"]["details"]["retry_after_s"] == int(retry_after)


@pytest.mark.settings(login_lockout_s=1.0, login_max_failures=3)
async def test_the_lockout_ends_and_then_the_right_password_works(anon: Api, admin: Api) -> None:
    other = await admin.create_user("operator")
    assert other.user is not None
    for _ in range(3):
        status, _, _ = await _login(anon, ADMIN_EMAIL, "guess")
        assert status == 401
    status, _, _ = await _login(anon, ADMIN_EMAIL, ADMIN_PASSWORD)
    assert status == 429
    # Another account from the same address is not locked by these few failures.
    status, _, _ = await _login(anon, other.user["email"], "correct horse battery")
    assert status == 200
    deadline = time.monotonic() + 20
    while True:
        status, body, _ = await _login(anon, ADMIN_EMAIL, ADMIN_PASSWORD)
        if status == 200 or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    assert status == 200, body


@pytest.mark.settings(login_max_failures=2)
async def test_many_accounts_guessed_from_one_address_lock_the_address(anon: Api) -> None:
    for n in range(20):  # 2 x 10 failures from one address, each on another account
        status, _, _ = await _login(anon, f"nobody{n}@example.com", "guess")
        assert status == 401
    status, body, _ = await _login(anon, ADMIN_EMAIL, ADMIN_PASSWORD)
    assert status == 429, body


# --- slow clients ----------------------------------------------------------------------------


async def _raw(base_url: str, data: bytes) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    host, port = base_url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(data)
    await writer.drain()
    return reader, writer


@pytest.mark.settings(request_body_timeout_s=1.0)
async def test_a_body_that_never_arrives_is_408(base_url: str) -> None:
    started = time.monotonic()
    reader, writer = await _raw(
        base_url,
        b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b'Content-Length: 1000\r\n\r\n{"email": ',
    )
    head = await asyncio.wait_for(reader.readline(), timeout=20)
    assert head.startswith(b"HTTP/1.1 408"), head
    assert time.monotonic() - started < 10
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()


@pytest.mark.settings(request_header_timeout_s=1.0)
async def test_headers_that_never_end_close_the_connection(base_url: str) -> None:
    started = time.monotonic()
    reader, writer = await _raw(base_url, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: a")
    rest = await asyncio.wait_for(reader.read(), timeout=20)  # b"" once the hub hangs up
    assert rest == b"" or rest.startswith(b"HTTP/1.1 4")
    assert time.monotonic() - started < 10
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()


# --- bad input makes one warning line, not a traceback ---------------------------------------


def test_client_errors_are_one_warning_line_each_rate_limited() -> None:
    now = [0.0]
    quiet = QuietClientErrors(burst=3, window_s=60, clock=lambda: now[0])

    def record() -> logging.LogRecord:
        try:
            raise ValueError("invalid literal for int()")
        except ValueError:
            import sys

            return logging.LogRecord(
                "engineio.server", logging.ERROR, "x", 1, "handler error", None, sys.exc_info()
            )

    passed = [r for r in (record() for _ in range(10)) if quiet.filter(r)]
    assert len(passed) == 3
    assert all(r.levelno == logging.WARNING and r.exc_info is None for r in passed)
    assert "ValueError" in passed[0].getMessage()
    now[0] = 61.0
    later = record()
    assert quiet.filter(later)
    assert "7 like it left out" in later.getMessage()


async def test_malformed_frames_and_events_log_no_error(
    base_url: str, admin: Api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    world = await make_line(admin)
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{base_url}/healthz", headers={"X-Big": "a" * 10_000}) as r:
            assert r.status == 400
        ws = await session.ws_connect(f"{base_url}/socket.io/?EIO=4&transport=websocket")
        await ws.receive()  # the Engine.IO open packet
        await ws.send_str("4zzz{{{")
        await ws.send_str('40/operator,{"token":12345}')
        await ws.send_str("42/operator,[broken")
        await ws.close()
    # A non-string token is refused like a forged one.
    client = SocketClient("/operator")
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect(base_url, {"token": ["not", "a", "string"]})
    await client.close()
    # An event with extra arguments gets an error ack.
    operator = await operator_socket(base_url, world.operators[0].token or "", online=False)
    ack = await operator.sio.call(
        "status:set", ({"status": "online"}, "extra"), namespace="/operator", timeout=20
    )
    assert ack["ok"] is False and ack["error"]["code"] == "invalid_payload", ack
    await operator.close()
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [f"{r.name}: {r.getMessage()}" for r in errors]


# --- headers on every answer -----------------------------------------------------------------


async def test_every_answer_carries_nosniff_and_a_policy(
    base_url: str, http: aiohttp.ClientSession, admin: Api
) -> None:
    for path in ("/healthz", "/api/v1/me", "/api/v1/nope", "/widget/loader.js", "/metrics"):
        async with http.get(base_url + path) as response:
            assert response.headers["X-Content-Type-Options"] == "nosniff", path
            assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"], path
    async with http.get(base_url + "/") as response:
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    world = await make_line(admin)
    async with http.get(f"{base_url}/demo?key={world.key}") as response:
        policy = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy


# --- /metrics --------------------------------------------------------------------------------


@pytest.mark.settings(metrics_token="metrics-secret-1")
async def test_metrics_can_need_a_token(base_url: str, http: aiohttp.ClientSession) -> None:
    async with http.get(f"{base_url}/metrics") as response:
        assert response.status == 401
        body = await response.text()
        assert "metrics-secret-1" not in body
    headers = {"Authorization": "Bearer wrong"}
    async with http.get(f"{base_url}/metrics", headers=headers) as response:
        assert response.status == 401
    headers = {"Authorization": "Bearer metrics-secret-1"}
    async with http.get(f"{base_url}/metrics", headers=headers) as response:
        assert response.status == 200
        assert "openlines_messages_in_total" in await response.text()


@pytest.mark.settings(metrics_allowed_networks=["127.0.0.0/8"])
async def test_metrics_can_be_kept_to_networks(base_url: str, http: aiohttp.ClientSession) -> None:
    async with http.get(f"{base_url}/metrics") as response:
        assert response.status == 200


@pytest.mark.settings(metrics_allowed_networks=["10.0.0.0/8"])
async def test_metrics_refuse_other_networks(base_url: str, http: aiohttp.ClientSession) -> None:
    async with http.get(f"{base_url}/metrics") as response:
        assert response.status == 401


async def test_message_ids_survive(admin: Api, base_url: str) -> None:
    """Sanity: a normal conversation still works end to end with all the above in place."""
    world = await make_line(admin)
    operator = await operator_socket(base_url, world.operators[0].token or "")
    visitor, _ = await visitor_says(base_url, world.key, "hi")
    offered = await operator.events.wait("conversation:offered")
    conversation_id = offered["conversation"]["id"]
    await world.operators[0].post(f"/api/v1/conversations/{conversation_id}/accept")
    reply = await world.operators[0].post(
        f"/api/v1/conversations/{conversation_id}/messages",
        {"text": "Hello!", "client_msg_id": new_msg_id()},
    )
    assert reply["text"] == "Hello!"
    await visitor.events.wait("message:new", lambda m: m["message"]["text"] == "Hello!")
    await visitor.close()
    await operator.close()


async def test_a_rating_link_without_a_rating_records_nothing(
    base_url: str, admin: Api, hub_app: web.Application, http: aiohttp.ClientSession
) -> None:
    world = await make_line(admin, csat={"enabled": True})
    visitor, message = await visitor_says(base_url, world.key, "hello")
    conversation_id = message["conversation_id"]
    operator = world.operators[0]
    await operator.post(f"/api/v1/conversations/{conversation_id}/accept", expect=200)
    await operator.post(f"/api/v1/conversations/{conversation_id}/close", expect=200)
    link = hub_app[HUB].visitor_tokens.csat_link(base_url, conversation_id, 5)
    async with http.get(link.split("?")[0]) as response:
        assert response.status == 422
    conversation = await admin.get(f"/api/v1/conversations/{conversation_id}")
    assert conversation["csat"]["status"] == "requested"
    async with http.get(link) as response:
        assert response.status == 200
    conversation = await admin.get(f"/api/v1/conversations/{conversation_id}")
    assert conversation["csat"]["rating"] == 5
    await visitor.close()


async def test_a_wrong_method_says_which_are_allowed(anon: Api) -> None:
    async with anon._session.delete(f"{anon.base_url}/api/v1/auth/login") as response:
        assert response.status == 405
        assert "POST" in response.headers["Allow"]
        assert (await response.json())["error"]["code"] == "method_not_allowed"
