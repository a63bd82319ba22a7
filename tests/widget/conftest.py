"""Fixtures of the widget suite: a real Chromium (Debian's, driven by Playwright), a customer
site on its own origin that embeds the widget, and a cuttable TCP path to the hub."""

from __future__ import annotations

import html
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, Page, async_playwright

from hub.settings import Settings
from tests.conftest import hub_for, make_settings
from tests.widget.support import CuttableProxy

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "widget"
UPLOAD_LIMIT = 256 * 1024

# A customer's page with blunt CSS of its own: the widget must look the same anyway, and must
# not restyle the page. Responsive, as sites are: on a phone it is as wide as the screen.
SITE_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Customer site</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>button {{ display: none !important; }} p {{ color: rgb(1, 2, 3); }}</style>
</head><body>
<p id="page-text">Welcome to our shop</p><button id="page-button">Buy</button>
<script async src="{hub}/widget/loader.js" data-openlines-key="{key}"{attrs}></script>
</body></html>
"""


@pytest.fixture
def base_url(request: pytest.FixtureRequest, settings: Settings) -> str:
    # ``settings`` named here: the test's settings (and their parametrisation) decide the hub.
    return hub_for(request)


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """Settings a test needs (limits made small); parametrize this name to set them."""
    return {}


@pytest.fixture
def settings(
    mongo_url: str, db_name: str, tmp_path: Path, settings_overrides: dict[str, Any]
) -> Settings:
    # A small upload limit keeps the oversized-file test fast.
    values: dict[str, Any] = {"upload_max_bytes": UPLOAD_LIMIT, **settings_overrides}
    return make_settings(mongo_url, db_name, tmp_path / "data", **values)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as p:
        chromium = await p.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        await chromium.close()


SiteFactory = Callable[..., Awaitable[str]]


@pytest.fixture
async def customer_site() -> AsyncIterator[SiteFactory]:
    """``await customer_site(hub_base, key, **data)`` serves a page embedding that widget, its
    script tag also carrying ``data-openlines-<name>="<value>"`` for each of ``data``; its URL."""
    servers: list[TestServer] = []

    async def serve(hub_base: str, key: str, **data: str) -> str:
        attrs = "".join(
            f' data-openlines-{name.replace("_", "-")}="{html.escape(value)}"'
            for name, value in data.items()
        )

        async def page(request: web.Request) -> web.Response:
            return web.Response(
                text=SITE_PAGE.format(hub=hub_base, key=key, attrs=attrs),
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


async def shot(page: Page, name: str) -> None:
    """Keep a screenshot of this state for CI artifacts (tests/artifacts, git-ignored)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


@pytest.fixture
async def proxy(base_url: str) -> AsyncIterator[CuttableProxy]:
    """A cuttable TCP path in front of the hub (the page reaches the hub through it)."""
    cuttable = await CuttableProxy(int(base_url.rsplit(":", 1)[1])).start()
    yield cuttable
    await cuttable.close()
