"""Connecting a bot, the webhook, replies, media and CSAT against a fake Bot API server."""

from __future__ import annotations

import time
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from hub.appkeys import HUB
from hub.models import new_id
from tests.channels.telegram.conftest import (
    CLIENT_CHAT,
    PUBLIC_URL,
    TOKEN,
    connect_bot,
    fixture_update,
    post_update,
    text_update,
)
from tests.fakes.telegram import FakeBotApi
from tests.support.clients import Api, operator_socket
from tests.support.platform import JPEG, OGG, PDF, PNG, all_conversations, thread_of
from tests.support.waiting import eventually


async def test_connect_sets_the_webhook_and_refuses_a_wrong_token(
    fake: FakeBotApi, admin: Api
) -> None:
    line = await admin.create_line()
    channel = await connect_bot(admin, fake, line["id"])
    assert [c.method for c in fake.calls] == ["getMe", "setWebhook"]
    hook = fake.calls_of("setWebhook")[0].params
    assert hook["url"] == f"{PUBLIC_URL}/hooks/telegram/{channel['id']}"
    assert channel["webhook_url"] == hook["url"]
    assert hook["secret_token"] == channel["webhook_secret"] and len(hook["secret_token"]) >= 32
    assert hook["allowed_updates"] == ["message", "edited_message", "callback_query"]
    assert channel["bot_username"] == "openlines_test_bot"
    assert "bot_token" not in channel["config"]
    assert channel["secrets_set"] == ["bot_token", "webhook_secret"]
    # Revealed once: reading the channel later shows neither secret.
    again = await admin.get(f"/api/v1/channels/{channel['id']}")
    assert "webhook_secret" not in again and "webhook_secret" not in again["config"]

    status, body = await admin.call(
        "POST",
        f"/api/v1/lines/{line['id']}/channels",
        {
            "type": "telegram",
            "config": {
                "bot_token": "999:WRONG-token_abcdefghijklmnopqrst",
                "api_base": fake.base_url,
            },
        },
    )
    assert status == 422 and "Unauthorized" in body["error"]["message"]
    listed = await admin.get(f"/api/v1/lines/{line['id']}/channels")
    assert [c["id"] for c in listed["channels"]] == [channel["id"]]

    await admin.call("DELETE", f"/api/v1/channels/{channel['id']}", expect=204)
    assert fake.calls[-1].method == "deleteWebhook"
    assert fake.bots[TOKEN].webhook is None


async def test_text_reaches_an_operator_and_the_reply_goes_out_as_plain_text(
    fake: FakeBotApi, admin: Api, base_url: str, hub_app: web.Application
) -> None:
    operator = await admin.create_user("operator")
    assert operator.user is not None
    line = await admin.create_line(operators=[operator.user["id"]])
    channel = await connect_bot(admin, fake, line["id"])
    socket = await operator_socket(base_url, operator.token or "")
    try:
        assert await post_update(admin, channel, fixture_update("start_payload")) == 200
        assert await post_update(admin, channel, text_update("Where is my order?", 20)) == 200
        offered = await socket.events.wait("conversation:offered")
        conversation_id = offered["conversation"]["id"]
        ack = await socket.call("conversation:accept", {"id": conversation_id})
        assert ack["ok"], ack
        conversation = await operator.get(f"/api/v1/conversations/{conversation_id}")
        assert conversation["source"] == "promo_spring"
        assert conversation["client"]["name"] == "Anna Petrova"

        await socket.call("typing", {"conversation_id": conversation_id, "on": True})
        reply = "Your *order* _ships_ [today](x) <b>!</b>"
        ack = await socket.call(
            "message:send",
            {"conversation_id": conversation_id, "text": reply, "client_msg_id": new_id()},
        )
        assert ack["ok"], ack
        await socket.events.wait(
            "message:updated",
            lambda d: (
                d["message"]["id"] == ack["message"]["id"] and d["message"]["status"] == "sent"
            ),
        )
    finally:
        await socket.close()
    [sent] = fake.calls_of("sendMessage")
    assert sent.params["chat_id"] == str(CLIENT_CHAT) and sent.params["text"] == reply
    assert "parse_mode" not in sent.params  # plain text: no stray Markdown or HTML
    [action] = fake.calls_of("sendChatAction")
    assert action.params == {"chat_id": str(CLIENT_CHAT), "action": "typing"}
    client_id = conversation["client"]["id"]
    client = await hub_app[HUB].store.db["clients"].find_one({"_id": client_id})
    assert client is not None
    assert (client["username"], client["language"]) == ("anna_p", "ru")


async def test_wrong_secret_is_refused_and_a_repeated_update_is_stored_once(
    fake: FakeBotApi, admin: Api
) -> None:
    line = await admin.create_line()
    channel = await connect_bot(admin, fake, line["id"])
    update = text_update("hello", 30)
    for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}):
        status, body = await admin.call(
            "POST", f"/hooks/telegram/{channel['id']}", update, headers=headers
        )
        assert status == 401 and body["error"]["code"] == "invalid_secret"
    assert await all_conversations(admin) == []

    assert await post_update(admin, channel, update) == 200
    assert await post_update(admin, channel, update) == 200  # Telegram retried
    assert await post_update(admin, channel, {**update, "update_id": 1}) == 200
    [conversation] = await all_conversations(admin)
    texts = [m["text"] for m in await thread_of(admin, conversation["id"])]
    assert texts.count("hello") == 1


async def test_media_arrive_as_attachments_and_an_image_goes_out_as_a_photo(
    fake: FakeBotApi, admin: Api
) -> None:
    fake.add_file("AgAD-large", JPEG, "photos/file_1.jpg")
    fake.add_file("BQAD-doc", PDF, "documents/file_2.pdf")
    fake.add_file("AwAD-voice", OGG, "voice/file_3.oga")
    line = await admin.create_line()
    channel = await connect_bot(admin, fake, line["id"])
    for name in ("photo", "document", "voice"):
        assert await post_update(admin, channel, fixture_update(name)) == 200
    [conversation] = await all_conversations(admin)
    messages = await thread_of(admin, conversation["id"])
    got = {m["attachments"][0]["mime"]: m for m in messages if m["direction"] == "in"}
    assert set(got) == {"image/jpeg", "application/pdf", "audio/ogg"}
    assert got["image/jpeg"]["text"] == "Here is the damaged box"
    expected = {"image/jpeg": JPEG, "application/pdf": PDF, "audio/ogg": OGG}
    for mime, message in got.items():
        url = message["attachments"][0]["url"]
        async with admin._session.get(
            admin.base_url + url, headers={"Authorization": f"Bearer {admin.token}"}
        ) as response:
            assert response.status == 200
            assert await response.read() == expected[mime]
    assert [c.params["file_id"] for c in fake.calls_of("getFile")] == [
        "AgAD-large",
        "BQAD-doc",
        "AwAD-voice",
    ]

    await admin.post(f"/api/v1/conversations/{conversation['id']}/accept", expect=200)
    form = aiohttp.FormData()
    form.add_field("file", PNG, filename="chart.png", content_type="image/png")
    status, upload = await admin.call("POST", "/api/v1/widget/uploads", data=form)
    assert status == 201, upload
    message = await admin.post(
        f"/api/v1/conversations/{conversation['id']}/messages",
        {"text": "See the chart", "attachments": [upload["id"]]},
        expect=201,
    )
    await eventually(
        lambda: thread_of(admin, conversation["id"]),
        lambda ms: any(m["id"] == message["id"] and m["status"] == "sent" for m in ms),
    )
    [photo] = fake.calls_of("sendPhoto")
    assert photo.params["chat_id"] == str(CLIENT_CHAT)
    assert photo.params["caption"] == "See the chart"
    assert photo.files["photo"] == ("chart.png", PNG)


async def test_csat_buttons_store_the_rating_and_hidden_messages_stay_home(
    fake: FakeBotApi, admin: Api
) -> None:
    line = await admin.create_line(csat={"enabled": True})
    channel = await connect_bot(admin, fake, line["id"])
    assert await post_update(admin, channel, text_update("thanks for the help", 40)) == 200
    [conversation] = await all_conversations(admin)
    cid = conversation["id"]
    await admin.post(f"/api/v1/conversations/{cid}/accept", expect=200)
    messages = f"/api/v1/conversations/{cid}/messages"
    await admin.post(messages, {"text": "staff only note", "hidden": True}, expect=201)
    await admin.post(messages, {"text": "Glad to help"}, expect=201)
    await admin.post(f"/api/v1/conversations/{cid}/close", expect=200)
    prompt = await eventually(
        lambda: _async(fake.calls_of("sendMessage")),
        lambda calls: any("reply_markup" in c.params for c in calls),
    )
    keyboard = next(c for c in prompt if "reply_markup" in c.params).params["reply_markup"]
    buttons = keyboard["inline_keyboard"][0]
    assert [(b["text"], b["callback_data"]) for b in buttons] == [
        (str(n), f"csat:{n}") for n in range(1, 6)
    ]
    assert await post_update(admin, channel, fixture_update("callback_csat")) == 200
    rated = await admin.get(f"/api/v1/conversations/{cid}")
    assert rated["csat"]["rating"] == 4
    [answer] = fake.calls_of("answerCallbackQuery")
    assert answer.params["callback_query_id"] == "4382bfdwdsb323b2d9"
    # Nothing hidden ever reached the Bot API, by any method.
    everything = repr([c.params for c in fake.calls])
    assert "staff only note" not in everything
    assert "Glad to help" in everything


async def _async(value: Any) -> Any:
    return value


@pytest.mark.serial  # a p99 bound (250 ms): missed it (304 ms) beside a busy worker
async def test_webhook_answers_fast(fake: FakeBotApi, admin: Api) -> None:
    """p99 of the webhook round trip (verify, parse, store, answer) over 200 text updates."""
    line = await admin.create_line()
    channel = await connect_bot(admin, fake, line["id"])
    timings = []
    for n in range(200):
        started = time.perf_counter()
        assert await post_update(admin, channel, text_update(f"m{n}", 1000 + n)) == 200
        timings.append(time.perf_counter() - started)
    timings.sort()
    p50, p99 = timings[len(timings) // 2], timings[int(len(timings) * 0.99) - 1]
    print(f"telegram webhook p50={p50 * 1000:.1f} ms p99={p99 * 1000:.1f} ms")  # noqa: T201
    # The target is 50 ms; allow headroom for a loaded 2-core CI box.
    assert p99 < 0.25, f"p99 {p99 * 1000:.1f} ms"
