"""Acceptance 1 and 2 of the widget issue in a real Chromium: pre-chat, a round trip with an
operator (typing both ways), reload and a second tab."""

from __future__ import annotations

from playwright.async_api import Browser, expect

from tests.support.clients import Api, operator_socket
from tests.widget.conftest import SiteFactory, shot
from tests.widget.support import (
    accept_next,
    only_conversation,
    open_widget,
    reply,
    send_from_page,
    widget_world,
)

AGREEMENT = "I agree to the processing of my personal data"


async def test_prechat_message_reply_and_typing(
    base_url: str, admin: Api, browser: Browser, customer_site: SiteFactory
) -> None:
    site = await customer_site(base_url, "pending")
    world = await widget_world(
        admin,
        allowed_origins=[site.rstrip("/")],
        prechat_fields=["name", "email", "phone"],
        agreement_text=AGREEMENT,
        color="#aa3355",
        greeting="Hello! How can we help?",
        language="en",
    )
    site = await customer_site(base_url, world.key)
    # The site's origin is another port: allow that one instead.
    await admin.patch(
        f"/api/v1/channels/{world.widget['id']}",
        {"config": {"allowed_origins": [site.rstrip("/")]}},
    )
    op_api = world.operators[0]
    operator = await operator_socket(base_url, op_api.token or "")

    page = await browser.new_page()
    await page.goto(site)
    await shot(page, "01-launcher")
    launcher = page.get_by_test_id("ol-launcher")
    # The site's `button {display: none !important}` does not reach into the widget...
    await expect(launcher).to_be_visible()
    await launcher.click()
    # ...and the widget's styles do not reach out to the site.
    assert await page.locator("#page-button").is_hidden()
    assert await page.locator("#page-text").evaluate("e => getComputedStyle(e).color") == (
        "rgb(1, 2, 3)"
    )
    await expect(page.get_by_test_id("ol-prechat-name")).to_be_visible()
    await expect(page.get_by_test_id("ol-greeting")).to_be_hidden()
    await expect(page.get_by_text(AGREEMENT)).to_be_visible()
    await page.get_by_test_id("ol-prechat-name").fill("Anna Petrova")
    await page.get_by_test_id("ol-prechat-email").fill("anna@example.com")
    await page.get_by_test_id("ol-prechat-phone").fill("+7 900 000-00-00")
    await shot(page, "02-prechat")
    await page.get_by_test_id("ol-prechat-submit").click()
    # The agreement must be accepted first.
    await expect(page.get_by_test_id("ol-notice")).to_contain_text("accept the terms")
    await page.get_by_test_id("ol-prechat-agreement").check()
    await page.get_by_test_id("ol-prechat-submit").click()
    await expect(page.get_by_test_id("ol-input")).to_be_visible()
    await expect(page.get_by_test_id("ol-greeting")).to_have_text("Hello! How can we help?")
    # The channel's colour reaches the launcher and the header.
    await expect(launcher).to_have_css("background-color", "rgb(170, 51, 85)")

    await page.get_by_test_id("ol-input").fill(
        "Do you ship to Kazan? See https://example.com/p?id=1."
    )
    await page.get_by_test_id("ol-send").click()
    mine = page.get_by_test_id("ol-message").filter(has_text="Do you ship to Kazan?")
    await expect(mine).to_contain_text("Sent")
    link = mine.locator("a")
    await expect(link).to_have_attribute("href", "https://example.com/p?id=1")
    await expect(link).to_have_text("https://example.com/p?id=1")
    await shot(page, "03-sent")

    conversation_id = await accept_next(operator)
    incoming = await operator.events.wait(
        "message:new", lambda d: d["message"]["conversation_id"] == conversation_id
    )
    assert incoming["message"]["text"].startswith("Do you ship to Kazan?")
    conversation = await only_conversation(admin, world.line["id"])
    assert conversation["client"]["name"] == "Anna Petrova"
    assert conversation["client"]["email"] == "anna@example.com"
    assert conversation["client"]["phone"] == "+7 900 000-00-00"

    # Typing both ways (the visitor's reaches the operator once there is a conversation).
    await page.get_by_test_id("ol-input").fill("And what about")
    await page.get_by_test_id("ol-emoji").click()
    await page.get_by_role("button", name="👍").click()
    await expect(page.get_by_test_id("ol-input")).to_have_value("And what about👍")
    typing = await operator.events.wait("typing", lambda d: d["on"] is True)
    assert typing["author"]["type"] == "client"
    assert typing["conversation_id"] == conversation_id
    await operator.call("typing", {"conversation_id": conversation_id, "on": True})
    await expect(page.get_by_test_id("ol-typing")).to_contain_text("is typing")
    await shot(page, "04-operator-typing")
    await reply(operator, conversation_id, "Yes, we do! <b>Two days</b> 🚚")
    answer = page.get_by_test_id("ol-message").filter(has_text="Yes, we do!")
    # Client-visible text is text: the markup shows as written, never as HTML.
    await expect(answer).to_contain_text("<b>Two days</b> 🚚")
    assert await answer.locator("b").count() == 0
    await expect(page.get_by_test_id("ol-operator")).to_have_text(op_api.user["name"])
    await expect(page.get_by_test_id("ol-typing")).to_have_text("")
    await shot(page, "05-reply")
    await operator.close()


async def test_reload_and_second_tab_resume_and_stay_in_sync(
    base_url: str, admin: Api, browser: Browser, customer_site: SiteFactory
) -> None:
    world = await widget_world(admin)
    site = await customer_site(base_url, world.key)
    operator = await operator_socket(base_url, world.operators[0].token or "")
    context = await browser.new_context()
    page = await open_widget(context, site)
    await send_from_page(page, "First question")
    await expect(page.get_by_test_id("ol-message")).to_contain_text("Sent")
    conversation_id = await accept_next(operator)
    await reply(operator, conversation_id, "First answer")
    await expect(page.get_by_test_id("ol-message")).to_have_count(2)

    await page.reload()
    await page.get_by_test_id("ol-launcher").click()
    messages = page.get_by_test_id("ol-message")
    await expect(messages).to_have_count(2)
    await expect(messages.nth(0)).to_contain_text("First question")
    await expect(messages.nth(1)).to_contain_text("First answer")
    await shot(page, "06-after-reload")

    second = await context.new_page()
    await second.goto(site)
    badge = second.get_by_test_id("ol-unread")
    # A returning visitor's widget loads at once, so the closed launcher counts new replies.
    await second.get_by_test_id("ol-panel").wait_for(state="attached")
    # Its session started (in the conversation's room): a reply before that is no live news.
    await second.locator("#openlines-widget[data-ol-state=ready]").wait_for(state="attached")
    await reply(operator, conversation_id, "Second answer")
    await expect(badge).to_have_text("1")
    await shot(second, "07-second-tab-unread")
    await second.get_by_test_id("ol-launcher").click()
    await expect(badge).to_be_hidden()
    await expect(second.get_by_test_id("ol-message")).to_have_count(3)
    await expect(page.get_by_test_id("ol-message")).to_have_count(3)

    await send_from_page(page, "Written in the first tab")
    await expect(second.get_by_test_id("ol-message").nth(3)).to_contain_text(
        "Written in the first tab"
    )
    await shot(second, "08-second-tab-synced")
    conversation = await only_conversation(admin, world.line["id"])
    assert conversation["id"] == conversation_id
    await context.close()
    await operator.close()
