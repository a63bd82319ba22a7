"""Issue 15, point 1: the widget after a closed conversation. A new conversation's messages are
the newest in the thread (ordered by conversation, then seq), a reload keeps the closed marker,
"New conversation" and the rating card, and a close the widget missed while disconnected still
asks for the rating when it reconnects."""

from __future__ import annotations

from playwright.async_api import Browser, Page, expect

from tests.crm_bridge.test_crm import CRM_LINE, crm_of
from tests.support.clients import Api, SocketClient, operator_socket
from tests.widget.conftest import SiteFactory
from tests.widget.support import (
    CuttableProxy,
    accept_next,
    open_widget,
    reply,
    send_from_page,
    widget_world,
)


async def chat_then_close(page: Page, operator: SocketClient, *texts: str) -> str:
    """The visitor writes ``texts``, an operator answers each and closes; the conversation."""
    await send_from_page(page, texts[0])
    conversation_id = await accept_next(operator)
    for text in texts[1:]:
        await send_from_page(page, text)
    await reply(operator, conversation_id, "Glad to help")
    await expect(page.get_by_test_id("ol-message").filter(has_text="Glad to help")).to_be_visible()
    return conversation_id


async def close(operator: SocketClient, conversation_id: str) -> None:
    ack = await operator.call("conversation:close", {"id": conversation_id})
    assert ack["ok"], ack


async def last_message_text(page: Page) -> str:
    return await page.get_by_test_id("ol-message").last.locator(".tx").inner_text()


async def test_a_reload_keeps_the_closed_marker_and_the_rating_card(
    base_url: str, admin: Api, browser: Browser, customer_site: SiteFactory
) -> None:
    world = await widget_world(admin, line={"csat": {"enabled": True}})
    site = await customer_site(base_url, world.key)
    operator = await operator_socket(base_url, world.operators[0].token or "")
    page = await open_widget(browser, site)
    conversation_id = await chat_then_close(page, operator, "Where is my parcel?")
    await close(operator, conversation_id)
    await expect(page.get_by_test_id("ol-csat")).to_be_visible()

    await page.reload()
    await page.get_by_test_id("ol-launcher").click()
    await expect(page.get_by_test_id("ol-closed")).to_be_visible()
    await expect(page.get_by_test_id("ol-new-conversation")).to_be_visible()
    await expect(page.get_by_test_id("ol-csat-star")).to_have_count(5)
    await expect(page.get_by_test_id("ol-input")).to_be_hidden()
    # The marker and the card come after the conversation's messages.
    order = await page.locator(
        "#openlines-widget >> [data-testid=ol-message], [data-testid=ol-csat],"
        " [data-testid=ol-closed]"
    ).evaluate_all("nodes => nodes.map(n => n.dataset.testid)")
    assert order[-2:] == ["ol-csat", "ol-closed"], order

    # Left with "New conversation", the closed one is not drawn again after a reload.
    await page.get_by_test_id("ol-new-conversation").click()
    await page.reload()
    await page.get_by_test_id("ol-launcher").click()
    await page.locator("#openlines-widget[data-ol-state=ready]").wait_for(state="attached")
    await expect(page.get_by_test_id("ol-input")).to_be_visible()
    await expect(page.get_by_test_id("ol-closed")).to_have_count(0)
    await expect(page.get_by_test_id("ol-message")).to_have_count(0)
    await operator.close()


async def test_a_close_missed_while_disconnected_still_asks_for_the_rating(
    admin: Api,
    base_url: str,
    browser: Browser,
    customer_site: SiteFactory,
    proxy: CuttableProxy,
) -> None:
    world = await widget_world(admin, line={"csat": {"enabled": True}})
    # The page reaches the hub through the proxy, the operator directly.
    site = await customer_site(proxy.url, world.key)
    operator = await operator_socket(base_url, world.operators[0].token or "")
    page = await open_widget(browser, site)
    conversation_id = await chat_then_close(page, operator, "Is it in stock?")

    proxy.cut()
    host = page.locator("#openlines-widget")
    await expect(host).to_have_attribute("data-ol-state", "reconnecting")
    await close(operator, conversation_id)
    proxy.restore()

    await expect(host).to_have_attribute("data-ol-state", "ready")
    await expect(page.get_by_test_id("ol-closed")).to_be_visible()
    await expect(page.get_by_test_id("ol-csat-star")).to_have_count(5)
    await expect(page.get_by_test_id("ol-input")).to_be_hidden()
    await page.get_by_test_id("ol-csat-star").nth(4).click()
    await page.get_by_test_id("ol-csat-submit").click()
    await expect(page.get_by_test_id("ol-csat-thanks")).to_be_visible()
    await operator.close()


async def test_a_managers_message_after_a_close_and_a_reload_is_the_newest(
    base_url: str, admin: Api, browser: Browser, customer_site: SiteFactory
) -> None:
    world = await widget_world(admin, line=CRM_LINE, prechat_fields=["name", "email"])
    manager = await admin.create_user("manager")
    site = await customer_site(base_url, world.key)
    operator = await operator_socket(base_url, world.operators[0].token or "")
    page = await open_widget(browser, site)
    await page.get_by_test_id("ol-prechat-name").fill("Anna")
    await page.get_by_test_id("ol-prechat-email").fill("anna@example.org")
    await page.get_by_test_id("ol-prechat-submit").click()
    # Several messages: the old conversation's seqs run past the new one's first.
    conversation_id = await chat_then_close(
        page, operator, "I want to order", "Two boxes", "Blue ones"
    )
    linked = await crm_of(admin, conversation_id, "lead_id")
    converted = await manager.post(
        f"/api/v1/crm/leads/{linked['crm']['lead_id']}/convert", {"contact": True}, expect=201
    )
    await close(operator, conversation_id)
    await expect(page.get_by_test_id("ol-closed")).to_be_visible()
    await page.reload()
    await page.get_by_test_id("ol-launcher").click()
    await expect(page.get_by_test_id("ol-closed")).to_be_visible()

    await manager.post(
        f"/api/v1/crm/contacts/{converted['contact']['id']}/messages",
        {"text": "Your invoice is ready"},
        expect=201,
    )
    # A new conversation takes the thread over: the manager's words are the newest, and the
    # visitor can answer.
    await expect(page.get_by_test_id("ol-message").filter(has_text="invoice")).to_be_visible()
    assert await last_message_text(page) == "Your invoice is ready"
    await expect(page.get_by_test_id("ol-message").filter(has_text="Two boxes")).to_have_count(0)
    await expect(page.get_by_test_id("ol-closed")).to_have_count(0)
    await send_from_page(page, "Thanks, paying now")
    await expect(page.get_by_test_id("ol-message").last).to_contain_text("Thanks, paying now")
    await expect(page.get_by_test_id("ol-message").last).to_contain_text("Sent")
    await operator.close()
