"""Rotating a channel's generated secret (issue 15, point 12): the new one is shown once,
the old one stops working, nothing else changes; kinds without one say so."""

from __future__ import annotations

import time

import orjson

from channels.api.signing import signed_headers
from tests.support.clients import Api
from tests.support.world import make_line


async def _signed_post(admin: Api, channel_id: str, secret: str) -> int:
    body = orjson.dumps(
        {
            "chat_id": "c1",
            "sender": {"id": "u1", "name": "Ann"},
            "message_id": f"m{time.time_ns()}",
            "text": "hi",
        }
    )
    headers = {"Content-Type": "application/json", **signed_headers(secret, body)}
    status, _ = await admin.call("POST", f"/hooks/api/{channel_id}", data=body, headers=headers)
    return status


async def test_rotating_shows_a_new_secret_once(admin: Api) -> None:
    world = await make_line(admin)
    created = await admin.create_channel(world.line["id"], "api", {"timeout_s": 5})
    old = created["secret"]
    assert await _signed_post(admin, created["id"], old) == 200

    rotated = await admin.post(f"/api/v1/channels/{created['id']}/rotate-secret", expect=200)
    new = rotated["secret"]
    assert new and new != old and rotated["config"]["timeout_s"] == 5
    assert "secret" not in rotated["config"] and rotated["secrets_set"] == ["secret"]
    # Shown only in that answer.
    again = await admin.get(f"/api/v1/channels/{created['id']}")
    assert new not in orjson.dumps(again).decode()
    assert await _signed_post(admin, created["id"], old) == 401
    assert await _signed_post(admin, created["id"], new) == 200

    widget = await admin.post(f"/api/v1/channels/{world.widget['id']}/rotate-secret", expect=200)
    assert widget["identity_secret"] != world.widget["identity_secret"]
    assert widget["key"] == world.widget["key"]  # the embed snippet keeps working


async def test_only_admins_rotate(admin: Api) -> None:
    world = await make_line(admin)
    operator = world.operators[0]
    status, body = await operator.call(
        "POST", f"/api/v1/channels/{world.widget['id']}/rotate-secret"
    )
    assert status == 403, body
    status, body = await admin.call("POST", "/api/v1/channels/nope/rotate-secret")
    assert status == 404, body
