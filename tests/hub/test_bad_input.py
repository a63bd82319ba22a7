"""Bad input gets a 4xx with the JSON error body and changes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.clients import Api, new_msg_id, operator_socket, public_texts, visitor_socket
from tests.support.world import make_line, visitor_says


def assert_error(body: Any, code: str | None = None) -> None:
    assert set(body) == {"error"}, body
    assert isinstance(body["error"]["code"], str) and isinstance(body["error"]["message"], str)
    if code:
        assert body["error"]["code"] == code, body


async def _counts(admin: Api) -> tuple[int, int]:
    users = len((await admin.get("/api/v1/users"))["users"])
    lines = len((await admin.get("/api/v1/lines"))["lines"])
    return users, lines


async def test_wrong_password_is_401(anon: Api) -> None:
    status, body = await anon.call(
        "POST", "/api/v1/auth/login", {"email": "admin@example.com", "password": "nope"}
    )
    assert status == 401
    assert_error(body, "invalid_credentials")
    status, body = await anon.call(
        "POST", "/api/v1/auth/login", {"email": "nobody@example.com", "password": "nope"}
    )
    assert status == 401
    assert_error(body, "invalid_credentials")


async def test_no_or_bad_token_is_401(anon: Api) -> None:
    status, body = await anon.call("GET", "/api/v1/me")
    assert status == 401
    assert_error(body)
    status, body = await Api(anon.base_url, anon._session, "forged").call("GET", "/api/v1/me")
    assert status == 401
    assert_error(body, "invalid_token")


@pytest.mark.parametrize(
    ("path", "raw", "status", "code"),
    [
        ("/api/v1/users", b"{not json", 400, "invalid_json"),
        ("/api/v1/users", b"[1, 2]", 422, "invalid_body"),
        ("/api/v1/users", b'{"email": "x", "password": "short", "name": ""}', 422, None),
        (
            "/api/v1/users",
            b'{"email": "a@b.co", "password": "long enough", "name": "A", "role": "emperor"}',
            422,
            None,
        ),
        ("/api/v1/lines", b'{"name": ""}', 422, None),
        ("/api/v1/lines", b'{"name": "L", "distribution": "random"}', 422, None),
        ("/api/v1/lines", b'{"name": "L", "operators": ["no-such-user"]}', 422, "unknown_user"),
        (
            "/api/v1/lines",
            b'{"name": "L", "working_hours": {"timezone": "Mars/Olympus"}}',
            422,
            None,
        ),
        (
            "/api/v1/lines",
            b'{"name": "L", "working_hours": {"week": {"mon": [["9", "18"]]}}}',
            422,
            None,
        ),
        ("/api/v1/lines", b'{"name": "L", "surprise": 1}', 422, None),
    ],
)
async def test_invalid_bodies_store_nothing(
    admin: Api, path: str, raw: bytes, status: int, code: str | None
) -> None:
    before = await _counts(admin)
    got, body = await admin.call(
        "POST", path, data=raw, headers={"Content-Type": "application/json"}
    )
    assert got == status, body
    assert_error(body, code)
    assert await _counts(admin) == before


async def test_secrets_are_never_echoed(admin: Api) -> None:
    line = await admin.create_line()
    created = await admin.create_channel(line["id"], "api", {"secret": "s" * 20})
    # Shown once at creation (it was generated or given), never again.
    assert created["secret"] == "s" * 20
    listed = (await admin.get(f"/api/v1/lines/{line['id']}/channels"))["channels"]
    assert "secret" not in listed[0]["config"] and "secret" not in listed[0]
    assert listed[0]["secrets_set"] == ["secret"]
    fetched = await admin.get(f"/api/v1/channels/{created['id']}")
    assert "s" * 20 not in str(fetched)
    patched = await admin.patch(
        f"/api/v1/channels/{created['id']}", {"config": {"webhook_url": "http://127.0.0.1:9/x"}}
    )
    assert "s" * 20 not in str(patched)


async def test_other_operators_conversation_is_hidden(base_url: str, admin: Api) -> None:
    world = await make_line(admin, operators=2)
    mine, theirs = world.operators
    operator = await operator_socket(base_url, mine.token or "")
    visitor, first = await visitor_says(base_url, world.key, "hello")
    conversation_id = first["conversation_id"]
    await operator.events.wait("conversation:offered")
    assert (await operator.call("conversation:accept", {"id": conversation_id}))["ok"]

    for method, path, json in [
        ("GET", f"/api/v1/conversations/{conversation_id}", None),
        ("GET", f"/api/v1/conversations/{conversation_id}/messages", None),
        ("POST", f"/api/v1/conversations/{conversation_id}/messages", {"text": "hijack"}),
        ("POST", f"/api/v1/conversations/{conversation_id}/close", {}),
    ]:
        status, body = await theirs.call(method, path, json)
        assert status in (403, 404), (path, status, body)
        assert_error(body)
    listing = await theirs.get("/api/v1/conversations")
    assert conversation_id not in [c["id"] for c in listing["conversations"]]

    # An operator may not manage users or lines.
    status, body = await theirs.call(
        "POST", "/api/v1/users", {"email": "x@example.com", "password": "long enough", "name": "X"}
    )
    assert status == 403
    assert_error(body, "forbidden")
    messages = await mine.get(f"/api/v1/conversations/{conversation_id}/messages")
    assert public_texts(messages["messages"]) == ["hello"]
    await visitor.close()
    await operator.close()


async def test_unknown_routes_and_methods_are_json(anon: Api) -> None:
    status, body = await anon.call("GET", "/api/v1/nothing-here")
    assert status == 404
    assert_error(body, "not_found")
    status, body = await anon.call("DELETE", "/healthz")
    assert status == 405
    assert_error(body, "method_not_allowed")


async def test_webhook_with_wrong_secret_stores_nothing(admin: Api) -> None:
    line = await admin.create_line()
    channel = await admin.create_channel(line["id"], "api", {})
    payload = {"message_id": "x1", "chat_id": "c", "sender": {"id": "u"}, "text": "hi"}
    for headers in ({}, {"X-OpenLines-Secret": "wrong"}):
        status, body = await admin.call(
            "POST", f"/hooks/api/{channel['id']}", payload, headers=headers
        )
        assert status == 401
        assert_error(body, "invalid_secret")
    status, body = await admin.call("POST", "/hooks/api/no-such-channel", payload)
    assert status == 404
    assert (await admin.get("/api/v1/conversations"))["conversations"] == []


async def test_socket_events_with_bad_payloads_are_refused(base_url: str, admin: Api) -> None:
    world = await make_line(admin)
    visitor = await visitor_socket(base_url, world.key)
    for payload in (
        None,
        {},
        {"text": ""},
        {"text": "x" * 4001, "client_msg_id": "a"},
        {"text": "hi", "client_msg_id": "a", "extra": True},
        "string",
    ):
        ack = await visitor.call("message:send", payload)
        assert ack["ok"] is False, payload
        assert ack["error"]["code"] in ("validation_failed", "invalid_body"), ack
    history = await visitor.call("history", {})
    assert history == {
        "ok": True,
        "messages": [],
        "conversation_id": None,
        "closed": False,
        "csat": None,
    }

    operator = await operator_socket(base_url, world.operators[0].token or "", online=False)
    ack = await operator.call("status:set", {"status": "dancing"})
    assert ack["ok"] is False
    ack = await operator.call(
        "message:send", {"conversation_id": "nope", "text": "x", "client_msg_id": new_msg_id()}
    )
    assert ack == {"ok": False, "error": {"code": "not_found", "message": "no such conversation"}}
    await visitor.close()
    await operator.close()


async def test_sockets_refuse_bad_credentials(base_url: str, admin: Api) -> None:
    import socketio

    from tests.support.clients import SocketClient

    for namespace, auth in (
        ("/operator", {"token": "forged"}),
        ("/widget", {"key": "nope"}),
        ("/widget", {}),
    ):
        client = SocketClient(namespace)
        with pytest.raises(socketio.exceptions.ConnectionError):
            await client.connect(base_url, auth)
        await client.close()

    line = await admin.create_line()
    widget = await admin.create_channel(
        line["id"], "widget", {"allowed_origins": ["https://shop.example.com"]}
    )
    client = SocketClient("/widget")
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect(
            base_url, {"key": widget["key"]}, headers={"Origin": "https://evil.example.com"}
        )
    await client.close()
    allowed = await visitor_socket(base_url, widget["key"], origin="https://shop.example.com")
    await allowed.close()
