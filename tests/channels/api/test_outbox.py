"""Outgoing messages end ``sent`` or ``failed`` through retries and restarts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from hub.appkeys import HUB
from hub.models import new_id, utcnow
from hub.settings import Settings
from hub.storage.outbox import OutboxRow
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Spawn, make_settings, settings_env
from tests.fakes.webhook_receiver import WebhookReceiver
from tests.support.api_channel import post_api_message, signature
from tests.support.clients import Api
from tests.support.waiting import eventually


def fail_twice_then_succeed_unless_doomed(text: str, attempt: int) -> int:
    if text.startswith("doomed"):
        return 500
    return 500 if attempt <= 2 else 200


async def _conversation_with_api_channel(admin: Api, webhook_url: str) -> tuple[str, str]:
    line = await admin.create_line(operators=[])
    channel = await admin.create_channel(line["id"], "api", {"webhook_url": webhook_url})
    status, _ = await post_api_message(
        admin,
        channel,
        {"message_id": "m1", "chat_id": "c1", "sender": {"id": "u1"}, "text": "hi"},
    )
    assert status == 200
    conversations = (await admin.get("/api/v1/conversations"))["conversations"]
    conversation_id = conversations[0]["id"]
    await admin.post(f"/api/v1/conversations/{conversation_id}/accept", expect=200)
    return conversation_id, channel["secret"]


async def _statuses(admin: Api, conversation_id: str) -> dict[str, dict[str, Any]]:
    body = await admin.get(f"/api/v1/conversations/{conversation_id}/messages")
    return {m["text"]: m for m in body["messages"] if m["direction"] == "out"}


async def test_retries_then_sent_and_gives_up_with_reason(admin: Api) -> None:
    receiver = await WebhookReceiver(fail_twice_then_succeed_unless_doomed).start()
    conversation_id, secret = await _conversation_with_api_channel(admin, receiver.url)
    for text in ("lucky reply", "doomed reply"):
        await admin.post(
            f"/api/v1/conversations/{conversation_id}/messages", {"text": text}, expect=201
        )
    final = await eventually(
        lambda: _statuses(admin, conversation_id),
        lambda s: {m["status"] for m in s.values()} <= {"sent", "failed"} and len(s) == 2,
    )
    assert final["lucky reply"]["status"] == "sent"
    assert final["doomed reply"]["status"] == "failed"
    assert "HTTP 500" in final["doomed reply"]["status_reason"]
    lucky_calls = receiver.calls[final["lucky reply"]["id"]]
    assert len(lucky_calls) == 3
    assert len(receiver.calls[final["doomed reply"]["id"]]) == Settings().outbox_max_attempts
    # Every delivery is signed with the channel secret, over its timestamp and body.
    body = lucky_calls[-1]["body"]
    assert body["text"] == "lucky reply" and body["conversation_id"] == conversation_id
    raw, timestamp = lucky_calls[-1]["raw"], int(lucky_calls[-1]["timestamp"])
    assert lucky_calls[-1]["signature"] == signature(secret, timestamp, raw)
    await receiver.close()


async def test_a_row_claimed_before_its_message_is_stored_is_still_sent(
    hub_app: web.Application, admin: Api
) -> None:
    """The outbox row is written just before its message: a scan that claims it in between
    must wait for the message, not drop the row (the reply would stay "Sending" for ever)."""
    store = hub_app[HUB].store
    receiver = await WebhookReceiver(lambda text, attempt: 200).start()
    conversation_id, _ = await _conversation_with_api_channel(admin, receiver.url)
    await admin.post(
        f"/api/v1/conversations/{conversation_id}/messages", {"text": "first"}, expect=201
    )
    sent = await eventually(
        lambda: _statuses(admin, conversation_id), lambda s: s["first"]["status"] == "sent"
    )
    # The state in between the two writes, held open: the row, and no message yet.
    late = await store.db["messages"].find_one({"_id": sent["first"]["id"]})
    assert late is not None
    late.update(
        _id=new_id(), seq=late["seq"] + 100, external_id=new_id(), text="late", status="pending"
    )
    now = utcnow()
    await store.outbox.enqueue(
        OutboxRow(
            id=late["_id"],
            channel_id=late["channel_id"],
            conversation_id=conversation_id,
            due_at=now,
            created_at=now,
        )
    )
    hub_app[HUB].outbox.notify()
    await eventually(
        lambda: store.outbox.get(late["_id"]),
        lambda row: row is not None and row.last_error == "message not stored yet",
    )
    await store.db["messages"].insert_one(late)
    await eventually(
        lambda: store.db["messages"].find_one({"_id": late["_id"]}),
        lambda doc: doc is not None and doc["status"] == "sent",
    )
    assert [d["text"] for d in receiver.delivered][-2:] == ["first", "late"]
    await receiver.close()


async def test_pending_deliveries_survive_a_restart(
    mongo_url: str, db_name: str, tmp_path: Path, spawn: Spawn
) -> None:
    receiver = await WebhookReceiver(fail_twice_then_succeed_unless_doomed).start()
    # Slow retries, so both messages are still pending when the first process stops.
    settings = make_settings(
        mongo_url, db_name, tmp_path / "data", outbox_retry_base_s=1.0, outbox_max_attempts=4
    )
    env = settings_env(settings)
    first = await spawn(env, "serve1")
    async with aiohttp.ClientSession() as http:
        admin = await Api(first.url, http).login(ADMIN_EMAIL, ADMIN_PASSWORD)
        conversation_id, _ = await _conversation_with_api_channel(admin, receiver.url)
        ids = {}
        for text in ("lucky reply", "doomed reply"):
            message = await admin.post(
                f"/api/v1/conversations/{conversation_id}/messages", {"text": text}, expect=201
            )
            ids[text] = message["id"]
        await eventually(lambda: _first_attempts(receiver, ids), lambda ok: ok)
        assert await first.stop() == 0

        second = await spawn(env, "serve2")
        admin2 = Api(second.url, http, admin.token)
        final = await eventually(
            lambda: _statuses(admin2, conversation_id),
            lambda s: {m["status"] for m in s.values()} <= {"sent", "failed"},
            timeout_s=30,
        )
        await second.stop()
    assert final["lucky reply"]["status"] == "sent"
    assert final["doomed reply"]["status"] == "failed"
    assert len(receiver.calls[ids["lucky reply"]]) == 3
    assert len(receiver.calls[ids["doomed reply"]]) == 4
    assert [d["text"] for d in receiver.delivered if d["author"]["type"] == "operator"] == [
        "lucky reply"
    ]
    await receiver.close()


async def _first_attempts(receiver: WebhookReceiver, ids: dict[str, str]) -> bool:
    return all(len(receiver.calls[i]) >= 1 for i in ids.values())
