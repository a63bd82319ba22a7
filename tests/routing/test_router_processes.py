"""The router across restarts and across two ``openlines serve`` processes."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.conftest import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    REDIS_URL,
    Spawn,
    make_settings,
    settings_env,
)
from tests.fakes.webhook_receiver import WebhookReceiver
from tests.support.api_channel import post_api_message
from tests.support.clients import Api, SocketClient, operator_socket
from tests.support.waiting import eventually

DEADLINE_S = 12


def when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def post_client_message(api: Api, channel: dict[str, Any], chat: str, text: str) -> None:
    status, body = await post_api_message(
        api,
        channel,
        {"message_id": f"{chat}-{text}", "chat_id": chat, "sender": {"id": chat}, "text": text},
    )
    assert status == 200, body


@pytest.mark.serial  # each timer must fire within 5 s of its deadline
async def test_timers_fire_once_on_time_across_a_restart(
    mongo_url: str, db_name: str, tmp_path: Path, spawn: Spawn
) -> None:
    receiver = await WebhookReceiver(lambda text, attempt: 200).start()
    env = settings_env(make_settings(mongo_url, db_name, tmp_path / "data"))
    first = await spawn(env, "serve1")
    async with aiohttp.ClientSession() as http:
        admin = await Api(first.url, http).login(ADMIN_EMAIL, ADMIN_PASSWORD)
        op = await admin.create_user("operator")
        line = await admin.create_line(
            operators=[op.user["id"]],
            distribution="strict_order",
            # Deadlines well past the restart below (stop + start take a few seconds on CI):
            # a deadline that passes while no process runs can only fire late.
            accept_timeout_s=DEADLINE_S,
            auto_close_after_s=DEADLINE_S,
            messages={"auto_close": "Auto-closed.", "queued": None},
        )
        channel = await admin.create_channel(line["id"], "api", {"webhook_url": receiver.url})
        operator = await operator_socket(first.url, op.token or "")

        await post_client_message(admin, channel, "chat-y", "please answer")
        offer_y = await operator.events.wait("conversation:offered")
        y = offer_y["conversation"]["id"]
        assert (await operator.call("conversation:accept", {"id": y}))["ok"]
        reply = await operator.call("message:send", {"conversation_id": y, "text": "Done?"})
        replied_at = when(reply["message"]["created_at"])

        await post_client_message(admin, channel, "chat-x", "hello")
        offer_x = await operator.events.wait(
            "conversation:offered", lambda d: d["conversation"]["id"] != y
        )
        x = offer_x["conversation"]["id"]
        expires_at = when(offer_x["expires_at"])
        await operator.close()
        assert await first.stop() == 0  # both deadlines are still ahead

        second = await spawn(env, "serve2")
        admin2 = Api(second.url, http, admin.token)
        expired = await eventually(
            lambda: admin2.get(f"/api/v1/conversations/{x}"),
            lambda c: op.user["id"] in c["offer_history"],
            timeout_s=DEADLINE_S + 20,
        )
        closed = await eventually(
            lambda: admin2.get(f"/api/v1/conversations/{y}"),
            lambda c: c["status"] == "closed",
            timeout_s=DEADLINE_S + 20,
        )
        await eventually(lambda: _count(receiver, "Auto-closed."), lambda n: n >= 1)
        assert await second.stop() == 0

    # On time, give or take a few seconds (the scheduler polls each 0.5 s; CI may be loaded)...
    assert abs((when(expired["updated_at"]) - expires_at).total_seconds()) < 5
    assert closed["close_reason"] == "auto"
    assert abs((when(closed["closed_at"]) - replied_at).total_seconds() - DEADLINE_S) < 5
    # ...and once.
    logs = first.log_path.read_text() + second.log_path.read_text()
    assert logs.count(f"offer timed out conversation={x}") == 1
    assert logs.count(f"auto-closed conversation={y}") == 1
    assert await _count(receiver, "Auto-closed.") == 1
    await receiver.close()


async def _count(receiver: WebhookReceiver, text: str) -> int:
    return sum(1 for d in receiver.delivered if d["text"] == text)


async def auto_accept(
    client: SocketClient, user_id: str, results: list[tuple[str, str, bool, str | None]]
) -> None:
    """Accept every offer this operator sees, as fast as it arrives."""
    handled = 0
    while True:
        offers = await client.events.wait_count("conversation:offered", handled + 1)
        for offer in offers[handled:]:
            cid = offer["conversation"]["id"]
            ack = await client.call("conversation:accept", {"id": cid})
            results.append((user_id, cid, ack["ok"], (ack.get("error") or {}).get("code")))
        handled = len(offers)


@pytest.mark.timeout(300)  # 120 conversations through SecantusDB's journaled writes
async def test_two_processes_never_double_assign_nor_exceed_capacity(
    mongo_url: str, db_name: str, tmp_path: Path, spawn: Spawn
) -> None:
    # Four operators on two processes race for every one of 120 conversations (480 accepts):
    # enough contention to catch a double assignment, and 40 left over to stay queued.
    capacity, conversations, operators = 20, 120, 4
    env = settings_env(make_settings(mongo_url, db_name, tmp_path / "data", redis_url=REDIS_URL))
    nodes = [await spawn(env, f"node{i}") for i in range(2)]
    results: list[tuple[str, str, bool, str | None]] = []
    try:
        async with aiohttp.ClientSession() as http:
            admin = await Api(nodes[0].url, http).login(ADMIN_EMAIL, ADMIN_PASSWORD)
            staff = [await admin.create_user("operator") for _ in range(operators)]
            line = await admin.create_line(
                operators=[s.user["id"] for s in staff],
                distribution="all_at_once",
                max_active_per_operator=capacity,
                accept_timeout_s=3600,  # offers stay put while the race runs, however slow
                no_answer_after_s=None,
                messages={"queued": None},
            )
            channel = await admin.create_channel(line["id"], "api", {})
            sockets = [
                await operator_socket(nodes[i % 2].url, s.token or "") for i, s in enumerate(staff)
            ]
            accepters = [
                asyncio.create_task(auto_accept(sock, s.user["id"], results))
                for sock, s in zip(sockets, staff, strict=True)
            ]
            apis = [admin, Api(nodes[1].url, http, admin.token)]
            for batch in range(0, conversations, 20):
                await asyncio.gather(
                    *(
                        post_client_message(apis[n % 2], channel, f"chat-{n}", "hi")
                        for n in range(batch, batch + 20)
                    )
                )
            won = await eventually(
                lambda: _won(results), lambda n: n >= capacity * operators, timeout_s=240
            )
            for task in accepters:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            active = await _all(admin, "active")
            queued = await _all(admin, "queued") + await _all(admin, "offered")
            for sock in sockets:
                await sock.close()
    finally:
        for node in nodes:
            await node.stop()

    wins = [(user, cid) for user, cid, ok, _ in results if ok]
    assert won == len(wins) == capacity * operators
    assert len({cid for _, cid in wins}) == len(wins), "a conversation was assigned twice"
    assert max(Counter(user for user, _ in wins).values()) <= capacity
    assert {code for _, _, ok, code in results if not ok} <= {"already_taken", "capacity_reached"}
    per_assignee = Counter(c["assignee_id"] for c in active)
    assert len(active) == capacity * operators
    assert max(per_assignee.values()) == capacity
    assert len(queued) == conversations - capacity * operators


async def _won(results: list[tuple[str, str, bool, str | None]]) -> int:
    return sum(1 for r in results if r[2])


async def _all(api: Api, status: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    cursor = ""
    while True:
        page = await api.get(f"/api/v1/conversations?status={status}&limit=200{cursor}")
        found += page["conversations"]
        if not page["next_cursor"]:
            return found
        cursor = f"&cursor={page['next_cursor']}"
