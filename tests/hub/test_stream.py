"""The conversation stream through the contract: round trip, idempotency, hidden messages."""

from __future__ import annotations

import asyncio

import aiohttp

from tests.support.clients import Api, new_msg_id, operator_socket, public_texts, visitor_socket
from tests.support.world import make_line, visitor_says


async def test_visitor_operator_round_trip(base_url: str, admin: Api) -> None:
    world = await make_line(admin)
    op_api = world.operators[0]
    operator = await operator_socket(base_url, op_api.token or "")
    visitor, first = await visitor_says(base_url, world.key, "Hello, is anyone there?")
    conversation_id = first["conversation_id"]
    assert first["seq"] == 1 and first["direction"] == "in"

    offer = await operator.events.wait(
        "conversation:offered", lambda d: d["conversation"]["id"] == conversation_id
    )
    assert offer["expires_at"]
    ack = await operator.call("conversation:accept", {"id": conversation_id})
    assert ack["ok"] and ack["conversation"]["assignee_id"] == op_api.user["id"]
    incoming = await operator.events.wait(
        "message:new", lambda d: d["message"]["conversation_id"] == conversation_id
    )
    assert incoming["message"]["text"] == "Hello, is anyone there?"

    reply = await operator.call(
        "message:send",
        {
            "conversation_id": conversation_id,
            "text": "Hi! How can I help?",
            "client_msg_id": new_msg_id(),
        },
    )
    assert reply["ok"] and reply["message"]["status"] == "pending"
    delivered = await visitor.events.wait(
        "message:new", lambda d: d["message"]["text"] == "Hi! How can I help?"
    )
    assert delivered["message"]["author"]["type"] == "operator"
    assert delivered["message"]["seq"] == 3  # seq 2 is the staff-only note of the accept

    sent = await operator.events.wait(
        "message:updated", lambda d: d["message"]["id"] == reply["message"]["id"]
    )
    assert sent["message"]["status"] == "sent"
    messages = await op_api.get(f"/api/v1/conversations/{conversation_id}/messages")
    assert [(m["seq"], m["hidden"], m["text"]) for m in messages["messages"]] == [
        (1, False, "Hello, is anyone there?"),
        (2, True, f"{op_api.user['name']} took the conversation."),
        (3, False, "Hi! How can I help?"),
    ]
    await visitor.close()
    await operator.close()


async def test_same_client_msg_id_is_stored_once(base_url: str, admin: Api) -> None:
    world = await make_line(admin)
    visitor = await visitor_socket(base_url, world.key)
    msg_id = new_msg_id()
    first = await visitor.call("message:send", {"text": "once", "client_msg_id": msg_id})
    again = await visitor.call("message:send", {"text": "once", "client_msg_id": msg_id})
    assert first["ok"] and again["ok"]
    assert again["message"]["id"] == first["message"]["id"] and again["duplicate"] is True

    conversation_id = first["message"]["conversation_id"]
    await admin.post(f"/api/v1/conversations/{conversation_id}/accept", expect=200)
    body = {"text": "reply once", "client_msg_id": "op-1"}
    one = await admin.post(f"/api/v1/conversations/{conversation_id}/messages", body, expect=201)
    two = await admin.post(f"/api/v1/conversations/{conversation_id}/messages", body, expect=200)
    assert one["id"] == two["id"]
    messages = (await admin.get(f"/api/v1/conversations/{conversation_id}/messages"))["messages"]
    assert public_texts(messages) == ["once", "reply once"]
    await visitor.close()


async def test_webhook_retry_with_same_platform_id_is_stored_once(admin: Api) -> None:
    world = await make_line(admin)
    channel = await admin.create_channel(world.line["id"], "api", {})
    secret = channel["secret"]
    payload = {
        "message_id": "platform-42",
        "chat_id": "chat-7",
        "sender": {"id": "user-7", "name": "Ann"},
        "text": "Order status?",
    }
    headers = {"X-OpenLines-Secret": secret}
    for _ in range(3):
        status, body = await admin.call(
            "POST", f"/hooks/api/{channel['id']}", payload, headers=headers
        )
        assert status == 200, body
    listing = await admin.get(f"/api/v1/conversations?line_id={world.line['id']}")
    assert len(listing["conversations"]) == 1
    conversation = listing["conversations"][0]
    assert conversation["client"]["name"] == "Ann"
    assert conversation["channel"] == {"id": channel["id"], "type": "api"}
    messages = await admin.get(f"/api/v1/conversations/{conversation['id']}/messages")
    assert [m["text"] for m in messages["messages"] if m["direction"] == "in"] == ["Order status?"]


async def test_hidden_message_reaches_staff_never_the_widget(base_url: str, admin: Api) -> None:
    world = await make_line(admin)
    op_api = world.operators[0]
    operator = await operator_socket(base_url, op_api.token or "")
    supervisor_api = await admin.create_user("supervisor")
    await admin.patch(
        f"/api/v1/lines/{world.line['id']}", {"supervisors": [supervisor_api.user["id"]]}
    )
    supervisor = await operator_socket(base_url, supervisor_api.token or "", online=False)

    visitor, first = await visitor_says(base_url, world.key, "I need help")
    conversation_id = first["conversation_id"]
    await operator.events.wait("conversation:offered")
    assert (await operator.call("conversation:accept", {"id": conversation_id}))["ok"]

    whisper = await supervisor.call(
        "message:send",
        {
            "conversation_id": conversation_id,
            "text": "Offer them the discount",
            "hidden": True,
        },
    )
    assert whisper["ok"], whisper
    assert whisper["message"]["hidden"] is True
    seen = await operator.events.wait(
        "message:new", lambda d: d["message"]["text"] == "Offer them the discount"
    )
    assert seen["message"]["hidden"] is True

    # A public reply after the whisper: once the visitor has it, the whisper would have too.
    await operator.call(
        "message:send", {"conversation_id": conversation_id, "text": "We can offer a discount"}
    )
    await visitor.events.wait("message:new", lambda d: d["message"]["text"].startswith("We can"))
    live = [d["message"]["text"] for d in visitor.events.all("message:new")]
    assert "Offer them the discount" not in live
    history = await visitor.call("history", {})
    assert [m["text"] for m in history["messages"]] == ["I need help", "We can offer a discount"]
    assert all(not m["hidden"] for m in history["messages"])

    # Staff see it in the REST history.
    messages = await op_api.get(f"/api/v1/conversations/{conversation_id}/messages")
    assert "Offer them the discount" in [m["text"] for m in messages["messages"]]

    # A fresh tab of the same visitor gets no trace of it either.
    token = (await visitor.events.wait("session"))["token"]
    second_tab = await visitor_socket(base_url, world.key, token)
    history2 = await second_tab.call("history", {})
    assert "Offer them the discount" not in [m["text"] for m in history2["messages"]]
    for client in (visitor, second_tab, operator, supervisor):
        await client.close()


PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


async def test_operator_sends_a_file_the_visitor_can_download(base_url: str, admin: Api) -> None:
    world = await make_line(admin)
    owner_api = world.operators[0]
    operator = await operator_socket(base_url, owner_api.token or "")
    visitor, message = await visitor_says(base_url, world.key, "send me the invoice")
    cid = message["conversation_id"]
    await operator.events.wait("conversation:offered")
    assert (await operator.call("conversation:accept", {"id": cid}))["ok"]

    form = aiohttp.FormData()
    form.add_field("file", PNG, filename="invoice.png", content_type="image/png")
    async with owner_api._session.post(
        f"{base_url}/api/v1/widget/uploads",
        data=form,
        headers={"Authorization": f"Bearer {owner_api.token}"},
    ) as response:
        assert response.status == 201
        upload = await response.json()
    # Nobody else may send someone's upload, not even an admin.
    status, body = await admin.call(
        "POST",
        f"/api/v1/conversations/{cid}/messages",
        {"attachments": [upload["id"]], "hidden": True},
    )
    assert status == 422 and body["error"]["code"] == "unknown_attachment"
    ack = await operator.call(
        "message:send", {"conversation_id": cid, "text": "", "attachments": [upload["id"]]}
    )
    assert ack["ok"], ack
    got = await visitor.events.wait("message:new", lambda d: d["message"]["attachments"])
    (attachment,) = got["message"]["attachments"]
    assert attachment["name"] == "invoice.png" and attachment["mime"] == "image/png"
    token = (await visitor.events.wait("session"))["token"]
    async with owner_api._session.get(
        f"{base_url}{attachment['url']}", params={"token": token}
    ) as response:
        assert response.status == 200
        assert await response.read() == PNG
    await visitor.close()
    await operator.close()


async def test_a_first_answer_racing_other_messages_keeps_its_own_seq(
    base_url: str, admin: Api
) -> None:
    # The first answer also stamps first_response_at; its seq must be the one its own $inc
    # gave, not the count after messages that came in meanwhile (that was a 500).
    world = await make_line(admin, max_active_per_operator=100)
    for attempt in range(25):
        visitor, first = await visitor_says(base_url, world.key, f"Question {attempt}")
        await visitor.close()
        path = f"/api/v1/conversations/{first['conversation_id']}"
        await admin.post(f"{path}/accept", expect=200)
        answer, *notes = await asyncio.gather(
            admin.call("POST", f"{path}/messages", {"text": "First answer"}),
            *(
                admin.call("POST", f"{path}/messages", {"text": f"note {n}", "hidden": True})
                for n in range(5)
            ),
        )
        assert [status for status, _ in [answer, *notes]] == [201] * 6, (answer, notes)
        seqs = [m["seq"] for m in (await admin.get(f"{path}/messages"))["messages"]]
        assert len(seqs) == len(set(seqs)) == 8  # question, accept note, answer, five notes
