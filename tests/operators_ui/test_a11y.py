"""Issue 15, point 14: axe-core finds no serious or critical violation on any screen of the
console (each role's: inbox tabs, an open conversation, the client card, board, users, lines,
the line editor, channels, quick answers, the CRM's lists and record card, the sign-in form)
nor in the open widget on /demo; in English and Russian, on a desktop and at 390 × 844.
One real ``openlines serve`` for the whole walk."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
from playwright.async_api import Browser, BrowserContext, Page, expect

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


async def admin_walk(page: Page, scan: Scan, where: str) -> None:
    await open_tab(page, "all")
    await expect(page.get_by_test_id("conversation-item").first).to_be_visible()
    for tab in ("offered", "mine", "pinned", "queue", "all"):
        await open_tab(page, tab)
        await scan(page, f"{where} inbox {tab}")
    await open_tab(page, "closed")
    await expect(page.get_by_test_id("conversation-item").first).to_be_visible()
    await scan(page, f"{where} inbox closed")
    await open_tab(page, "all")
    await page.get_by_test_id("conversation-item").first.click()
    await expect(page.get_by_test_id("message").first).to_be_visible()
    await scan(page, f"{where} conversation")
    await page.get_by_test_id("client-name").click()
    await expect(page.get_by_test_id("client-card")).to_be_visible()
    await scan(page, f"{where} client card")

    await page.get_by_test_id("nav-board").click()
    await expect(page.get_by_test_id("board-operator").first).to_be_visible()
    await scan(page, f"{where} board")
    await page.get_by_test_id("nav-users").click()
    await expect(page.get_by_test_id("user-row").first).to_be_visible()
    await scan(page, f"{where} users")
    await page.get_by_test_id("nav-lines").click()
    await expect(page.get_by_test_id("line-row").first).to_be_visible()
    await scan(page, f"{where} lines")
    await page.get_by_test_id("line-row").last.get_by_role("button").click()
    await expect(page.get_by_test_id("line-editor")).to_be_visible()
    await scan(page, f"{where} line editor")
    await page.get_by_test_id("nav-channels").click()
    await page.get_by_test_id("channel-line").select_option(label="Demo support")
    demo_widget = page.get_by_test_id("channel-row").filter(has_text="Demo shop")
    await expect(demo_widget.get_by_test_id("embed-snippet")).to_be_visible()
    await scan(page, f"{where} channels")
    await demo_widget.get_by_test_id("channel-edit").click()
    await expect(page.get_by_test_id("channel-edit-form")).to_be_visible()
    await scan(page, f"{where} channel editor")
    await page.get_by_test_id("nav-answers").click()
    await expect(page.get_by_test_id("qa-form")).to_be_visible()
    await scan(page, f"{where} quick answers")

    await page.get_by_test_id("nav-crm").click()
    await expect(page.get_by_test_id("lead-row").first).to_be_visible()
    await scan(page, f"{where} crm leads")
    await page.get_by_test_id("convert").first.click()  # the lead not converted yet
    await expect(page.get_by_test_id("convert-dialog")).to_be_visible()
    await scan(page, f"{where} crm convert dialog")
    await page.get_by_test_id("convert-dialog").get_by_role("button").last.click()
    await expect(page.get_by_test_id("convert-dialog")).to_have_count(0)
    await page.get_by_test_id("lead-row").first.get_by_test_id("lead-open").click()
    await expect(page.get_by_test_id("timeline-entry").first).to_be_visible()
    await scan(page, f"{where} crm lead card")
    for tab, row in (("contacts", "contact-row"), ("companies", None), ("deals", "deal-card")):
        await page.get_by_test_id(f"crm-tab-{tab}").click()
        if row:
            await expect(page.get_by_test_id(row).first).to_be_visible()
        else:
            await page.wait_for_load_state("networkidle")
        await scan(page, f"{where} crm {tab}")
        if tab == "contacts":  # the contact's card, with its "write to the client" form
            await page.get_by_test_id("contact-row").first.get_by_role("button").click()
            await expect(page.get_by_test_id("write-to-client")).to_be_visible()
            await scan(page, f"{where} crm contact card")
    if await page.get_by_test_id("menu").is_visible():  # a phone's header folds the account
        await page.get_by_test_id("menu").click()
        await expect(page.get_by_test_id("sign-out")).to_be_visible()
        await scan(page, f"{where} header menu")


async def operator_walk(page: Page, scan: Scan, where: str) -> None:
    await open_tab(page, "offered")
    await expect(page.get_by_test_id("accept").first).to_be_visible()
    await scan(page, f"{where} inbox offered")
    await open_tab(page, "mine")
    await page.get_by_test_id("conversation-item").first.click()
    await expect(page.get_by_test_id("composer")).to_be_visible()
    await scan(page, f"{where} conversation with composer")
    await page.get_by_test_id("transfer").click()
    await expect(page.get_by_test_id("transfer-picker")).to_be_visible()
    await scan(page, f"{where} transfer picker")


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
    assert scan.screens == 2 * (28 + 29)  # desktop, and a phone's account menu too
