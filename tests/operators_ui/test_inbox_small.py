"""Small inbox points of issue 15 (point 16): signing in while an offer waits opens on it, not
on Mine; a pin is its assignee's, not shown to colleagues as theirs."""

from __future__ import annotations

from playwright.async_api import Browser, expect

from tests.conftest import ADMIN_PASSWORD
from tests.operators_ui.conftest import open_tab, sign_in
from tests.support.clients import Api, operator_socket
from tests.support.world import make_line, visitor_says


async def test_sign_in_opens_on_a_waiting_offer(
    base_url: str, admin: Api, browser: Browser
) -> None:
    world = await make_line(admin)
    op = world.operators[0]
    socket = await operator_socket(base_url, op.token or "")
    visitor, message = await visitor_says(base_url, world.key, "Anyone there?")
    await socket.events.wait(
        "conversation:updated",
        lambda d: (
            d["conversation"]["id"] == message["conversation_id"]
            and d["conversation"]["status"] == "offered"
        ),
    )
    page = await sign_in(browser, base_url, op)
    await expect(page.get_by_test_id("tab-offered")).to_have_attribute("aria-selected", "true")
    await expect(page.get_by_test_id("conversation-item")).to_have_count(1)
    await expect(page.get_by_test_id("countdown")).to_be_visible()
    await socket.close()
    await visitor.close()


async def test_a_pin_is_the_assignees(base_url: str, admin: Api, browser: Browser) -> None:
    world = await make_line(admin)
    op = world.operators[0]
    visitor, message = await visitor_says(base_url, world.key, "Pin me")
    path = f"/api/v1/conversations/{message['conversation_id']}"
    await op.post(f"{path}/accept", expect=200)
    pinned = await op.post(f"{path}/pin", expect=200)
    assert pinned["pinned"] is True

    page = await sign_in(browser, base_url, op)
    await open_tab(page, "pinned")
    await expect(page.get_by_test_id("conversation-item")).to_have_count(1)
    # The admin sees the conversation (All) but the pin is not theirs.
    admin_page = await sign_in(browser, base_url, admin, password=ADMIN_PASSWORD)
    await open_tab(admin_page, "all")
    await expect(admin_page.get_by_test_id("conversation-item")).to_have_count(1)
    await open_tab(admin_page, "pinned")
    await expect(admin_page.get_by_test_id("conversation-item")).to_have_count(0)
    await visitor.close()
