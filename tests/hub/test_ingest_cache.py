"""What each hub process remembers on the ingest path (channel records, a chat's client and
open conversation) never changes what is stored: a disabled or deleted channel stops accepting
within a bounded time, a conversation closed elsewhere is never appended to, a platform retry
leaves no seq gap, and a client's new name reaches the messages they write next."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aiohttp import web

from hub.appkeys import HUB
from hub.models import utcnow
from hub.stream import CHANNEL_TTL_S
from tests.support.api_channel import post_api_message
from tests.support.clients import Api, SocketClient, new_msg_id
from tests.support.waiting import eventually
from tests.support.world import make_line, visitor_says

# Room for one slow round trip on a busy machine on top of the documented bound.
SLACK_S = 3.0


async def say(visitor: SocketClient, text: str) -> Any:
    return await visitor.call("message:send", {"text": text, "client_msg_id": new_msg_id()})


async def messages_of(api: Api, conversation_id: str) -> list[dict[str, Any]]:
    body = await api.get(f"/api/v1/conversations/{conversation_id}/messages?limit=200")
    return list(body["messages"])


async def api_channel(admin: Api, line_id: str) -> dict[str, Any]:
    channel: dict[str, Any] = await admin.create_channel(line_id, "api", {})
    return channel


def posted(message_id: str, text: str, name: str = "Ann") -> dict[str, Any]:
    return {
        "message_id": message_id,
        "chat_id": "chat-1",
        "sender": {"id": "user-1", "name": name},
        "text": text,
    }


async def test_widget_channel_disabled_mid_session_refuses_the_next_message(
    base_url: str, admin: Api
) -> None:
    world = await make_line(admin)
    visitor, first = await visitor_says(base_url, world.key, "hello")
    assert (await say(visitor, "still here"))["ok"]  # the channel is remembered by now

    await admin.patch(f"/api/v1/channels/{world.widget['id']}", {"active": False})
    refused = await say(visitor, "anyone?")
    assert not refused["ok"] and refused["error"]["code"] == "channel_gone"

    await admin.patch(f"/api/v1/channels/{world.widget['id']}", {"active": True})
    again = await say(visitor, "back again")
    assert again["ok"], again
    assert again["message"]["conversation_id"] == first["conversation_id"]
    texts = [m["text"] for m in await messages_of(admin, first["conversation_id"])]
    assert "anyone?" not in texts and "back again" in texts
    await visitor.close()


async def test_channel_disabled_by_another_process_refuses_within_the_ttl(
    base_url: str, admin: Api, hub_app: web.Application
) -> None:
    world = await make_line(admin)
    visitor, _ = await visitor_says(base_url, world.key, "hello")
    assert (await say(visitor, "still here"))["ok"]

    # Another hub process disables it: this one is not told, it only reads the channel again.
    changed_at = time.monotonic()
    store = hub_app[HUB].store
    widget = await store.channels.get(world.widget["id"])
    assert widget is not None
    await store.channels.update(widget, config=None, active=False)
    await eventually(
        lambda: say(visitor, "anyone?"),
        lambda ack: not ack["ok"] and ack["error"]["code"] == "channel_gone",
        timeout_s=CHANNEL_TTL_S + SLACK_S,
        interval_s=0.2,
    )
    assert time.monotonic() - changed_at <= CHANNEL_TTL_S + SLACK_S
    await visitor.close()


async def test_deleted_webhook_channel_refuses_at_once_here_and_within_the_ttl_elsewhere(
    admin: Api, hub_app: web.Application
) -> None:
    world = await make_line(admin)
    here = await api_channel(admin, world.line["id"])
    there = await api_channel(admin, world.line["id"])
    for channel in (here, there):
        status, body = await post_api_message(admin, channel, posted("m-1", "hi"))
        assert status == 200, body

    await admin.call("DELETE", f"/api/v1/channels/{here['id']}", expect=204)
    status, _ = await post_api_message(admin, here, posted("m-2", "hi again"))
    assert status == 404

    # Deleted through another process.
    changed_at = time.monotonic()
    await hub_app[HUB].store.channels.delete(there["id"])
    serial = iter(range(2, 1000))

    async def post_there() -> int:
        body = posted(f"m-{next(serial)}", "hi again")
        status, _ = await post_api_message(admin, there, body)
        return status

    await eventually(
        post_there, lambda s: s == 404, timeout_s=CHANNEL_TTL_S + SLACK_S, interval_s=0.05
    )
    assert time.monotonic() - changed_at <= CHANNEL_TTL_S + SLACK_S


async def test_conversation_closed_by_an_operator_gets_no_more_visitor_messages(
    base_url: str, admin: Api
) -> None:
    world = await make_line(admin)
    visitor, first = await visitor_says(base_url, world.key, "one")
    closed_id = first["conversation_id"]
    assert (await say(visitor, "two"))["message"]["conversation_id"] == closed_id
    await admin.post(f"/api/v1/conversations/{closed_id}/accept", expect=200)
    await admin.post(f"/api/v1/conversations/{closed_id}/close", expect=200)

    after = await say(visitor, "three")
    assert after["ok"], after
    assert after["message"]["conversation_id"] != closed_id
    assert after["message"]["seq"] == 1
    texts = [m["text"] for m in await messages_of(admin, closed_id)]
    assert "three" not in texts and texts[:2] == ["one", "two"]
    await visitor.close()


async def test_conversation_closed_by_another_process_is_never_appended_to(
    base_url: str, admin: Api, hub_app: web.Application
) -> None:
    world = await make_line(admin)
    visitor, first = await visitor_says(base_url, world.key, "one")
    closed_id = first["conversation_id"]
    assert (await say(visitor, "two"))["message"]["conversation_id"] == closed_id

    # Closed elsewhere, and its thread row left behind (that process died mid-close): the
    # remembered conversation and the thread row both name the closed one.
    store = hub_app[HUB].store
    await store.db["conversations"].update_one(
        {"_id": closed_id}, {"$set": {"status": "closed", "closed_at": utcnow()}}
    )
    after = await say(visitor, "three")
    assert after["ok"], after
    opened_id = after["message"]["conversation_id"]
    assert opened_id != closed_id and after["message"]["seq"] == 1
    closed = await store.db["conversations"].find_one({"_id": closed_id})
    assert closed is not None and closed["last_seq"] == 2
    assert [m["text"] for m in await messages_of(admin, closed_id)] == ["one", "two"]
    assert (await say(visitor, "four"))["message"]["conversation_id"] == opened_id
    await visitor.close()


async def test_webhook_retries_after_the_first_message_leave_no_seq_gap(admin: Api) -> None:
    world = await make_line(admin)
    channel = await api_channel(admin, world.line["id"])
    for message_id, text in (("a", "A"), ("b", "B"), ("a", "A"), ("b", "B"), ("c", "C")):
        status, body = await post_api_message(admin, channel, posted(message_id, text))
        assert status == 200, body
    listing = await admin.get(f"/api/v1/conversations?line_id={world.line['id']}")
    (conversation,) = listing["conversations"]
    messages = await messages_of(admin, conversation["id"])
    assert [m["text"] for m in messages if m["direction"] == "in"] == ["A", "B", "C"]
    seqs = [m["seq"] for m in messages]
    assert seqs == list(range(1, len(seqs) + 1))


async def test_concurrent_first_messages_of_a_chat_open_one_conversation(admin: Api) -> None:
    world = await make_line(admin)
    channel = await api_channel(admin, world.line["id"])
    results = await asyncio.gather(
        *(post_api_message(admin, channel, posted(f"m-{i}", f"M{i}")) for i in range(6))
    )
    assert all(status == 200 for status, _ in results), results
    listing = await admin.get(f"/api/v1/conversations?line_id={world.line['id']}")
    (conversation,) = listing["conversations"]
    messages = await messages_of(admin, conversation["id"])
    assert sorted(m["text"] for m in messages if m["direction"] == "in") == [
        f"M{i}" for i in range(6)
    ]
    seqs = [m["seq"] for m in messages]
    assert seqs == list(range(1, len(seqs) + 1))


async def test_client_renamed_on_the_platform_signs_the_next_message_with_the_new_name(
    admin: Api,
) -> None:
    world = await make_line(admin)
    channel = await api_channel(admin, world.line["id"])
    for message_id, text, name in (("a", "A", "Ann"), ("b", "B", "Ann"), ("c", "C", "Anna")):
        status, body = await post_api_message(admin, channel, posted(message_id, text, name))
        assert status == 200, body
    listing = await admin.get(f"/api/v1/conversations?line_id={world.line['id']}")
    (conversation,) = listing["conversations"]
    assert conversation["client"]["name"] == "Anna"
    messages = await messages_of(admin, conversation["id"])
    authors = [(m["text"], m["author"]["name"]) for m in messages if m["direction"] == "in"]
    assert authors == [("A", "Ann"), ("B", "Ann"), ("C", "Anna")]


async def test_prechat_name_signs_the_visitors_next_message(base_url: str, admin: Api) -> None:
    world = await make_line(admin)
    visitor, first = await visitor_says(base_url, world.key, "hello")
    assert first["author"]["name"] is None
    ack = await visitor.call("prechat", {"name": "Boris"})
    assert ack["ok"], ack
    after = await say(visitor, "it's Boris")
    assert after["message"]["author"]["name"] == "Boris"
    await visitor.close()


async def test_name_given_through_another_process_signs_the_next_message(
    base_url: str, admin: Api, hub_app: web.Application
) -> None:
    world = await make_line(admin)
    visitor, first = await visitor_says(base_url, world.key, "hello")
    assert (await say(visitor, "me again"))["ok"]  # client and conversation remembered

    # A second tab on another process filled in the pre-chat form: the client and its open
    # conversation say so; this process still remembers the client without a name.
    store = hub_app[HUB].store
    client_id = first["author"]["id"]
    await store.db["clients"].update_one({"_id": client_id}, {"$set": {"name": "Vera"}})
    await store.db["conversations"].update_one(
        {"_id": first["conversation_id"]}, {"$set": {"client.name": "Vera"}}
    )
    after = await say(visitor, "it's Vera")
    assert after["message"]["author"]["name"] == "Vera"
    later = await say(visitor, "still Vera")
    assert later["message"]["author"]["name"] == "Vera"
    await visitor.close()


async def test_widget_of_a_deleted_line_refuses_at_once(base_url: str, admin: Api) -> None:
    world = await make_line(admin)
    visitor, first = await visitor_says(base_url, world.key, "hello")  # channel remembered
    conversation_id = first["conversation_id"]
    await admin.post(f"/api/v1/conversations/{conversation_id}/accept", expect=200)
    await admin.post(f"/api/v1/conversations/{conversation_id}/close", expect=200)
    await admin.call("DELETE", f"/api/v1/lines/{world.line['id']}", expect=204)
    refused = await say(visitor, "anyone?")
    assert not refused["ok"] and refused["error"]["code"] == "channel_gone"
    await visitor.close()
