"""The CRM bridge through the contract: leads from conversations, conversion, known people on
other channels, deals and their timeline, writing to a contact, permissions, webhooks."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from aiohttp import web
from pymongo import AsyncMongoClient

from hub.appkeys import HUB
from hub.models import ChannelRecord, Inbound, Message, Sender
from hub.sink import HubSink
from tests.crm_bridge.receiver import CrmReceiver
from tests.support.api_channel import post_api_message
from tests.support.clients import Api, SocketClient, new_msg_id, operator_socket, visitor_socket
from tests.support.waiting import eventually
from tests.support.world import LineWorld, make_line

CRM_LINE = {"crm": {"create_lead": True, "source": "Website chat"}}


async def widget_visitor(
    base_url: str, world: LineWorld, text: str, **prechat: str
) -> tuple[SocketClient, dict[str, Any]]:
    """A new visitor who fills the pre-chat form, then writes; the stored message."""
    visitor = await visitor_socket(base_url, world.key)
    if prechat:
        ack = await visitor.call("prechat", prechat)
        assert ack["ok"], ack
    ack = await visitor.call("message:send", {"text": text, "client_msg_id": new_msg_id()})
    assert ack["ok"], ack
    return visitor, ack["message"]


async def mail_from(hub_app: web.Application, line_id: str, address: str, text: str) -> Message:
    """A mail from ``address`` as the e-mail channel hands it to the hub: the From address
    proven (``Sender.email_verified``). The channel is stored inactive: no mailbox is polled."""
    hub = hub_app[HUB]
    mail = [c for c in await hub.store.channels.of_line(line_id) if c.type == "email"]
    if mail:
        record = mail[0]
    else:
        record = ChannelRecord(type="email", line_id=line_id, config={}, active=False)
        await hub.store.channels.insert(record)
    return await HubSink(hub, record).ingest(
        Inbound(
            channel_id=record.id,
            chat_id=f"<{new_msg_id()}@mail.example.com>",
            external_id=f"<{new_msg_id()}@mail.example.com>",
            sender=Sender(external_id=address, email=address, email_verified=True),
            text=text,
        )
    )


async def crm_of(api: Api, conversation_id: str, field: str) -> dict[str, Any]:
    """The conversation once its CRM link ``field`` is set (the rules run on the bus)."""
    conversation: dict[str, Any] = await eventually(
        lambda: api.get(f"/api/v1/conversations/{conversation_id}"),
        lambda c: c["crm"][field] is not None,
    )
    return conversation


async def test_lead_convert_known_person_deal_timeline_and_write_back(
    base_url: str, admin: Api, hub_app: web.Application
) -> None:
    world = await make_line(admin, **CRM_LINE)
    manager = await admin.create_user("manager")
    operator = world.operators[0]
    op_socket = await operator_socket(base_url, operator.token or "")

    # 1. A widget conversation with a pre-chat email becomes a lead.
    anna, first = await widget_visitor(
        base_url, world, "Hello, I want to order", name="Anna", email="Anna.Petrova@Example.com"
    )
    conversation = await crm_of(admin, first["conversation_id"], "lead_id")
    lead = await manager.get(f"/api/v1/crm/leads/{conversation['crm']['lead_id']}")
    assert lead["emails"] == ["anna.petrova@example.com"]
    assert lead["source"] == "Website chat"
    assert lead["channel"] == {"id": world.widget["id"], "type": "widget"}
    assert lead["name"] == "Anna" and lead["status"] == "new"
    assert lead["conversation_ids"] == [conversation["id"]]

    # The operator who takes the conversation becomes the lead's responsible.
    ack = await op_socket.call("conversation:accept", {"id": conversation["id"]})
    assert ack["ok"], ack
    lead = await eventually(
        lambda: manager.get(f"/api/v1/crm/leads/{lead['id']}"),
        lambda lead: lead["responsible_id"] is not None,
    )
    assert lead["responsible_id"] == operator.user["id"] and lead["status"] == "in_progress"
    # ... and may read it now that the conversation is theirs.
    await operator.get(f"/api/v1/crm/leads/{lead['id']}")

    # 2. Conversion: a contact and a deal, linked to each other and to the conversation.
    result = await manager.post(
        f"/api/v1/crm/leads/{lead['id']}/convert",
        {"contact": True, "deal": {"title": "First order", "amount": 1200, "currency": "EUR"}},
        expect=201,
    )
    contact, deal = result["contact"], result["deal"]
    assert deal["contact_id"] == contact["id"]
    assert contact["emails"] == ["anna.petrova@example.com"] and contact["lead_id"] == lead["id"]
    assert deal["pipeline_id"] == "sales" and deal["stage"] == "new"
    assert deal["conversation_ids"] == [conversation["id"]]
    shown = await admin.get(f"/api/v1/conversations/{conversation['id']}")
    assert shown["crm"] == {
        "lead_id": lead["id"],
        "contact_id": contact["id"],
        "deal_id": deal["id"],
    }
    assert (await manager.get(f"/api/v1/crm/leads/{lead['id']}"))["status"] == "converted"
    again, _ = await manager.call("POST", f"/api/v1/crm/leads/{lead['id']}/convert", {})
    assert again == 409

    # 3a. The same address typed by another visitor proves nothing: a lead of its own, with
    # the contact as a possible match for staff, and the contact untouched.
    anna_again, second = await widget_visitor(
        base_url, world, "It's me again", email="ANNA.PETROVA@example.COM"
    )
    claimed = await crm_of(admin, second["conversation_id"], "lead_id")
    assert claimed["crm"]["contact_id"] is None and claimed["crm"]["deal_id"] is None
    second_lead = await manager.get(f"/api/v1/crm/leads/{claimed['crm']['lead_id']}")
    assert (
        second_lead["emails"] == second_lead["unverified_emails"] == ["anna.petrova@example.com"]
    )
    assert second_lead["possible_contact_ids"] == [contact["id"]]
    assert (await manager.get(f"/api/v1/crm/contacts/{contact['id']}"))["client_ids"] == (
        contact["client_ids"]
    )

    # 3b. ... so is a phone an integration passes on: the API channel vouches for nobody.
    await manager.patch(f"/api/v1/crm/contacts/{contact['id']}", {"phones": ["+7 912 345-67-89"]})
    api_channel = await admin.create_channel(world.line["id"], "api", {})
    status, _ = await post_api_message(
        admin,
        api_channel,
        {
            "message_id": "m-1",
            "chat_id": "chat-1",
            "sender": {"id": "u-1", "name": "A. Petrova", "phone": "8 (912) 345 67 89"},
            "text": "Anna here, from the app",
        },
    )
    assert status == 200
    api_conversations = await eventually(
        lambda: admin.get(f"/api/v1/conversations?line_id={world.line['id']}"),
        lambda body: any(
            c["channel"]["type"] == "api" and c["crm"]["lead_id"] for c in body["conversations"]
        ),
    )
    from_api = next(c for c in api_conversations["conversations"] if c["channel"]["type"] == "api")
    assert from_api["crm"]["contact_id"] is None
    api_lead = await manager.get(f"/api/v1/crm/leads/{from_api['crm']['lead_id']}")
    assert api_lead["possible_contact_ids"] == [contact["id"]]

    # 3c. A mail from the address (the channel proves it) is the same person: it joins the
    # contact and its open deal, and makes no lead.
    mail = await mail_from(hub_app, world.line["id"], "Anna.Petrova@example.com", "By mail")
    from_mail = await crm_of(admin, mail.conversation_id, "contact_id")
    assert from_mail["crm"]["contact_id"] == contact["id"]
    assert from_mail["crm"]["deal_id"] == deal["id"] and from_mail["crm"]["lead_id"] is None
    assert len((await manager.get("/api/v1/crm/leads"))["leads"]) == 3

    # 4. A deal moved between stages is in the timeline; the contact's timeline lists every
    # conversation of the person, on every channel (and none of the typist's).
    moved = await manager.patch(f"/api/v1/crm/deals/{deal['id']}", {"stage": "invoice"})
    assert moved["stage"] == "invoice" and not moved["closed"]
    deal_timeline = await manager.get(f"/api/v1/crm/deals/{deal['id']}/timeline")
    changes = [a for a in deal_timeline["activities"] if a["type"] == "stage_changed"]
    assert [(a["data"]["from"], a["data"]["to"]) for a in changes] == [("new", "invoice")]
    await manager.post(f"/api/v1/crm/contacts/{contact['id']}/notes", {"text": "VIP"}, expect=201)
    contact_timeline = await manager.get(f"/api/v1/crm/contacts/{contact['id']}/timeline")
    assert {c["id"] for c in contact_timeline["conversations"]} == {
        conversation["id"],
        mail.conversation_id,
    }
    types = [a["type"] for a in contact_timeline["activities"]]
    assert {"contact_created", "conversation_opened", "stage_changed", "note"} <= set(types)
    won = await manager.patch(f"/api/v1/crm/deals/{deal['id']}", {"stage": "won"})
    assert won["closed"] and won["won"] is True

    # 5. A manager writes from the contact card: the client gets it on its channel. Anna's
    # widget conversation is closed first, so a new one is opened for the message; the
    # visitor who typed her address gets nothing.
    await admin.post(f"/api/v1/conversations/{conversation['id']}/close", expect=200)
    sent = await manager.post(
        f"/api/v1/crm/contacts/{contact['id']}/messages",
        {"text": "Your invoice is ready", "channel_id": world.widget["id"]},
        expect=201,
    )
    assert sent["conversation"]["id"] not in (conversation["id"], second["conversation_id"])
    assert sent["conversation"]["channel"]["id"] == world.widget["id"]
    received = await anna.events.wait(
        "message:new", lambda d: d["message"]["text"] == "Your invoice is ready"
    )
    assert received["message"]["conversation_id"] == sent["conversation"]["id"]
    reopened = await crm_of(admin, sent["conversation"]["id"], "contact_id")
    assert reopened["crm"]["contact_id"] == contact["id"]
    assert not [
        m for m in anna_again.events.all("message:new") if "invoice" in m["message"]["text"]
    ]

    for client in (anna, anna_again, op_socket):
        await client.close()


async def test_deal_started_from_a_conversation_is_linked_both_ways(
    base_url: str, admin: Api
) -> None:
    world = await make_line(admin, **CRM_LINE)
    operator = world.operators[0]
    op_socket = await operator_socket(base_url, operator.token or "")
    visitor, message = await widget_visitor(
        base_url, world, "Price for 10 units?", phone="+7 900 000 00 01"
    )
    conversation_id = message["conversation_id"]
    await crm_of(admin, conversation_id, "lead_id")
    assert (await op_socket.call("conversation:accept", {"id": conversation_id}))["ok"]

    deal = await operator.post(
        f"/api/v1/conversations/{conversation_id}/deal",
        {"title": "10 units", "amount": 500},
        expect=201,
    )
    assert deal["conversation_ids"] == [conversation_id]
    assert deal["responsible_id"] == operator.user["id"]
    shown = await crm_of(admin, conversation_id, "deal_id")
    assert shown["crm"]["deal_id"] == deal["id"]
    # The console hears the link.
    await op_socket.events.wait(
        "conversation:updated", lambda d: d["conversation"]["crm"]["deal_id"] == deal["id"]
    )
    # One open deal per conversation.
    status, body = await operator.call(
        "POST", f"/api/v1/conversations/{conversation_id}/deal", {"title": "again"}
    )
    assert status == 409 and body["error"]["code"] == "deal_exists"
    # Operators move the deals of their conversations; the timeline records it.
    await operator.patch(f"/api/v1/crm/deals/{deal['id']}", {"stage": "preparing_documents"})
    timeline = await operator.get(f"/api/v1/crm/deals/{deal['id']}/timeline")
    assert [a["data"]["to"] for a in timeline["activities"] if a["type"] == "stage_changed"] == [
        "preparing_documents"
    ]
    assert [c["id"] for c in timeline["conversations"]] == [conversation_id]
    await visitor.close()
    await op_socket.close()


async def test_blocklist_permissions_and_bad_input(
    base_url: str, admin: Api, mongo_url: str, db_name: str
) -> None:
    world = await make_line(admin, **CRM_LINE)
    # An email channel's blocklist (stored inactive, so no mailbox is polled in this test).
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url)
    await mongo[db_name]["channels"].insert_one(
        {
            "_id": "blocked-mail",
            "type": "email",
            "line_id": world.line["id"],
            "config": {"blocklist": ["@spam.example", "bot@ads.example"]},
            "active": False,
            "deleted": False,
        }
    )
    await mongo.close()
    spammer, spam = await widget_visitor(base_url, world, "Buy now", email="Promo@SPAM.example")
    welcome, fine = await widget_visitor(base_url, world, "Hi", email="friend@example.com")
    # The later conversation got its lead: the blocklisted earlier one never will.
    await crm_of(admin, fine["conversation_id"], "lead_id")
    blocked = await admin.get(f"/api/v1/conversations/{spam['conversation_id']}")
    assert blocked["crm"] == {"lead_id": None, "contact_id": None, "deal_id": None}
    leads = (await admin.get("/api/v1/crm/leads"))["leads"]
    assert [lead["emails"] for lead in leads] == [["friend@example.com"]]
    lead_id = leads[0]["id"]

    # Operators read only the CRM records of conversations they can see.
    outsider = await admin.create_user("operator")
    status, body = await outsider.call("GET", f"/api/v1/crm/leads/{lead_id}")
    assert status == 403 and body["error"]["code"] == "forbidden"
    status, _ = await outsider.call("GET", f"/api/v1/crm/leads/{lead_id}/timeline")
    assert status == 403
    assert (await outsider.get("/api/v1/crm/leads"))["leads"] == []
    status, _ = await outsider.call("PATCH", f"/api/v1/crm/leads/{lead_id}", {"name": "x"})
    assert status == 403
    # Supervisors read, but do not write; only admins configure pipelines and webhooks.
    supervisor = await admin.create_user("supervisor")
    manager = await admin.create_user("manager")
    await supervisor.get(f"/api/v1/crm/leads/{lead_id}")
    status, _ = await supervisor.call("POST", "/api/v1/crm/leads", {"title": "mine"})
    assert status == 403
    stages = [{"name": "Asked"}, {"name": "Done", "semantic": "won"}]
    status, _ = await manager.call(
        "POST", "/api/v1/crm/pipelines", {"name": "P", "stages": stages}
    )
    assert status == 403
    status, _ = await manager.call("GET", "/api/v1/webhooks")
    assert status == 403
    pipeline = await admin.post(
        "/api/v1/crm/pipelines", {"name": "Support plans", "stages": stages}, expect=201
    )
    renamed = await admin.patch(
        "/api/v1/crm/pipelines/sales",
        {
            "stages": [
                {
                    "id": s["id"],
                    "name": "Fresh" if s["id"] == "new" else s["name"],
                    "semantic": s["semantic"],
                }
                for s in (await admin.get("/api/v1/crm/pipelines/sales"))["stages"]
            ]
        },
    )
    assert renamed["stages"][0] == {
        "id": "new",
        "name": "Fresh",
        "semantic": "open",
        "color": None,
    }
    assert {p["id"] for p in (await admin.get("/api/v1/crm/pipelines"))["pipelines"]} == {
        "sales",
        pipeline["id"],
    }

    # Bad input: 4xx, nothing changes.
    before = await manager.get(f"/api/v1/crm/leads/{lead_id}")
    for body in (
        {"title": ""},
        {"title": "x", "emails": ["not an email"]},
        {"title": "x", "phones": ["call me"]},
        {"title": "x", "unknown": 1},
    ):
        status, error = await manager.call("POST", "/api/v1/crm/leads", body)
        assert status == 422, (body, error)
    status, _ = await manager.call(
        "PATCH", f"/api/v1/crm/leads/{lead_id}", {"status": "converted"}
    )
    assert status == 422
    status, _ = await manager.call(
        "POST", f"/api/v1/crm/leads/{lead_id}/convert", {"deal": {"title": ""}}
    )
    assert status == 422
    status, _ = await manager.call(
        "POST",
        f"/api/v1/crm/leads/{lead_id}/convert",
        {"deal": {"title": "x", "pipeline_id": "nope"}},
    )
    assert status == 422
    status, _ = await manager.call(
        "POST",
        "/api/v1/crm/leads",
        data=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert status in (400, 422)
    assert await manager.get(f"/api/v1/crm/leads/{lead_id}") == before
    assert len((await manager.get("/api/v1/crm/leads"))["leads"]) == 1
    assert (await manager.get("/api/v1/crm/contacts"))["contacts"] == []
    deal = await manager.post("/api/v1/crm/deals", {"title": "Manual"}, expect=201)
    status, _ = await manager.call("PATCH", f"/api/v1/crm/deals/{deal['id']}", {"stage": "nope"})
    assert status == 422
    assert (await manager.get(f"/api/v1/crm/deals/{deal['id']}"))["stage"] == "new"
    status, _ = await manager.call("GET", "/api/v1/crm/leads/no-such-lead")
    assert status == 404
    for client in (spammer, welcome):
        await client.close()


async def test_outgoing_webhooks_are_signed_and_retried(admin: Api) -> None:
    receiver = await CrmReceiver(lambda attempt: 500 if attempt <= 2 else 200).start()
    hook = await admin.post(
        "/api/v1/webhooks", {"url": receiver.url, "secret": "s" * 32}, expect=201
    )
    assert hook["secret"] == "s" * 32
    listed = (await admin.get("/api/v1/webhooks"))["webhooks"]
    assert [h["id"] for h in listed] == [hook["id"]] and "secret" not in listed[0]

    manager = await admin.create_user("manager")
    lead = await manager.post(
        "/api/v1/crm/leads", {"title": "Call back", "phones": ["8 912 111 22 33"]}, expect=201
    )
    assert lead["phones"] == ["+79121112233"]
    converted = await manager.post(
        f"/api/v1/crm/leads/{lead['id']}/convert",
        {"contact": True, "company": {"title": "Acme"}, "deal": {"title": "Acme deal"}},
        expect=201,
    )
    await manager.patch(f"/api/v1/crm/deals/{converted['deal']['id']}", {"stage": "invoice"})

    events = ("lead.created", "contact.created", "deal.created", "deal.stage_changed")
    await eventually(
        lambda: _async(receiver),
        lambda r: all(
            any(
                c["body"]["event"] == e and len(calls) == 3
                for calls in r.calls.values()
                for c in calls[-1:]
            )
            for e in events
        ),
        timeout_s=20,
    )
    for event in events:
        [call] = receiver.delivered(event)
        expected = "sha256=" + hmac.new(b"s" * 32, call["raw"], hashlib.sha256).hexdigest()
        assert call["signature"] == expected
    assert receiver.delivered("lead.created")[0]["body"]["data"]["id"] == lead["id"]
    change = receiver.delivered("deal.stage_changed")[0]["body"]["data"]["change"]
    assert (change["from"], change["to"]) == ("new", "invoice")

    await admin.call("DELETE", f"/api/v1/webhooks/{hook['id']}", expect=204)
    assert (await admin.get("/api/v1/webhooks"))["webhooks"] == []
    status, _ = await admin.call("DELETE", f"/api/v1/webhooks/{hook['id']}")
    assert status == 404
    status, _ = await admin.call("POST", "/api/v1/webhooks", {"url": "not a url"})
    assert status == 422
    await receiver.close()


async def test_webhook_redirects_are_not_followed(admin: Api, hub_app: web.Application) -> None:
    # A receiver could send the hub on to an inside address; a 3xx is a failed attempt.
    receiver = await CrmReceiver(lambda attempt: 307).start()
    hook = await admin.post(
        "/api/v1/webhooks", {"url": receiver.url, "events": ["lead.created"]}, expect=201
    )
    await admin.post("/api/v1/crm/leads", {"title": "Bounce"}, expect=201)
    deliveries = hub_app[HUB].store.db["crm_webhook_deliveries"]
    row = await eventually(
        lambda: deliveries.find_one({"webhook_id": hook["id"]}),
        lambda row: row is not None and row["attempts"] >= 1,
    )
    assert row["last_error"] == "HTTP 307" and row["status"] == "pending"
    assert receiver.redirected == 0
    await receiver.close()


async def _async(value: CrmReceiver) -> CrmReceiver:
    return value
