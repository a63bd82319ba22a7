"""The widget on a phone (390 × 844, touch): the chat opens over the whole screen and closes
again; and a conversation whose newest message is a picture keeps it in view as it loads."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
from playwright.async_api import Browser, Locator, Page, Route, expect

from tests.support.clients import Api, new_msg_id, operator_socket
from tests.widget.conftest import SiteFactory, shot
from tests.widget.support import (
    accept_next,
    open_widget,
    png_bytes,
    reply,
    send_from_page,
    widget_world,
)

PHONE: dict[str, Any] = {
    "viewport": {"width": 390, "height": 844},
    "is_mobile": True,
    "has_touch": True,
    "device_scale_factor": 2,
}


async def open_on_phone(browser: Browser, site: str) -> Page:
    return await open_widget(await browser.new_context(**PHONE), site)


async def test_the_chat_takes_the_whole_phone_screen_and_closes(
    base_url: str, admin: Api, browser: Browser, customer_site: SiteFactory
) -> None:
    world = await widget_world(admin)
    site = await customer_site(base_url, world.key)
    page = await open_on_phone(browser, site)
    panel = page.get_by_test_id("ol-panel")
    box = await panel.bounding_box()
    assert box == {"x": 0, "y": 0, "width": 390, "height": 844}, box
    # What is on top at each corner and the middle is the chat, not the page beneath.
    covered = await page.evaluate(
        """() => [[1, 1], [388, 1], [1, 842], [388, 842], [195, 422]].every(([x, y]) =>
             document.elementFromPoint(x, y)?.id === 'openlines-widget')"""
    )
    assert covered
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    for testid in ("ol-close", "ol-input", "ol-send", "ol-attach"):
        target = await page.get_by_test_id(testid).bounding_box()
        assert target is not None and target["x"] >= 0 and target["x"] + target["width"] <= 390
        assert target["y"] >= 0 and target["y"] + target["height"] <= 844, (testid, target)
    close = page.get_by_test_id("ol-close")
    assert (await close.bounding_box() or {}).get("height", 0) >= 44  # a finger's size
    await expect(close).to_have_attribute("aria-label", "Close")
    await send_from_page(page, "Hello from my phone")
    await expect(
        page.get_by_test_id("ol-message").filter(has_text="from my phone")
    ).to_be_visible()
    await shot(page, "phone-open")

    await close.tap()
    await expect(panel).to_be_hidden()
    await expect(page.get_by_test_id("ol-launcher")).to_be_visible()
    await expect(page.locator("#page-text")).to_be_visible()
    await shot(page, "phone-closed")
    await page.get_by_test_id("ol-launcher").tap()
    await expect(panel).to_be_visible()
    await page.context.close()


async def test_the_newest_message_stays_in_view_when_its_picture_loads(
    base_url: str,
    admin: Api,
    browser: Browser,
    customer_site: SiteFactory,
    http: aiohttp.ClientSession,
) -> None:
    """After a reload the widget draws the conversation from its history and scrolls to the
    end before the operator's picture, the newest message, has loaded: its stored size keeps
    its room, so the picture stays in view once it is there."""
    world = await widget_world(admin)
    op = world.operators[0]
    operator = await operator_socket(base_url, op.token or "")
    site = await customer_site(base_url, world.key)
    page = await open_on_phone(browser, site)
    await send_from_page(page, "Can you send the invoice?")
    conversation_id = await accept_next(operator)
    for n in range(20):
        await reply(operator, conversation_id, f"Line {n} of a long answer")
    form = aiohttp.FormData()
    form.add_field("file", png_bytes(600, 900), filename="invoice.png")
    async with http.post(
        f"{base_url}/api/v1/widget/uploads",
        data=form,
        headers={"Authorization": f"Bearer {op.token}"},
    ) as response:
        assert response.status == 201, await response.text()
        uploaded = await response.json()
    ack = await operator.call(
        "message:send",
        {
            "conversation_id": conversation_id,
            "text": "Here it is",
            "client_msg_id": new_msg_id(),
            "attachments": [uploaded["id"]],
        },
    )
    assert ack["ok"], ack
    messages = page.get_by_test_id("ol-message")
    await expect(messages.last).to_contain_text("Here it is")

    release = asyncio.Event()

    async def hold(route: Route) -> None:
        await release.wait()
        await route.continue_()

    await page.route(f"**/api/v1/files/{uploaded['id']}?*", hold)
    await page.reload()
    await page.get_by_test_id("ol-launcher").tap()
    await expect(messages.last).to_contain_text("Here it is")
    picture = messages.last.get_by_test_id("ol-attachment-image")
    await expect(picture).to_have_attribute("width", "147")
    await expect(picture).to_have_attribute("height", "220")
    release.set()
    await page.wait_for_function(
        "el => el.complete && el.naturalWidth === 600", arg=await picture.element_handle()
    )
    await newest_in_view(page.locator(".ol-t"), messages.last)
    await shot(page, "phone-picture-in-view")
    await operator.close()
    await page.context.close()


async def newest_in_view(thread: Locator, newest: Locator) -> None:
    """``newest`` is wholly inside the thread's visible box (after layout has settled)."""
    await thread.evaluate(
        "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"
    )
    view = await thread.bounding_box()
    last = await newest.bounding_box()
    assert view is not None and last is not None
    assert last["y"] >= view["y"] - 1, (view, last)
    assert last["y"] + last["height"] <= view["y"] + view["height"] + 1, (view, last)
