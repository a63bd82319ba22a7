"""Acceptance 8 of the CRM issue: in Chromium a manager converts a lead made by a widget
conversation, sees the CRM badge on that conversation, and drags the deal between stages on the
board; the REST contract confirms the move and its timeline entry."""

from __future__ import annotations

from typing import Any

from playwright.async_api import Browser, expect

from tests.crm_bridge.test_crm import CRM_LINE, crm_of, widget_visitor
from tests.operators_ui.conftest import shot, sign_in
from tests.support.clients import Api
from tests.support.waiting import eventually
from tests.support.world import make_line


async def test_lead_conversion_badge_and_deal_board(
    base_url: str, admin: Api, browser: Browser
) -> None:
    world = await make_line(admin, **CRM_LINE)
    manager = await admin.create_user("manager")
    visitor, first = await widget_visitor(
        base_url, world, "I want to order", name="Anna", email="anna@example.com"
    )
    conversation = await crm_of(admin, first["conversation_id"], "lead_id")
    lead_id = conversation["crm"]["lead_id"]

    page = await sign_in(browser, base_url, manager)
    await page.get_by_test_id("nav-crm").click()
    row = page.locator(f"[data-testid=lead-row][data-id='{lead_id}']")
    await expect(row).to_contain_text("anna@example.com")
    await expect(row.get_by_test_id("lead-status")).to_have_text("New")
    await shot(page, "20-crm-leads")

    # Convert: a contact and a deal in one step.
    await row.get_by_test_id("convert").click()
    dialog = page.get_by_test_id("convert-dialog")
    await dialog.get_by_test_id("convert-deal-title").fill("First order")
    await dialog.get_by_test_id("convert-deal-amount").fill("1200")
    await dialog.get_by_test_id("convert-submit").click()
    await expect(dialog).to_be_hidden()
    await expect(row.get_by_test_id("lead-status")).to_have_text("Converted")
    await expect(row.get_by_test_id("convert")).to_have_count(0)
    linked: dict[str, Any] = await crm_of(admin, conversation["id"], "deal_id")
    deal_id = linked["crm"]["deal_id"]

    # The lead's card lists the conversation; opened in the inbox it carries the CRM badge,
    # which leads to the deal.
    await row.get_by_test_id("lead-open").click()
    await page.locator(f"[data-testid=card-conversation][data-id='{conversation['id']}']").click()
    badge = page.get_by_test_id("crm-badge")
    await expect(badge).to_have_attribute("data-entity", "deals")
    await shot(page, "21-crm-badge")
    await badge.click()
    card = page.get_by_test_id("crm-card")
    await expect(card).to_have_attribute("data-id", deal_id)
    await expect(card.get_by_test_id("deal-stage")).to_have_text("New")

    # The board: drag the deal from "New" to "Invoice".
    await page.get_by_test_id("crm-tab-deals").click()
    columns = page.get_by_test_id("stage-column")
    await expect(columns).to_have_count(6)
    deal_card = page.locator(f"[data-testid=deal-card][data-id='{deal_id}']")
    await expect(
        page.locator("[data-testid=stage-column][data-stage=new]").locator(
            f"[data-id='{deal_id}']"
        )
    ).to_be_visible()
    invoice = page.locator("[data-testid=stage-column][data-stage=invoice]")
    await deal_card.drag_to(invoice)
    await expect(invoice.locator(f"[data-testid=deal-card][data-id='{deal_id}']")).to_be_visible()
    await shot(page, "22-crm-deal-board")

    moved = await eventually(
        lambda: manager.get(f"/api/v1/crm/deals/{deal_id}"), lambda d: d["stage"] == "invoice"
    )
    assert moved["stage"] == "invoice"
    timeline = await manager.get(f"/api/v1/crm/deals/{deal_id}/timeline")
    changes = [a for a in timeline["activities"] if a["type"] == "stage_changed"]
    assert [(a["data"]["from"], a["data"]["to"]) for a in changes] == [("new", "invoice")]
    # ... and the card's timeline shows it.
    await deal_card.click()
    await expect(
        page.get_by_test_id("crm-card").locator(
            "[data-testid=timeline-entry][data-type=stage_changed]"
        )
    ).to_have_count(1)

    # Someone else typing Anna's address gets a lead of their own: its card suggests her
    # contact and marks the address unverified, nothing more.
    other, typed = await widget_visitor(base_url, world, "Hello again", email="anna@example.com")
    claimed = await crm_of(admin, typed["conversation_id"], "lead_id")
    await page.get_by_test_id("crm-tab-leads").click()
    await (
        page.locator(f"[data-testid=lead-row][data-id='{claimed['crm']['lead_id']}']")
        .get_by_test_id("lead-open")
        .click()
    )
    card = page.get_by_test_id("crm-card")
    await expect(card).to_contain_text("anna@example.com (unverified)")
    match = card.get_by_test_id("possible-match")
    await expect(match).to_contain_text("Anna")
    await match.get_by_role("button").click()
    await expect(card).to_have_attribute("data-entity", "contacts")
    await other.close()
    await visitor.close()


async def test_badge_is_live_start_deal_and_supervisors_read_only(
    base_url: str, admin: Api, browser: Browser
) -> None:
    supervisor = await admin.create_user("supervisor")
    world = await make_line(admin, supervisors=[supervisor.user["id"]], **CRM_LINE)  # type: ignore[index]
    manager = await admin.create_user("manager")
    operator = world.operators[0]
    op_page = await sign_in(browser, base_url, operator)
    await expect(op_page.get_by_test_id("nav-crm")).to_have_count(0)
    visitor, first = await widget_visitor(
        base_url, world, "Hi", name="Boris", email="b@example.com"
    )
    conversation = await crm_of(admin, first["conversation_id"], "lead_id")
    await op_page.get_by_test_id("tab-offered").click()
    await op_page.get_by_test_id("conversation-item").get_by_test_id("accept").click()
    badge = op_page.get_by_test_id("crm-badge")
    await expect(badge).to_have_attribute("data-entity", "leads")
    # Operators may start a deal through the REST, but the console offers it to managers.
    await expect(op_page.get_by_test_id("start-deal")).to_have_count(0)

    # A manager converts the lead elsewhere: the operator's badge follows without a reload.
    converted = await manager.post(
        f"/api/v1/crm/leads/{conversation['crm']['lead_id']}/convert",
        {"contact": True},
        expect=201,
    )
    await expect(badge).to_have_attribute("data-entity", "contacts")
    await badge.click()
    await expect(op_page.get_by_test_id("crm-card")).to_have_attribute(
        "data-id", converted["contact"]["id"]
    )
    await expect(op_page.get_by_test_id("card-conversation")).to_have_count(1)
    await shot(op_page, "23-crm-operator-contact-card")

    # The manager starts a deal from the conversation.
    page = await sign_in(browser, base_url, manager)
    await page.get_by_test_id("nav-crm").click()
    await page.get_by_test_id("crm-tab-contacts").click()
    # Responsible people by name (the manager is no member of the line: /console/staff).
    await expect(page.get_by_test_id("contact-row")).to_contain_text(operator.user["name"])  # type: ignore[index]
    await page.get_by_test_id("contact-row").get_by_role("button").click()
    await page.get_by_test_id("card-conversation").click()
    await page.get_by_test_id("start-deal").click()
    await expect(page.get_by_test_id("crm-badge")).to_have_attribute("data-entity", "deals")
    await expect(page.get_by_test_id("start-deal")).to_have_count(0)
    await op_page.get_by_test_id("nav-inbox").click()
    await expect(badge).to_have_attribute("data-entity", "deals")  # live for the operator too
    linked = await admin.get(f"/api/v1/conversations/{conversation['id']}")
    assert linked["crm"]["deal_id"]

    # A supervisor reads: leads without the convert action, deals not draggable.
    vera, _ = await widget_visitor(base_url, world, "Another", name="Vera", email="v@example.com")
    sup_page = await sign_in(browser, base_url, supervisor, lang="ru")
    await sup_page.get_by_test_id("nav-crm").click()
    rows = sup_page.get_by_test_id("lead-row")
    await expect(rows).to_have_count(2)
    await expect(sup_page.get_by_test_id("convert")).to_have_count(0)
    await sup_page.get_by_test_id("crm-tab-deals").click()
    await expect(sup_page.get_by_test_id("deal-card")).to_have_attribute("draggable", "false")
    await shot(sup_page, "24-crm-supervisor-board-ru")
    await vera.close()
    await visitor.close()
