"""Issue 15, point 11: start and stop as an admin does them. The port comes from ``PORT`` /
``OPENLINES_PORT`` and the first-start banner prints the address served; a Ctrl-C with browser
tabs open (the console and the demo's chat in Chromium, a chat on a long poll) stops within 5 s
and cleanly; a start right after it on the same data directory comes up."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest
import socketio
from playwright.async_api import Browser, expect

from hub.embedded import free_port
from tests.support.processes import REPO
from tests.widget.support import open_widget

pytestmark = [pytest.mark.processes, pytest.mark.timeout(240)]

STOP_WITHIN_S = 5.0


class Terminal:
    """``openlines serve`` as a terminal runs it: its own process group, which a Ctrl-C
    (SIGINT to the whole foreground group) reaches as a whole."""

    def __init__(self, data_dir: Path, log: Path, **env: str) -> None:
        self.port = int(env.get("OPENLINES_PORT", 0)) or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("OPENLINES_")}
        self.env.update(env)
        self.env.update(OPENLINES_DATA_DIR=str(data_dir), OPENLINES_PORT=str(self.port))
        self.process: subprocess.Popen[bytes] | None = None

    async def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(  # noqa: ASYNC220 -- returns at once
                [sys.executable, "-m", "hub.cli", "serve"],  # no --port: the setting's
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=REPO,
                start_new_session=True,
            )
        deadline = time.monotonic() + 90
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise AssertionError(f"serve exited {self.process.returncode}: {self.text()}")
                try:
                    async with http.get(self.url + "/healthz") as response:
                        if response.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
        raise AssertionError(f"serve did not answer: {self.text()}")

    async def ctrl_c(self) -> tuple[int, float]:
        """SIGINT to the group; the exit code and how long the stop took."""
        assert self.process is not None
        started = time.monotonic()
        os.killpg(self.process.pid, signal.SIGINT)
        code = await asyncio.to_thread(self.process.wait, 60)
        return code, time.monotonic() - started

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def text(self) -> str:
        return self.log.read_text(errors="replace")


async def long_poll(url: str, key: str) -> socketio.AsyncClient:
    """A tab whose transport is a long poll (a browser behind a proxy without websockets)."""
    tab = socketio.AsyncClient(reconnection=False)
    await tab.connect(
        url,
        namespaces=["/widget"],
        auth={"key": key},
        transports=["polling"],
        headers={"Origin": url},
        wait_timeout=20,
    )
    return tab


@pytest.mark.serial  # it measures the stop: alone, as the other timing tests
async def test_port_banner_and_a_stop_with_open_tabs_then_a_start(
    tmp_path: Path, browser: Browser
) -> None:
    data = tmp_path / "data"
    hub = Terminal(data, tmp_path / "serve.log", OPENLINES_DEMO="true")
    try:
        await hub.start()
        # The banner names the address actually served, for the demo and the console.
        assert f"{hub.url}/demo" in hub.text()
        assert f"on {hub.url}" in hub.text()
        password = re.search(r"admin\s+admin@example.com\s+password: (\S+)", hub.text())
        assert password is not None

        # Open tabs, as an admin has them: the console signed in, the demo site's open chat,
        # and a chat on a long poll.
        console = await browser.new_page()
        await console.goto(hub.url + "/")
        await console.get_by_test_id("login-email").fill("admin@example.com")
        await console.get_by_test_id("login-password").fill(password.group(1))
        await console.get_by_test_id("login-submit").click()
        await expect(console.get_by_test_id("status-switch")).to_be_visible()
        site = await open_widget(browser, hub.url + "/demo")
        key = await site.locator("script[data-openlines-key]").get_attribute("data-openlines-key")
        assert key
        poll = await long_poll(hub.url, key)

        code, took = await hub.ctrl_c()
        assert code == 0, hub.text()
        assert took < STOP_WITHIN_S, f"the stop took {took:.1f} s"
        assert "CRITICAL" not in hub.text()
        await poll.disconnect()

        # At once on the same data directory: it waits for the database, not dies; the tabs
        # find it again.
        again = Terminal(data, tmp_path / "again.log", OPENLINES_PORT=str(hub.port))
        try:
            await again.start()
            await site.locator("#openlines-widget[data-ol-state=ready]").wait_for(state="attached")
            code, _ = await again.ctrl_c()
            assert code == 0, again.text()
        finally:
            again.kill()
    finally:
        hub.kill()


def test_make_run_takes_a_port_and_installs_only_what_running_needs() -> None:
    plan = subprocess.run(
        ["make", "-n", "run", "PORT=9123"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    assert "--port 9123" in plan
    assert "[dev]" not in plan, plan
    test_plan = subprocess.run(
        ["make", "-n", "-W", "pyproject.toml", "test"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "[dev]" in test_plan
