"""Outgoing CRM webhooks reach public addresses only (issue #13, finding 11, SSRF): refused
when registered, and again before each delivery, where a refusal is a failed attempt."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from crm_bridge import CRM
from hub.appkeys import HUB
from hub.settings import Settings
from tests.conftest import make_settings
from tests.crm_bridge.receiver import CrmReceiver
from tests.support.clients import Api
from tests.support.waiting import eventually


@pytest.fixture
def settings(mongo_url: str, db_name: str, tmp_path: Path) -> Settings:
    """As an installation runs: no private addresses (the other suites allow their fakes)."""
    return make_settings(
        mongo_url, db_name, tmp_path / "data", allow_private_urls=False, outbox_max_attempts=2
    )


async def test_webhooks_to_inside_addresses_are_refused(admin: Api) -> None:
    for url in (
        "http://127.0.0.1:6379/",
        "http://10.0.0.7/crm",
        "http://169.254.169.254/latest/meta-data/",
        "http://localhost:8080/crm",
        "http://[::1]/crm",
    ):
        status, body = await admin.call("POST", "/api/v1/webhooks", {"url": url})
        assert (status, body["error"]["code"]) == (422, "private_address"), (url, body)
    assert (await admin.get("/api/v1/webhooks"))["webhooks"] == []


async def test_a_stored_inside_url_is_never_called_and_fails_its_deliveries(
    admin: Api, hub_app: web.Application
) -> None:
    receiver = await CrmReceiver(lambda attempt: 200).start()
    db = hub_app[HUB].store.db
    # Registered before addresses were checked (or by hand): still refused at delivery.
    await db["crm_webhooks"].insert_one(
        {"_id": "inside", "url": receiver.url, "events": ["lead.created"], "secret": "s" * 32}
    )
    manager = await admin.create_user("manager")
    for title in ("First", "Second"):
        await manager.post("/api/v1/crm/leads", {"title": title}, expect=201)

    async def deliveries() -> list[dict[str, Any]]:
        return await db["crm_webhook_deliveries"].find({"webhook_id": "inside"}).to_list()

    rows = await eventually(
        deliveries, lambda rows: len(rows) == 2 and all(r["status"] == "failed" for r in rows)
    )
    assert {(r["attempts"], r["last_error"]) for r in rows} == {(2, "refused: private_address")}
    assert receiver.calls == {}
    assert hub_app[CRM].webhooks.failures == 0  # failed attempts, not a crashed sender
    await receiver.close()
