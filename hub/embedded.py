"""The embedded MongoDB: a SecantusDB server as a child process on a free loopback port.

Used by ``openlines serve`` when no ``OPENLINES_MONGO_URL`` is set, and by the tests.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import subprocess
import sys
import time
from pathlib import Path

from pymongo import MongoClient
from pymongo.errors import PyMongoError

log = logging.getLogger("openlines.embedded")


class EmbeddedMongoError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class EmbeddedMongo:
    """Start with ``start()`` (blocking until it answers), stop with ``stop()``."""

    def __init__(self, data_dir: Path, *, startup_timeout_s: float = 60.0) -> None:
        self.data_dir = data_dir
        self.port = 0
        self._timeout = startup_timeout_s
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/?directConnection=true"

    def start(self) -> None:
        storage = self.data_dir / "mongo"
        storage.mkdir(parents=True, exist_ok=True)
        # An explicit (empty) config file stops the daemon from picking up a stray
        # ./secantusd.toml from the working directory.
        config = self.data_dir / "secantusd.toml"
        if not config.exists():
            config.write_text("# settings for the embedded SecantusDB (see secantusd-py --help)\n")
        self.port = free_port()
        log_file = (self.data_dir / "mongo.log").open("ab")
        self._process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "secantus",
                "--config",
                str(config),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--storage-path",
                str(storage),
                "--log-level",
                "WARNING",
            ],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        log_file.close()
        deadline = time.monotonic() + self._timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise EmbeddedMongoError(
                    f"embedded MongoDB exited with code {self._process.returncode}; "
                    f"see {self.data_dir / 'mongo.log'}"
                )
            if self._answers():
                log.info("embedded MongoDB ready port=%s data=%s", self.port, storage)
                return
            time.sleep(0.1)
        self.stop()
        raise EmbeddedMongoError(f"embedded MongoDB did not answer within {self._timeout:.0f} s")

    def _answers(self) -> bool:
        client: MongoClient[dict[str, object]] = MongoClient(
            self.url, serverSelectionTimeoutMS=300, connectTimeoutMS=300
        )
        try:
            client.admin.command("ping")
            return True
        except PyMongoError:
            return False
        finally:
            client.close()

    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    async def watch(self) -> None:
        """Return (so the caller can fail loudly) when the child process dies."""
        process = self._process
        if process is not None:
            await asyncio.to_thread(process.wait)
        log.critical("embedded MongoDB died; see %s", self.data_dir / "mongo.log")
