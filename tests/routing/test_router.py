"""The router through the contract: modes, timeouts, capacity and queue, working hours,
staff actions and hidden supervision."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from tests.fakes.webhook_receiver import WebhookReceiver
from tests.support.api_channel import post_api_message
from tests.support.clients import (
    Api,
    SocketClient,
    new_msg_id,
    operator_socket,
    public_texts,
    visitor_socket,
)
from tests.support.waiting import eventually
from tests.support.world import LineWorld, make_line, visitor_says


async def online_operators(base_url: str, world: LineWorld) -> list[SocketClient]:
    return [await operator_socket(base_url, op.token or "") for op in world.operators]


async def offer_for(
    sockets: list[SocketClient], conversation_id: str
) -> tuple[SocketClient, dict[str, Any]]:
    """The socket that gets ``conversation_id`` offered (whichever it is) and the offer."""
    waits = {
        asyncio.ensure_future(
            s.events.wait(
                "conversation:offered", lambda d: d["conversation"]["id"] == conversation_id
            )
        ): s
        for s in sockets
    }
    done, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    task = done.pop()
    return waits[task], task.result()


async def close_all(*clients: SocketClient) -> None:
    for client in clients:
        await client.close()


async def test_round_robin_spreads_evenly(base_url: str, admin: Api) -> None:
    world = await make_line(admin, operators=3, distribution="round_robin")
    offline = await admin.create_user("operator")
    await admin.patch(
        f"/api/v1/lines/{world.line['id']}",
        {"operators": [*world.line["operators"], offline.user["id"]]},
    )
    sockets = await online_operators(base_url, world)
    visitors = []
    for i in range(6):
        visitor, message = await visitor_says(base_url, world.key, f"question {i}")
        visitors.append(visitor)
        owner, offer = await offer_for(sockets, message["conversation_id"])
        assert len(offer["conversation"]["offered_to"]) == 1
        ack = await owner.call("conversation:accept", {"id": message["conversation_id"]})
        assert ack["ok"], ack
    active = (await admin.get("/api/v1/conversations?status=active"))["conversations"]
    counts = Counter(c["assignee_id"] for c in active)
    assert sorted(counts.values()) == [2, 2, 2]
    assert offline.user["id"] not in counts
    offered_ids = {
        u
        for s in sockets
        for d in s.events.all("conversation:offered")
        for u in d["conversation"]["offered_to"]
    }
    assert offline.user["id"] not in offered_ids
    await close_all(*visitors, *sockets)


async def test_strict_order_fills_by_capacity(base_url: str, admin: Api) -> None:
    world = await make_line(
        admin, operators=3, distribution="strict_order", max_active_per_operator=2
    )
    sockets = await online_operators(base_url, world)
    visitors = []
    for i in range(5):
        visitor, message = await visitor_says(base_url, world.key, f"question {i}")
        visitors.append(visitor)
        owner, _ = await offer_for(sockets, message["conversation_id"])
        assert (await owner.call("conversation:accept", {"id": message["conversation_id"]}))["ok"]
    active = (await admin.get("/api/v1/conversations?status=active"))["conversations"]
    counts = Counter(c["assignee_id"] for c in active)
    a, b, c = (op.user["id"] for op in world.operators)
    assert counts == {a: 2, b: 2, c: 1}
    await close_all(*visitors, *sockets)


async def test_all_at_once_first_accept_wins(base_url: str, admin: Api) -> None:
    world = await make_line(admin, operators=3, distribution="all_at_once")
    sockets = await online_operators(base_url, world)
    visitor, message = await visitor_says(base_url, world.key, "who's first?")
    conversation_id = message["conversation_id"]
    for s in sockets:
        offer = await s.events.wait(
            "conversation:offered", lambda d: d["conversation"]["id"] == conversation_id
        )
        assert sorted(offer["conversation"]["offered_to"]) == sorted(
            op.user["id"] for op in world.operators
        )
    results = await asyncio.gather(
        sockets[0].call("conversation:accept", {"id": conversation_id}),
        sockets[1].call("conversation:accept", {"id": conversation_id}),
    )
    assert sorted(r["ok"] for r in results) == [False, True]
    loser = next(r for r in results if not r["ok"])
    assert loser["error"]["code"] == "already_taken"
    late = await sockets[2].call("conversation:accept", {"id": conversation_id})
    assert late["error"]["code"] == "already_taken"
    # Everyone else learns it is gone.
    await sockets[2].events.wait(
        "conversation:updated",
        lambda d: d["conversation"]["id"] == conversation_id and d["change"] == "assigned",
    )
    await close_all(visitor, *sockets)


async def test_accept_timeout_moves_the_offer_on(base_url: str, admin: Api) -> None:
    world = await make_line(admin, operators=2, distribution="strict_order", accept_timeout_s=1)
    first, second = await online_operators(base_url, world)
    visitor, message = await visitor_says(base_url, world.key, "hello")
    conversation_id = message["conversation_id"]
    offer = await first.events.wait("conversation:offered")
    assert offer["conversation"]["offered_to"] == [world.operators[0].user["id"]]
    moved = await second.events.wait(
        "conversation:offered", lambda d: d["conversation"]["id"] == conversation_id
    )
    assert moved["conversation"]["offered_to"] == [world.operators[1].user["id"]]
    # The first operator's accept is too late now.
    late = await first.call("conversation:accept", {"id": conversation_id})
    assert late["ok"] is False
    assert (await second.call("conversation:accept", {"id": conversation_id}))["ok"]
    await close_all(visitor, first, second)


async def test_capacity_queue_position_and_release(base_url: str, admin: Api) -> None:
    world = await make_line(admin, max_active_per_operator=1)
    (operator,) = await online_operators(base_url, world)
    v1, m1 = await visitor_says(base_url, world.key, "first")
    await operator.events.wait("conversation:offered")
    assert (await operator.call("conversation:accept", {"id": m1["conversation_id"]}))["ok"]
    await v1.events.wait("conversation:assigned")
    v2, m2 = await visitor_says(base_url, world.key, "second")
    position = await v2.events.wait("queue:position")
    assert position == {"conversation_id": m2["conversation_id"], "position": 1}
    v3, _ = await visitor_says(base_url, world.key, "third")
    assert (await v3.events.wait("queue:position"))["position"] == 2

    assert (await operator.call("conversation:close", {"id": m1["conversation_id"]}))["ok"]
    await operator.events.wait(
        "conversation:offered", lambda d: d["conversation"]["id"] == m2["conversation_id"]
    )
    assert (await operator.call("conversation:accept", {"id": m2["conversation_id"]}))["ok"]
    assigned = await v2.events.wait("conversation:assigned")
    assert assigned["operator"]["name"] == world.operators[0].user["name"]
    # The third moves up to first place.
    await v3.events.wait("queue:position", lambda d: d["position"] == 1)
    await close_all(v1, v2, v3, operator)


async def test_after_hours_text_reaches_the_client(base_url: str, admin: Api) -> None:
    world = await make_line(
        admin,
        working_hours={"timezone": "Europe/Moscow", "week": {}},  # never open
        messages={"after_hours": "We are closed; we answer from 9:00."},
    )
    visitor = await visitor_socket(base_url, world.key)
    session = await visitor.events.wait("session")
    assert session["line"]["open_now"] is False
    for text in ("hello?", "anyone?"):
        await visitor.call("message:send", {"text": text, "client_msg_id": new_msg_id()})
    notice = await visitor.events.wait(
        "message:new", lambda d: d["message"]["text"].startswith("We are closed")
    )
    assert notice["message"]["direction"] == "system"
    history = await visitor.call("history", {})
    # Said once per closed period, and the conversation still waits for the morning.
    assert public_texts(history["messages"]) == [
        "hello?",
        "We are closed; we answer from 9:00.",
        "anyone?",
    ] or public_texts(history["messages"]) == [
        "hello?",
        "anyone?",
        "We are closed; we answer from 9:00.",
    ]
    conversation = await admin.get(f"/api/v1/conversations/{history['conversation_id']}")
    assert conversation["status"] == "queued"
    await visitor.close()


async def test_welcome_and_no_answer_texts(base_url: str, admin: Api) -> None:
    world = await make_line(
        admin,
        no_answer_after_s=1,
        messages={
            "welcome": "Hi! An operator will be with you shortly.",
            "no_answer": "Sorry for the wait.",
        },
    )
    visitor, _ = await visitor_says(base_url, world.key, "hello")
    await visitor.events.wait("message:new", lambda d: d["message"]["text"].startswith("Hi!"))
    await visitor.events.wait(
        "message:new", lambda d: d["message"]["text"] == "Sorry for the wait."
    )
    await visitor.close()


async def test_transfer_to_operator_and_back_to_queue_on_timeout(
    base_url: str, admin: Api
) -> None:
    world = await make_line(admin, operators=3, distribution="strict_order", accept_timeout_s=1)
    alice, bob, carol = await online_operators(base_url, world)
    a_id, b_id, c_id = (op.user["id"] for op in world.operators)
    visitor, message = await visitor_says(base_url, world.key, "help")
    cid = message["conversation_id"]
    await alice.events.wait("conversation:offered")
    assert (await alice.call("conversation:accept", {"id": cid}))["ok"]

    ack = await alice.call("conversation:transfer", {"id": cid, "to_user_id": b_id})
    assert ack["ok"] and ack["conversation"]["offered_to"] == [b_id]
    transfer = ack["conversation"]["transfer"]
    # {from, to} as API.md says; it also says whom a cancel gives it back to, and since when.
    assert {k: transfer[k] for k in ("from", "to")} == {"from": a_id, "to": b_id}
    await bob.events.wait("conversation:offered", lambda d: d["conversation"]["id"] == cid)
    await alice.events.wait("conversation:updated", lambda d: d["change"] == "transferred")
    assert (await bob.call("conversation:accept", {"id": cid}))["ok"]
    # Carol, not part of the transfer, may not snatch it meanwhile: it is Bob's now.
    assert (await carol.call("conversation:accept", {"id": cid}))["ok"] is False

    # Bob transfers to Carol, who lets it time out: it goes back to the line's queue.
    assert (await bob.call("conversation:transfer", {"id": cid, "to_user_id": c_id}))["ok"]
    await carol.events.wait("conversation:offered", lambda d: d["conversation"]["id"] == cid)
    expired = await bob.events.wait(
        "conversation:updated", lambda d: d["change"] == "offer_expired", timeout_s=10
    )
    assert expired["conversation"]["status"] == "queued"
    assert c_id in expired["conversation"]["offer_history"]
    # ...and is offered again, to someone other than Carol.
    _, offer = await offer_for([alice, bob], cid)
    assert c_id not in offer["conversation"]["offered_to"]
    notes = (await admin.get(f"/api/v1/conversations/{cid}/messages"))["messages"]
    assert any("transferred the conversation" in m["text"] and m["hidden"] for m in notes)
    # The client heard nothing of it.
    assert public_texts((await visitor.call("history", {}))["messages"]) == ["help"]
    await close_all(visitor, alice, bob, carol)


async def test_transfer_to_another_line(base_url: str, admin: Api) -> None:
    world = await make_line(admin)
    sales = await make_line(admin)
    (support_op,) = await online_operators(base_url, world)
    (sales_op,) = await online_operators(base_url, sales)
    visitor, message = await visitor_says(base_url, world.key, "I want to buy")
    cid = message["conversation_id"]
    await support_op.events.wait("conversation:offered")
    assert (await support_op.call("conversation:accept", {"id": cid}))["ok"]
    moved = await support_op.call(
        "conversation:transfer", {"id": cid, "to_line_id": sales.line["id"]}
    )
    assert moved["ok"] and moved["conversation"]["line_id"] == sales.line["id"]
    await sales_op.events.wait("conversation:offered", lambda d: d["conversation"]["id"] == cid)
    assert (await sales_op.call("conversation:accept", {"id": cid}))["ok"]
    # The support operator no longer sees it.
    status, _ = await world.operators[0].call("GET", f"/api/v1/conversations/{cid}")
    assert status == 404
    await close_all(visitor, support_op, sales_op)


async def test_invite_return_and_pin(base_url: str, admin: Api) -> None:
    world = await make_line(admin, operators=2, distribution="strict_order")
    first, second = await online_operators(base_url, world)
    first_id, second_id = (op.user["id"] for op in world.operators)
    visitor, message = await visitor_says(base_url, world.key, "question")
    cid = message["conversation_id"]
    await first.events.wait("conversation:offered")
    assert (await first.call("conversation:accept", {"id": cid}))["ok"]

    # Invite: the colleague sees the whole history and may write.
    invited = await first.call("conversation:invite", {"id": cid, "user_id": second_id})
    assert invited["ok"]
    assert {"user_id": second_id, "hidden": False} in invited["conversation"]["participants"]
    await second.events.wait("conversation:updated", lambda d: d["change"] == "invited")
    history = await world.operators[1].get(f"/api/v1/conversations/{cid}/messages")
    assert "question" in public_texts(history["messages"])
    said = await second.call("message:send", {"conversation_id": cid, "text": "I can help too"})
    assert said["ok"]
    await visitor.events.wait("message:new", lambda d: d["message"]["text"] == "I can help too")
    assert (await second.call("conversation:leave", {"id": cid}))["ok"]

    # Return to queue: it is offered to someone else, not back to the one who returned it.
    back = await first.call("conversation:return", {"id": cid})
    assert back["ok"] and back["conversation"]["status"] in ("queued", "offered")
    offer = await second.events.wait(
        "conversation:offered", lambda d: d["conversation"]["id"] == cid
    )
    assert offer["conversation"]["offered_to"] == [second_id]
    assert (await second.call("conversation:accept", {"id": cid}))["ok"]

    # Pin: the client's next conversation goes straight to the same operator.
    assert (await second.call("conversation:pin", {"id": cid, "pinned": True}))["ok"]
    assert (await second.call("conversation:close", {"id": cid}))["ok"]
    ack = await visitor.call("message:send", {"text": "me again", "client_msg_id": new_msg_id()})
    new_id = ack["message"]["conversation_id"]
    assert new_id != cid
    pinned_offer = await second.events.wait(
        "conversation:offered", lambda d: d["conversation"]["id"] == new_id
    )
    assert pinned_offer["conversation"]["offered_to"] == [second_id]
    assert first_id not in pinned_offer["conversation"]["offered_to"]
    await close_all(visitor, first, second)


async def test_close_with_closing_text_and_csat(base_url: str, admin: Api) -> None:
    world = await make_line(
        admin, csat={"enabled": True}, messages={"closing": "Thanks for writing to us!"}
    )
    (operator,) = await online_operators(base_url, world)
    visitor, message = await visitor_says(base_url, world.key, "bye soon")
    cid = message["conversation_id"]
    await operator.events.wait("conversation:offered")
    assert (await operator.call("conversation:accept", {"id": cid}))["ok"]
    closed = await operator.call("conversation:close", {"id": cid})
    assert closed["ok"] and closed["conversation"]["csat"]["status"] == "requested"
    assert (await visitor.events.wait("conversation:closed")) == {"conversation_id": cid}
    assert (await visitor.events.wait("csat:request")) == {"conversation_id": cid}
    await visitor.events.wait(
        "message:new", lambda d: d["message"]["text"] == "Thanks for writing to us!"
    )
    bad = await visitor.call("csat:submit", {"rating": 9})
    assert bad["ok"] is False
    ack = await visitor.call("csat:submit", {"rating": 5, "comment": "Quick and kind"})
    assert ack["ok"] and ack["csat"]["rating"] == 5
    again = await visitor.call("csat:submit", {"rating": 1})
    assert again["error"]["code"] == "csat_not_awaited"
    conversation = await admin.get(f"/api/v1/conversations/{cid}")
    assert conversation["csat"]["rating"] == 5 and conversation["csat"]["status"] == "submitted"
    assert conversation["close_reason"] == "operator"
    await operator.events.wait("conversation:updated", lambda d: d["change"] == "csat")
    await close_all(visitor, operator)


async def test_auto_close_after_client_silence(base_url: str, admin: Api) -> None:
    world = await make_line(
        admin,
        auto_close_after_s=1,
        messages={"auto_close": "Closing as we have not heard from you."},
    )
    (operator,) = await online_operators(base_url, world)
    visitor, message = await visitor_says(base_url, world.key, "question")
    cid = message["conversation_id"]
    await operator.events.wait("conversation:offered")
    assert (await operator.call("conversation:accept", {"id": cid}))["ok"]
    await operator.call("message:send", {"conversation_id": cid, "text": "Anything else?"})
    await visitor.events.wait("conversation:closed", timeout_s=10)
    await visitor.events.wait(
        "message:new", lambda d: d["message"]["text"].startswith("Closing as we")
    )
    conversation = await admin.get(f"/api/v1/conversations/{cid}")
    assert conversation["close_reason"] == "auto"
    await close_all(visitor, operator)


async def test_hidden_supervisor_is_invisible_on_every_channel(base_url: str, admin: Api) -> None:
    world = await make_line(admin)
    supervisor_api = await admin.create_user("supervisor")
    await admin.patch(
        f"/api/v1/lines/{world.line['id']}", {"supervisors": [supervisor_api.user["id"]]}
    )
    receiver = await WebhookReceiver(lambda text, attempt: 200).start()
    api_channel = await admin.create_channel(
        world.line["id"], "api", {"webhook_url": receiver.url}
    )
    (operator,) = await online_operators(base_url, world)
    supervisor = await operator_socket(base_url, supervisor_api.token or "", online=False)

    # One conversation on the widget, one on the API channel.
    visitor, message = await visitor_says(base_url, world.key, "widget question")
    widget_cid = message["conversation_id"]
    status, _ = await post_api_message(
        admin,
        api_channel,
        {"message_id": "p1", "chat_id": "c1", "sender": {"id": "u1"}, "text": "api question"},
    )
    assert status == 200
    api_cid = next(
        c["id"]
        for c in (await admin.get("/api/v1/conversations"))["conversations"]
        if c["channel"]["type"] == "api"
    )

    for cid in (widget_cid, api_cid):
        await operator.events.wait(
            "conversation:offered", lambda d, c=cid: d["conversation"]["id"] == c
        )
        assert (await operator.call("conversation:accept", {"id": cid}))["ok"]
        joined = await supervisor.call("conversation:join", {"id": cid, "hidden": True})
        assert joined["ok"], joined
        update = await operator.events.wait(
            "conversation:updated",
            lambda d, c=cid: d["conversation"]["id"] == c and d["change"] == "joined",
        )
        assert {"user_id": supervisor_api.user["id"], "hidden": True} in update["conversation"][
            "participants"
        ]
        await supervisor.call("typing", {"conversation_id": cid, "on": True})
        whisper = await supervisor.call(
            "message:send", {"conversation_id": cid, "text": f"whisper {cid}", "hidden": True}
        )
        assert whisper["ok"]
        await operator.events.wait(
            "message:new", lambda d, c=cid: d["message"]["text"] == f"whisper {c}"
        )
        # A hidden participant cannot write to the client by mistake.
        public = await supervisor.call("message:send", {"conversation_id": cid, "text": "oops"})
        assert public["ok"] is False and public["error"]["code"] == "not_a_participant"
        await operator.call("message:send", {"conversation_id": cid, "text": f"reply {cid}"})

    # Widget: the reply arrives; nothing of the supervisor does, live or in history.
    await visitor.events.wait(
        "message:new", lambda d: d["message"]["text"] == f"reply {widget_cid}"
    )
    live = [d["message"]["text"] for d in visitor.events.all("message:new")]
    assert all("whisper" not in t and "joined" not in t for t in live)
    assert visitor.events.all("typing") == []
    history = (await visitor.call("history", {}))["messages"]
    assert [m["text"] for m in history] == ["widget question", f"reply {widget_cid}"]
    # API channel: only the public reply was ever delivered.
    assert await _delivered(receiver, f"reply {api_cid}")
    assert [d["text"] for d in receiver.delivered if d["conversation_id"] == api_cid] == [
        f"reply {api_cid}"
    ]
    await receiver.close()
    await close_all(visitor, operator, supervisor)


async def _delivered(receiver: WebhookReceiver, text: str) -> bool:
    await eventually(lambda: _texts(receiver), lambda texts: text in texts)
    return True


async def _texts(receiver: WebhookReceiver) -> list[str]:
    return [d["text"] for d in receiver.delivered]


async def test_platform_clients_get_their_queue_place_once(admin: Api) -> None:
    receiver = await WebhookReceiver(lambda text, attempt: 200).start()
    world = await make_line(admin)  # nobody online: everything waits
    channel = await admin.create_channel(world.line["id"], "api", {"webhook_url": receiver.url})
    for chat, texts in (("first", ["hi", "still there?"]), ("second", ["hello"])):
        for text in texts:
            status, _ = await post_api_message(
                admin,
                channel,
                {
                    "message_id": f"{chat}-{text}",
                    "chat_id": chat,
                    "sender": {"id": chat},
                    "text": text,
                },
            )
            assert status == 200
    expected = {
        "first": "All operators are busy right now. You are number 1 in the queue.",
        "second": "All operators are busy right now. You are number 2 in the queue.",
    }
    await eventually(lambda: _texts(receiver), lambda texts: set(expected.values()) <= set(texts))
    by_chat = {
        chat: [d["text"] for d in receiver.delivered if d["chat_id"] == chat] for chat in expected
    }
    assert by_chat == {chat: [text] for chat, text in expected.items()}
    await receiver.close()


async def test_csat_for_platform_clients_by_signed_link(admin: Api, anon: Api) -> None:
    receiver = await WebhookReceiver(lambda text, attempt: 200).start()
    world = await make_line(admin, csat={"enabled": True})
    channel = await admin.create_channel(world.line["id"], "api", {"webhook_url": receiver.url})
    status, _ = await post_api_message(
        admin,
        channel,
        {"message_id": "m1", "chat_id": "c1", "sender": {"id": "u1"}, "text": "hi"},
    )
    assert status == 200
    (conversation,) = (await admin.get("/api/v1/conversations"))["conversations"]
    cid = conversation["id"]
    await admin.post(f"/api/v1/conversations/{cid}/accept", expect=200)
    await admin.post(f"/api/v1/conversations/{cid}/close", expect=200)
    await eventually(
        lambda: _texts(receiver),
        lambda texts: any(t.startswith("Please rate") for t in texts),
    )
    prompt = next(d for d in receiver.delivered if d["text"].startswith("Please rate"))
    assert prompt["purpose"] == "csat_request"

    # The e-mail channel puts signed links like this one into its prompt.
    from hub.auth import VisitorTokens

    token = VisitorTokens(b"test-secret-key-for-visitor-tokens").issue("csat", cid)
    status, _ = await anon.call("GET", f"/csat/{token}x?rating=4")
    assert status == 403
    status, _ = await anon.call("GET", f"/csat/{token}?rating=7")
    assert status == 422
    status, page = await anon.call("GET", f"/csat/{token}?rating=4")
    assert status == 200 and "4 / 5" in page
    assert (await admin.get(f"/api/v1/conversations/{cid}"))["csat"]["rating"] == 4
    await receiver.close()


async def test_round_robin_rotates_offers_not_yet_accepted(base_url: str, admin: Api) -> None:
    world = await make_line(admin, operators=3, distribution="round_robin")
    sockets = await online_operators(base_url, world)
    visitors, offered = [], []
    for i in range(3):
        visitor, message = await visitor_says(base_url, world.key, f"waiting {i}")
        visitors.append(visitor)
        _, offer = await offer_for(sockets, message["conversation_id"])
        offered += offer["conversation"]["offered_to"]
    assert sorted(offered) == sorted(op.user["id"] for op in world.operators)
    await close_all(*visitors, *sockets)


async def test_after_hours_no_place_in_the_queue_is_told(base_url: str, admin: Api) -> None:
    """A closed line tells the client it is closed, not "1st in the queue" beside it."""
    world = await make_line(
        admin,
        working_hours={"timezone": "Europe/Moscow", "week": {}},  # never open
        messages={"after_hours": "We are closed."},
    )
    visitor = await visitor_socket(base_url, world.key)
    await visitor.call("message:send", {"text": "hello?", "client_msg_id": new_msg_id()})
    await visitor.events.wait("message:new", lambda d: d["message"]["text"] == "We are closed.")
    # Everything the dispatch after the first message sent has arrived by the next answer.
    await visitor.call("message:send", {"text": "still there?", "client_msg_id": new_msg_id()})
    await visitor.call("history", {})
    assert visitor.events.all("queue:position") == []
    await visitor.close()
