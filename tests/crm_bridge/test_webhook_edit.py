"""Issue #15, point 12: an admin edits a CRM webhook (URL, events, paused or active) with
PATCH /api/v1/webhooks/<id>; the secret never changes there and is never shown again."""

from __future__ import annotations

import hashlib
import hmac

from aiohttp import web

from hub.appkeys import HUB
from tests.crm_bridge.receiver import CrmReceiver
from tests.support.clients import Api
from tests.support.waiting import eventually


async def _calls(receiver: CrmReceiver) -> CrmReceiver:
    return receiver


async def test_an_admin_edits_a_webhook_and_its_secret_stays(admin: Api) -> None:
    old = await CrmReceiver(lambda attempt: 200).start()
    new = await CrmReceiver(lambda attempt: 200).start()
    hook = await admin.post(
        "/api/v1/webhooks",
        {"url": old.url, "events": ["lead.created"], "secret": "k" * 32},
        expect=201,
    )
    assert hook["active"] is True

    edited = await admin.patch(
        f"/api/v1/webhooks/{hook['id']}",
        {"url": new.url, "events": ["deal.created", "lead.created", "deal.created"]},
    )
    assert edited["url"] == new.url
    assert edited["events"] == ["deal.created", "lead.created"]
    assert "secret" not in edited
    [listed] = (await admin.get("/api/v1/webhooks"))["webhooks"]
    assert listed == edited

    # Deliveries go to the new address, still signed with the secret given at creation.
    lead = await admin.post("/api/v1/crm/leads", {"title": "Moved hook"}, expect=201)
    await eventually(lambda: _calls(new), lambda r: bool(r.delivered("lead.created")))
    [call] = new.delivered("lead.created")
    assert call["body"]["data"]["id"] == lead["id"]
    assert (
        call["signature"]
        == "sha256=" + hmac.new(b"k" * 32, call["raw"], hashlib.sha256).hexdigest()
    )
    assert old.calls == {}

    # Paused: no delivery at all; active again: deliveries again.
    paused = await admin.patch(f"/api/v1/webhooks/{hook['id']}", {"active": False})
    assert paused["active"] is False
    await admin.post("/api/v1/crm/leads", {"title": "While paused"}, expect=201)
    await admin.patch(f"/api/v1/webhooks/{hook['id']}", {"active": True})
    after = await admin.post("/api/v1/crm/leads", {"title": "Back on"}, expect=201)
    await eventually(lambda: _calls(new), lambda r: len(r.delivered("lead.created")) >= 2)
    titles = [c["body"]["data"]["title"] for c in new.delivered("lead.created")]
    assert titles == [lead["title"], after["title"]]
    await old.close()
    await new.close()


async def test_a_bad_webhook_edit_changes_nothing(admin: Api) -> None:
    hook = await admin.post(
        "/api/v1/webhooks",
        {"url": "http://127.0.0.1:9/hook", "events": ["lead.created"]},
        expect=201,
    )
    before = await admin.get("/api/v1/webhooks")
    for patch in (
        {"url": "not a url"},
        {"events": []},
        {"events": ["no.such_event"]},
        {"active": "maybe"},
        {"secret": "s" * 32},
    ):
        status, body = await admin.call("PATCH", f"/api/v1/webhooks/{hook['id']}", patch)
        assert status == 422, (patch, body)
        assert body["error"]["details"], body
        assert "s" * 32 not in str(body)
    assert await admin.get("/api/v1/webhooks") == before
    status, body = await admin.call("PATCH", "/api/v1/webhooks/nope", {"active": False})
    assert status == 404, body
    manager = await admin.create_user("manager")
    status, _ = await manager.call("PATCH", f"/api/v1/webhooks/{hook['id']}", {"active": False})
    assert status == 403
    assert await admin.get("/api/v1/webhooks") == before


async def test_pausing_a_webhook_drops_what_it_had_not_sent(
    admin: Api, hub_app: web.Application
) -> None:
    # The receiver fails the first attempt, so the delivery waits for its retry.
    receiver = await CrmReceiver(lambda attempt: 500).start()
    hook = await admin.post(
        "/api/v1/webhooks", {"url": receiver.url, "events": ["lead.created"]}, expect=201
    )
    await admin.post("/api/v1/crm/leads", {"title": "Retried"}, expect=201)
    deliveries = hub_app[HUB].store.db["crm_webhook_deliveries"]
    await eventually(
        lambda: deliveries.find_one({"webhook_id": hook["id"]}),
        lambda row: row is not None and row["attempts"] >= 1,
    )
    await admin.patch(f"/api/v1/webhooks/{hook['id']}", {"active": False})
    row = await eventually(
        lambda: deliveries.find_one({"webhook_id": hook["id"]}),
        lambda row: row["status"] == "failed",
        timeout_s=20,
    )
    assert row["last_error"] == "paused"
    calls = sum(len(c) for c in receiver.calls.values())
    assert calls == row["attempts"]
    await receiver.close()
