"""Acceptance 5: a site outside the allowed origins is refused; a flood is rate limited with a
visible notice; oversized text is refused with a clear message; hidden messages never appear."""

from __future__ import annotations

import pytest
import socketio
from playwright.async_api import Browser, expect

from tests.support.clients import Api, new_msg_id, operator_socket, visitor_socket
from tests.widget.conftest import SiteFactory, shot
from tests.widget.support import (
    accept_next,
    only_conversation,
    open_widget,
    reply,
    send_from_page,
    stored_texts,
    widget_world,
)


async def test_disallowed_origin_is_refused(
    base_url: str, admin: Api, browser: Browser, customer_site: SiteFactory
) -> None:
    allowed = (await customer_site(base_url, "x")).rstrip("/")
    world = await widget_world(admin, allowed_origins=[allowed])
    site = await customer_site(base_url, world.key)
    # The same page under another host name is another origin, not on the list.
    other_origin = site.replace("127.0.0.1", "localhost")
    page = await open_widget(browser, other_origin, connected=False)
    status = page.get_by_test_id("ol-status")
    await expect(status).to_contain_text("not available on this site")
    await page.locator("#openlines-widget[data-ol-state=refused]").wait_for(state="attached")
    await shot(page, "15-origin-refused")
    with pytest.raises(socketio.exceptions.ConnectionError):
        await visitor_socket(base_url, world.key, origin=other_origin.rstrip("/"))
    listing = await admin.get(f"/api/v1/conversations?line_id={world.line['id']}")
    assert listing["conversations"] == []


async def test_flood_is_rate_limited_and_long_text_refused(
    base_url: str, admin: Api, browser: Browser, customer_site: SiteFactory
) -> None:
    world = await widget_world(admin)
    site = await customer_site(base_url, world.key)
    page = await open_widget(browser, site)
    notice = page.get_by_test_id("ol-notice")

    await page.get_by_test_id("ol-input").fill("x" * 4001)
    await page.get_by_test_id("ol-send").click()
    await expect(notice).to_contain_text("too long: at most 4000 characters")
    await expect(page.get_by_test_id("ol-message")).to_have_count(0)
    await shot(page, "16-too-long")
    # The hub refuses it too, whatever the client does.
    visitor = await visitor_socket(base_url, world.key)
    ack = await visitor.call("message:send", {"text": "y" * 4001, "client_msg_id": new_msg_id()})
    assert not ack["ok"] and ack["error"]["code"] == "validation_failed"
    await visitor.close()

    for n in range(25):
        await send_from_page(page, f"flood {n}")
    await expect(notice).to_contain_text("too fast")
    await expect(page.get_by_test_id("ol-retry").first).to_be_visible()
    # Every message shows once: 20 sent, the rest marked "not sent" with a retry.
    bubbles = page.get_by_test_id("ol-message")
    await expect(bubbles).to_have_count(25)
    await expect(bubbles.filter(has_text="Sending")).to_have_count(0)
    assert await page.get_by_test_id("ol-retry").count() == 5
    await shot(page, "17-rate-limited")
    conversation = await only_conversation(admin, world.line["id"])
    texts = await stored_texts(admin, conversation["id"])
    assert len(texts) == 20 and len(set(texts)) == 20


async def test_hidden_messages_never_reach_the_widget(
    base_url: str, admin: Api, browser: Browser, customer_site: SiteFactory
) -> None:
    world = await widget_world(admin)
    site = await customer_site(base_url, world.key)
    op_api = world.operators[0]
    operator = await operator_socket(base_url, op_api.token or "")
    supervisor_api = await admin.create_user("supervisor")
    await admin.patch(
        f"/api/v1/lines/{world.line['id']}", {"supervisors": [supervisor_api.user["id"]]}
    )
    supervisor = await operator_socket(base_url, supervisor_api.token or "", online=False)
    page = await open_widget(browser, site)
    await send_from_page(page, "Can I get a discount?")
    conversation_id = await accept_next(operator)

    whisper = await supervisor.call(
        "message:send",
        {
            "conversation_id": conversation_id,
            "text": "Secret: offer them 10%",
            "hidden": True,
            "client_msg_id": new_msg_id(),
        },
    )
    assert whisper["ok"], whisper
    await reply(operator, conversation_id, "Let me check for you")
    bubbles = page.get_by_test_id("ol-message")
    await expect(bubbles.filter(has_text="Let me check")).to_have_count(1)
    await expect(page.get_by_text("Secret")).to_have_count(0)
    await page.reload()
    await page.get_by_test_id("ol-launcher").click()
    await expect(bubbles).to_have_count(2)
    await expect(page.get_by_text("Secret")).to_have_count(0)
    await operator.close()
    await supervisor.close()
