"""The ``api`` channel's inbound hook takes signed requests only: a fresh timestamp and an
HMAC of it and the raw body, each (timestamp, signature) once. Replies go out signed alike."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from hub.app import create_app
from hub.settings import Settings
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, REDIS_URL, make_settings
from tests.fakes.webhook_receiver import WebhookReceiver
from tests.support.api_channel import post_api_message, signature, signed_headers
from tests.support.clients import Api
from tests.support.waiting import eventually

WINDOW_S = 300


def _message(message_id: str, text: str = "hello") -> dict[str, Any]:
    return {"message_id": message_id, "chat_id": "c1", "sender": {"id": "u1"}, "text": text}


async def _texts(admin: Api) -> list[str]:
    found = (await admin.get("/api/v1/conversations"))["conversations"]
    texts = []
    for conversation in found:
        body = await admin.get(f"/api/v1/conversations/{conversation['id']}/messages")
        texts += [m["text"] for m in body["messages"] if m["direction"] == "in"]
    return sorted(texts)


async def test_only_fresh_signed_requests_are_taken_each_once(admin: Api) -> None:
    line = await admin.create_line()
    channel = await admin.create_channel(line["id"], "api", {})
    secret = channel["secret"]
    hook = f"/hooks/api/{channel['id']}"
    assert await post_api_message(admin, channel, _message("m1", "signed")) == (200, {"ok": True})

    body = orjson.dumps(_message("m2", "forged"))
    now = int(time.time())
    forged: list[tuple[dict[str, str], str]] = [
        # The old scheme: the secret itself in a header authenticates no more.
        ({"X-OpenLines-Secret": secret}, "invalid_secret"),
        ({"X-OpenLines-Timestamp": str(now)}, "invalid_secret"),
        (signed_headers("another secret entirely", body, now), "invalid_secret"),
        # Signed, but not this body (the text was changed on the way).
        (signed_headers(secret, body.replace(b"forged", b"FORGED"), now), "invalid_secret"),
        # The signature of the body alone (the old outgoing scheme) proves no timestamp.
        (
            {
                "X-OpenLines-Timestamp": str(now),
                "X-OpenLines-Signature": signature(secret, now, b"")[:10] + "0" * 54,
            },
            "invalid_secret",
        ),
        ({**signed_headers(secret, body, now), "X-OpenLines-Timestamp": "soon"}, "invalid_secret"),
        (signed_headers(secret, body, now - WINDOW_S - 5), "stale_timestamp"),
        (signed_headers(secret, body, now + WINDOW_S + 5), "stale_timestamp"),
    ]
    for headers, code in forged:
        status, answer = await admin.call("POST", hook, data=body, headers=headers)
        assert status == 401, (headers, answer)
        assert answer["error"]["code"] == code, (headers, answer)
        assert secret not in orjson.dumps(answer).decode()

    # A request taken once is refused when it comes again (within the window it could).
    # (100 s back: further than post_api_message ever signs, so its post below is not this one.)
    replayed = signed_headers(secret, orjson.dumps(_message("m3", "once")), now - 100)
    for expected in (200, 401):
        status, answer = await admin.call(
            "POST", hook, data=orjson.dumps(_message("m3", "once")), headers=replayed
        )
        assert status == expected, answer
    assert answer["error"]["code"] == "replayed_request"
    # Signed anew, the same message is welcome (and stored once: its message_id).
    assert (await post_api_message(admin, channel, _message("m3", "once")))[0] == 200
    assert await _texts(admin) == ["once", "signed"]


@pytest.fixture
async def two_hubs(mongo_url: str, db_name: str, tmp_path: Path) -> AsyncIterator[list[str]]:
    """Two hubs on one database and one Redis, as two processes behind a balancer."""
    servers = []
    for name in ("a", "b"):
        settings = make_settings(mongo_url, db_name, tmp_path / name, redis_url=REDIS_URL)
        app: web.Application = await create_app(settings)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server(shutdown_timeout=5)
        servers.append(server)
    yield [str(s.make_url("")).rstrip("/") for s in servers]
    for server in servers:
        await server.close()


async def test_a_request_taken_by_one_hub_is_a_replay_at_another(two_hubs: list[str]) -> None:
    async with aiohttp.ClientSession() as http:
        first = await Api(two_hubs[0], http).login(ADMIN_EMAIL, ADMIN_PASSWORD)
        second = Api(two_hubs[1], http, first.token)
        line = await first.create_line()
        channel = await first.create_channel(line["id"], "api", {})
        body = orjson.dumps(_message("r1"))
        headers = signed_headers(channel["secret"], body)
        path = f"/hooks/api/{channel['id']}"
        status, _ = await first.call("POST", path, data=body, headers=headers)
        assert status == 200
        status, answer = await second.call("POST", path, data=body, headers=headers)
        assert status == 401 and answer["error"]["code"] == "replayed_request", answer


@pytest.fixture
def settings(mongo_url: str, db_name: str, tmp_path: Path) -> Settings:
    return make_settings(mongo_url, db_name, tmp_path / "data", api_signature_window_s=WINDOW_S)


async def test_replies_are_signed_with_a_timestamp(admin: Api) -> None:
    receiver = await WebhookReceiver(lambda text, attempt: 200).start()
    line = await admin.create_line()
    channel = await admin.create_channel(line["id"], "api", {"webhook_url": receiver.url})
    assert (await post_api_message(admin, channel, _message("m1")))[0] == 200
    [conversation] = (await admin.get("/api/v1/conversations"))["conversations"]
    cid = conversation["id"]
    await admin.post(f"/api/v1/conversations/{cid}/accept", expect=200)
    sent = await admin.post(f"/api/v1/conversations/{cid}/messages", {"text": "hi"}, expect=201)
    await eventually(lambda: _calls(receiver, sent["id"]), lambda calls: len(calls) == 1)
    [call] = receiver.calls[sent["id"]]
    timestamp = int(call["timestamp"])
    assert abs(time.time() - timestamp) < 60
    assert call["signature"] == signature(channel["secret"], timestamp, call["raw"])
    await receiver.close()


async def _calls(receiver: WebhookReceiver, message_id: str) -> list[dict[str, Any]]:
    return receiver.calls.get(message_id, [])
