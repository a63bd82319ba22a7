"""A widget whose allowed origins name the hub's own address works on the hub's ``/demo``
(issue 15, point 8)."""

from __future__ import annotations

from playwright.async_api import Browser

from tests.support.clients import Api
from tests.support.waiting import eventually
from tests.widget.support import (
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
