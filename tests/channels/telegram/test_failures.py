"""When things go wrong: a Bot API that answers garbage (connect, replies) and webhook bodies
that are not Telegram updates. Nothing jams, nothing is a 500, nothing malformed is stored."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from tests.channels.telegram.conftest import (
    TOKEN,
    connect_bot,
    post_update,
    text_update,
)
from tests.fakes.telegram import FakeBotApi
from tests.support.clients import Api
from tests.support.logs import tracebacks
from tests.support.platform import all_conversations, replies
from tests.support.waiting import eventually

MAX_ATTEMPTS = 3


pytestmark = pytest.mark.settings(outbox_max_attempts=MAX_ATTEMPTS)


async def test_a_reply_to_a_bot_api_answering_garbage_fails_with_the_reason(
    fake: FakeBotApi, admin: Api, caplog: pytest.LogCaptureFixture
) -> None:
    """A proxy's HTML instead of the Bot API's JSON once left the reply pending for ever,
    retried every 60 s with a traceback each time."""
    caplog.set_level(logging.INFO, logger="openlines")
    line = await admin.create_line()
    channel = await connect_bot(admin, fake, line["id"])
    assert await post_update(admin, channel, text_update("hello", 1)) == 200
    [conversation] = await all_conversations(admin)
    cid = conversation["id"]
    await admin.post(f"/api/v1/conversations/{cid}/accept", expect=200)
    fake.garbage_next("sendMessage", times=MAX_ATTEMPTS + 5)
    await admin.post(f"/api/v1/conversations/{cid}/messages", {"text": "lost"}, expect=201)
    out = await eventually(lambda: replies(admin, cid), lambda o: o["lost"]["status"] != "pending")
    assert out["lost"]["status"] == "failed"
    reason = out["lost"]["status_reason"]
    assert f"gave up after {MAX_ATTEMPTS} attempts" in reason
    assert "not the Bot API's answer" in reason and "502 Bad Gateway" in reason
    assert TOKEN not in reason
    tries = [c for c in fake.calls_of("sendMessage") if c.params["text"] == "lost"]
    assert len(tries) == MAX_ATTEMPTS

    async def warnings_of_the_reply() -> list[str]:
        return [
            r.getMessage()
            for r in caplog.records
            if r.levelno >= logging.WARNING and out["lost"]["id"] in r.getMessage()
        ]

    # The outbox says so once it has stored the failure and finished its row: one write after
    # the status this test has just read.
    warnings = await eventually(warnings_of_the_reply, lambda found: len(found) >= 1)
    assert len(warnings) == 1 and "delivery failed" in warnings[0]
    assert tracebacks(caplog) == []


async def test_connecting_to_a_bot_api_answering_garbage_is_a_422_with_its_words(
    fake: FakeBotApi, admin: Api, caplog: pytest.LogCaptureFixture
) -> None:
    line = await admin.create_line()
    path = f"/api/v1/lines/{line['id']}/channels"
    config = {"bot_token": TOKEN, "mode": "webhook", "api_base": fake.base_url}
    for method in ("getMe", "setWebhook"):
        fake.garbage_next(method, body=b"upstream says no", status=502)
        status, body = await admin.call("POST", path, {"type": "telegram", "config": config})
        assert status == 422, body
        message = body["error"]["message"]
        assert "not the Bot API's answer" in message and "upstream says no" in message
        assert TOKEN not in message
    # Nothing answering at all: a 422 too, naming what failed.
    closed = {**config, "api_base": "http://127.0.0.1:9"}
    status, body = await admin.call("POST", path, {"type": "telegram", "config": closed})
    assert status == 422 and "Telegram" in body["error"]["message"], body
    assert (await admin.get(path))["channels"] == []

    channel = await connect_bot(admin, fake, line["id"])
    fake.garbage_next("getMe")
    status, body = await admin.call(
        "PATCH", f"/api/v1/channels/{channel['id']}", {"config": {"mode": "polling"}}
    )
    assert status == 422 and "not the Bot API's answer" in body["error"]["message"], body
    unchanged = await admin.get(f"/api/v1/channels/{channel['id']}")
    assert unchanged["config"]["mode"] == "webhook"
    assert tracebacks(caplog) == []


def _update(**message: Any) -> dict[str, Any]:
    update = text_update("typed badly", 7)
    update["message"].update(message)
    return update


async def test_a_body_that_is_no_update_is_a_400_and_stores_nothing(
    fake: FakeBotApi, admin: Api
) -> None:
    line = await admin.create_line()
    channel = await connect_bot(admin, fake, line["id"])
    hook = f"{admin.base_url}/hooks/telegram/{channel['id']}"
    headers = {"X-Telegram-Bot-Api-Secret-Token": channel["webhook_secret"]}
    for raw, code in (
        (b"not json", "invalid_json"),
        (b"[1, 2]", "invalid_update"),
        (b'"text"', "invalid_update"),
        (b'{"message": {"text": "no update_id"}}', "invalid_update"),
        (b'{"update_id": "12", "message": {}}', "invalid_update"),
        (b'{"update_id": true}', "invalid_update"),
    ):
        async with admin._session.post(hook, data=raw, headers=headers) as response:
            assert response.status == 400, raw
            assert (await response.json())["error"]["code"] == code, raw
    assert await all_conversations(admin) == []


async def test_an_update_with_wrong_types_is_ignored_and_stores_nothing(
    fake: FakeBotApi, admin: Api, caplog: pytest.LogCaptureFixture
) -> None:
    """Telegram sent it (the secret matches), so it is answered 200 and logged: an error
    answer would only make Telegram deliver it again and again, holding up the updates behind
    it."""
    caplog.set_level(logging.INFO, logger="openlines")
    line = await admin.create_line()
    channel = await connect_bot(admin, fake, line["id"])
    chat = _update()["message"]["chat"]
    malformed = [
        _update(date="yesterday"),
        _update(date=10**20),
        _update(text=5),
        _update(chat={**chat, "id": "abc"}),
        _update(chat="private"),
        _update(**{"from": [1, 2]}),
        _update(photo=[{"file_id": 5}]),
        _update(reply_to_message="x"),
        {"update_id": 9, "message": "hello"},
        {"update_id": 10, "edited_message": {"message_id": 1, "chat": {"id": 1}}},
        {"update_id": 11, "callback_query": {"id": "q", "data": "csat:4", "message": 5}},
    ]
    for update in malformed:
        assert await post_update(admin, channel, update) == 200, update
    assert await all_conversations(admin) == []
    assert not fake.calls_of("getFile")
    assert tracebacks(caplog) == []
    ignored = [r for r in caplog.records if "malformed update" in r.getMessage()]
    assert len(ignored) == len(malformed)
    assert all(r.levelno == logging.WARNING for r in ignored)
    assert "yesterday" not in repr([r.getMessage() for r in ignored])  # no input echoed

    # The channel is fine afterwards.
    assert await post_update(admin, channel, text_update("well formed", 8)) == 200
    assert len(await all_conversations(admin)) == 1
