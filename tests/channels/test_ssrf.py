"""Channel URLs and hosts admins type in (Telegram's and VK's ``api_base``, the ``api``
channel's ``webhook_url``, the e-mail servers) must be public addresses: the hub must not be
made to call its own Redis, the cloud's metadata service or an admin port on localhost. The
other suites run with ``allow_private_urls`` (their fakes are local); these run without."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web

from hub.appkeys import HUB
from tests.fakes.webhook_receiver import WebhookReceiver
from tests.support.api_channel import post_api_message
from tests.support.clients import Api
from tests.support.platform import replies
from tests.support.waiting import eventually

# Loopback, private, link-local (cloud metadata), and a name that resolves to loopback.
INSIDE = ["127.0.0.1", "10.1.2.3", "169.254.169.254", "localhost"]


pytestmark = pytest.mark.settings(public_url="https://hub.example.com", allow_private_urls=False)


def _configs(host: str) -> list[tuple[str, dict[str, Any]]]:
    email = {
        "imap_host": "93.184.215.14",  # public literals: checked, never contacted
        "smtp_host": "93.184.215.15",
        "username": "support",
        "password": "secret",
        "address": "support@example.com",
    }
    return [
        (
            "telegram",
            {
                "bot_token": "123456:TEST-token_abcdefghijklmnopqrstuv",
                "api_base": f"http://{host}:8081",
            },
        ),
        (
            "vk",
            {
                "group_id": 1,
                "access_token": "vk1.a.community-token",
                "mode": "longpoll",
                "api_base": f"http://{host}",
            },
        ),
        ("api", {"webhook_url": f"http://{host}:6379/inbox"}),
        ("email", {**email, "imap_host": host}),
        ("email", {**email, "smtp_host": host}),
    ]


async def test_channel_urls_and_hosts_inside_are_refused(admin: Api) -> None:
    line = await admin.create_line()
    path = f"/api/v1/lines/{line['id']}/channels"
    for host in INSIDE:
        for type_, config in _configs(host):
            status, body = await admin.call("POST", path, {"type": type_, "config": config})
            assert status == 422, (type_, host, body)
            assert body["error"]["code"] == "private_address", (type_, host, body)
    assert (await admin.get(path))["channels"] == []

    # Changing a channel's URL is checked the same way, and changes nothing.
    channel = await admin.create_channel(line["id"], "api", {})
    for host in INSIDE:
        status, body = await admin.call(
            "PATCH",
            f"/api/v1/channels/{channel['id']}",
            {"config": {"webhook_url": f"http://{host}/inbox"}},
        )
        assert status == 422 and body["error"]["code"] == "private_address", body
    assert (await admin.get(f"/api/v1/channels/{channel['id']}"))["config"]["webhook_url"] is None


async def test_a_webhook_url_inside_is_refused_at_each_send(
    admin: Api, hub_app: web.Application
) -> None:
    """A URL stored before the rule (or a name that has moved inside) is checked again before
    every delivery: the reply fails at once, and nothing is sent there."""
    receiver = await WebhookReceiver(lambda text, attempt: 200).start()
    line = await admin.create_line()
    channel = await admin.create_channel(line["id"], "api", {})
    message = {"message_id": "m1", "chat_id": "c1", "sender": {"id": "u1"}, "text": "hi"}
    assert (await post_api_message(admin, channel, message))[0] == 200
    [conversation] = (await admin.get("/api/v1/conversations"))["conversations"]
    cid = conversation["id"]
    await admin.post(f"/api/v1/conversations/{cid}/accept", expect=200)
    # Stored before the check existed (or straight into the database).
    store = hub_app[HUB].store
    record = await store.channels.get(channel["id"])
    assert record is not None
    await store.channels.update(
        record, config={**record.config, "webhook_url": receiver.url}, active=None
    )
    await admin.post(f"/api/v1/conversations/{cid}/messages", {"text": "reply"}, expect=201)
    out = await eventually(
        lambda: replies(admin, cid), lambda o: o["reply"]["status"] != "pending"
    )
    assert out["reply"]["status"] == "failed"
    assert "webhook_url refused" in out["reply"]["status_reason"]
    assert "gave up" not in out["reply"]["status_reason"]  # refused at once, not retried
    assert receiver.calls == {}
    await receiver.close()
