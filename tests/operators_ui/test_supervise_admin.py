"""Acceptance 4-6 of the console issue: the queue tab and the supervisor board against the state
the test made; an admin sets up a line with working hours and a widget whose copied snippet
works on a test page; every visible label switches language."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, Page, expect

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.operators_ui.conftest import I18N_PATH, open_tab, shot, sign_in
from tests.support.clients import Api, operator_socket
from tests.support.waiting import eventually
from tests.support.world import make_line, visitor_says
from tests.widget.support import accept_next, reply


async def test_queue_tab_and_board_match_the_state(
    base_url: str, admin: Api, browser: Browser
) -> None:
    supervisor = await admin.create_user("supervisor")
    world = await make_line(
        admin,
        operators=1,
        supervisors=[supervisor.user["id"]],
        max_active_per_operator=1,  # type: ignore[index]
    )
    op = world.operators[0]
    socket = await operator_socket(base_url, op.token or "")
    first, _ = await visitor_says(base_url, world.key, "first client")
    conversation_id = await accept_next(socket)
    await reply(socket, conversation_id, "hello first")
    waiting = [(await visitor_says(base_url, world.key, f"waiting {i}"))[0] for i in range(2)]

    page = await sign_in(browser, base_url, supervisor)
    await open_tab(page, "queue")
    rows = page.get_by_test_id("conversation-item")
    await expect(rows).to_have_count(2)
    for i in range(2):
        # (The preview may already be the line's queue notice rather than the client's text.)
        await expect(rows.nth(i).get_by_test_id("wait-time")).to_have_text(
            re.compile(r"waiting \d+ (s|min)")
        )
    await shot(page, "07-queue")

    await page.get_by_test_id("nav-board").click()
    await expect(page.get_by_test_id("board-waiting")).to_have_text("2")
    await expect(page.get_by_test_id("board-active")).to_have_text("1")
    await expect(page.get_by_test_id("board-today")).to_have_text("3")
    await expect(page.get_by_test_id("board-longest-wait")).to_have_text(
        re.compile(r"\d+ (s|min)")
    )
    await expect(page.get_by_test_id("board-avg-first-response")).to_have_text(
        re.compile(r"\d+ (s|min)")
    )
    row = page.get_by_test_id("board-operator")
    await expect(row).to_have_count(1)
    await expect(row.get_by_test_id("board-operator-status")).to_have_attribute(
        "data-status", "online"
    )
    await expect(row.get_by_test_id("board-operator-load")).to_have_text("1 / 1")
    await expect(row.get_by_test_id("board-operator-today")).to_have_text("1")
    # The numbers supervisors compare are charts: today's conversations by hour and by operator.
    hours = page.get_by_test_id("board-hour-bar")
    await expect(hours).to_have_count(24)
    counts = await hours.evaluate_all("bars => bars.map(b => Number(b.dataset.count))")
    assert sum(counts) == 3
    bar = page.get_by_test_id("board-operator-bar")
    await expect(bar).to_have_attribute("data-count", "1")
    # Live: the operator goes away and the board follows without a reload.
    await socket.call("status:set", {"status": "away"})
    await expect(row.get_by_test_id("board-operator-status")).to_have_attribute(
        "data-status", "away"
    )
    await shot(page, "08-board")
    for client in [first, *waiting]:
        await client.close()
    await socket.close()


@pytest.fixture
async def test_site() -> AsyncIterator[Any]:
    servers: list[TestServer] = []

    async def serve(snippet: str) -> str:
        async def page(request: web.Request) -> web.Response:
            return web.Response(
                text=f"<!doctype html><html><body><p>Shop</p>{snippet}</body></html>",
                content_type="text/html",
            )

        app = web.Application()
        app.router.add_get("/", page)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        servers.append(server)
        return str(server.make_url("/"))

    yield serve
    for server in servers:
        await server.close()


async def test_admin_sets_up_a_line_with_hours_and_a_widget(
    base_url: str, admin: Api, browser: Browser, test_site: Any
) -> None:
    operator = await admin.create_user("operator", name="Olga Operator")
    admin.user = {**(admin.user or {}), "email": ADMIN_EMAIL}
    page = await sign_in(browser, base_url, admin, password=ADMIN_PASSWORD)
    await page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    await page.get_by_test_id("nav-lines").click()
    await page.get_by_test_id("line-new").click()
    editor = page.get_by_test_id("line-editor")
    await editor.get_by_test_id("line-name").fill("Sales")
    await editor.locator(
        f"[data-testid=line-operator][data-user-id='{operator.user['id']}']"  # type: ignore[index]
    ).check()
    await editor.get_by_test_id("line-distribution").select_option("all_at_once")
    await editor.get_by_test_id("line-accept_timeout_s").fill("45")
    await editor.get_by_test_id("wh-enabled").check()
    await editor.get_by_test_id("wh-timezone").fill("Europe/Moscow")
    await editor.get_by_test_id("wh-add-sat").click()
    sat = editor.get_by_test_id("wh-day-sat")
    await sat.get_by_test_id("wh-start").fill("10:00")
    await sat.get_by_test_id("wh-end").fill("14:00")
    await editor.get_by_test_id("holiday-input").fill("2026-12-31")
    await editor.get_by_test_id("holiday-add").click()
    await editor.get_by_test_id("line-msg-after_hours").fill("We are closed, back soon.")
    await shot(page, "09-line-editor")
    await editor.get_by_test_id("line-save").click()
    await expect(page.get_by_test_id("line-row").filter(has_text="Sales")).to_be_visible()

    lines = (await admin.get("/api/v1/lines"))["lines"]
    line = next(x for x in lines if x["name"] == "Sales")
    assert line["operators"] == [operator.user["id"]]  # type: ignore[index]
    assert line["distribution"] == "all_at_once" and line["accept_timeout_s"] == 45
    hours = line["working_hours"]
    assert hours["timezone"] == "Europe/Moscow"
    assert hours["week"]["sat"] == [["10:00", "14:00"]]
    assert hours["week"]["mon"] == [["09:00", "18:00"]]
    assert hours["holidays"] == ["2026-12-31"]
    assert line["messages"]["after_hours"] == "We are closed, back soon."

    await page.get_by_test_id("nav-channels").click()
    await page.get_by_test_id("channel-line").select_option(line["id"])
    await page.get_by_test_id("channel-type").select_option("widget")
    await page.get_by_test_id("channel-title").fill("Sales chat")
    await page.get_by_test_id("channel-save").click()
    created = page.get_by_test_id("channel-created")
    await created.get_by_test_id("embed-copy").click()
    await expect(created.get_by_test_id("embed-copy")).to_have_text("Copied")
    snippet = await page.evaluate("navigator.clipboard.readText()")
    assert "/widget/loader.js" in snippet and snippet.startswith(f'<script async src="{base_url}')
    await shot(page, "10-widget-embed")

    site = await page.context.new_page()
    await site.goto(await test_site(snippet))
    await site.get_by_test_id("ol-launcher").click()
    await site.locator("#openlines-widget[data-ol-state=ready]").wait_for(state="attached")
    await site.get_by_test_id("ol-input").fill("Hi from the test page")
    await site.get_by_test_id("ol-send").click()
    listing = await eventually(
        lambda: admin.get(f"/api/v1/conversations?line_id={line['id']}"),
        lambda body: len(body["conversations"]) == 1,
    )
    assert listing["conversations"][0]["channel"]["type"] == "widget"


async def _visible_texts(page: Page) -> set[str]:
    texts: list[str] = await page.evaluate(
        """() => {
        const out = [];
        const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
        while (walker.nextNode()) {
          const node = walker.currentNode, el = node.parentElement;
          if (!el || !el.offsetParent || el.closest('select')) continue;
          const text = node.textContent.trim();
          if (text) out.push(text);
        }
        for (const el of document.querySelectorAll('[placeholder]')) out.push(el.placeholder);
        for (const el of document.querySelectorAll('select')) {
          if (el.offsetParent) out.push(el.options[el.selectedIndex]?.text || '');
        }
        return out;
    }"""
    )
    return {t for t in texts if t}


async def test_every_visible_label_switches_language(
    base_url: str, admin: Api, browser: Browser
) -> None:
    texts = json.loads(I18N_PATH.read_text())
    # "Administrator" is also the bootstrap admin's name: data, not a label.
    en_only = {v for k, v in texts["en"].items() if texts["ru"][k] != v} - {"Administrator"}
    keys = set(texts["en"])
    world = await make_line(admin, operators=1)
    visitor, _ = await visitor_says(base_url, world.key, "Привет")
    admin.user = {**(admin.user or {}), "email": ADMIN_EMAIL}
    page = await sign_in(browser, base_url, admin, password=ADMIN_PASSWORD, lang="ru")
    await open_tab(page, "all")
    await page.get_by_test_id("conversation-item").first.click()
    await expect(page.get_by_test_id("composer")).to_be_visible()
    await page.get_by_test_id("lang-switch").select_option("en")
    english = await _visible_texts(page)
    assert "Sign out" in english and "Join hidden" in english
    await shot(page, "11-english")
    await page.get_by_test_id("lang-switch").select_option("ru")
    await expect(page.get_by_test_id("sign-out")).to_have_text("Выйти")
    russian = await _visible_texts(page)
    await shot(page, "12-russian")
    assert not (russian & en_only), russian & en_only
    assert not (english & keys) and not (russian & keys)  # no raw keys on screen
    for view in ("board", "users", "lines", "channels", "answers"):
        await page.get_by_test_id(f"nav-{view}").click()
        await page.get_by_test_id("sign-out").wait_for()
        leftover = (await _visible_texts(page)) & (en_only | keys)
        assert not leftover, (view, leftover)
    await visitor.close()
