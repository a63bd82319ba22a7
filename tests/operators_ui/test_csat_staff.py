"""Staff see the client's rating and comment: on the conversation, in the Closed list and in
the client card (issue 15, point 6); the card names channels by type and writes dates in the
user's language (point 16)."""

from __future__ import annotations

import json
import re

from playwright.async_api import Browser, expect

from tests.operators_ui.conftest import I18N_PATH, open_tab, sign_in
from tests.support.clients import Api
from tests.support.world import make_line, visitor_says

RU = json.loads(I18N_PATH.read_text())["ru"]


async def test_rating_and_comment_shown_to_staff(
    base_url: str, admin: Api, browser: Browser
) -> None:
    world = await make_line(admin, csat={"enabled": True})
    op = world.operators[0]
    visitor, message = await visitor_says(base_url, world.key, "Where is my parcel?")
    path = f"/api/v1/conversations/{message['conversation_id']}"
    await op.post(f"{path}/accept", expect=200)
    await op.post(f"{path}/messages", {"text": "On its way"}, expect=201)
    await op.post(f"{path}/close", expect=200)
    await visitor.events.wait("csat:request")
    ack = await visitor.call("csat:submit", {"rating": 4, "comment": "Quick, thanks"})
    assert ack["ok"], ack
    await visitor.close()

    page = await sign_in(browser, base_url, op, lang="ru")
    await open_tab(page, "closed")
    row = page.get_by_test_id("conversation-item")
    await expect(row.get_by_test_id("csat")).to_have_attribute("data-rating", "4")
    await expect(row.get_by_test_id("csat-comment")).to_have_text("Quick, thanks")
    stars = row.get_by_test_id("csat").get_by_role("img")
    await expect(stars).to_have_attribute("aria-label", RU["csat.rated"].replace("{n}", "4"))

    await row.click()
    head = page.locator(".conversation .head")
    await expect(head.get_by_test_id("csat")).to_have_attribute("data-rating", "4")
    await page.get_by_test_id("client-name").click()
    card = page.get_by_test_id("client-card")
    await expect(card.get_by_test_id("client-conversations").get_by_test_id("csat")).to_have_count(
        1
    )
    await expect(card.get_by_test_id("client-identity")).to_have_text(RU["ch.type.widget"])
    # A Russian date (dd.mm.yyyy), not the US month/day/year.
    await expect(card.get_by_test_id("client-conversations")).to_contain_text(
        re.compile(r"\d{2}\.\d{2}\.\d{2,4}")
    )
