"""Issue 15, point 11: start and stop as an admin does them. The port comes from ``PORT`` /
``OPENLINES_PORT`` and the first-start banner prints the address served; a Ctrl-C with browser
tabs open (a websocket and a long poll) stops within 5 s and cleanly; a start right after it on
the same data directory comes up."""

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

from hub.embedded import free_port
from tests.support.processes import REPO

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


async def open_tabs(url: str, key: str) -> list[socketio.AsyncClient]:
    """What open browser tabs hold: one widget on a websocket, one on a long poll."""
    tabs = []
    for transport in ("websocket", "polling"):
        tab = socketio.AsyncClient(reconnection=False)
        await tab.connect(
            url,
            namespaces=["/widget"],
            auth={"key": key},
            transports=[transport],
            headers={"Origin": url},
            wait_timeout=20,
        )
        tabs.append(tab)
    return tabs


async def test_port_banner_and_a_stop_with_open_tabs_then_a_start(tmp_path: Path) -> None:
    data = tmp_path / "data"
    hub = Terminal(data, tmp_path / "serve.log", OPENLINES_DEMO="true")
    try:
        await hub.start()
        # The banner names the address actually served, for the demo and the console.
        assert f"{hub.url}/demo" in hub.text()
        assert f"on {hub.url}" in hub.text()
        async with aiohttp.ClientSession() as http, http.get(hub.url + "/demo") as page:
            found = re.search(r'data-openlines-key="([^"]+)"', await page.text())
        assert found is not None
        tabs = await open_tabs(hub.url, found.group(1))

        code, took = await hub.ctrl_c()
        assert code == 0, hub.text()
        assert took < STOP_WITHIN_S, f"the stop took {took:.1f} s"
        assert "CRITICAL" not in hub.text()
        for tab in tabs:
            await tab.disconnect()

        # At once on the same data directory: it waits for the database, not dies.
        again = Terminal(data, tmp_path / "again.log", OPENLINES_PORT=str(hub.port))
        try:
            await again.start()
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
