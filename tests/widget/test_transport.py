"""The widget connects over a websocket at once (one request per connect, no long-poll
handshake, post, poll and upgrade before it), and where websockets are refused on the way (a
proxy that passes plain HTTP only) it connects by long polling instead and works the same."""

from __future__ import annotations

from playwright.async_api import Browser, Page, expect

from tests.support.clients import Api
from tests.widget.conftest import SiteFactory
from tests.widget.support import (
    CuttableProxy,
    only_conversation,
    send_from_page,
    stored_texts,
    widget_world,
)


class Traffic:
    """The page's Socket.IO requests, by transport."""

    def __init__(self, page: Page) -> None:
        self.polls: list[str] = []
        self.websockets: list[str] = []
        page.on("request", self._request)
        page.on("websocket", lambda ws: self.websockets.append(ws.url))

    def _request(self, request: object) -> None:
        url = str(getattr(request, "url", ""))
        if "/socket.io/" in url and "transport=polling" in url:
            self.polls.append(url)


async def open_with_traffic(browser: Browser, site: str) -> tuple[Page, Traffic]:
    page = await browser.new_page()
    traffic = Traffic(page)
    await page.goto(site)
    await page.get_by_test_id("ol-launcher").click()
    await page.locator("#openlines-widget[data-ol-state=ready]").wait_for(state="attached")
    return page, traffic


async def test_the_widget_connects_over_a_websocket_at_once(
    base_url: str, admin: Api, browser: Browser, customer_site: SiteFactory
) -> None:
    world = await widget_world(admin)
    page, traffic = await open_with_traffic(browser, await customer_site(base_url, world.key))
    assert traffic.polls == []
    assert [url for url in traffic.websockets if "transport=websocket" in url]
    await page.close()


async def test_refused_websockets_fall_back_to_long_polling(
    admin: Api, browser: Browser, customer_site: SiteFactory, proxy: CuttableProxy
) -> None:
    world = await widget_world(admin)
    proxy.refuse_websockets = True
    page, traffic = await open_with_traffic(browser, await customer_site(proxy.url, world.key))
    assert traffic.polls, "the widget did not fall back to long polling"
    await send_from_page(page, "over long polling")
    await expect(page.get_by_test_id("ol-message").filter(has_text="over long")).to_contain_text(
        "Sent"
    )
    conversation = await only_conversation(admin, world.line["id"])
    assert await stored_texts(admin, conversation["id"]) == ["over long polling"]
    await page.close()
