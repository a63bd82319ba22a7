"""The widget's connect answers from per-process copies (the channel by key, the line's state),
and each copy gives way when what it copies changes: within ``CHANNEL_TTL_S`` for the channel
(at once on the process that changed it), within ``LINE_STATE_TTL_S`` for the line."""

from __future__ import annotations

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
