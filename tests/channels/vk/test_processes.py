"""Acceptance 6 with real ``openlines serve`` processes: Bots Long Poll with two processes (one
polls, each event is stored once, the other takes over when the poller dies), and a graceful
stop that does not wait for a hanging VK."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from pymongo import AsyncMongoClient

from tests.channels.vk.conftest import (
    PUBLIC_URL,
    TOKEN,
    connect_community,
    now,
    post_event,
    text_event,
)
from tests.conftest import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    REDIS_URL,
    Spawn,
    make_settings,
    settings_env,
)
from tests.fakes.vk import FakeVkApi
from tests.support.clients import Api
from tests.support.waiting import eventually


@pytest.mark.serial  # the takeover must come within 30 s of the kill
async def test_long_poll_with_two_processes_ingests_once_and_fails_over(
    fake: FakeVkApi, mongo_url: str, db_name: str, tmp_path: Path, spawn: Spawn
) -> None:
    settings = make_settings(
        mongo_url, db_name, tmp_path / "d", redis_url=REDIS_URL, channel_lease_s=3
    )
    env = settings_env(settings)
    nodes = [await spawn(env, "node1"), await spawn(env, "node2")]
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url)
    db = mongo[db_name]
    async with aiohttp.ClientSession() as http:
        admin = await Api(nodes[0].url, http).login(ADMIN_EMAIL, ADMIN_PASSWORD)
        line = await admin.create_line()
        channel = await connect_community(admin, fake, line["id"], mode="longpoll")
        await eventually(lambda: now(fake.calls_of("longpoll")), lambda polls: polls)
        for n in range(5):
            await fake.push_event(TOKEN, text_event(f"polled {n}", 10 + n))

        async def texts() -> list[str]:
            docs = await db.messages.find(
                {"channel_id": channel["id"], "direction": "in"}, {"text": 1}
            ).to_list()
            return [d["text"] for d in docs]

        assert sorted(await eventually(texts, lambda t: len(t) >= 5)) == [
            f"polled {n}" for n in range(5)
        ]
        # One process polls: the other never asked VK for a long poll server.
        assert len(fake.calls_of("groups.getLongPollServer")) == 1

        lease = await db.channel_leases.find_one({"_id": channel["id"]})
        assert lease is not None
        holder_pid = int(lease["holder"].split("-")[-2])
        [polling] = [node for node in nodes if node.pid == holder_pid]
        [other] = [node for node in nodes if node is not polling]
        os.kill(polling.pid, signal.SIGKILL)
        killed_at = time.monotonic()
        # Pushed while nobody polls: the next poller resumes from the ts kept with the channel.
        await fake.push_event(TOKEN, text_event("after the takeover", 20))
        final = await eventually(texts, lambda t: "after the takeover" in t, timeout_s=30)
        assert time.monotonic() - killed_at < 30
        assert sorted(final) == sorted([f"polled {n}" for n in range(5)] + ["after the takeover"])
        assert len(fake.calls_of("groups.getLongPollServer")) == 2
        # The survivor serves the conversation too.
        other_admin = Api(other.url, http, admin.token)
        [conversation] = (await other_admin.get("/api/v1/conversations"))["conversations"]
        assert conversation["client"]["name"] == "Анна Петрова"
    await mongo.close()


@pytest.mark.serial  # the stop must take under 10 s
async def test_a_graceful_stop_does_not_wait_for_a_hanging_vk(
    fake: FakeVkApi, mongo_url: str, db_name: str, tmp_path: Path, spawn: Spawn
) -> None:
    env = settings_env(make_settings(mongo_url, db_name, tmp_path / "d", public_url=PUBLIC_URL))
    node = await spawn(env, "serve")
    async with aiohttp.ClientSession() as http:
        admin = await Api(node.url, http).login(ADMIN_EMAIL, ADMIN_PASSWORD)
        line = await admin.create_line()
        channel = await connect_community(admin, fake, line["id"])
        assert await post_event(admin, channel, text_event("hello", 1)) == (200, "ok")
        [conversation] = (await admin.get("/api/v1/conversations"))["conversations"]
        cid = conversation["id"]
        await admin.post(f"/api/v1/conversations/{cid}/accept", expect=200)
        fake.stall_next("messages.send", text="stuck")
        await admin.post(f"/api/v1/conversations/{cid}/messages", {"text": "stuck"})
        await eventually(
            lambda: now([c.params["message"] for c in fake.calls_of("messages.send")]),
            lambda texts: "stuck" in texts,
        )
        started = time.monotonic()
        assert await node.stop() == 0
        # A worker thread left in requests would keep the process for its 30 s timeout.
        assert time.monotonic() - started < 10
    await eventually(lambda: now(fake.abandoned), lambda a: a == ["messages.send"], timeout_s=3)
