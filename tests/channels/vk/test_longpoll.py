"""Bots Long Poll in one hub process: events ingested in order, ``ts`` kept with the channel,
and recovery from ``failed`` 1, 2 and 3 as VK's docs describe them."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from hub.appkeys import HUB
from tests.channels.vk.conftest import TOKEN, connect_community, now, text_event
from tests.fakes.vk import FakeVkApi
from tests.support.clients import Api
from tests.support.waiting import eventually


async def _texts(api: Api) -> list[str]:
    conversations = (await api.get("/api/v1/conversations"))["conversations"]
    if not conversations:
        return []
    body = await api.get(f"/api/v1/conversations/{conversations[0]['id']}/messages")
    return [m["text"] for m in body["messages"] if m["direction"] == "in"]


async def _polls(fake: FakeVkApi) -> list[dict[str, Any]]:
    return [c.params for c in fake.calls_of("longpoll")]


async def _push_and_see(fake: FakeVkApi, admin: Api, text: str, cmid: int) -> None:
    await fake.push_event(TOKEN, text_event(text, cmid))
    await eventually(lambda: _texts(admin), lambda t: text in t)


async def _parked(fake: FakeVkApi, ts: str, key: str = "lp-key-1") -> None:
    """Wait until the poller waits on the Long Poll server with ``ts`` and ``key`` (so what
    the test scripts next applies to the poll after that one)."""
    await eventually(lambda: now(list(fake.waiting_polls)), lambda w: w == [(key, ts)])


async def test_long_poll_ingests_and_recovers_from_failed_1_2_3(
    fake: FakeVkApi, admin: Api, hub_app: web.Application
) -> None:
    line = await admin.create_line()
    channel = await connect_community(admin, fake, line["id"], mode="longpoll")
    assert "webhook_url" not in channel
    await _parked(fake, "0")
    assert hub_app[HUB].runners.running() == [channel["id"]]
    [server] = fake.calls_of("groups.getLongPollServer")
    assert server.params["group_id"] == str(channel["config"]["group_id"])

    await _push_and_see(fake, admin, "first", 1)
    await _parked(fake, "1")
    assert await hub_app[HUB].store.channels.receiver_position(channel["id"]) == "1"

    # failed 1: the history is out of date; go on from the ts VK gives (here one that
    # delivers "second" again: stored once).
    await _push_and_see(fake, admin, "second", 2)
    await _parked(fake, "2")
    fake.longpoll_failures.append({"failed": 1, "ts": "1"})
    await _push_and_see(fake, admin, "third", 3)
    await _parked(fake, "3")
    assert [p["ts"] for p in await _polls(fake)][-4:] == ["2", "3", "1", "3"]

    # failed 2: the key expired; a new one from groups.getLongPollServer, the same ts.
    community = fake.tokens[TOKEN]
    community.key = "lp-key-2"
    await _push_and_see(fake, admin, "fourth", 4)
    await _parked(fake, "4", "lp-key-2")
    assert [(p["key"], p["ts"]) for p in await _polls(fake)][-3:] == [
        ("lp-key-1", "3"),
        ("lp-key-1", "4"),
        ("lp-key-2", "4"),
    ]
    assert len(fake.calls_of("groups.getLongPollServer")) == 2
    await _push_and_see(fake, admin, "fifth", 5)
    await _parked(fake, "5", "lp-key-2")

    # failed 3: key and history lost; a new key and ts from groups.getLongPollServer.
    community.key = "lp-key-3"
    fake.longpoll_failures.append({"failed": 3})
    await _push_and_see(fake, admin, "sixth", 6)
    await _parked(fake, "6", "lp-key-3")
    assert len(fake.calls_of("groups.getLongPollServer")) == 3
    await _push_and_see(fake, admin, "seventh", 7)

    texts = await _texts(admin)
    assert texts == ["first", "second", "third", "fourth", "fifth", "sixth", "seventh"]
