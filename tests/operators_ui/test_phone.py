"""The console on a phone (390 × 844, touch): every screen each role reaches fits the width,
never scrolling sideways; the inbox goes to a conversation and Back; an offer counts down
and is accepted; the composer attaches files and inserts quick answers; the board and the CRM
read as cards. And a thread whose newest message is a picture keeps it in view as it loads."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import aiohttp
from playwright.async_api import Browser, Page, Route, expect

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.crm_bridge.test_crm import CRM_LINE, crm_of, widget_visitor
from tests.operators_ui.conftest import open_tab, shot, sign_in
from tests.operators_ui.test_spam_rating import supervised
from tests.support.clients import Api, new_msg_id, operator_socket
from tests.support.world import make_line, visitor_says
from tests.widget.support import accept_next, png_bytes, reply

PHONE: dict[str, Any] = {
    "viewport": {"width": 390, "height": 844},
    "is_mobile": True,
    "has_touch": True,
    "device_scale_factor": 2,
}

# What is wider than the screen, if anything: the page scrolling sideways; an element reaching
# past either edge (unless a box it is in clips it, and that box fits); a box of the page that
# scrolls sideways. Two boxes do so on purpose: the header's row of screens and the deal board.
OVERFLOW = """(width) => {
  const own = (el) => el.closest('nav, .deal-board');
  const name = (el) => {
    const id = el.dataset.testid ? `[${el.dataset.testid}]` : '';
    const cls = typeof el.className === 'string' ? el.className.trim() : '';
    return el.tagName.toLowerCase() + id + (cls ? '.' + cls.split(/\\s+/).join('.') : '');
  };
  const clipped = (el) => {
    for (let p = el.parentElement; p; p = p.parentElement) {
      if (getComputedStyle(p).overflowX !== 'visible') {
        const r = p.getBoundingClientRect();
        return r.left >= -1 && r.right <= width + 1;
      }
    }
    return false;
  };
  const found = [];
  const page = document.documentElement.scrollWidth;
  if (page > width) found.push(`the page is ${page} px wide`);
  for (const el of document.body.querySelectorAll('*')) {
    if (own(el)) continue;
    const r = el.getBoundingClientRect();
    if (!r.width || !r.height) continue;
    const style = getComputedStyle(el);
    if ((r.right > width + 1 || r.left < -1) && !clipped(el)) {
      found.push(`${name(el)} spans ${Math.round(r.left)}..${Math.round(r.right)}`);
    }
    const scrolls = style.overflowX === 'auto' || style.overflowX === 'scroll';
    if (scrolls && el.scrollWidth > el.clientWidth + 1) {
      found.push(`${name(el)} scrolls sideways (${el.scrollWidth} > ${el.clientWidth})`);
    }
  }
  return found.slice(0, 12);
}"""


async def fits(page: Page, screen: str) -> None:
    """The screen as it is now fits the phone's width; a screenshot of it is kept."""
    await page.wait_for_load_state("networkidle")
    width = await page.evaluate(
        "document.documentElement.scrollWidth <= window.innerWidth && window.innerWidth"
    )
    found = await page.evaluate(OVERFLOW, 390)
    await shot(page, f"phone-{screen}")
    assert width == 390 and not found, f"{screen}: {found}"


async def phone(browser: Browser, base_url: str, api: Api, **options: Any) -> Page:
    return await sign_in(browser, base_url, api, **PHONE, **options)


async def in_view(page: Page, testid: str) -> None:
    """The element is visible and wholly on the screen (a tap can reach it)."""
    box = await page.get_by_test_id(testid).bounding_box()
    assert box is not None, testid
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390, (testid, box)
    assert box["y"] >= 0 and box["y"] + box["height"] <= 844, (testid, box)


async def test_sign_in_fits_a_phone_in_both_languages(base_url: str, browser: Browser) -> None:
    for lang in ("en", "ru"):
        context = await browser.new_context(**PHONE, locale="en-US" if lang == "en" else "ru-RU")
        page = await context.new_page()
        await page.goto(base_url + "/")
        await expect(page.get_by_test_id("login-submit")).to_be_visible()
        await fits(page, f"login-{lang}")
        for testid in ("login-email", "login-password", "login-submit", "lang-switch"):
            await in_view(page, testid)
        await context.close()


async def test_operator_takes_an_offer_answers_and_goes_back_on_a_phone(
    base_url: str, admin: Api, browser: Browser, tmp_path: Path
) -> None:
    world = await make_line(admin, operators=1, accept_timeout_s=120)
    op = world.operators[0]
    await op.post(
        "/api/v1/console/quick-answers",
        {"title": "Delivery", "text": "Delivery takes two or three days."},
    )
    page = await phone(browser, base_url, op)
    await fits(page, "inbox-mine")

    # The header: the screens in a row, the account behind a menu that opens and closes.
    await expect(page.get_by_test_id("sign-out")).to_be_hidden()
    menu = page.get_by_test_id("menu")
    await expect(menu).to_have_attribute("aria-expanded", "false")
    await menu.tap()
    await expect(menu).to_have_attribute("aria-expanded", "true")
    await expect(page.get_by_test_id("sign-out")).to_be_visible()
    await expect(page.get_by_test_id("lang-switch")).to_be_visible()
    await fits(page, "menu")
    await page.keyboard.press("Escape")
    await expect(page.get_by_test_id("sign-out")).to_be_hidden()
    await expect(menu).to_be_focused()

    visitor, _ = await visitor_says(base_url, world.key, "Hello, where is my parcel?")
    await open_tab(page, "offered")
    row = page.get_by_test_id("conversation-item").first
    await expect(row.get_by_test_id("countdown")).to_have_text(re.compile(r"\d+ (s|min) left"))
    await in_view(page, "accept")
    await fits(page, "inbox-offered")
    # Opened, the offer shows full width with its own countdown-free Accept and a Back button.
    await row.tap()
    conversation = page.locator(".conversation")
    await expect(conversation).to_be_visible()
    await expect(page.get_by_test_id("conversation-list")).to_be_hidden()
    await in_view(page, "back")
    await fits(page, "conversation-offered")
    await page.get_by_test_id("back").tap()
    await expect(page.get_by_test_id("conversation-list")).to_be_visible()
    await expect(conversation).to_be_hidden()
    # Accept from the list opens the conversation it took.
    await row.get_by_test_id("accept").tap()
    await expect(page.get_by_test_id("tab-mine")).to_have_attribute("aria-selected", "true")
    await expect(page.get_by_test_id("composer")).to_be_visible()
    await expect(page.get_by_test_id("conversation-list")).to_be_hidden()
    await expect(page.get_by_test_id("message").first).to_contain_text("parcel")
    await fits(page, "conversation")

    # The composer: a file attached, a quick answer picked with a tap, sent.
    for testid in ("composer", "send", "quick-answers-toggle", "hidden-toggle"):
        await in_view(page, testid)
    attach = page.locator("label.button:has([data-testid=attach])")
    box = await attach.bounding_box()
    assert box is not None and box["x"] + box["width"] <= 390
    (tmp_path / "label.png").write_bytes(png_bytes(40, 30))
    await page.get_by_test_id("attach").set_input_files(str(tmp_path / "label.png"))
    await expect(page.locator(".files .chip").filter(has_text="label.png")).to_be_visible()
    await page.get_by_test_id("quick-answers-toggle").tap()
    answers = page.get_by_test_id("quick-answers")
    await expect(answers).to_be_visible()
    await expect(page.get_by_test_id("quick-answers-toggle")).to_have_attribute(
        "aria-expanded", "true"
    )
    await fits(page, "quick-answers")
    await answers.get_by_test_id("quick-answer").filter(has_text="Delivery").tap()
    await expect(page.get_by_test_id("composer")).to_have_value(
        "Delivery takes two or three days."
    )
    await page.get_by_test_id("send").tap()
    sent = await visitor.events.wait(
        "message:new", lambda d: d["message"]["text"].startswith("Delivery takes")
    )
    assert [a["name"] for a in sent["message"]["attachments"]] == ["label.png"]
    mine = page.get_by_test_id("message").filter(has_text="Delivery takes")
    await expect(mine.locator("img.preview-img")).to_be_visible()
    await fits(page, "conversation-answered")

    # The client card covers the conversation and closes again.
    await page.get_by_test_id("client-name").tap()
    card = page.get_by_test_id("client-card")
    await expect(card).to_be_visible()
    await fits(page, "client-card")
    await card.get_by_role("button", name="Close card").tap()
    await expect(card).to_have_count(0)

    # Back to the list and into the same conversation again.
    await page.get_by_test_id("back").tap()
    await expect(page.get_by_test_id("conversation-list")).to_be_visible()
    await fits(page, "inbox-after-back")
    await page.get_by_test_id("conversation-item").first.tap()
    await expect(page.get_by_test_id("composer")).to_be_visible()
    await page.get_by_test_id("back").tap()

    for tab in ("pinned", "queue", "closed"):
        await open_tab(page, tab)
        await fits(page, f"inbox-{tab}")
    await page.get_by_test_id("nav-answers").tap()
    await expect(page.get_by_test_id("qa-form")).to_be_visible()
    await fits(page, "quick-answers-screen")
    await visitor.close()


async def test_supervisor_board_and_all_tab_on_a_phone(
    base_url: str, admin: Api, browser: Browser
) -> None:
    supervisor = await admin.create_user("supervisor")
    world = await make_line(
        admin,
        operators=2,
        supervisors=[supervisor.user["id"]],  # type: ignore[index]
    )
    socket = await operator_socket(base_url, world.operators[0].token or "")
    visitors = []
    for text in ("first client with a rather long question about an order", "second"):
        visitor, _ = await visitor_says(base_url, world.key, text)
        visitors.append(visitor)
    conversation_id = await accept_next(socket)
    await reply(socket, conversation_id, "hello")

    page = await phone(browser, base_url, supervisor)
    await open_tab(page, "all")
    await expect(page.get_by_test_id("conversation-item")).to_have_count(2)
    await fits(page, "inbox-all")
    await page.get_by_test_id("conversation-item").first.tap()
    await expect(page.get_by_test_id("thread")).to_be_visible()
    await fits(page, "conversation-supervised")

    await page.get_by_test_id("nav-board").tap()
    await expect(page.get_by_test_id("board-operator")).to_have_count(2)
    await expect(page.get_by_test_id("board-today")).to_have_text("2")
    for chart in ("board-hour-chart", "board-operator-chart"):
        box = await page.get_by_test_id(chart).bounding_box()
        assert box is not None and box["width"] <= 390 - 2 * 12, (chart, box)
    await fits(page, "board")
    for visitor in visitors:
        await visitor.close()
    await socket.close()


async def test_spam_block_and_rating_fit_a_phone(
    base_url: str, admin: Api, browser: Browser
) -> None:
    world, supervisor = await supervised(admin)
    operator = world.operators[0]
    closed, first = await visitor_says(base_url, world.key, "a question, answered and closed")
    path = f"/api/v1/conversations/{first['conversation_id']}"
    await operator.post(f"{path}/accept", expect=200)
    await operator.post(f"{path}/close", expect=200)
    waiting, _ = await visitor_says(base_url, world.key, "a client with a rather long question")

    page = await phone(browser, base_url, supervisor)
    await open_tab(page, "closed")
    await page.get_by_test_id("conversation-item").first.tap()
    await expect(page.get_by_test_id("rate-form")).to_be_visible()
    await page.locator("label", has=page.get_by_test_id("rate-5")).tap()
    await in_view(page, "rate-save")
    await fits(page, "closed-rating")
    await page.get_by_test_id("rate-save").tap()
    head = page.locator(".conversation .head")
    await expect(head.get_by_test_id("supervisor-rating")).to_have_attribute("data-rating", "5")
    await page.get_by_test_id("back").tap()
    await open_tab(page, "queue")
    await page.get_by_test_id("conversation-item").first.tap()
    await page.get_by_test_id("spam").tap()
    await expect(page.get_by_test_id("spam-dialog")).to_be_visible()
    await in_view(page, "confirm-yes")
    await fits(page, "spam-dialog")
    await page.get_by_test_id("confirm-no").tap()
    await page.get_by_test_id("client-name").tap()
    await expect(page.get_by_test_id("block")).to_be_visible()
    await fits(page, "client-card-block")
    await page.get_by_test_id("block").tap()
    await expect(page.get_by_test_id("block-dialog")).to_be_visible()
    await fits(page, "block-dialog")
    await page.get_by_test_id("confirm-yes").tap()
    await expect(page.get_by_test_id("card-blocked")).to_be_visible()
    await fits(page, "client-card-blocked")
    await closed.close()
    await waiting.close()


async def test_manager_reads_the_crm_on_a_phone(
    base_url: str, admin: Api, browser: Browser
) -> None:
    world = await make_line(admin, **CRM_LINE)
    manager = await admin.create_user("manager")
    visitor, first = await widget_visitor(
        base_url,
        world,
        "I want to order",
        name="Anna Maria Petrova-Vodkina",
        email="anna.maria.petrova-vodkina@a-very-long-domain.example.com",
    )
    conversation = await crm_of(admin, first["conversation_id"], "lead_id")
    lead_id = conversation["crm"]["lead_id"]

    page = await phone(browser, base_url, manager)
    await page.get_by_test_id("nav-crm").tap()
    row = page.locator(f"[data-testid=lead-row][data-id='{lead_id}']")
    await expect(row).to_contain_text("a-very-long-domain.example.com")
    await fits(page, "crm-leads")
    await row.get_by_test_id("convert").tap()
    dialog = page.get_by_test_id("convert-dialog")
    await expect(dialog).to_be_visible()
    await fits(page, "crm-convert")
    await dialog.get_by_test_id("convert-deal-amount").fill("1200")
    await dialog.get_by_test_id("convert-submit").tap()
    await expect(dialog).to_be_hidden()
    await crm_of(admin, conversation["id"], "deal_id")

    await row.get_by_test_id("lead-open").tap()
    await expect(page.get_by_test_id("crm-card")).to_be_visible()
    await expect(page.get_by_test_id("timeline-entry").first).to_be_visible()
    await fits(page, "crm-lead-card")
    for tab in ("contacts", "companies", "deals"):
        await page.get_by_test_id(f"crm-tab-{tab}").tap()
        await page.wait_for_load_state("networkidle")
        await fits(page, f"crm-{tab}")
    await expect(page.get_by_test_id("deal-card")).to_have_count(1)
    await page.get_by_test_id("crm-tab-contacts").tap()
    await page.get_by_test_id("contact-row").first.get_by_role("button").tap()
    await expect(page.get_by_test_id("write-to-client")).to_be_visible()
    await fits(page, "crm-contact-card")
    await visitor.close()


async def test_admin_screens_fit_a_phone_in_russian(
    base_url: str, admin: Api, browser: Browser
) -> None:
    """Russian words are the longer ones: every screen of an admin, in Russian."""
    world = await make_line(admin, operators=2, **CRM_LINE)
    await admin.create_channel(world.line["id"], "api", {"webhook_url": "https://example.com/h"})
    admin.user = {**(admin.user or {}), "email": ADMIN_EMAIL}
    page = await phone(browser, base_url, admin, lang="ru", password=ADMIN_PASSWORD)
    await fits(page, "admin-inbox-ru")
    for view in ("board", "crm", "answers", "users", "lines", "channels"):
        await page.get_by_test_id(f"nav-{view}").tap()
        await page.wait_for_load_state("networkidle")
        await fits(page, f"admin-{view}-ru")
    # The channels of the line with its widget: the embed snippet and the webhook address.
    await page.get_by_test_id("channel-line").select_option(world.line["id"])
    await expect(page.get_by_test_id("channel-row")).to_have_count(2)
    await expect(page.get_by_test_id("embed-snippet")).to_be_visible()
    await fits(page, "admin-channels-line-ru")
    await page.get_by_test_id("channel-row").first.get_by_test_id("channel-edit").tap()
    await expect(page.get_by_test_id("channel-edit-form")).to_be_visible()
    await fits(page, "admin-channel-edit-ru")

    await page.get_by_test_id("nav-lines").tap()
    await page.get_by_test_id("line-new").tap()
    editor = page.get_by_test_id("line-editor")
    await editor.get_by_test_id("wh-enabled").check()
    await editor.get_by_test_id("wh-add-sat").tap()
    await expect(editor.get_by_test_id("wh-day-sat").get_by_test_id("wh-start")).to_be_visible()
    await fits(page, "admin-line-editor-ru")
    await editor.get_by_test_id("line-name").fill("Продажи")
    await editor.get_by_test_id("line-save").tap()
    await expect(page.get_by_test_id("line-row").filter(has_text="Продажи")).to_be_visible()

    await page.get_by_test_id("nav-users").tap()
    await expect(page.get_by_test_id("user-row")).to_have_count(3)
    await fits(page, "admin-users-ru")
    # The screens row scrolls in its own box: the last screen is reachable by scrolling it.
    last = page.get_by_test_id("nav-channels")
    await last.scroll_into_view_if_needed()
    await in_view(page, "nav-channels")
    await fits(page, "admin-nav-scrolled-ru")


async def test_the_newest_message_stays_in_view_when_its_picture_loads(
    base_url: str, admin: Api, browser: Browser, http: aiohttp.ClientSession
) -> None:
    """The thread scrolls to its newest message, a picture, before the picture has loaded:
    its size comes with the attachment, so the room is kept and the message stays in view."""
    world = await make_line(admin, operators=1)
    op = world.operators[0]
    socket = await operator_socket(base_url, op.token or "")
    visitor, _ = await visitor_says(base_url, world.key, "Hello")
    conversation_id = await accept_next(socket)
    for n in range(20):
        await reply(socket, conversation_id, f"Line {n} of a long answer")
    token = (await visitor.events.wait("session"))["token"]
    form = aiohttp.FormData()
    form.add_field("file", png_bytes(600, 900), filename="receipt.png")
    async with http.post(
        f"{base_url}/api/v1/widget/uploads", data=form, headers={"X-Visitor-Token": token}
    ) as response:
        assert response.status == 201
        uploaded = await response.json()
    assert (uploaded["width"], uploaded["height"]) == (600, 900)
    ack = await visitor.call(
        "message:send",
        {"text": "The receipt", "client_msg_id": new_msg_id(), "attachments": [uploaded["id"]]},
    )
    assert ack["ok"], ack
    assert ack["message"]["attachments"][0]["width"] == 600

    page = await phone(browser, base_url, op)
    # The picture is held back until the thread has been drawn and scrolled to its end.
    release = asyncio.Event()

    async def hold(route: Route) -> None:
        await release.wait()
        await route.continue_()

    await page.route(f"**/api/v1/files/{uploaded['id']}", hold)
    await page.get_by_test_id("conversation-item").first.tap()
    newest = page.get_by_test_id("message").last
    await expect(newest).to_contain_text("The receipt")
    picture = newest.locator("img.preview-img")
    await expect(picture).to_have_attribute("width", "120")
    await expect(picture).to_have_attribute("height", "180")
    release.set()
    await page.wait_for_function(
        "el => el.complete && el.naturalWidth === 600", arg=await picture.element_handle()
    )
    await assert_newest_in_view(page, "[data-testid=thread]", "[data-testid=message]")
    await shot(page, "phone-picture-in-view")
    await visitor.close()
    await socket.close()


async def assert_newest_in_view(page: Page, thread: str, message: str) -> None:
    """The last ``message`` of ``thread`` is wholly inside the thread's visible box."""

    async def where() -> dict[str, float]:
        result: dict[str, float] = await page.evaluate(
            """([thread, message]) => {
              const box = document.querySelector(thread);
              const all = box.querySelectorAll(message);
              const last = all[all.length - 1].getBoundingClientRect();
              const view = box.getBoundingClientRect();
              return {top: last.top - view.top, bottom: view.bottom - last.bottom,
                      gap: box.scrollHeight - box.scrollTop - box.clientHeight};
            }""",
            [thread, message],
        )
        return result

    # Two frames for layout to settle after the load event.
    await page.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    place = await where()
    assert place["top"] >= -1 and place["bottom"] >= -1, place
