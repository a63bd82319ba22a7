"""Connecting a community, the Callback API webhook, replies, media, CSAT and delivery errors
against a fake VK API server (acceptance 1 to 5)."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp.test_utils import TestServer
from pymongo import AsyncMongoClient

from channels.vk.send import random_id
from hub.models import new_id
from tests.channels.vk.conftest import (
    CONFIRMATION,
    GROUP_ID,
    PUBLIC_URL,
    SECRET,
    TOKEN,
    USER_ID,
    connect_community,
    fixture_event,
    now,
    post_event,
    text_event,
)
from tests.fakes.vk import FakeVkApi
from tests.support.clients import Api, operator_socket
from tests.support.platform import JPEG, PDF, PNG, all_conversations, replies, thread_of
from tests.support.waiting import eventually


async def _accepted_conversation(admin: Api, fake: FakeVkApi, line: dict[str, Any]) -> str:
    """A community connected to ``line`` and one accepted conversation with the client."""
    channel = await connect_community(admin, fake, line["id"])
    assert await post_event(admin, channel, text_event("hello", 1)) == (200, "ok")
    [conversation] = await all_conversations(admin)
    await admin.post(f"/api/v1/conversations/{conversation['id']}/accept", expect=200)
    return str(conversation["id"])


async def test_connect_checks_the_token_and_never_echoes_secrets(
    fake: FakeVkApi, admin: Api
) -> None:
    line = await admin.create_line()
    channel = await connect_community(admin, fake, line["id"])
    [check] = fake.calls_of("groups.getById")
    assert check.params["group_id"] == str(GROUP_ID) and check.params["v"] == "5.199"
    assert channel["type"] == "vk" and channel["group_name"] == "OpenLines Shop"
    assert channel["webhook_url"] == f"{PUBLIC_URL}/hooks/vk/{channel['id']}"
    assert channel["secrets_set"] == ["access_token", "secret"]
    for shown in (channel, await admin.get(f"/api/v1/channels/{channel['id']}")):
        text = orjson.dumps(shown).decode()
        assert TOKEN not in text and SECRET not in text
        assert shown["config"]["group_id"] == GROUP_ID
        assert shown["config"]["confirmation_code"] == CONFIRMATION

    path = f"/api/v1/lines/{line['id']}/channels"
    good = {
        "group_id": GROUP_ID,
        "access_token": TOKEN,
        "confirmation_code": CONFIRMATION,
        "secret": SECRET,
        "api_base": fake.base_url,
    }
    refused = [
        # A token VK does not know: its own words come back.
        ({**good, "access_token": "vk1.a.revoked-token"}, "User authorization failed"),
        # A token of another community.
        ({**good, "group_id": GROUP_ID + 1}, "does not belong to community"),
        # Callback mode cannot work without the codes VK's callback server settings show.
        ({**good, "secret": ""}, "confirmation_code and secret"),
        ({**good, "mode": "webhook"}, "mode"),
        ({**good, "group_id": "club1"}, "group_id"),
    ]
    for config, words in refused:
        status, body = await admin.call("POST", path, {"type": "vk", "config": config})
        assert status == 422, body
        assert words in orjson.dumps(body["error"]).decode(), body
    listed = await admin.get(path)
    assert [c["id"] for c in listed["channels"]] == [channel["id"]]

    # Long Poll mode needs no codes and no public URL.
    longpoll = {"group_id": GROUP_ID, "access_token": TOKEN, "mode": "longpoll"}
    polled = await admin.create_channel(line["id"], "vk", {**longpoll, "api_base": fake.base_url})
    assert "webhook_url" not in polled
    await admin.call("DELETE", f"/api/v1/channels/{polled['id']}", expect=204)
    await admin.call("DELETE", f"/api/v1/channels/{channel['id']}", expect=204)
    status, _ = await post_event(admin, channel, text_event("gone", 1))
    assert status == 404


async def test_confirmation_answers_the_code_and_a_wrong_secret_stores_nothing(
    fake: FakeVkApi, admin: Api
) -> None:
    line = await admin.create_line()
    channel = await connect_community(admin, fake, line["id"])
    hook = f"{admin.base_url}/hooks/vk/{channel['id']}"
    async with admin._session.post(hook, json=fixture_event("confirmation")) as response:
        assert response.status == 200 and response.content_type == "text/plain"
        assert await response.text() == CONFIRMATION
    status, body = await admin.call(
        "POST", f"/hooks/vk/{channel['id']}", {"type": "confirmation", "group_id": 1}
    )
    assert status == 403 and body["error"]["code"] == "wrong_group"

    event = text_event("hello", 1)
    unsigned = {k: v for k, v in event.items() if k != "secret"}
    for forged in (unsigned, *({**event, "secret": s} for s in ("", "wrong", SECRET + "x"))):
        status, body = await admin.call("POST", f"/hooks/vk/{channel['id']}", forged)
        assert status == 403 and body["error"]["code"] == "invalid_secret", body
    for raw in (b"not json", b"[1, 2]"):
        async with admin._session.post(hook, data=raw) as response:
            assert response.status == 400
            assert (await response.json())["error"]["code"] == "invalid_json"
    assert await all_conversations(admin) == []
    assert not fake.calls_of("users.get")  # nothing was even looked up

    assert await post_event(admin, channel, event) == (200, "ok")
    assert len(await all_conversations(admin)) == 1


async def test_message_reaches_an_operator_with_the_real_name_and_the_reply_goes_out(
    fake: FakeVkApi, admin: Api, base_url: str
) -> None:
    operator = await admin.create_user("operator")
    assert operator.user is not None
    line = await admin.create_line(operators=[operator.user["id"]])
    channel = await connect_community(admin, fake, line["id"])
    socket = await operator_socket(base_url, operator.token or "")
    try:
        assert await post_event(admin, channel, fixture_event("text")) == (200, "ok")
        offered = await socket.events.wait("conversation:offered")
        conversation = offered["conversation"]
        assert conversation["client"]["name"] == "Анна Петрова"
        assert conversation["channel"]["type"] == "vk"
        ack = await socket.call("conversation:accept", {"id": conversation["id"]})
        assert ack["ok"], ack
        # The name is looked up once and cached.
        assert await post_event(admin, channel, text_event("ещё вопрос", 2)) == (200, "ok")
        # The client edits their first message.
        assert await post_event(admin, channel, fixture_event("message_edit")) == (200, "ok")
        first = next(
            m for m in await thread_of(admin, conversation["id"]) if m["direction"] == "in"
        )
        assert first["text"] == "Здравствуйте, где мой заказ №42?" and first["edited"]
        assert len(fake.calls_of("users.get")) == 1
        assert fake.calls_of("users.get")[0].params["user_ids"] == str(USER_ID)

        await socket.call("typing", {"conversation_id": conversation["id"], "on": True})
        reply = "Ваш заказ *отправлен* <b>сегодня</b>"
        ack = await socket.call(
            "message:send",
            {"conversation_id": conversation["id"], "text": reply, "client_msg_id": new_id()},
        )
        assert ack["ok"], ack
        message_id = ack["message"]["id"]
        updated = await socket.events.wait(
            "message:updated",
            lambda d: d["message"]["id"] == message_id and d["message"]["status"] == "sent",
        )
    finally:
        await socket.close()
    [sent] = fake.calls_of("messages.send")
    assert sent.params["peer_id"] == str(USER_ID) and sent.params["message"] == reply
    assert sent.params["access_token"] == TOKEN
    # Derived from our message id: any retry of this message carries the same one.
    assert sent.params["random_id"] == str(random_id(message_id))
    assert "keyboard" not in sent.params and "attachment" not in sent.params
    platform_id = fake.sent_by_random_id[(USER_ID, random_id(message_id))]
    assert updated["message"]["status"] == "sent"
    stored = {m["id"]: m for m in await thread_of(admin, conversation["id"])}
    assert stored[message_id]["status"] == "sent" and platform_id
    [activity] = fake.calls_of("messages.setActivity")
    assert (activity.params["peer_id"], activity.params["type"]) == (str(USER_ID), "typing")


async def test_a_repeated_event_is_stored_once(fake: FakeVkApi, admin: Api) -> None:
    line = await admin.create_line()
    channel = await connect_community(admin, fake, line["id"])
    event = text_event("hello once", 5)
    assert await post_event(admin, channel, event) == (200, "ok")
    assert await post_event(admin, channel, event) == (200, "ok")  # VK retried
    # The same message under a new event id (a retry after our answer was lost in a restart).
    assert await post_event(admin, channel, {**event, "event_id": "other"}) == (200, "ok")
    [conversation] = await all_conversations(admin)
    texts = [m["text"] for m in await thread_of(admin, conversation["id"])]
    assert texts.count("hello once") == 1


async def test_error_6_and_10_are_retried_with_the_same_random_id_and_901_fails(
    fake: FakeVkApi, admin: Api
) -> None:
    line = await admin.create_line()
    cid = await _accepted_conversation(admin, fake, line)
    messages = f"/api/v1/conversations/{cid}/messages"

    fake.fail_next("messages.send", 6, "Too many requests per second", text="busy")
    fake.fail_next("messages.send", 10, "Internal server error", text="busy")
    busy = await admin.post(messages, {"text": "busy"}, expect=201)
    await eventually(lambda: replies(admin, cid), lambda o: o["busy"]["status"] == "sent")
    attempts = [c for c in fake.calls_of("messages.send") if c.params["message"] == "busy"]
    assert len(attempts) == 3
    assert {c.params["random_id"] for c in attempts} == {str(random_id(busy["id"]))}
    assert attempts[1].at - attempts[0].at >= 0.9  # error 6 pauses the community's sends

    fake.fail_next("messages.send", 7, "Permission to perform this action is denied", text="no")
    await admin.post(messages, {"text": "no"}, expect=201)
    out = await eventually(lambda: replies(admin, cid), lambda o: o["no"]["status"] == "failed")
    assert "[7] Permission to perform this action is denied" in out["no"]["status_reason"]
    assert (await admin.get(f"/api/v1/conversations/{cid}")).get("client_unreachable") is None

    fake.fail_next(
        "messages.send", 901, "Can't send messages for users without permission", text="denied"
    )
    await admin.post(messages, {"text": "denied"}, expect=201)
    out = await eventually(
        lambda: replies(admin, cid), lambda o: o["denied"]["status"] == "failed"
    )
    reason = out["denied"]["status_reason"]
    assert "[901] Can't send messages for users without permission" in reason
    conversation = await admin.get(f"/api/v1/conversations/{cid}")
    assert "[901]" in conversation["client_unreachable"]["reason"]
    assert [c.params["message"] for c in fake.calls_of("messages.send")].count("denied") == 1


async def test_photos_and_documents_in_and_out(fake: FakeVkApi, admin: Api) -> None:
    fake.add_file("photo_w.jpg", JPEG)
    fake.add_file("invoice.pdf", PDF)
    line = await admin.create_line()
    channel = await connect_community(admin, fake, line["id"])
    for name in ("photo", "doc"):
        assert await post_event(admin, channel, fixture_event(name, fake)) == (200, "ok")
    [conversation] = await all_conversations(admin)
    cid = conversation["id"]
    got = {m["attachments"][0]["mime"]: m for m in await thread_of(admin, cid) if m["attachments"]}
    assert set(got) == {"image/jpeg", "application/pdf"}
    assert got["image/jpeg"]["text"] == "Коробка повреждена"
    assert got["application/pdf"]["attachments"][0]["name"] == "invoice.pdf"
    for mime, data in (("image/jpeg", JPEG), ("application/pdf", PDF)):
        async with admin._session.get(
            admin.base_url + got[mime]["attachments"][0]["url"],
            headers={"Authorization": f"Bearer {admin.token}"},
        ) as response:
            assert response.status == 200 and await response.read() == data

    await admin.post(f"/api/v1/conversations/{cid}/accept", expect=200)
    uploads = []
    files = [("chart.png", PNG, "image/png"), ("terms.pdf", PDF, "application/pdf")]
    for name, data, mime in files:
        form = aiohttp.FormData()
        form.add_field("file", data, filename=name, content_type=mime)
        status, upload = await admin.call("POST", "/api/v1/widget/uploads", data=form)
        assert status == 201, upload
        uploads.append(upload["id"])
    message = await admin.post(
        f"/api/v1/conversations/{cid}/messages",
        {"text": "The chart and the terms", "attachments": uploads},
        expect=201,
    )
    await eventually(
        lambda: thread_of(admin, cid),
        lambda ms: any(m["id"] == message["id"] and m["status"] == "sent" for m in ms),
    )
    # vk-api names upload parts ``file0.<ext>``; a document keeps its name as its title.
    assert [(kind, name.rsplit(".")[-1], data) for kind, name, data in fake.uploads] == [
        ("photo", "png", PNG),
        ("doc", "pdf", PDF),
    ]
    assert fake.calls_of("docs.save")[0].params["title"] == "terms.pdf"
    [photo_server] = fake.calls_of("photos.getMessagesUploadServer")
    assert photo_server.params["peer_id"] == str(USER_ID)
    [doc_server] = fake.calls_of("docs.getMessagesUploadServer")
    assert doc_server.params["peer_id"] == str(USER_ID)
    [sent] = [c for c in fake.calls_of("messages.send") if "attachment" in c.params]
    photo_id = fake.calls_of("photos.saveMessagesPhoto")[0].params["photo"]
    doc_id = fake.calls_of("docs.save")[0].params["file"]
    assert sent.params["attachment"] == f"photo-{GROUP_ID}_{photo_id},doc-{GROUP_ID}_{doc_id}"
    assert sent.params["message"] == "The chart and the terms"
    assert sent.params["random_id"] == str(random_id(message["id"]))


async def test_csat_buttons_store_the_rating_deny_marks_unreachable_and_hidden_stays_home(
    fake: FakeVkApi, admin: Api
) -> None:
    line = await admin.create_line(csat={"enabled": True})
    cid = await _accepted_conversation(admin, fake, line)
    channel = (await admin.get(f"/api/v1/lines/{line['id']}/channels"))["channels"][0]
    messages = f"/api/v1/conversations/{cid}/messages"
    await admin.post(messages, {"text": "staff only note", "hidden": True}, expect=201)
    await admin.post(messages, {"text": "Рады помочь"}, expect=201)
    await admin.post(f"/api/v1/conversations/{cid}/close", expect=200)
    sends = await eventually(
        lambda: now(fake.calls_of("messages.send")),
        lambda calls: any("keyboard" in c.params for c in calls),
    )
    prompt = next(c for c in sends if "keyboard" in c.params)
    assert prompt.params["peer_id"] == str(USER_ID)
    keyboard = orjson.loads(prompt.params["keyboard"])
    assert keyboard["inline"] is True
    buttons = keyboard["buttons"][0]
    assert [b["action"]["type"] for b in buttons] == ["callback"] * 5
    assert [b["action"]["label"] for b in buttons] == [str(n) for n in range(1, 6)]
    assert [orjson.loads(b["action"]["payload"]) for b in buttons] == [
        {"csat": n} for n in range(1, 6)
    ]

    assert await post_event(admin, channel, fixture_event("message_event_csat")) == (200, "ok")
    rated = await admin.get(f"/api/v1/conversations/{cid}")
    assert rated["csat"]["rating"] == 5
    [answer] = fake.calls_of("messages.sendMessageEventAnswer")
    assert answer.params["event_id"] == "3159dc190b1f"
    assert answer.params["user_id"] == str(USER_ID) and answer.params["peer_id"] == str(USER_ID)
    assert orjson.loads(answer.params["event_data"]) == {
        "type": "show_snackbar",
        "text": "Thank you for your rating!",
    }
    # A second press is answered, and changes nothing.
    again = {**fixture_event("message_event_csat"), "event_id": "l2"}
    again["object"] = {**again["object"], "payload": {"csat": 1}, "event_id": "ffee"}
    assert await post_event(admin, channel, again) == (200, "ok")
    assert (await admin.get(f"/api/v1/conversations/{cid}"))["csat"]["rating"] == 5
    answers = fake.calls_of("messages.sendMessageEventAnswer")
    assert orjson.loads(answers[-1].params["event_data"])["text"] == (
        "This chat cannot be rated now."
    )

    assert await post_event(admin, channel, fixture_event("message_deny")) == (200, "ok")
    conversation = await admin.get(f"/api/v1/conversations/{cid}")
    assert "denied" in conversation["client_unreachable"]["reason"]
    # Allowing messages again makes them reachable again.
    assert await post_event(admin, channel, fixture_event("message_allow")) == (200, "ok")
    assert (await admin.get(f"/api/v1/conversations/{cid}"))["client_unreachable"] is None
    # Nothing hidden ever reached the VK API, by any method.
    everything = repr([c.params for c in fake.calls])
    assert "staff only note" not in everything
    assert "Рады помочь" in everything


@pytest.mark.serial  # a p99 bound (50 ms): missed it (73 ms) beside a busy worker
async def test_callback_answers_fast(
    fake: FakeVkApi, admin: Api, mongo_url: str, db_name: str
) -> None:
    """VK retries and at last disables a slow server: from storing an event's message (the
    insert's ``wallTime`` on a change stream) to our ``ok`` reaching VK, p99 is at most 50 ms
    over 100 events through the real server. The whole round trip is bounded as well."""
    line = await admin.create_line()
    channel = await connect_community(admin, fake, line["id"])
    assert await post_event(admin, channel, text_event("warm-up", 1)) == (200, "ok")
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url, tz_aware=True)
    inserts = [
        {
            "$match": {
                "operationType": "insert",
                "fullDocument.channel_id": channel["id"],
                "fullDocument.direction": "in",
            }
        }
    ]
    answered_at: dict[str, datetime] = {}
    stored_at: dict[str, datetime] = {}
    round_trips = []
    async with await mongo[db_name].messages.watch(inserts) as changes:
        for n in range(100):
            started = time.perf_counter()
            assert await post_event(admin, channel, text_event(f"m{n}", 100 + n)) == (200, "ok")
            answered_at[f"{USER_ID}:{100 + n}"] = datetime.now(UTC)
            round_trips.append(time.perf_counter() - started)
        async with asyncio.timeout(15):
            while len(stored_at) < len(answered_at):
                change = await changes.next()
                stored_at[change["fullDocument"]["external_id"]] = change["wallTime"]
    await mongo.close()
    # wallTime has millisecond resolution: this errs on the slow side by under 1 ms.
    after_store = sorted((answered_at[k] - stored_at[k]).total_seconds() for k in answered_at)
    round_trips.sort()
    p99, total_p99 = after_store[98], round_trips[98]
    print(  # noqa: T201
        f"vk callback after storing p50={after_store[50] * 1000:.1f} ms "
        f"p99={p99 * 1000:.1f} ms; round trip p50={round_trips[50] * 1000:.1f} ms "
        f"p99={total_p99 * 1000:.1f} ms"
    )
    assert p99 <= 0.05, f"p99 after storing {p99 * 1000:.1f} ms"
    # Storing itself (journaled writes) is the database's; allow a loaded 2-core CI box.
    assert total_p99 < 0.25, f"round trip p99 {total_p99 * 1000:.1f} ms"


async def test_the_hub_stops_at_once_while_vk_hangs(
    fake: FakeVkApi, admin: Api, server: TestServer
) -> None:
    """A send and a poller start stuck in VK calls; stopping the hub aborts both requests at
    once instead of leaving worker threads to wait out their timeouts (which held up every
    shutdown, and the test teardown, by 30 s a call)."""
    line = await admin.create_line()
    cid = await _accepted_conversation(admin, fake, line)
    fake.stall_next("messages.send", text="stuck")
    fake.stall_next("groups.getLongPollServer")
    await admin.post(f"/api/v1/conversations/{cid}/messages", {"text": "stuck"}, expect=201)
    await connect_community(admin, fake, line["id"], mode="longpoll")
    await eventually(
        lambda: now([(c.method, c.params.get("message")) for c in fake.calls]),
        lambda calls: (
            ("messages.send", "stuck") in calls and ("groups.getLongPollServer", None) in calls
        ),
    )
    started = time.monotonic()
    await server.close()
    assert time.monotonic() - started < 3
    abandoned = await eventually(
        lambda: now(sorted(fake.abandoned)), lambda a: len(a) == 2, timeout_s=3
    )
    assert abandoned == ["groups.getLongPollServer", "messages.send"]
