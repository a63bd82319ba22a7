"""Real ``openlines serve`` processes for tests where processes matter (restart, two nodes,
crashes), and what such tests ask of Linux processes: whose children, gone yet, kill -9."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

from hub.embedded import free_port

REPO = Path(__file__).resolve().parents[2]
PORT_ATTEMPTS = 3
# What ``openlines serve`` says when its port is taken (hub/cli.py).
PORT_TAKEN = b"address already in use"


def is_gone(pid: int) -> bool:
    """Whether ``pid`` has exited (a zombie nobody reaped yet has exited too)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] in {"Z", "X"}


def children_of(pid: int, module: str) -> list[int]:
    """The running children of ``pid`` started as ``python -m <module>``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            args = (entry / "cmdline").read_bytes().split(b"\0")
        except (OSError, IndexError, ValueError):
            continue  # exited while we looked
        if ppid == pid and module.encode() in args and not is_gone(int(entry.name)):
            found.append(int(entry.name))
    return found


async def wait_gone(pid: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not is_gone(pid):
        if time.monotonic() > deadline:
            raise AssertionError(f"process {pid} still runs after {timeout_s} s")
        await asyncio.sleep(0.1)


class ServeProcess:
    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._env = {k: v for k, v in os.environ.items() if not k.startswith("OPENLINES_")}
        self._env.update(env)
        self.log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None

    async def start(self, timeout_s: float = 60.0) -> ServeProcess:
        deadline = time.monotonic() + timeout_s
        for _ in range(PORT_ATTEMPTS):
            if await self._start_once(deadline):
                return self
            # Between free_port() and the bind seconds later (the imports), another process
            # took the port (an embedded MongoDB's, a connection's source port): another one.
            self.port = free_port()
            self.url = f"http://127.0.0.1:{self.port}"
        raise RuntimeError(f"serve found no free port in {PORT_ATTEMPTS} tries: {self.log()}")

    async def _start_once(self, deadline: float) -> bool:
        """Start and wait for ``/healthz``; False if the port was taken before serve bound it."""
        log_start = self.log_path.stat().st_size if self.log_path.exists() else 0
        log = self.log_path.open("ab")
        self._process = subprocess.Popen(  # noqa: ASYNC220 -- returns at once; we poll it below
            [
                sys.executable,
                "-m",
                "hub.cli",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
            ],
            env=self._env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=REPO,
        )
        log.close()
        async with aiohttp.ClientSession() as session:
            while time.monotonic() < deadline:
                code = self._process.poll()
                if code is not None:
                    self._process = None
                    if PORT_TAKEN in self.log_path.read_bytes()[log_start:]:
                        return False
                    raise RuntimeError(f"serve exited {code}: {self.log()}")
                try:
                    async with session.get(self.url + "/healthz?verbose=1") as response:
                        # Ours, not another test's serve that took this port first (ours then
                        # exits with the port taken, above).
                        if response.status == 200 and (
                            (await response.json()).get("pid") == self._process.pid
                        ):
                            return True
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
        await self.stop()
        raise RuntimeError(f"serve did not answer /healthz: {self.log()}")

    async def stop(self) -> int:
        """SIGTERM and wait: a graceful shutdown, as an admin's restart would do."""
        process, self._process = self._process, None
        if process is None:
            return 0
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            return await asyncio.to_thread(process.wait, 30)
        except subprocess.TimeoutExpired:
            process.kill()
            return await asyncio.to_thread(process.wait)

    async def stop_when_exited(self, timeout_s: float) -> int:
        """Wait for the process to exit on its own; its exit code. Killed if it does not."""
        process, self._process = self._process, None
        assert process is not None
        try:
            return await asyncio.to_thread(process.wait, timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            await asyncio.to_thread(process.wait)
            message = f"serve did not exit within {timeout_s} s: {self.log()}"
            raise AssertionError(message) from None

    async def kill(self) -> int:
        """``kill -9``: no shutdown at all, as a crash or the OOM killer would do it."""
        process, self._process = self._process, None
        assert process is not None
        process.kill()
        return await asyncio.to_thread(process.wait)

    def embedded_mongo_pid(self) -> int:
        """The embedded MongoDB this process started (``hub/embedded_child.py``)."""
        [pid] = children_of(self.pid, "hub.embedded_child")
        return pid

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    def log(self) -> str:
        try:
            return self.log_path.read_text()[-3000:]
        except OSError:
            return ""
