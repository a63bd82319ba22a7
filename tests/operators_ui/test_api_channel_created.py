"""Connecting an API channel in the console shows its inbound URL and its one-time secret, each
with a copy button, as the Telegram channel shows its webhook (issue 15, point 10)."""

from __future__ import annotations

from playwright.async_api import Browser, expect

from tests.conftest import ADMIN_PASSWORD
from tests.operators_ui.conftest import sign_in
from tests.operators_ui.test_channel_forms import open_channels
from tests.support.api_channel import post_api_message
from tests.support.clients import Api
from tests.support.world import make_line


async def test_inbound_url_and_secret_are_shown_once_with_copy(
    base_url: str, admin: Api, browser: Browser
) -> None:
    world = await make_line(admin)
    page = await sign_in(browser, base_url, admin, password=ADMIN_PASSWORD)
    await page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    form = await open_channels(page, world.line["id"])
    await form.get_by_test_id("channel-type").select_option("api")
    await form.get_by_test_id("channel-save").click()

    created = page.get_by_test_id("channel-created")
    inbound = created.get_by_test_id("created-inbound-url")
    await expect(inbound).to_contain_text("/hooks/api/")
    secret = created.get_by_test_id("created-secret")
    await expect(secret).not_to_be_empty()
    await expect(created.get_by_test_id("created-once-help")).to_be_visible()
    await created.get_by_test_id("created-secret-copy").click()
    await expect(created.get_by_test_id("created-secret-copy")).to_have_text("Copied")
    shown = (await secret.text_content()) or ""
    assert await page.evaluate("navigator.clipboard.readText()") == shown
    await created.get_by_test_id("created-inbound-url-copy").click()
    url = (await inbound.text_content()) or ""
    assert await page.evaluate("navigator.clipboard.readText()") == url

    # What was shown works: a message signed with that secret, to that address, is taken.
    channel_id = url.rsplit("/", 1)[1]
    channel = {"id": channel_id, "secret": shown}
    message = {"message_id": "m1", "chat_id": "c1", "sender": {"id": "u1"}, "text": "hi"}
    status, body = await post_api_message(admin, channel, message)
    assert status == 200, body
