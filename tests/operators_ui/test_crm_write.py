"""A manager writes to the client from a deal card and hears the answer in the console: the
conversation opened for it is theirs, in Mine (issue 15, point 3)."""

from __future__ import annotations

from playwright.async_api import Browser, expect

from tests.crm_bridge.test_crm import CRM_LINE, crm_of, widget_visitor
from tests.operators_ui.conftest import open_tab, shot, sign_in
from tests.support.clients import Api, new_msg_id
from tests.support.world import make_line


async def test_write_from_the_deal_card_and_hear_the_answer(
    base_url: str, admin: Api, browser: Browser
) -> None:
    world = await make_line(admin, **CRM_LINE)
    manager = await admin.create_user("manager", name="Mila Manager")
    anna, first = await widget_visitor(base_url, world, "Hello", name="Anna", email="a@ex.org")
    old = await crm_of(admin, first["conversation_id"], "lead_id")
    converted = await manager.post(
        f"/api/v1/crm/leads/{old['crm']['lead_id']}/convert",
        {"contact": True, "deal": {"title": "Invoice 7", "amount": 100}},
        expect=201,
    )
    deal = converted["deal"]
    await admin.post(f"/api/v1/conversations/{old['id']}/close", expect=200)

    page = await sign_in(browser, base_url, manager)
    await page.get_by_test_id("nav-crm").click()
    await page.get_by_test_id("crm-tab-deals").click()
    await page.locator(f"[data-testid=deal-card][data-id='{deal['id']}']").click()
    card = page.get_by_test_id("crm-card")
    await expect(card).to_have_attribute("data-entity", "deals")
    write = card.get_by_test_id("write-to-client")
    await write.get_by_test_id("write-text").fill("Your invoice is ready")
    await write.get_by_test_id("write-send").click()
    await anna.events.wait(
        "message:new", lambda d: d["message"]["text"] == "Your invoice is ready"
    )

    ack = await anna.call("message:send", {"text": "Paying now", "client_msg_id": new_msg_id()})
    assert ack["ok"], ack
    await page.get_by_test_id("nav-inbox").click()
    await open_tab(page, "mine")
    row = page.get_by_test_id("conversation-item")
    await expect(row).to_have_count(1)
    await expect(row).to_contain_text("Paying now")
    await shot(page, "crm-write-answer-in-mine")
    await anna.close()
