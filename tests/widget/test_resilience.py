"""Acceptance 3: the connection drops while the visitor sends; after reconnecting every message
is stored exactly once (a lost ack is resent with the same client_msg_id and deduplicated)."""

from __future__ import annotations

from playwright.async_api import Browser, expect

from tests.support.clients import Api
from tests.support.waiting import eventually
from tests.widget.conftest import SiteFactory, shot
from tests.widget.support import (
    CuttableProxy,
    only_conversation,
    open_widget,
    send_from_page,
    stored_texts,
    widget_world,
)


async def test_cut_connection_loses_nothing_and_duplicates_nothing(
    admin: Api, browser: Browser, customer_site: SiteFactory, proxy: CuttableProxy
) -> None:
    world = await widget_world(admin)
    # The page loads the widget through the proxy: the loader takes the hub's origin from
    # its own script URL, so every request and the socket go through it.
    site = await customer_site(proxy.url, world.key)
    page = await open_widget(browser, site)
    bubbles = page.get_by_test_id("ol-message")
    await send_from_page(page, "one")
    await expect(bubbles.filter(has_text="one")).to_contain_text("Sent")
    conversation = await only_conversation(admin, world.line["id"])

    # The hub stores "two" but its ack never arrives...
    proxy.drop_downstream = True
    await send_from_page(page, "two")
    await eventually(
        lambda: stored_texts(admin, conversation["id"]), lambda texts: texts == ["one", "two"]
    )
    # ...then the line goes down, and "three" is written while offline.
    proxy.cut()
    status = page.get_by_test_id("ol-status")
    await expect(status).to_contain_text("Reconnecting")
    await send_from_page(page, "three")
    await expect(bubbles.filter(has_text="three")).to_contain_text("Sending")
    await shot(page, "09-reconnecting")

    proxy.restore()
    await expect(status).to_be_hidden(timeout=15_000)
    await expect(bubbles.filter(has_text="three")).to_contain_text("Sent")
    await expect(bubbles.filter(has_text="two")).to_contain_text("Sent")
    await expect(bubbles).to_have_count(3)
    await shot(page, "10-reconnected")
    assert await stored_texts(admin, conversation["id"]) == ["one", "two", "three"]

    # A reload resends nothing: the outbox in localStorage is empty again.
    await page.reload()
    await page.get_by_test_id("ol-launcher").click()
    await expect(bubbles).to_have_count(3)
    assert await stored_texts(admin, conversation["id"]) == ["one", "two", "three"]
