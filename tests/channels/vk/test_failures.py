"""When things go wrong: a VK API that answers garbage (connect, replies, uploads) and
callback events that are not what VK sends. Nothing jams, nothing is a 500, nothing malformed
is stored."""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
import pytest

from tests.channels.vk.conftest import (
    GROUP_ID,
    TOKEN,
    connect_community,
    post_event,
    text_event,
)
from tests.fakes.vk import FakeVkApi
from tests.support.clients import Api
from tests.support.logs import tracebacks
from tests.support.platform import PNG, all_conversations, replies
from tests.support.waiting import eventually

MAX_ATTEMPTS = 3
# Not JSON; JSON without a response; a response of the wrong shape.
GARBAGE: list[Any] = [b"<html>502 Bad Gateway</html>", {"oops": 1}, {"response": "oops"}]


pytestmark = pytest.mark.settings(outbox_max_attempts=MAX_ATTEMPTS)


async def test_connecting_to_a_vk_api_answering_garbage_is_a_422_with_its_words(
    fake: FakeVkApi, admin: Api, caplog: pytest.LogCaptureFixture
) -> None:
    line = await admin.create_line()
    path = f"/api/v1/lines/{line['id']}/channels"
    config = {"group_id": GROUP_ID, "access_token": TOKEN, "mode": "longpoll"}
    config["api_base"] = fake.base_url
    for body in GARBAGE:
        fake.garbage_next("groups.getById", body=body)
        status, answer = await admin.call("POST", path, {"type": "vk", "config": config})
        assert status == 422, (body, answer)
        message = answer["error"]["message"]
        assert "VK groups.getById" in message and "not VK's answer" in message, message
        assert TOKEN not in message
        if isinstance(body, bytes):
            assert "502 Bad Gateway" in message
    closed = {**config, "api_base": "http://127.0.0.1:9"}
    status, answer = await admin.call("POST", path, {"type": "vk", "config": closed})
    assert status == 422 and "VK groups.getById" in answer["error"]["message"], answer
    assert (await admin.get(path))["channels"] == []

    channel = await connect_community(admin, fake, line["id"])
    fake.garbage_next("groups.getById")
    status, answer = await admin.call(
        "PATCH", f"/api/v1/channels/{channel['id']}", {"config": {"mode": "longpoll"}}
    )
    assert status == 422 and "502 Bad Gateway" in answer["error"]["message"], answer
    assert (await admin.get(f"/api/v1/channels/{channel['id']}"))["config"]["mode"] == "callback"
    assert tracebacks(caplog) == []


async def test_replies_to_a_vk_api_answering_garbage_fail_with_the_reason(
    fake: FakeVkApi, admin: Api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="openlines")
    line = await admin.create_line()
    channel = await connect_community(admin, fake, line["id"])
    assert await post_event(admin, channel, text_event("hello", 1)) == (200, "ok")
    [conversation] = await all_conversations(admin)
    cid = conversation["id"]
    await admin.post(f"/api/v1/conversations/{cid}/accept", expect=200)
    messages = f"/api/v1/conversations/{cid}/messages"

    # Garbage where the message id should be, each attempt a different kind of it.
    for body in [*GARBAGE, {"response": {"id": 1}}] * 2:
        fake.garbage_next("messages.send", body=body, text="lost")
    await admin.post(messages, {"text": "lost"}, expect=201)
    # An upload server that is not one: vk-api's uploader trips over the answer.
    fake.garbage_next("photos.getMessagesUploadServer", body={"response": "oops"}, times=5)
    form = aiohttp.FormData()
    form.add_field("file", PNG, filename="chart.png", content_type="image/png")
    status, upload = await admin.call("POST", "/api/v1/widget/uploads", data=form)
    assert status == 201, upload
    await admin.post(messages, {"text": "chart", "attachments": [upload["id"]]}, expect=201)

    out = await eventually(
        lambda: replies(admin, cid),
        lambda o: {o["lost"]["status"], o["chart"]["status"]} <= {"sent", "failed"},
    )
    for text in ("lost", "chart"):
        assert out[text]["status"] == "failed", out[text]
        reason = out[text]["status_reason"]
        assert f"gave up after {MAX_ATTEMPTS} attempts" in reason and "VK " in reason, reason
        assert TOKEN not in reason
    assert "messages.send" in out["lost"]["status_reason"]
    sends = [c for c in fake.calls_of("messages.send") if c.params.get("message") == "lost"]
    assert len(sends) == MAX_ATTEMPTS
    assert tracebacks(caplog) == []


def _message(**changes: Any) -> dict[str, Any]:
    event = text_event("typed badly", 7, event_id=f"bad-{len(str(changes))}-{sorted(changes)}")
    event["object"]["message"].update(changes)
    return event


async def test_malformed_events_are_acknowledged_and_store_nothing(
    fake: FakeVkApi, admin: Api, caplog: pytest.LogCaptureFixture
) -> None:
    """VK sent them (the secret matches): an error answer would only make VK send them again,
    and VK switches off a callback server that fails several times in a row."""
    caplog.set_level(logging.INFO, logger="openlines")
    line = await admin.create_line()
    channel = await connect_community(admin, fake, line["id"])
    event = text_event("x", 1)
    malformed = [
        _message(from_id="abc"),
        _message(date=10**20),
        _message(date="yesterday"),
        _message(peer_id="abc"),
        _message(attachments=[5]),
        _message(attachments=[{"type": "photo", "photo": {"sizes": [{"url": 5}, 7]}}]),
        _message(fwd_messages=[5]),
        _message(geo="here"),
        _message(reply_message="x"),
        {**event, "event_id": "e1", "object": {"message": "hello"}},
        {**event, "event_id": "e2", "type": "message_event", "object": {"peer_id": [1]}},
        {**event, "event_id": "e3", "type": "message_deny", "object": {"user_id": "me"}},
    ]
    for update in malformed:
        assert await post_event(admin, channel, update) == (200, "ok"), update
    assert await all_conversations(admin) == []
    assert tracebacks(caplog) == []
    ignored = [r for r in caplog.records if "malformed" in r.getMessage()]
    assert len(ignored) >= 10 and all(r.levelno == logging.WARNING for r in ignored)
    assert "yesterday" not in repr([r.getMessage() for r in ignored])  # no input echoed

    assert await post_event(admin, channel, text_event("well formed", 8)) == (200, "ok")
    [conversation] = await all_conversations(admin)
    assert conversation["client"]["name"] == "Анна Петрова"
