"""Acceptance 1-3 of the console issue in a real Chromium: offer, accept and answer; reload;
transfer and invite between two signed-in operators; a supervisor's hidden whisper."""

from __future__ import annotations

import asyncio
import re

from playwright.async_api import APIResponse, Browser, Route, expect

from tests.operators_ui.conftest import open_tab, shot, sign_in
from tests.support.clients import Api, SocketClient, new_msg_id, public_texts
from tests.support.waiting import eventually
from tests.support.world import make_line, visitor_says


async def _online(admin: Api, line_id: str, user_id: str) -> None:
    await eventually(
        lambda: admin.get(f"/api/v1/console/lines/{line_id}/members"),
        lambda body: any(m["id"] == user_id and m["status"] == "online" for m in body["members"]),
    )


async def _visitor_got(visitor: SocketClient, text: str) -> None:
    await visitor.events.wait("message:new", lambda d: d["message"]["text"] == text)


async def test_offer_accept_answer_and_reload(base_url: str, admin: Api, browser: Browser) -> None:
    world = await make_line(admin, operators=1)
    op = world.operators[0]
    page = await sign_in(browser, base_url, op)
    # Signing in sets the status the user had chosen last (online by default).
    await expect(page.get_by_test_id("status-switch")).to_have_value("online")
    await _online(admin, world.line["id"], op.user["id"])  # type: ignore[index]

    visitor, _ = await visitor_says(base_url, world.key, "Hello, is my order <b>shipped</b>?")
    await open_tab(page, "offered")
    row = page.get_by_test_id("conversation-item").first
    # Client text is shown as text, never as markup.
    await expect(row).to_contain_text("Hello, is my order <b>shipped</b>?")
    await expect(row.get_by_test_id("countdown")).to_be_visible()
    await shot(page, "01-offered")
    await row.get_by_test_id("accept").click()
    await expect(page.get_by_test_id("tab-mine")).to_have_attribute("aria-selected", "true")
    await expect(page.get_by_test_id("message").first).to_contain_text("shipped")

    composer = page.get_by_test_id("composer")
    await composer.fill("Yes, it left")
    await composer.press("Shift+Enter")
    await composer.type("this morning.")
    await composer.press("Enter")
    await _visitor_got(visitor, "Yes, it left\nthis morning.")
    mine = page.get_by_test_id("message").filter(has_text="this morning.")
    await expect(mine.get_by_test_id("delivery")).to_be_visible()
    await shot(page, "02-answered")

    await page.reload()
    await expect(page.get_by_test_id("login-email")).to_have_count(0)
    await expect(page.get_by_test_id("status-switch")).to_have_value("online")
    await page.get_by_test_id("conversation-item").first.click()
    messages = page.get_by_test_id("message")
    await expect(messages.filter(has_text="shipped")).to_have_count(1)
    await expect(messages.last).to_contain_text("this morning.")

    # Away sticks: the router stops offering, and the next sign-in keeps it.
    await page.get_by_test_id("status-switch").select_option("away")
    await eventually(lambda: op.get("/api/v1/me"), lambda me: me["status_preference"] == "away")
    await page.get_by_test_id("sign-out").click()
    await expect(page.get_by_test_id("login-email")).to_be_visible()
    await visitor.close()


async def test_a_snapshot_fetched_before_the_offer_does_not_hide_it(
    base_url: str, admin: Api, browser: Browser
) -> None:
    """The console fetches a conversation it first hears of in a message; when the offer
    arrives while that fetch is in flight, the older snapshot must not put it back in Queue."""
    world = await make_line(admin, operators=1)
    op = world.operators[0]
    page = await sign_in(browser, base_url, op)
    await page.get_by_test_id("status-switch").select_option("away")
    await eventually(
        lambda: admin.get(f"/api/v1/console/lines/{world.line['id']}/members"),
        lambda body: body["members"][0]["status"] == "away",
    )

    held: asyncio.Queue[tuple[Route, APIResponse]] = asyncio.Queue()
    release = asyncio.Event()

    async def hold(route: Route) -> None:
        snapshot = await route.fetch()  # taken now, while the conversation is queued
        await held.put((route, snapshot))
        await release.wait()
        await route.fulfill(response=snapshot)

    await page.route(re.compile(r"/api/v1/conversations/[0-9a-f]{24}$"), hold)
    visitor, _ = await visitor_says(base_url, world.key, "Is anyone there?")
    route, snapshot = await asyncio.wait_for(held.get(), 20)
    assert (await snapshot.json())["status"] == "queued"

    await page.get_by_test_id("status-switch").select_option("online")
    await open_tab(page, "offered")
    await expect(page.get_by_test_id("conversation-item")).to_have_count(1)

    async with page.expect_event("requestfinished", lambda r: r.url == route.request.url):
        release.set()
    # A later live event, so the stale snapshot has surely been handled by then.
    await visitor.call("message:send", {"text": "Hello?", "client_msg_id": new_msg_id()})
    row = page.get_by_test_id("conversation-item")
    await expect(row).to_contain_text("Hello?")
    await expect(row.get_by_test_id("accept")).to_be_visible()
    await visitor.close()


async def test_transfer_and_invite_between_operators(
    base_url: str, admin: Api, browser: Browser
) -> None:
    world = await make_line(admin, operators=2)
    first, second = world.operators
    page_a = await sign_in(browser, base_url, first)
    await _online(admin, world.line["id"], first.user["id"])  # type: ignore[index]
    visitor, _ = await visitor_says(base_url, world.key, "Need help with a refund")
    await open_tab(page_a, "offered")
    await page_a.get_by_test_id("accept").first.click()
    await expect(page_a.get_by_test_id("transfer")).to_be_visible()

    page_b = await sign_in(browser, base_url, second)
    await _online(admin, world.line["id"], second.user["id"])  # type: ignore[index]
    await page_a.get_by_test_id("transfer").click()
    picker = page_a.get_by_test_id("transfer-picker")
    target = picker.locator(f"[data-user-id='{second.user['id']}']")  # type: ignore[index]
    await expect(target).to_contain_text("Online")
    await shot(page_a, "03-transfer-picker")
    await target.click()

    await open_tab(page_b, "offered")
    await page_b.get_by_test_id("accept").first.click()
    conversation = await eventually(
        lambda: admin.get(f"/api/v1/conversations?line_id={world.line['id']}"),
        lambda body: body["conversations"][0]["assignee_id"] == second.user["id"],  # type: ignore[index]
    )
    conversation_id = conversation["conversations"][0]["id"]
    # It left the first operator's Mine tab.
    await open_tab(page_a, "mine")
    await expect(page_a.get_by_test_id("conversation-item")).to_have_count(0)

    await page_b.get_by_test_id("invite").click()
    await (
        page_b.get_by_test_id("invite-picker")
        .locator(
            f"[data-user-id='{first.user['id']}']"  # type: ignore[index]
        )
        .click()
    )
    await expect(page_a.get_by_test_id("conversation-item")).to_have_count(1)
    await page_a.get_by_test_id("conversation-item").click()
    await page_a.get_by_test_id("composer").fill("Colleague here, I can help too.")
    await page_a.get_by_test_id("send").click()
    await _visitor_got(visitor, "Colleague here, I can help too.")
    await shot(page_a, "04-invited")
    participants = (await admin.get(f"/api/v1/conversations/{conversation_id}"))["participants"]
    assert {"user_id": first.user["id"], "hidden": False} in participants  # type: ignore[index]
    await visitor.close()


async def test_supervisor_whisper_stays_hidden(
    base_url: str, admin: Api, browser: Browser
) -> None:
    supervisor = await admin.create_user("supervisor", name="Sveta Supervisor")
    world = await make_line(admin, operators=1, supervisors=[supervisor.user["id"]])  # type: ignore[index]
    op = world.operators[0]
    page_op = await sign_in(browser, base_url, op)
    await _online(admin, world.line["id"], op.user["id"])  # type: ignore[index]
    visitor, _ = await visitor_says(base_url, world.key, "Where is my parcel?")
    await open_tab(page_op, "offered")
    await page_op.get_by_test_id("accept").first.click()
    await expect(page_op.get_by_test_id("composer")).to_be_visible()

    page_sv = await sign_in(browser, base_url, supervisor)
    await open_tab(page_sv, "all")
    await page_sv.get_by_test_id("conversation-item").first.click()
    await page_sv.get_by_test_id("join-hidden").click()
    await expect(page_sv.get_by_test_id("join-hidden")).to_have_count(0)
    # Joined hidden, the composer is a whisper box by itself (no toggle to press).
    await expect(page_sv.get_by_test_id("composer-box")).to_have_attribute("data-hidden", "true")
    await expect(page_sv.get_by_test_id("whisper-banner")).to_be_visible()
    await shot(page_sv, "05-whisper-box")
    await page_sv.get_by_test_id("composer").fill("Offer a 10% voucher")
    await page_sv.get_by_test_id("send").click()

    whisper = page_op.get_by_test_id("message").filter(has_text="Offer a 10% voucher")
    await expect(whisper).to_have_attribute("data-hidden", "true")
    await expect(whisper.get_by_test_id("hidden-tag")).to_be_visible()
    await expect(whisper).to_have_css("background-color", "rgb(255, 246, 214)")
    await shot(page_op, "06-whisper-seen-by-operator")

    # The operator answers in public: the visitor gets that, and nothing of the whisper.
    await page_op.get_by_test_id("composer").fill("We can offer you a voucher.")
    await page_op.get_by_test_id("send").click()
    await _visitor_got(visitor, "We can offer you a voucher.")
    got = [d["message"]["text"] for d in visitor.events.all("message:new")]
    assert "Offer a 10% voucher" not in got
    history = await visitor.call("history", {"limit": 50})
    assert "Offer a 10% voucher" not in public_texts(history["messages"])
    assert all(not m.get("hidden") for m in history["messages"])
    await visitor.close()
