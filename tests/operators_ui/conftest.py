"""Fixtures of the console suite: Debian's Chromium driven by Playwright (never a downloaded
browser), signing in through the real form, and screenshots kept for CI."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from hub.settings import Settings
from tests.conftest import hub_for
from tests.support.clients import Api
from tests.widget.conftest import CHROMIUM, CHROMIUM_ARGS

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "console"
PASSWORD = "correct horse battery"  # what Api.create_user gives every user


@pytest.fixture
def base_url(request: pytest.FixtureRequest, settings: Settings) -> str:
    # ``settings`` named here: the test's settings (and their parametrisation) decide the hub.
    return hub_for(request)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    # Launching Debian's Chromium takes ~0.2 s, so each test gets its own (an async module-scoped
    # browser would need a module-scoped event loop, which the function-scoped servers forbid).
    async with async_playwright() as p:
        chromium = await p.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        await chromium.close()


async def shot(page: Page, name: str) -> None:
    """Keep a screenshot of this state for CI artifacts (tests/artifacts, git-ignored)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


async def sign_in(
    browser: Browser,
    base_url: str,
    api: Api,
    *,
    lang: str = "en",
    password: str = PASSWORD,
    **context_options: Any,
) -> Page:
    """A new browser context signed in as ``api.user`` through the login form;
    ``context_options`` override the context's (a phone's viewport, touch)."""
    context = await browser.new_context(
        **{
            "viewport": {"width": 1280, "height": 800},
            "locale": "en-US" if lang == "en" else "ru-RU",
            **context_options,
        }
    )
    page = await context.new_page()
    await page.goto(base_url + "/")
    assert api.user is not None
    await page.get_by_test_id("login-email").fill(api.user["email"])
    await page.get_by_test_id("login-password").fill(password)
    await page.get_by_test_id("login-submit").click()
    await expect(page.get_by_test_id("status-switch")).to_be_visible()
    return page


async def open_tab(page: Page, tab: str) -> None:
    await page.get_by_test_id(f"tab-{tab}").click()


I18N_PATH = Path(__file__).resolve().parents[2] / "operators_ui" / "src" / "i18n" / "strings.json"
