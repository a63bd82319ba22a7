"""Acceptance 7 of the console issue: a real ``openlines serve`` is killed and restarted while
the console is open; the console shows a banner, reconnects by itself and shows what was said
meanwhile (re-synced by seq)."""

from __future__ import annotations

import os
import signal

import aiohttp
from playwright.async_api import Browser, expect

from hub.settings import Settings
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Spawn, settings_env
from tests.operators_ui.conftest import open_tab, shot, sign_in
from tests.support.clients import Api, new_msg_id, visitor_socket
from tests.support.waiting import eventually
from tests.support.world import make_line


async def test_console_reconnects_and_resyncs_after_a_restart(
    settings: Settings, spawn: Spawn, http: aiohttp.ClientSession, browser: Browser
) -> None:
    server = await spawn(settings_env(settings))
    admin = await Api(server.url, http).login(ADMIN_EMAIL, ADMIN_PASSWORD)
    world = await make_line(admin, operators=1)
    op = world.operators[0]
    page = await sign_in(browser, server.url, op)
    await eventually(
        lambda: admin.get(f"/api/v1/console/lines/{world.line['id']}/members"),
        lambda body: body["members"][0]["status"] == "online",
    )
    visitor = await visitor_socket(server.url, world.key)
    ack = await visitor.call("message:send", {"text": "before", "client_msg_id": new_msg_id()})
    assert ack["ok"], ack
    token = visitor.events.all("session")[0]["token"]
    await open_tab(page, "offered")
    await page.get_by_test_id("accept").first.click()
    await expect(page.get_by_test_id("message").filter(has_text="before")).to_be_visible()
    await visitor.close()

    os.kill(server.pid, signal.SIGKILL)
    await server.stop()  # reaps the killed process
    await expect(page.get_by_test_id("connection-banner")).to_be_visible()
    await shot(page, "13-connection-lost")
    await server.start()  # the same port, the same database

    # The visitor writes while the console is still finding its way back.
    visitor = await visitor_socket(server.url, world.key, token)
    for text in ("during one", "during two"):
        ack = await visitor.call("message:send", {"text": text, "client_msg_id": new_msg_id()})
        assert ack["ok"], ack
    await expect(page.get_by_test_id("connection-banner")).to_be_hidden(timeout=20000)
    thread = page.get_by_test_id("message")
    await expect(thread.filter(has_text="during one")).to_have_count(1)
    await expect(thread.filter(has_text="during two")).to_have_count(1)
    await expect(thread.filter(has_text="before")).to_have_count(1)
    await shot(page, "14-resynced")
    # And live again: a reply from the console reaches the visitor.
    await page.get_by_test_id("composer").fill("Back online")
    await page.get_by_test_id("composer").press("Enter")
    await visitor.events.wait("message:new", lambda d: d["message"]["text"] == "Back online")
    await visitor.close()
