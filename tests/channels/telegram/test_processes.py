"""Acceptance 5 and 7 with real ``openlines serve`` processes: 429 and 403 from the Bot API,
pending replies across a restart, and polling with two processes (one polls; takeover)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from pymongo import AsyncMongoClient

from tests.channels.telegram.conftest import (
    PUBLIC_URL,
    TOKEN,
    connect_bot,
    post_update,
    text_update,
)
from tests.conftest import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    REDIS_URL,
    Spawn,
    make_settings,
    settings_env,
)
from tests.fakes.telegram import FakeBotApi
from tests.support.clients import Api
from tests.support.platform import replies
from tests.support.waiting import eventually

PAUSE, RESTART, BLOCKED = "after a pause", "across restart", "blocked"


@pytest.mark.serial  # retry_after is measured, and a 4 s one must outlast a check
async def test_429_is_honoured_403_fails_and_pending_replies_survive_a_restart(
    fake: FakeBotApi, mongo_url: str, db_name: str, tmp_path: Path, spawn: Spawn
) -> None:
    env = settings_env(make_settings(mongo_url, db_name, tmp_path / "d", public_url=PUBLIC_URL))
    first = await spawn(env, "serve1")
    async with aiohttp.ClientSession() as http:
        admin = await Api(first.url, http).login(ADMIN_EMAIL, ADMIN_PASSWORD)
        line = await admin.create_line()
        channel = await connect_bot(admin, fake, line["id"])
        assert await post_update(admin, channel, text_update("hi", 50)) == 200
        conversation = (await admin.get("/api/v1/conversations"))["conversations"][0]
        cid = conversation["id"]
        await admin.post(f"/api/v1/conversations/{cid}/accept", expect=200)
        fake.calls.clear()
        # 429 with retry_after 2: the reply waits that long and is then delivered.
        fake.fail_next(
            "sendMessage",
            429,
            "Too Many Requests: retry after 2",
            retry_after=2,
            text="after a pause",
        )
        await admin.post(f"/api/v1/conversations/{cid}/messages", {"text": PAUSE})
        await eventually(
            lambda: replies(admin, cid), lambda o: o["after a pause"]["status"] == "sent"
        )
        attempts = [c for c in fake.calls_of("sendMessage") if c.params["text"] == "after a pause"]
        assert len(attempts) == 2 and attempts[1].at - attempts[0].at >= 1.9

        # A long rate limit keeps the next reply pending while the process restarts.
        fake.fail_next(
            "sendMessage",
            429,
            "Too Many Requests: retry after 4",
            retry_after=4,
            text="across restart",
        )
        await admin.post(f"/api/v1/conversations/{cid}/messages", {"text": "across restart"})
        await eventually(
            lambda: _async([c.params["text"] for c in fake.calls_of("sendMessage")]),
            lambda texts: "across restart" in texts,
            timeout_s=10,
        )
        assert (await replies(admin, cid))["across restart"]["status"] == "pending"
        assert await first.stop() == 0
        second = await spawn(env, "serve2")
        admin2 = Api(second.url, http, admin.token)
        await eventually(
            lambda: replies(admin2, cid),
            lambda o: o["across restart"]["status"] == "sent",
            timeout_s=30,
        )

        # 403: the client blocked the bot; failed with Telegram's reason, client unreachable.
        fake.fail_next(
            "sendMessage", 403, "Forbidden: bot was blocked by the user", text="blocked"
        )
        await admin2.post(f"/api/v1/conversations/{cid}/messages", {"text": "blocked"})
        final = await eventually(
            lambda: replies(admin2, cid), lambda o: o["blocked"]["status"] == "failed"
        )
        assert "bot was blocked by the user" in final["blocked"]["status_reason"]
        conversation = await admin2.get(f"/api/v1/conversations/{cid}")
        assert "blocked" in conversation["client_unreachable"]["reason"]
        # They unblock the bot and write again: reachable once more.
        assert await post_update(admin2, channel, text_update("back again", 51)) == 200
        await eventually(
            lambda: admin2.get(f"/api/v1/conversations/{cid}"),
            lambda c: c["client_unreachable"] is None,
        )
    delivered = [c.params["text"] for c in fake.calls_of("sendMessage")]
    assert delivered.count("across restart") == 2  # the 429 and the one delivery


async def _async(value: Any) -> Any:
    return value


@pytest.mark.serial  # the takeover must come within 30 s of the kill
async def test_polling_with_two_processes_ingests_once_and_fails_over(
    fake: FakeBotApi, mongo_url: str, db_name: str, tmp_path: Path, spawn: Spawn
) -> None:
    settings = make_settings(
        mongo_url, db_name, tmp_path / "d", redis_url=REDIS_URL, channel_lease_s=3
    )
    env = settings_env(settings)
    nodes = [await spawn(env, "node1"), await spawn(env, "node2")]
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url)
    leases = mongo[db_name]["channel_leases"]
    async with aiohttp.ClientSession() as http:
        admin = await Api(nodes[0].url, http).login(ADMIN_EMAIL, ADMIN_PASSWORD)
        line = await admin.create_line()
        channel = await connect_bot(admin, fake, line["id"], mode="polling")
        assert fake.calls_of("deleteWebhook") and not fake.calls_of("setWebhook")
        for n in range(5):
            await fake.push_update(TOKEN, text_update(f"polled {n}", 60 + n))

        async def texts() -> list[str]:
            conversations = (await admin.get("/api/v1/conversations"))["conversations"]
            if not conversations:
                return []
            body = await admin.get(f"/api/v1/conversations/{conversations[0]['id']}/messages")
            return [m["text"] for m in body["messages"] if m["direction"] == "in"]

        assert await eventually(texts, lambda t: len(t) >= 5) == [f"polled {n}" for n in range(5)]

        lease = await leases.find_one({"_id": channel["id"]})
        assert lease is not None
        holder_pid = int(lease["holder"].split("-")[-2])
        [polling] = [node for node in nodes if node.pid == holder_pid]
        [other] = [node for node in nodes if node is not polling]
        os.kill(polling.pid, signal.SIGKILL)
        killed_at = time.monotonic()
        await fake.push_update(TOKEN, text_update("after the takeover", 70))
        other_admin = Api(other.url, http, admin.token)
        admin = other_admin
        final = await eventually(texts, lambda t: "after the takeover" in t, timeout_s=30)
        assert time.monotonic() - killed_at < 30
        assert sorted(final) == sorted([f"polled {n}" for n in range(5)] + ["after the takeover"])
    await mongo.close()
