"""A widget whose allowed origins name the hub's own address works on the hub's ``/demo``; a
refused one says so clearly, in its language, with nothing to type in (issue 15, point 8); the
default colour is the channel's default, not black or transparent (point 16)."""

from __future__ import annotations

from playwright.async_api import Browser, Page, expect

from tests.support.clients import Api
from tests.support.waiting import eventually
from tests.widget.conftest import SiteFactory
from tests.widget.support import (
    CuttableProxy,
    only_conversation,
    open_widget,
    send_from_page,
    stored_texts,
    widget_world,
)


async def test_the_hubs_own_address_may_be_allowed(
    base_url: str, admin: Api, browser: Browser
) -> None:
    world = await widget_world(admin, allowed_origins=[base_url.rstrip("/")])
    page = await open_widget(browser, f"{base_url}/demo?key={world.key}")
    await send_from_page(page, "Hello from the demo page")
    conversation = await only_conversation(admin, world.line["id"])
    await eventually(
        lambda: stored_texts(admin, conversation["id"]),
        lambda texts: texts == ["Hello from the demo page"],
    )


# WidgetConfig.color's default, as the browser computes it.
DEFAULT_BLUE = "rgb(47, 111, 237)"


async def background(page: Page, testid: str) -> str:
    return str(
        await page.get_by_test_id(testid).evaluate("n => getComputedStyle(n).backgroundColor")
    )


async def test_a_refused_widget_says_so_and_offers_no_composer(
    base_url: str, admin: Api, browser: Browser, customer_site: SiteFactory
) -> None:
    world = await widget_world(admin, allowed_origins=["https://shop.example"])
    site = await customer_site(base_url, world.key)
    for locale, refused, title in (
        ("en-GB", "The chat is not available on this site.", "Chat"),
        ("ru-RU", "Чат недоступен на этом сайте.", "Чат"),
    ):
        context = await browser.new_context(locale=locale)
        page = await open_widget(context, site, connected=False)
        await page.locator("#openlines-widget[data-ol-state=refused]").wait_for(state="attached")
        await expect(page.get_by_test_id("ol-status")).to_have_text(refused)
        await expect(page.get_by_test_id("ol-panel").locator(".ol-h b")).to_have_text(title)
        await expect(page.get_by_test_id("ol-input")).to_be_hidden()
        await expect(page.get_by_test_id("ol-send")).to_be_hidden()
        # The launcher and the header keep a visible colour without the channel's.
        assert await background(page, "ol-launcher") == DEFAULT_BLUE
        header = page.get_by_test_id("ol-panel").locator(".ol-h")
        assert await header.evaluate("n => getComputedStyle(n).backgroundColor") == DEFAULT_BLUE
        await context.close()


async def test_the_default_colour_holds_before_the_session(
    admin: Api, browser: Browser, customer_site: SiteFactory, proxy: CuttableProxy
) -> None:
    """Until the session brings the channel's colour (or when it never comes), the launcher and
    Send are the default blue, not transparent (`rgba(0, 0, 0, 0)`, seen as black)."""
    world = await widget_world(admin)
    site = await customer_site(proxy.url, world.key)
    context = await browser.new_context()
    # No socket ever opens: the websocket is refused on the way, its long-polling fallback too.
    proxy.refuse_websockets = True
    await context.route("**/socket.io/**", lambda route: route.abort())
    page = await open_widget(context, site, connected=False)
    await page.locator("#openlines-widget[data-ol-state=reconnecting]").wait_for(state="attached")
    assert await background(page, "ol-launcher") == DEFAULT_BLUE
    assert await background(page, "ol-send") == DEFAULT_BLUE
    await context.close()
