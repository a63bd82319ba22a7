"""Issue 15, point 14: axe-core finds no serious or critical violation on any screen of the
console (each role's: inbox tabs, an open conversation, its spam and block dialogs, the client
card, a closed conversation with the supervisor's rating form, board, users, lines,
the line editor, channels, quick answers, the CRM's lists and record card, the sign-in form)
nor in the open widget on /demo; in English and Russian, on a desktop and at 390 × 844.
One real ``openlines serve`` for the whole walk."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
from playwright.async_api import Browser, BrowserContext, Locator, Page, expect

from hub.settings import Settings
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Spawn, settings_env
from tests.crm_bridge.test_crm import CRM_LINE, crm_of, widget_visitor
from tests.operators_ui.conftest import open_tab, sign_in
from tests.support.axe import violations
from tests.support.clients import Api, operator_socket
from tests.support.world import make_line
from tests.widget.support import accept_next, reply, send_from_page

DESKTOP: dict[str, Any] = {"viewport": {"width": 1280, "height": 800}}
PHONE: dict[str, Any] = {
    "viewport": {"width": 390, "height": 844},
    "is_mobile": True,
    "has_touch": True,
}
LAYOUTS = {"desktop": DESKTOP, "phone": PHONE}


class Scan:
    """Collects what axe finds, screen by screen, so one run reports every screen at once."""

    def __init__(self) -> None:
        self.found: dict[str, list[str]] = {}
        self.screens = 0

    async def __call__(self, page: Page, screen: str) -> None:
        self.screens += 1
        found = await violations(page)
        if found:
            self.found[screen] = found

    def report(self) -> str:
        return "\n".join(
            f"{screen}:\n" + "\n".join(f"  {line}" for line in lines)
            for screen, lines in self.found.items()
        )


class Walk:
    """One page's walk through screens: each step clicks, waits for what it shows, scans."""

    def __init__(self, page: Page, scan: Scan, where: str) -> None:
        self.page, self.scan, self.where = page, scan, where

    def find(self, target: Locator | str) -> Locator:
        """``target`` itself, or the elements with that test id."""
        return self.page.get_by_test_id(target) if isinstance(target, str) else target

    async def to(self, click: Locator | str, shown: Locator | str | None, screen: str) -> None:
        await self.find(click).click()
        if shown is None:
            await self.page.wait_for_load_state("networkidle")
        else:
            await expect(self.find(shown).first).to_be_visible()
        await self.scan(self.page, f"{self.where} {screen}")


async def admin_walk(page: Page, scan: Scan, where: str) -> None:
    walk = Walk(page, scan, where)
    rows = walk.find("conversation-item")
    await open_tab(page, "all")
    await expect(rows.first).to_be_visible()
    for tab in ("offered", "mine", "pinned", "queue", "all", "closed"):
        await walk.to(f"tab-{tab}", rows if tab in ("all", "closed") else None, f"inbox {tab}")
    await open_tab(page, "all")
    await walk.to(rows.first, "message", "conversation")
    for action in ("spam", "client-name", "block"):  # the dialogs, cancelled; the card between
        shown = {"spam": "spam-dialog", "client-name": "client-card", "block": "block-dialog"}
        await walk.to(action, shown[action], shown[action].replace("-", " "))
        if action != "client-name":
            await walk.find(shown[action]).get_by_test_id("confirm-no").click()
            await expect(walk.find(shown[action])).to_have_count(0)
    if await walk.find("back").is_visible():  # a phone shows the list or the conversation
        await walk.find("back").click()
    await open_tab(page, "closed")
    await walk.to(rows.first, "rate-form", "closed conversation with the rating form")

    await walk.to("nav-board", "board-operator", "board")
    await walk.to("nav-users", "user-row", "users")
    await walk.to("nav-lines", "line-row", "lines")
    edit_line = walk.find("line-row").last.get_by_test_id("line-edit")
    await walk.to(edit_line, "line-editor", "line editor")
    await walk.find("nav-channels").click()
    # The demo line's widget, by name: the rows of the line shown before may still be there.
    demo_widget = walk.find("channel-row").filter(has_text="Demo shop")
    await walk.find("channel-line").select_option(label="Demo support")
    await expect(demo_widget.get_by_test_id("embed-snippet")).to_be_visible()
    await scan(page, f"{where} channels")
    await walk.to(
        demo_widget.get_by_test_id("channel-edit"), "channel-edit-form", "channel editor"
    )
    await walk.to("nav-answers", "qa-form", "quick answers")

    await walk.to("nav-crm", "lead-row", "crm leads")
    # The lead not converted yet.
    await walk.to(walk.find("convert").first, "convert-dialog", "crm convert dialog")
    await walk.find("convert-dialog").get_by_role("button").last.click()  # Cancel
    await expect(walk.find("convert-dialog")).to_have_count(0)
    lead = walk.find("lead-row").first.get_by_test_id("lead-open")
    await walk.to(lead, "timeline-entry", "crm lead card")
    await walk.to("crm-tab-contacts", "contact-row", "crm contacts")
    contact = walk.find("contact-row").first.get_by_role("button")
    await walk.to(contact, "write-to-client", "crm contact card")
    await walk.to("crm-tab-companies", None, "crm companies")
    await walk.to("crm-tab-deals", "deal-card", "crm deals")
    if await walk.find("menu").is_visible():  # a phone's header folds the account
        await walk.to("menu", "sign-out", "header menu")


async def operator_walk(page: Page, scan: Scan, where: str) -> None:
    walk = Walk(page, scan, where)
    await walk.to("tab-offered", "accept", "inbox offered")
    await open_tab(page, "mine")
    await walk.to(walk.find("conversation-item").first, "composer", "conversation with composer")
    await walk.to("transfer", "transfer-picker", "transfer picker")


async def widget_walk(context: BrowserContext, url: str, scan: Scan, where: str) -> None:
    page = await context.new_page()
    await page.goto(url + "/demo")
    await page.get_by_test_id("ol-launcher").click()
    await expect(page.get_by_test_id("ol-prechat-name")).to_be_visible()
    await scan(page, f"{where} widget pre-chat")
    await page.get_by_test_id("ol-prechat-name").fill("Visitor")
    await page.get_by_test_id("ol-prechat-submit").click()
    await expect(page.get_by_test_id("ol-greeting")).to_be_visible()
    await send_from_page(page, "Hello")
    await expect(page.get_by_test_id("ol-message")).to_have_count(1)
    await scan(page, f"{where} widget")
    await page.close()


async def test_every_screen_passes_axe(
    settings: Settings, spawn: Spawn, http: aiohttp.ClientSession, browser: Browser
) -> None:
    server = await spawn({**settings_env(settings), "OPENLINES_DEMO": "true"})
    url = server.url
    admin = await Api(url, http).login(ADMIN_EMAIL, ADMIN_PASSWORD)
    admin.user = {**(admin.user or {}), "email": ADMIN_EMAIL}
    world = await make_line(
        admin, operators=1, accept_timeout_s=600, supervisors=[admin.user["id"]], **CRM_LINE
    )
    operator = world.operators[0]
    socket = await operator_socket(url, operator.token or "")
    # A conversation the operator answers, one closed, one waiting for them (an offer).
    visitors, taken = [], frozenset[str]()
    for text, name in (("Where is my parcel?", "Anna"), ("A closed question", "Boris")):
        visitor, message = await widget_visitor(
            url, world, text, name=name, email=f"{name.lower()}@example.com"
        )
        visitors.append(visitor)
        await crm_of(admin, message["conversation_id"], "lead_id")
        conversation_id = await accept_next(socket, taken)
        taken |= {conversation_id}
        await reply(socket, conversation_id, f"Hello, {name}")
    ack = await socket.call("conversation:close", {"id": conversation_id})
    assert ack["ok"], ack
    leads = (await admin.get("/api/v1/crm/leads"))["leads"]
    await admin.post(
        f"/api/v1/crm/leads/{leads[0]['id']}/convert",
        {"contact": True, "deal": {"title": "Parcel", "amount": 100}},
    )
    await operator.post(
        "/api/v1/console/quick-answers", {"title": "Hello", "text": "Hello, how can I help?"}
    )
    visitor, _ = await widget_visitor(url, world, "Is anyone there?", name="Vera")
    visitors.append(visitor)
    await socket.events.wait(
        "conversation:offered", lambda d: d["conversation"]["client"]["name"] == "Vera"
    )

    scan = Scan()

    async def walk(lang: str, layout: str) -> None:
        where = f"[{lang} {layout}]"
        options = {**LAYOUTS[layout], "locale": "en-US" if lang == "en" else "ru-RU"}
        context = await browser.new_context(**options)
        login = await context.new_page()
        await login.goto(url + "/")
        await expect(login.get_by_test_id("login-submit")).to_be_visible()
        await scan(login, f"{where} sign-in")
        await widget_walk(context, url, scan, where)
        await context.close()
        page = await sign_in(browser, url, admin, lang=lang, password=ADMIN_PASSWORD, **options)
        await admin_walk(page, scan, where)
        await page.context.close()
        page = await sign_in(browser, url, operator, lang=lang, **options)
        await operator_walk(page, scan, where)
        await page.context.close()

    # The four walks at once: each has its own browser context, and together they stay fast.
    await asyncio.gather(*(walk(lang, layout) for lang in ("en", "ru") for layout in LAYOUTS))
    for visitor in visitors:
        await visitor.close()
    await socket.close()
    assert not scan.found, f"axe found serious or critical violations:\n{scan.report()}"
    assert scan.screens == 2 * (31 + 32)  # desktop, and a phone's account menu too
