"""Acceptance 8: ``make run`` on an empty data directory gives a working ``/demo`` page, as the
README describes: the first start prints the demo credentials once, the page embeds the widget,
a visitor and the demo operator talk; a restart seeds nothing again."""

from __future__ import annotations

import re
from pathlib import Path

import aiohttp
from playwright.async_api import Browser, expect

from tests.support.clients import Api, operator_socket
from tests.support.processes import REPO, ServeProcess
from tests.widget.conftest import shot
from tests.widget.support import accept_next, reply, send_from_page

CREDENTIALS = re.compile(r"(admin|operator)\s+(\S+@\S+)\s+password: (\S+)")


def test_make_run_turns_the_demo_on() -> None:
    makefile = (REPO / "Makefile").read_text()
    run = makefile.split("\nrun:", 1)[1].split("\n\n", 1)[0]
    assert "OPENLINES_DEMO=$${OPENLINES_DEMO:-true}" in run and "openlines serve" in run


async def test_first_run_seeds_a_working_demo(tmp_path: Path, browser: Browser) -> None:
    # What `make run` does, on an empty data directory (embedded database, no admin set).
    env = {"OPENLINES_DATA_DIR": str(tmp_path / "data"), "OPENLINES_DEMO": "true"}
    hub = await ServeProcess(env, tmp_path / "first.log").start()
    try:
        printed = dict(
            (role, (email, password)) for role, email, password in CREDENTIALS.findall(hub.log())
        )
        assert set(printed) == {"admin", "operator"}, hub.log()
        async with aiohttp.ClientSession() as http:
            async with http.get(hub.url + "/demo") as response:
                assert response.status == 200
                page_html = await response.text()
            assert '<script async src="/widget/loader.js" data-openlines-key="' in page_html
            operator_api = await Api(hub.url, http).login(*printed["operator"])
            admin_api = await Api(hub.url, http).login(*printed["admin"])
            operator = await operator_socket(hub.url, operator_api.token or "")

            page = await browser.new_page()
            refused: list[str] = []
            page.on("response", lambda r: refused.append(r.url) if r.status >= 400 else None)
            await page.goto(hub.url + "/demo")
            await page.get_by_test_id("ol-launcher").click()
            await page.get_by_test_id("ol-prechat-name").fill("Demo visitor")
            await page.get_by_test_id("ol-prechat-submit").click()
            await expect(page.get_by_test_id("ol-greeting")).to_contain_text("Ask us anything")
            await send_from_page(page, "Hello from the demo page")
            conversation_id = await accept_next(operator)
            await reply(operator, conversation_id, "Hello from the console")
            await expect(page.get_by_test_id("ol-message")).to_have_count(2)
            assert refused == []  # not even a favicon
            icon = await page.locator("link[rel=icon]").get_attribute("href")
            assert icon and icon.startswith("data:image/svg+xml")
            await shot(page, "22-demo")
            await page.close()  # open sockets would hold up the graceful stop
            await operator.close()
            lines = (await admin_api.get("/api/v1/lines"))["lines"]
            assert [line["name"] for line in lines] == ["Demo support"]
    finally:
        assert await hub.stop() == 0

    # A second start keeps the demo and seeds nothing, prints no password.
    again = await ServeProcess(env, tmp_path / "second.log").start()
    try:
        assert "password" not in again.log()
        async with aiohttp.ClientSession() as http:
            async with http.get(again.url + "/demo") as response:
                assert response.status == 200
                assert await response.text() == page_html
            admin_api = await Api(again.url, http).login(*printed["admin"])
            assert len((await admin_api.get("/api/v1/lines"))["lines"]) == 1
    finally:
        await again.stop()


async def test_demo_off_seeds_nothing(tmp_path: Path) -> None:
    env = {"OPENLINES_DATA_DIR": str(tmp_path / "data"), "OPENLINES_DEMO": "false"}
    hub = await ServeProcess(env, tmp_path / "serve.log").start()
    try:
        assert "password" not in hub.log()
        async with aiohttp.ClientSession() as http, http.get(hub.url + "/demo") as response:
            assert response.status == 404
            assert (await response.json())["error"]["code"] == "no_demo"
    finally:
        await hub.stop()
