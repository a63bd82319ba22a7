"""Visitor tokens expire and rotate (issue #13, finding 11): a token carries when it was
issued, every connect hands out a fresh one, an expired or old-format token starts a new
visitor on connect and is a 401 for files; rating links expire the same way."""

from __future__ import annotations

import time

import aiohttp

from hub.auth import VisitorTokens
from hub.settings import Settings
from tests.support.clients import Api, new_msg_id, operator_socket, visitor_socket
from tests.widget.support import accept_next, old_format_token, png_bytes, widget_world
from tests.widget.test_files import upload


def signer(settings: Settings, offset_s: float) -> VisitorTokens:
    """A signer with the hub's key whose clock is ``offset_s`` ahead (negative: behind)."""
    return VisitorTokens(
        settings.resolved_secret_key(),
        ttl_s=settings.visitor_token_ttl_s,
        clock=lambda: time.time() + offset_s,
    )


def tokens_issued(settings: Settings, seconds_ago: float) -> VisitorTokens:
    return signer(settings, -seconds_ago)


async def test_every_connect_hands_out_a_fresh_token_until_it_expires(
    base_url: str, admin: Api, http: aiohttp.ClientSession, settings: Settings
) -> None:
    world = await widget_world(admin)
    channel_id = world.widget["id"]
    first = await visitor_socket(base_url, world.key)
    session = await first.events.wait("session")
    visitor_id = session["visitor_id"]
    ack = await first.call("message:send", {"text": "hello", "client_msg_id": new_msg_id()})
    assert ack["ok"], ack
    await first.close()

    # A token from a day ago still resumes the visitor, and the hub hands out a new one.
    day_old = tokens_issued(settings, 86400).issue(channel_id, visitor_id)
    again = await visitor_socket(base_url, world.key, day_old)
    renewed = await again.events.wait("session")
    assert renewed["visitor_id"] == visitor_id
    assert renewed["token"] != day_old
    # Issued just now: valid until a lifetime from now, not a moment longer.
    ttl_s = settings.visitor_token_ttl_s
    assert signer(settings, ttl_s - 60).verify(renewed["token"], channel_id) == visitor_id
    assert signer(settings, ttl_s + 60).verify(renewed["token"], channel_id) is None
    status, body, _ = await upload(
        http, base_url, "a.png", png_bytes(), {"X-Visitor-Token": renewed["token"]}
    )
    assert status == 201, body
    await again.close()

    # Past its lifetime: a new visitor on connect (no error), a 401 for files.
    expired = tokens_issued(settings, settings.visitor_token_ttl_s + 60).issue(
        channel_id, visitor_id
    )
    stranger = await visitor_socket(base_url, world.key, expired)
    fresh = await stranger.events.wait("session")
    assert fresh["visitor_id"] != visitor_id and fresh["conversation_id"] is None
    history = await stranger.call("history", {})
    assert history["ok"] and history["messages"] == []
    await stranger.close()
    status, body, _ = await upload(
        http, base_url, "a.png", png_bytes(), {"X-Visitor-Token": expired}
    )
    assert status == 401 and body["error"]["code"] == "invalid_visitor_token"


async def test_expired_and_old_format_tokens_cannot_read_files(
    base_url: str, admin: Api, http: aiohttp.ClientSession, settings: Settings
) -> None:
    world = await widget_world(admin)
    channel_id = world.widget["id"]
    visitor = await visitor_socket(base_url, world.key)
    session = await visitor.events.wait("session")
    visitor_id, token = session["visitor_id"], session["token"]
    status, stored, _ = await upload(
        http, base_url, "a.png", png_bytes(), {"X-Visitor-Token": token}
    )
    assert status == 201, stored
    url = f"{base_url}/api/v1/files/{stored['id']}"
    async with http.get(url, params={"token": token}) as response:
        assert response.status == 200
        assert await response.read() == png_bytes()

    key = settings.resolved_secret_key()
    expired = tokens_issued(settings, settings.visitor_token_ttl_s + 60).issue(
        channel_id, visitor_id
    )
    old = old_format_token(key, channel_id, visitor_id)
    for bad in (expired, old):
        async with http.get(url, params={"token": bad}) as response:
            assert response.status == 401
            assert (await response.json())["error"]["code"] == "invalid_visitor_token"
        async with http.get(url, headers={"X-Visitor-Token": bad}) as response:
            assert response.status == 401
        status, body, _ = await upload(
            http, base_url, "b.png", png_bytes(), {"X-Visitor-Token": bad}
        )
        assert status == 401 and body["error"]["code"] == "invalid_visitor_token"
    # The old form no longer resumes anyone: it starts a new visitor.
    resumed = await visitor_socket(base_url, world.key, old)
    assert (await resumed.events.wait("session"))["visitor_id"] != visitor_id
    await resumed.close()
    await visitor.close()


async def test_rating_links_expire(base_url: str, admin: Api, settings: Settings) -> None:
    world = await widget_world(admin, line={"csat": {"enabled": True}})
    operator = await operator_socket(base_url, world.operators[0].token or "")
    visitor = await visitor_socket(base_url, world.key)
    ack = await visitor.call("message:send", {"text": "rate me", "client_msg_id": new_msg_id()})
    assert ack["ok"], ack
    conversation_id = await accept_next(operator)
    closed = await operator.call("conversation:close", {"id": conversation_id})
    assert closed["ok"], closed
    await visitor.events.wait("csat:request")

    stale = tokens_issued(settings, settings.visitor_token_ttl_s + 60)
    link = stale.csat_link("", conversation_id, 2)
    status, body = await admin.call("GET", link)
    assert status == 403 and body["error"]["code"] == "invalid_token"
    assert (await admin.get(f"/api/v1/conversations/{conversation_id}"))["csat"].get(
        "rating"
    ) is None
    # A link from last week is within the lifetime and records the rating.
    week_old = tokens_issued(settings, 7 * 86400).csat_link("", conversation_id, 5)
    status, page = await admin.call("GET", week_old)
    assert status == 200 and "5 / 5" in page
    assert (await admin.get(f"/api/v1/conversations/{conversation_id}"))["csat"]["rating"] == 5
    await visitor.close()
    await operator.close()
