"""Spam, blocking and the supervisor's rating in the console (issue 17, points 7 and 8): an
operator marks a conversation spam after a confirmation; a supervisor blocks and unblocks the
client on the client card, and rates a closed conversation with the keyboard, the rating shown
beside the client's in the conversation and the Closed list (docs/spam.md). Phones, axe and
the Russian walk cover these screens in test_phone.py, test_a11y.py and test_ru_walk.py."""

from __future__ import annotations

from typing import Any

from playwright.async_api import Browser, Page, expect

from tests.operators_ui.conftest import open_tab, sign_in
from tests.support.clients import Api, SocketClient
from tests.support.world import LineWorld, make_line, visitor_says


async def closed_and_rated_by_the_client(
    base_url: str, world: LineWorld, text: str
) -> tuple[str, SocketClient]:
    """A conversation the operator took and closed, the client's rating (5) given."""
    operator = world.operators[0]
    visitor, message = await visitor_says(base_url, world.key, text)
    path = f"/api/v1/conversations/{message['conversation_id']}"
    await operator.post(f"{path}/accept", expect=200)
    await operator.post(f"{path}/close", expect=200)
    await visitor.events.wait("csat:request")
    assert (await visitor.call("csat:submit", {"rating": 5, "comment": "Great"}))["ok"]
    return message["conversation_id"], visitor


async def supervised(admin: Api, **fields: Any) -> tuple[LineWorld, Api]:
    supervisor = await admin.create_user("supervisor")
    assert supervisor.user is not None
    world = await make_line(admin, supervisors=[supervisor.user["id"]], **fields)
    return world, supervisor


def row_of(page: Page, conversation_id: str) -> Any:
    return page.locator(f'[data-testid="conversation-item"][data-id="{conversation_id}"]')


async def test_a_supervisor_rates_a_closed_conversation_with_the_keyboard(
    base_url: str, admin: Api, browser: Browser
) -> None:
    world, supervisor = await supervised(admin, csat={"enabled": True})
    cid, visitor = await closed_and_rated_by_the_client(base_url, world, "Thanks a lot")

    page = await sign_in(browser, base_url, supervisor)
    await open_tab(page, "closed")
    await row_of(page, cid).click()
    form = page.get_by_test_id("rate-form")
    await expect(form).to_be_visible()
    await expect(page.get_by_test_id("rate-save")).to_be_disabled()
    # Radio buttons: one Tab stop, the arrows pick the stars.
    await page.get_by_test_id("rate-1").focus()
    await page.keyboard.press("Space")
    for _ in range(3):
        await page.keyboard.press("ArrowRight")
    await expect(page.get_by_test_id("rate-4")).to_be_checked()
    await page.keyboard.press("Tab")
    await expect(page.get_by_test_id("rate-comment")).to_be_focused()
    await page.keyboard.type("Friendly and quick")
    await page.keyboard.press("Tab")
    await expect(page.get_by_test_id("rate-save")).to_be_focused()
    await page.keyboard.press("Enter")

    head = page.locator(".conversation .head")
    await expect(head.get_by_test_id("supervisor-rating")).to_have_attribute("data-rating", "4")
    await expect(head.get_by_test_id("supervisor-rating-comment")).to_have_text(
        "Friendly and quick"
    )
    await expect(head.get_by_test_id("csat")).to_have_attribute("data-rating", "5")
    stars = head.get_by_test_id("supervisor-rating").get_by_role("img")
    await expect(stars).to_have_attribute("aria-label", "Supervisor's rating: 4 of 5")
    row = row_of(page, cid)
    await expect(row.get_by_test_id("supervisor-rating")).to_have_attribute("data-rating", "4")

    # Rating again replaces it.
    await page.locator("label", has=page.get_by_test_id("rate-2")).click()
    await page.get_by_test_id("rate-save").click()
    await expect(head.get_by_test_id("supervisor-rating")).to_have_attribute("data-rating", "2")
    stored = await admin.get(f"/api/v1/conversations/{cid}")
    assert stored["rating"]["rating"] == 2 and stored["rating"]["by_user_id"] == (
        supervisor.user or {}
    ).get("id")
    await page.context.close()

    # The operator sees the supervisor's rating, and has no stars to give.
    page = await sign_in(browser, base_url, world.operators[0])
    await open_tab(page, "closed")
    await row_of(page, cid).click()
    head = page.locator(".conversation .head")
    await expect(head.get_by_test_id("supervisor-rating")).to_have_attribute("data-rating", "2")
    await expect(page.get_by_test_id("rate-form")).to_have_count(0)
    await page.context.close()
    await visitor.close()


async def test_an_operator_marks_spam_after_confirming(
    base_url: str, admin: Api, browser: Browser
) -> None:
    world, _ = await supervised(admin, csat={"enabled": True})
    operator = world.operators[0]
    visitor, message = await visitor_says(base_url, world.key, "Cheap watches")
    cid = message["conversation_id"]
    await operator.post(f"/api/v1/conversations/{cid}/accept", expect=200)

    page = await sign_in(browser, base_url, operator)
    await open_tab(page, "mine")
    await row_of(page, cid).click()
    await page.get_by_test_id("spam").click()
    dialog = page.get_by_test_id("spam-dialog")
    await expect(dialog).to_be_visible()
    await page.keyboard.press("Escape")  # Escape changes nothing
    await expect(dialog).to_have_count(0)
    assert (await admin.get(f"/api/v1/conversations/{cid}"))["status"] == "active"
    await page.get_by_test_id("spam").click()
    await dialog.get_by_test_id("confirm-yes").click()
    await expect(dialog).to_have_count(0)
    head = page.locator(".conversation .head")
    await expect(head.get_by_test_id("conversation-status")).to_have_text("Closed")
    await expect(head.get_by_test_id("spam-badge")).to_be_visible()
    await visitor.events.wait("conversation:closed")
    stored = await admin.get(f"/api/v1/conversations/{cid}")
    assert stored["close_reason"] == "spam" and stored["csat"] is None
    await open_tab(page, "closed")
    await expect(row_of(page, cid).get_by_test_id("spam-badge")).to_be_visible()
    await page.context.close()
    await visitor.close()


async def test_a_supervisor_blocks_and_unblocks_the_client_on_the_card(
    base_url: str, admin: Api, browser: Browser
) -> None:
    world, supervisor = await supervised(admin)
    visitor, message = await visitor_says(base_url, world.key, "Hello again")
    cid = message["conversation_id"]

    page = await sign_in(browser, base_url, supervisor)
    await open_tab(page, "queue")
    await row_of(page, cid).click()
    await page.get_by_test_id("client-name").click()
    card = page.get_by_test_id("client-card")
    await card.get_by_test_id("block").click()
    await page.get_by_test_id("block-dialog").get_by_test_id("confirm-yes").click()
    await expect(card.get_by_test_id("card-blocked")).to_be_visible()
    head = page.locator(".conversation .head")
    await expect(head.get_by_test_id("blocked-badge")).to_be_visible()  # heard live
    # Out of everyone's Queue tab, in the supervisor's All tab.
    await expect(row_of(page, cid)).to_have_count(0)
    await open_tab(page, "all")
    await expect(row_of(page, cid).get_by_test_id("blocked-badge")).to_be_visible()
    assert (await admin.get(f"/api/v1/conversations/{cid}"))["client"]["blocked"] is True

    await card.get_by_test_id("unblock").click()
    await expect(card.get_by_test_id("card-blocked")).to_have_count(0)
    await expect(head.get_by_test_id("blocked-badge")).to_have_count(0)
    await open_tab(page, "queue")
    await expect(row_of(page, cid)).to_be_visible()
    await page.context.close()

    # An operator's card has no Block button: blocking is the supervisors'. Signed in, they
    # are online, and the unblocked conversation is offered to them.
    page = await sign_in(browser, base_url, world.operators[0])
    await open_tab(page, "offered")
    await row_of(page, cid).click()
    await page.get_by_test_id("client-name").click()
    await expect(
        page.get_by_test_id("client-card").get_by_test_id("client-identity")
    ).to_be_visible()
    await expect(page.get_by_test_id("block")).to_have_count(0)
    await page.context.close()
    await visitor.close()
