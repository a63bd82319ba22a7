"""Every CRM record stays readable (issue #13, findings 2, 7 and 10): a write is checked as the
whole record it makes, numbers and query parameters are bounded, and a stored document that
does not load anyway never fails a read."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from aiohttp import web

from hub.appkeys import HUB
from tests.support.clients import Api


def _fields(body: dict[str, Any]) -> list[str]:
    return [detail["loc"][0] for detail in body["error"].get("details") or []]


async def test_a_patch_that_would_break_the_record_is_refused(admin: Api) -> None:
    manager = await admin.create_user("manager")
    lead = await manager.post("/api/v1/crm/leads", {"title": "Call back"}, expect=201)
    company = await manager.post("/api/v1/crm/companies", {"title": "Acme"}, expect=201)
    deal = await manager.post("/api/v1/crm/deals", {"title": "Big one"}, expect=201)
    contact = await manager.post("/api/v1/crm/contacts", {"name": "Ann"}, expect=201)
    for path, patch, field in (
        (f"leads/{lead['id']}", {"title": None}, "title"),
        (f"leads/{lead['id']}", {"name": "Bob", "emails": None}, "emails"),
        (f"companies/{company['id']}", {"title": None}, "title"),
        (f"deals/{deal['id']}", {"title": None}, "title"),
        # Checked before the deal moves: nothing of the patch happens.
        (f"deals/{deal['id']}", {"stage": "invoice", "title": None}, "title"),
        (f"contacts/{contact['id']}", {"phones": None}, "phones"),
        ("pipelines/sales", {"name": None}, "name"),
        ("pipelines/sales", {"stages": None}, "stages"),
    ):
        before = await manager.get(f"/api/v1/crm/{path}")
        status, body = await admin.call("PATCH", f"/api/v1/crm/{path}", patch)
        assert status == 422, (path, patch, body)
        assert _fields(body) == [field], body
        assert await manager.get(f"/api/v1/crm/{path}") == before
    for entity in ("leads", "companies", "deals", "contacts"):
        assert len((await manager.get(f"/api/v1/crm/{entity}"))[entity]) == 1
    assert len((await manager.get("/api/v1/crm/pipelines"))["pipelines"]) == 1


async def test_every_amount_has_a_sane_range(admin: Api) -> None:
    manager = await admin.create_user("manager")
    lead = await manager.post("/api/v1/crm/leads", {"title": "Acme"}, expect=201)
    deal = await manager.post("/api/v1/crm/deals", {"title": "Fair", "amount": 1200}, expect=201)
    for method, path, body in (
        ("POST", "/api/v1/crm/deals", {"title": "Huge", "amount": 1e300}),
        ("POST", "/api/v1/crm/deals", {"title": "Owed", "amount": -1}),
        ("PATCH", f"/api/v1/crm/deals/{deal['id']}", {"amount": 1e16}),
        (
            "POST",
            f"/api/v1/crm/leads/{lead['id']}/convert",
            {"deal": {"title": "x", "amount": 1e16}},
        ),
    ):
        status, error = await manager.call(method, path, body)
        assert status == 422 and _fields(error) in (["amount"], ["deal"]), (body, error)
    assert (await manager.get(f"/api/v1/crm/deals/{deal['id']}"))["amount"] == 1200
    assert (await manager.get(f"/api/v1/crm/leads/{lead['id']}"))["status"] == "new"


async def test_list_query_parameters_are_bounded(admin: Api) -> None:
    manager = await admin.create_user("manager")
    deal = await manager.post("/api/v1/crm/deals", {"title": "Fair"}, expect=201)
    for query in (
        "q=" + "x" * 1001,
        "q=" + "(" * 300,
        "limit=0",
        "limit=501",
        "limit=lots",
        "cursor=" + "c" * 101,
        "status=lost-in-space",
        "source=" + "s" * 201,
    ):
        status, error = await manager.call("GET", f"/api/v1/crm/leads?{query}")
        assert (status, error["error"]["code"]) == (422, "invalid_query"), (query, error)
    found = await manager.get("/api/v1/crm/leads?q=" + "(" * 200)
    assert found == {"leads": [], "next_cursor": None}
    assert [d["id"] for d in (await manager.get("/api/v1/crm/deals?q=fair"))["deals"]] == [
        deal["id"]
    ]


async def test_a_malformed_stored_record_never_fails_a_read(
    admin: Api, hub_app: web.Application, caplog: pytest.LogCaptureFixture
) -> None:
    manager = await admin.create_user("manager")
    good = await manager.post("/api/v1/crm/leads", {"title": "Fine"}, expect=201)
    db = hub_app[HUB].store.db
    private = "card 4111 1111 1111 1111"
    # Written by hand or by an older version: shapes no model loads.
    await db["crm_leads"].insert_one(
        {"_id": "broken-lead", "title": None, "emails": private, "status": "lost-in-space"}
    )
    await db["crm_contacts"].insert_one({"_id": "broken-contact", "name": 5, "client_ids": None})
    await db["crm_companies"].insert_one({"_id": "broken-company", "phones": private})
    await db["crm_deals"].insert_one({"_id": "broken-deal", "title": "x", "amount": "lots"})
    await db["crm_pipelines"].insert_one({"_id": "broken-pipeline", "name": "", "stages": [{}]})
    await db["crm_webhooks"].insert_one({"_id": "broken-hook", "url": private})
    await db["crm_activities"].insert_one(
        {"_id": "broken-activity", "refs": [f"leads:{good['id']}"], "type": None}
    )

    with caplog.at_level(logging.WARNING, logger="openlines.crm"):
        # Lists skip what does not load.
        for _ in range(2):
            leads = (await manager.get("/api/v1/crm/leads"))["leads"]
            assert [lead["id"] for lead in leads] == [good["id"]]
            for entity in ("contacts", "companies", "deals"):
                assert (await manager.get(f"/api/v1/crm/{entity}"))[entity] == []
            pipelines = (await manager.get("/api/v1/crm/pipelines"))["pipelines"]
            assert [p["id"] for p in pipelines] == ["sales"]
            assert (await admin.get("/api/v1/webhooks"))["webhooks"] == []
            timeline = await manager.get(f"/api/v1/crm/leads/{good['id']}/timeline")
            assert [a["type"] for a in timeline["activities"]] == ["lead_created"]
        # A single read repairs the record in memory.
        lead = await manager.get("/api/v1/crm/leads/broken-lead")
        assert (lead["title"], lead["emails"], lead["status"]) == ("(untitled)", [], "new")
        assert (await manager.get("/api/v1/crm/contacts/broken-contact"))["client_ids"] == []
        assert (await manager.get("/api/v1/crm/companies/broken-company"))["phones"] == []
        deal = await manager.get("/api/v1/crm/deals/broken-deal")
        assert (deal["amount"], deal["pipeline_id"], deal["stage"]) == (None, "sales", "new")
        pipeline = await manager.get("/api/v1/crm/pipelines/broken-pipeline")
        assert pipeline["name"] == "(unnamed)" and pipeline["stages"][0]["id"] == "new"
        await manager.get("/api/v1/crm/leads/broken-lead/timeline")
    reports = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    for record_id in ("broken-lead", "broken-contact", "broken-deal", "broken-activity"):
        assert len([m for m in reports if record_id in m]) == 1, reports
    assert not [m for m in reports if "4111" in m]

    # A write stores the repaired whole: the record loads from now on.
    fixed = await manager.patch("/api/v1/crm/leads/broken-lead", {"title": "Fixed"})
    assert fixed["title"] == "Fixed"
    leads = (await manager.get("/api/v1/crm/leads"))["leads"]
    assert {lead["id"] for lead in leads} == {good["id"], "broken-lead"}
    await admin.patch("/api/v1/crm/pipelines/broken-pipeline", {"name": "Renewed"})
    pipelines = (await manager.get("/api/v1/crm/pipelines"))["pipelines"]
    assert {p["name"] for p in pipelines} == {"Sales", "Renewed"}
