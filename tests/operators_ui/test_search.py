"""Searching the Closed tab finds words written in a conversation, shows the matching message
with the words marked, and pages with "Show more" (issue 15, point 7)."""

from __future__ import annotations

from playwright.async_api import Browser, expect

from tests.operators_ui.conftest import open_tab, shot, sign_in
from tests.support.api_channel import post_api_message
from tests.support.clients import Api
from tests.support.waiting import eventually
from tests.support.world import make_line


async def test_closed_search_finds_a_word_and_pages(
    base_url: str, admin: Api, browser: Browser
) -> None:
    world = await make_line(admin)
    op = world.operators[0]
    channel = await admin.create_channel(world.line["id"], "api", {})
    texts = ["Где мой заказ? Он уже доставлен?"] + [f"parcel {n} arrived" for n in range(51)]
    for n, text in enumerate(texts):
        message = {"message_id": f"m{n}", "chat_id": f"chat{n}", "sender": {"id": f"u{n}"}}
        status, body = await post_api_message(admin, channel, {**message, "text": text})
        assert status == 200, body
    listing = await admin.get(f"/api/v1/conversations?line_id={world.line['id']}&limit=100")
    for conversation in listing["conversations"]:
        path = f"/api/v1/conversations/{conversation['id']}"
        await op.post(f"{path}/accept", expect=200)
        await op.post(f"{path}/messages", {"text": "Спасибо, всё в порядке"}, expect=201)
        await op.post(f"{path}/close", expect=200)
    # The index writes off the ingest path: wait until it has every message.
    await eventually(
        lambda: admin.get("/api/v1/conversations?status=closed&q=parcel&limit=100"),
        lambda body: len(body["conversations"]) == 51,
    )

    page = await sign_in(browser, base_url, op, lang="ru")
    await open_tab(page, "closed")
    await page.get_by_test_id("closed-search").fill("ДОСТАВ")
    rows = page.get_by_test_id("conversation-item")
    await expect(rows).to_have_count(1)
    match = rows.first.get_by_test_id("match")
    # Not the last message (the operator's thanks): the client's words, the match marked.
    await expect(match).to_have_text("Где мой заказ? Он уже доставлен?")
    await expect(match.locator("mark")).to_have_text("доставлен")
    await shot(page, "closed-search-ru")

    await page.get_by_test_id("closed-search").fill("parc")
    await expect(rows).to_have_count(50)
    await expect(rows.first.locator("mark")).to_have_text("parcel")
    more = page.get_by_test_id("closed-more")
    await expect(more).to_have_text("Показать ещё")
    await more.click()
    await expect(rows).to_have_count(51)
    await expect(more).to_have_count(0)
