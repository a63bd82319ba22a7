"""Acceptance 6 and the waiting states: CSAT after close stores the rating, then a new
conversation; queue position while waiting; after-hours notice; Russian for Russian browsers."""

from __future__ import annotations

from playwright.async_api import Browser, expect

from tests.support.clients import Api, operator_socket
from tests.support.waiting import eventually
from tests.widget.conftest import SiteFactory, shot
from tests.widget.support import (
    accept_next,
    only_conversation,
    open_widget,
    reply,
    send_from_page,
    widget_world,
)


async def test_csat_after_close_is_stored_then_new_conversation(
    base_url: str, admin: Api, browser: Browser, customer_site: SiteFactory
) -> None:
    world = await widget_world(admin, line={"csat": {"enabled": True}})
    site = await customer_site(base_url, world.key)
    op_api = world.operators[0]
    operator = await operator_socket(base_url, op_api.token or "")
    page = await open_widget(browser, site)
    await send_from_page(page, "Where is my order?")
    conversation_id = await accept_next(operator)
    await reply(operator, conversation_id, "It arrives tomorrow")
    await expect(page.get_by_test_id("ol-message").filter(has_text="tomorrow")).to_be_visible()

    ack = await operator.call("conversation:close", {"id": conversation_id})
    assert ack["ok"], ack
    await expect(page.get_by_test_id("ol-closed")).to_be_visible()
    stars = page.get_by_test_id("ol-csat-star")
    await expect(stars).to_have_count(5)
    await expect(page.get_by_test_id("ol-input")).to_be_hidden()
    await shot(page, "18-csat")
    await stars.nth(3).click()
    await page.get_by_test_id("ol-csat-comment").fill("Quick and kind")
    await page.get_by_test_id("ol-csat-submit").click()
    await expect(page.get_by_test_id("ol-csat-thanks")).to_be_visible()
    await shot(page, "19-csat-thanks")
    conversation = await eventually(
        lambda: admin.get(f"/api/v1/conversations/{conversation_id}"),
        lambda c: (c.get("csat") or {}).get("rating") == 4,
    )
    assert conversation["csat"]["comment"] == "Quick and kind"

    await page.get_by_test_id("ol-new-conversation").click()
    await expect(page.get_by_test_id("ol-message")).to_have_count(0)
    await send_from_page(page, "One more question")
    await expect(page.get_by_test_id("ol-message")).to_contain_text("Sent")
    second = await accept_next(operator, skip=frozenset({conversation_id}))
    assert second != conversation_id
    await operator.close()


async def test_queue_position_and_after_hours_in_russian(
    base_url: str, admin: Api, browser: Browser, customer_site: SiteFactory
) -> None:
    # Nobody online: the visitor waits in the queue and sees their place.
    world = await widget_world(admin)
    site = await customer_site(base_url, world.key)
    context = await browser.new_context(locale="ru-RU")
    page = await open_widget(context, site)
    await expect(page.get_by_test_id("ol-input")).to_have_attribute(
        "placeholder", "Напишите сообщение…"
    )
    await send_from_page(page, "Есть кто?")
    await expect(page.get_by_test_id("ol-queue-position")).to_contain_text("1")
    await expect(page.get_by_test_id("ol-status")).to_be_hidden()
    await shot(page, "20-queue-ru")
    assert (await only_conversation(admin, world.line["id"]))["status"] == "queued"

    # A line that is never open: the widget says so before anyone writes.
    closed = await widget_world(
        admin, line={"working_hours": {"timezone": "Europe/Moscow", "week": {}}}, language="en"
    )
    site = await customer_site(base_url, closed.key)
    page = await open_widget(context, site)
    await expect(page.get_by_test_id("ol-status")).to_contain_text("We are closed right now")
    await shot(page, "21-after-hours")
    await context.close()
