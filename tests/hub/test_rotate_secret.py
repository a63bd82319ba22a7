"""Rotating a channel's generated secret (issue 15, point 12): the new one is shown once,
the old one stops working, nothing else changes; only admins rotate."""

from __future__ import annotations

import orjson

from tests.support.api_channel import post_api_message
from tests.support.clients import Api
from tests.support.world import make_line


def _message(n: int) -> dict[str, object]:
    return {"message_id": f"m{n}", "chat_id": "c1", "sender": {"id": "u1"}, "text": "hi"}


async def test_rotating_shows_a_new_secret_once(admin: Api) -> None:
    world = await make_line(admin)
    created = await admin.create_channel(world.line["id"], "api", {"timeout_s": 5})
    old = created["secret"]
    assert (await post_api_message(admin, created, _message(1)))[0] == 200

    rotated = await admin.post(f"/api/v1/channels/{created['id']}/rotate-secret", expect=200)
    new = rotated["secret"]
    assert new and new != old and rotated["config"]["timeout_s"] == 5
    assert "secret" not in rotated["config"] and rotated["secrets_set"] == ["secret"]
    # Shown only in that answer.
    again = await admin.get(f"/api/v1/channels/{created['id']}")
    assert new not in orjson.dumps(again).decode()
    assert (await post_api_message(admin, created, _message(2), secret=old))[0] == 401
    assert (await post_api_message(admin, created, _message(3), secret=new))[0] == 200

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
