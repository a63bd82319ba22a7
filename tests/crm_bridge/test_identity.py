"""Who a CRM contact is, and who may reach it (issue #13, findings 1 and 3): an address typed
into a form never takes over a contact; only a channel identity or a proven address joins one;
a contact shows and writes to only the conversations the caller may see."""

from __future__ import annotations

from aiohttp import web

from tests.channels.telegram import conftest as telegram
from tests.channels.telegram.conftest import CLIENT_CHAT, connect_bot, post_update, text_update
from tests.crm_bridge.test_crm import CRM_LINE, crm_of, mail_from, widget_visitor
from tests.fakes.telegram import Call, FakeBotApi
from tests.support.clients import Api, new_msg_id, operator_socket
from tests.support.platform import thread_of
from tests.support.waiting import eventually
from tests.support.world import make_line

# The Telegram suite's fake Bot API and hub settings (a public URL for the webhook).
fake = telegram.fake
settings = telegram.settings

INVOICE = "Pat, your invoice for order 1234 is attached"


async def test_a_typed_address_never_takes_over_a_contact(
    fake: FakeBotApi, admin: Api, base_url: str
) -> None:
    world = await make_line(admin, **CRM_LINE)
    manager = await admin.create_user("manager")
    bot = await connect_bot(admin, fake, world.line["id"])
    # Pat writes from Telegram (the account is the identity) and becomes a contact with her
    # e-mail on file.
    assert await post_update(admin, bot, text_update("About order 1234", 20)) == 200
    listing = await eventually(
        lambda: admin.get(f"/api/v1/conversations?line_id={world.line['id']}"),
        lambda body: any(c["crm"]["lead_id"] for c in body["conversations"]),
    )
    [pat_chat] = listing["conversations"]
    converted = await manager.post(
        f"/api/v1/crm/leads/{pat_chat['crm']['lead_id']}/convert", {"contact": True}, expect=201
    )
    contact = await manager.patch(
        f"/api/v1/crm/contacts/{converted['contact']['id']}",
        {"name": "Pat", "emails": ["pat@example.com"]},
    )
    assert contact["client_ids"] == [pat_chat["client"]["id"]]

    # Mallory types Pat's address into the pre-chat form before writing (a new conversation) ...
    mallory, first = await widget_visitor(
        base_url, world, "Hi, it's Pat", name="Pat", email="PAT@example.com"
    )
    # ... and Eve writes first and types it afterwards (the client's details change).
    eve, second = await widget_visitor(base_url, world, "Hello")
    await crm_of(admin, second["conversation_id"], "lead_id")
    assert (await eve.call("prechat", {"email": "pat@example.com"}))["ok"]

    # Each gets a lead of her own that suggests the contact to staff, and nothing more.
    for typed in (first, second):
        linked = await crm_of(admin, typed["conversation_id"], "lead_id")
        lead = await eventually(
            lambda linked=linked: manager.get(f"/api/v1/crm/leads/{linked['crm']['lead_id']}"),
            lambda lead: lead["possible_contact_ids"] == [contact["id"]],
        )
        assert lead["emails"] == lead["unverified_emails"] == ["pat@example.com"]
        assert lead["client_ids"] == [linked["client"]["id"]]
        shown = await admin.get(f"/api/v1/conversations/{typed['conversation_id']}")
        assert shown["crm"]["contact_id"] is None and shown["crm"]["deal_id"] is None
    after = await manager.get(f"/api/v1/crm/contacts/{contact['id']}")
    assert after["client_ids"] == contact["client_ids"]
    assert after["conversation_ids"] == [pat_chat["id"]]
    timeline = await manager.get(f"/api/v1/crm/contacts/{contact['id']}/timeline")
    assert [c["id"] for c in timeline["conversations"]] == [pat_chat["id"]]

    # The manager writes to the contact: it goes to Pat on Telegram, never to a typist.
    sent = await manager.post(
        f"/api/v1/crm/contacts/{contact['id']}/messages", {"text": INVOICE}, expect=201
    )
    assert sent["conversation"]["id"] == pat_chat["id"]
    # Shown as everywhere else: no platform chat ids or dedupe keys.
    assert "chat_id" not in sent["conversation"] and "load_key" not in sent["conversation"]
    assert "external_id" not in sent["message"] and "channel_id" not in sent["message"]
    [delivered] = await eventually(
        lambda: _sent(fake, INVOICE), lambda calls: len(calls) == 1, timeout_s=20
    )
    assert delivered.params["chat_id"] == str(CLIENT_CHAT)
    for visitor in (mallory, eve):
        assert not [
            m for m in visitor.events.all("message:new") if "invoice" in m["message"]["text"]
        ]
        await visitor.close()


async def test_only_a_proven_address_joins_and_never_a_claimed_one(
    admin: Api, base_url: str, hub_app: web.Application
) -> None:
    world = await make_line(admin, **CRM_LINE)
    manager = await admin.create_user("manager")
    dora = await manager.post(
        "/api/v1/crm/contacts", {"name": "Dora", "emails": ["dora@example.com"]}, expect=201
    )
    # A mail from the address staff know: the channel proves it, so it is Dora.
    mail = await mail_from(hub_app, world.line["id"], "Dora@Example.com", "Hello from Dora")
    joined = await crm_of(admin, mail.conversation_id, "contact_id")
    assert joined["crm"]["contact_id"] == dora["id"] and joined["crm"]["lead_id"] is None

    # A visitor claims a new address; its owner then mails in: she does not join the
    # typist's lead (nor would the typist's later conversations join hers).
    visitor, typed = await widget_visitor(base_url, world, "Hi", email="nina@example.com")
    claimed = await crm_of(admin, typed["conversation_id"], "lead_id")
    mail = await mail_from(hub_app, world.line["id"], "nina@example.com", "Nina, by mail")
    own = await crm_of(admin, mail.conversation_id, "lead_id")
    assert own["crm"]["lead_id"] != claimed["crm"]["lead_id"]
    typists = await manager.get(f"/api/v1/crm/leads/{claimed['crm']['lead_id']}")
    assert typists["client_ids"] == [claimed["client"]["id"]]
    assert typists["conversation_ids"] == [typed["conversation_id"]]
    ninas = await manager.get(f"/api/v1/crm/leads/{own['crm']['lead_id']}")
    assert ninas["emails"] == ["nina@example.com"] and ninas["unverified_emails"] == []
    await visitor.close()


async def test_a_contact_shows_and_takes_only_conversations_the_caller_may_see(
    admin: Api, base_url: str
) -> None:
    sales = await make_line(admin, **CRM_LINE)
    support = await make_line(admin)
    manager = await admin.create_user("manager")
    seller, helper = sales.operators[0], support.operators[0]
    seller_socket = await operator_socket(base_url, seller.token or "")
    # A visitor of the sales line becomes a contact; the seller takes and closes the chat.
    visitor, first = await widget_visitor(base_url, sales, "I'd like to buy", name="Olga")
    first_id = first["conversation_id"]
    lead = await crm_of(admin, first_id, "lead_id")
    assert (await seller_socket.call("conversation:accept", {"id": first_id}))["ok"]
    converted = await manager.post(
        f"/api/v1/crm/leads/{lead['crm']['lead_id']}/convert", {"contact": True}, expect=201
    )
    contact_id = converted["contact"]["id"]
    await seller.post(f"/api/v1/conversations/{first_id}/close", expect=200)
    # She comes back with a private matter, which is moved to the support line.
    ack = await visitor.call(
        "message:send", {"text": "About my health", "client_msg_id": new_msg_id()}
    )
    second_id = ack["message"]["conversation_id"]
    await crm_of(admin, second_id, "contact_id")
    await admin.post(
        f"/api/v1/conversations/{second_id}/transfer", {"to_line_id": support.line["id"]}
    )
    await helper.post(f"/api/v1/conversations/{second_id}/accept", expect=200)
    await helper.post(
        f"/api/v1/conversations/{second_id}/messages",
        {"text": "Your test results", "client_msg_id": new_msg_id()},
        expect=201,
    )
    status, _ = await seller.call("GET", f"/api/v1/conversations/{second_id}")
    assert status == 404

    # The seller's view of the contact: her own conversation only, and no entry of the other.
    timeline = await seller.get(f"/api/v1/crm/contacts/{contact_id}/timeline")
    assert [c["id"] for c in timeline["conversations"]] == [first_id]
    assert {a["conversation_id"] for a in timeline["activities"]} <= {first_id, None}
    # Writing to the contact does not reach into the support conversation: the chat goes on
    # there, so there is nothing the seller may write into.
    status, body = await seller.call(
        "POST", f"/api/v1/crm/contacts/{contact_id}/messages", {"text": "Any news?"}
    )
    assert (status, body["error"]["code"]) == (409, "no_channel")
    texts = [m["text"] for m in await thread_of(admin, second_id)]
    assert "Any news?" not in texts

    # The helper sees and writes into the support conversation, and sees nothing of sales.
    timeline = await helper.get(f"/api/v1/crm/contacts/{contact_id}/timeline")
    assert [c["id"] for c in timeline["conversations"]] == [second_id]
    sent = await helper.post(
        f"/api/v1/crm/contacts/{contact_id}/messages", {"text": "Call us back"}, expect=201
    )
    assert sent["conversation"]["id"] == second_id
    # The manager sees the person's whole history.
    timeline = await manager.get(f"/api/v1/crm/contacts/{contact_id}/timeline")
    assert {c["id"] for c in timeline["conversations"]} == {first_id, second_id}
    await visitor.close()
    await seller_socket.close()


async def _sent(fake: FakeBotApi, text: str) -> list[Call]:
    return [c for c in fake.calls_of("sendMessage") if c.params.get("text") == text]
