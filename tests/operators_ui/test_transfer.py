"""Transfers in the console (issue 15, point 5): people offered are the line's operators; every
line is listed, the sender's or not; the sender sees the pending transfer and cancels it; the
receiver sees how long the client has really waited."""

from __future__ import annotations

from playwright.async_api import Browser, expect

from tests.operators_ui.conftest import open_tab, sign_in
from tests.support.clients import Api
from tests.support.world import make_line, visitor_says


async def test_pick_see_pending_and_cancel(base_url: str, admin: Api, browser: Browser) -> None:
    supervisor = await admin.create_user("supervisor", name="Sveta Supervisor")
    world = await make_line(admin, operators=2, supervisors=[supervisor.user["id"]])  # type: ignore[index]
    sales = await admin.create_line(name="Sales line", operators=[])
    alice, bob = world.operators
    visitor, message = await visitor_says(base_url, world.key, "I need an invoice")
    path = f"/api/v1/conversations/{message['conversation_id']}"
    await alice.post(f"{path}/accept", expect=200)

    page = await sign_in(browser, base_url, alice)
    await open_tab(page, "mine")
    await page.get_by_test_id("conversation-item").first.click()
    await page.get_by_test_id("transfer").click()
    picker = page.get_by_test_id("transfer-picker")
    people = picker.get_by_test_id("pick-user")
    await expect(people).to_have_count(1)  # Bob; not the supervisor, not Alice
    await expect(people).to_have_attribute("data-user-id", bob.user["id"])  # type: ignore[index]
    await expect(picker.get_by_test_id("pick-line")).to_have_text([sales["name"]])
    await people.click()

    pending = page.get_by_test_id("transfer-pending")
    await expect(pending).to_contain_text(bob.user["name"])  # type: ignore[index]
    await expect(page.get_by_test_id("conversation-item")).to_have_count(1)  # still in Mine

    # Bob is offered it and sees the client's real wait: since their unanswered message.
    bob_page = await sign_in(browser, base_url, bob)
    await expect(bob_page.get_by_test_id("tab-offered")).to_have_attribute("aria-selected", "true")
    wait = bob_page.get_by_test_id("wait-time")
    await expect(wait).to_have_attribute("data-since", message["created_at"])

    await page.get_by_test_id("transfer-cancel").click()
    await expect(pending).to_have_count(0)
    await expect(page.get_by_test_id("conversation-status")).to_have_attribute(
        "class", "badge st-active"
    )
    await expect(bob_page.get_by_test_id("conversation-item")).to_have_count(0)
    shown = await alice.get(path)
    assert shown["assignee_id"] == alice.user["id"]  # type: ignore[index]
    await visitor.close()
