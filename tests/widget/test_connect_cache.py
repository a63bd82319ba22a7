"""The widget's connect answers from per-process copies (the channel by key, the line's state),
and each copy gives way when what it copies changes: within ``CHANNEL_TTL_S`` for the channel
(at once on the process that changed it), within ``LINE_STATE_TTL_S`` for the line; the
visitor's latest conversation is looked up for many connects together, each its own."""

from __future__ import annotations

import asyncio
from typing import Any

from hub.stream import CHANNEL_TTL_S
from tests.support.clients import Api, visitor_socket
from tests.support.waiting import eventually
from tests.widget.support import refusal, widget_world
from widget.namespace import LINE_STATE_TTL_S

SITE = "https://shop.example"
OTHER = "https://other.example"


async def session_of(base_url: str, key: str, origin: str = SITE) -> dict[str, Any]:
    visitor = await visitor_socket(base_url, key, origin=origin)
    try:
        session: dict[str, Any] = await visitor.events.wait("session")
        return session
    finally:
        await visitor.close()


async def test_an_origin_removed_refuses_the_next_connect(base_url: str, admin: Api) -> None:
    world = await widget_world(admin, allowed_origins=[SITE, OTHER])
    # Connects from both sites fill the copies.
    for origin in (SITE, OTHER, SITE):
        await session_of(base_url, world.key, origin)
    await admin.patch(
        f"/api/v1/channels/{world.widget['id']}", {"config": {"allowed_origins": [OTHER]}}
    )

    async def refused_code() -> str:
        refused = await refusal(base_url, {"key": world.key}, {"Origin": SITE})
        return str(refused.get("code"))

    await eventually(
        refused_code, lambda code: code == "origin_not_allowed", timeout_s=CHANNEL_TTL_S + 5
    )
    await session_of(base_url, world.key, OTHER)


async def test_a_switched_off_or_deleted_channel_refuses(base_url: str, admin: Api) -> None:
    world = await widget_world(admin, allowed_origins=[SITE])
    await session_of(base_url, world.key)
    channel = f"/api/v1/channels/{world.widget['id']}"
    await admin.patch(channel, {"active": False})

    async def refused_code() -> str:
        return str((await refusal(base_url, {"key": world.key}, {"Origin": SITE})).get("code"))

    await eventually(
        refused_code, lambda code: code == "unknown_widget", timeout_s=CHANNEL_TTL_S + 5
    )
    await admin.patch(channel, {"active": True})
    await eventually(
        lambda: session_of(base_url, world.key),
        lambda session: bool(session["visitor_id"]),
        timeout_s=CHANNEL_TTL_S + 5,
    )
    await admin.call("DELETE", channel, expect=204)
    await eventually(
        refused_code, lambda code: code == "unknown_widget", timeout_s=CHANNEL_TTL_S + 5
    )


async def test_the_line_shown_at_connect_follows_a_rename(base_url: str, admin: Api) -> None:
    world = await widget_world(admin, allowed_origins=[SITE])
    first = await session_of(base_url, world.key)
    assert first["line"]["title"] == world.line["name"]
    await admin.patch(f"/api/v1/lines/{world.line['id']}", {"name": "Renamed line"})
    await eventually(
        lambda: session_of(base_url, world.key),
        lambda session: session["line"]["title"] == "Renamed line",
        timeout_s=LINE_STATE_TTL_S + 5,
    )


async def test_a_storm_of_reconnects_tells_each_visitor_their_own_conversation(
    base_url: str, admin: Api
) -> None:
    world = await widget_world(admin, allowed_origins=[SITE])
    # Three visitors: one writing (an open conversation), one whose conversation was closed,
    # one who never wrote.
    tokens, open_ids = [], []
    for writes, closes in ((True, False), (True, True), (False, False)):
        visitor = await visitor_socket(base_url, world.key, origin=SITE)
        session = await visitor.events.wait("session")
        tokens.append(session["token"])
        conversation_id = None
        if writes:
            ack = await visitor.call("message:send", {"text": "hi", "client_msg_id": "m1"})
            assert ack["ok"], ack
            conversation_id = ack["message"]["conversation_id"]
            if closes:
                await admin.call("POST", f"/api/v1/conversations/{conversation_id}/close")
                conversation_id = None
        open_ids.append(conversation_id)
        await visitor.close()
    # They all come back at once, each several times (tabs): every connect's session names
    # its own visitor's open conversation, however the lookups were put together.
    visitors = await asyncio.gather(
        *(visitor_socket(base_url, world.key, token, origin=SITE) for token in tokens * 8)
    )
    try:
        sessions = [await v.events.wait("session") for v in visitors]
        assert [s["conversation_id"] for s in sessions] == open_ids * 8
    finally:
        await asyncio.gather(*(v.close() for v in visitors))
