"""The embedded MongoDB: a SecantusDB server as a child process on a free loopback port.

Used by ``openlines serve`` when no ``OPENLINES_MONGO_URL`` is set, and by the tests. The server
dies with the process that started it (``hub/embedded_child.py`` watches its parent), and a
start puts right what a crash left behind: a server whose owner is gone is stopped, a data
directory that a stopping server still holds is waited for, and one in use by a live process is
refused in one line that names it. Who owns the server is kept in ``mongo.owner.json`` next to
the data; processes are told apart through Linux's ``/proc`` (elsewhere only the wait applies).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pymongo import MongoClient
from pymongo.errors import PyMongoError

log = logging.getLogger("openlines.embedded")

OWNER_FILE = "mongo.owner.json"
# WiredTiger's single-writer lock (an fcntl lock on its first byte) inside the storage directory.
LOCK_FILE = "WiredTiger.lock"
# The directory that holds the ``hub`` package: the child runs ``-m hub.embedded_child`` from
# there, so it is this copy of OpenLines whether or not (and wherever) it is installed.
_PACKAGE_ROOT = Path(__file__).resolve().parents[1]
_POLL_S = 0.1


class EmbeddedMongoError(RuntimeError):
    """The embedded server cannot start; the message is one line for the terminal."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass(frozen=True)
class Owner:
    """Who runs the server of a data directory: written at start, removed at stop."""

    owner_pid: int  # the process that started it (a hub, a test session)
    server_pid: int

    @classmethod
    def read(cls, path: Path) -> Owner | None:
        try:
            raw = json.loads(path.read_text())
            return cls(owner_pid=int(raw["owner_pid"]), server_pid=int(raw["server_pid"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None  # none, or unreadable: nothing to go by but the lock

    def write(self, path: Path) -> None:
        partial = path.with_name(path.name + ".partial")
        record = {"owner_pid": self.owner_pid, "server_pid": self.server_pid}
        partial.write_text(json.dumps(record))
        partial.replace(path)  # a crash mid-write leaves the old record or the new one


def parent_pid(pid: int) -> int | None:
    """The parent of a running process; None when it is gone (a zombie counts as gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    state, ppid = fields[0], int(fields[1])
    return None if state in {"Z", "X"} else ppid


def serves(pid: int, storage: Path) -> bool:
    """Whether ``pid`` is a running server of ``storage``, not a stranger who got the pid."""
    if parent_pid(pid) is None:
        return False
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return os.fsencode(storage) in args


def lock_is_free(storage: Path) -> bool:
    """Whether no process holds WiredTiger's lock on ``storage``."""
    try:
        fd = os.open(storage / LOCK_FILE, os.O_RDWR)
    except FileNotFoundError:
        return True
    try:
        # Taken and given back at once. This process never holds the lock itself (its servers
        # are children), so closing the descriptor cannot drop a lock of its own.
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, 0)
        fcntl.lockf(fd, fcntl.LOCK_UN, 1, 0)
    except OSError:
        return False
    finally:
        os.close(fd)
    return True


def _wait_until(condition_met: Callable[[], bool], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while not condition_met():
        if time.monotonic() > deadline:
            return False
        time.sleep(_POLL_S)
    return True


def end_process(pid: int, timeout_s: float) -> None:
    """SIGTERM, then SIGKILL if it is still there after ``timeout_s``; back once it is gone."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
        os.kill(pid, signal.SIGCONT)  # a stopped (frozen) process handles SIGTERM only then
    if _wait_until(lambda: parent_pid(pid) is None, timeout_s):
        return
    log.warning("embedded MongoDB pid=%s ignored SIGTERM for %.0f s; killing it", pid, timeout_s)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    _wait_until(lambda: parent_pid(pid) is None, 5.0)


class EmbeddedMongo:
    """Start with ``start()`` (blocking until it answers), stop with ``stop()``."""

    def __init__(
        self,
        data_dir: Path,
        *,
        startup_timeout_s: float = 60.0,
        stop_timeout_s: float = 20.0,
        release_timeout_s: float = 30.0,
    ) -> None:
        # Absolute: the server runs from another working directory.
        self.data_dir = data_dir.resolve()
        self.storage = self.data_dir / "mongo"
        self.port = 0
        self._timeout = startup_timeout_s
        self._stop_timeout = stop_timeout_s
        self._release_timeout = release_timeout_s
        self._owner_file = self.data_dir / OWNER_FILE
        self.log_path = self.data_dir / "mongo.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        # retryWrites=false: SecantusDB keeps every retryable write's record per session and
        # slows down as they pile up (sequential journaled inserts fell from ~700/s to ~55/s
        # over 12,000 writes; ~900/s without). Our writes are idempotent, and the one whose
        # loss would hurt retries by itself (hub/storage/retry.py ``retry_transient``). A real
        # MongoDB URL keeps the driver's default (on).
        return f"mongodb://127.0.0.1:{self.port}/?directConnection=true&retryWrites=false"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def start(self) -> None:
        self.storage.mkdir(parents=True, exist_ok=True)
        # An explicit (empty) config file stops the daemon from picking up a stray
        # ./secantusd.toml from the working directory.
        config = self.data_dir / "secantusd.toml"
        if not config.exists():
            config.write_text("# settings for the embedded SecantusDB (see secantusd-py --help)\n")
        self._clear_leftovers()
        self.port = free_port()
        log_file = self.log_path.open("ab")
        self._process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "hub.embedded_child",
                str(os.getpid()),
                "--config",
                str(config),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--storage-path",
                str(self.storage),
                "--log-level",
                "WARNING",
            ],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=_PACKAGE_ROOT,
            # Its own session: a Ctrl-C in the terminal (SIGINT to the whole foreground group)
            # reaches the hub only, which stops its parts in order and this server last; the
            # server killed under a stopping hub would look like a crash (exit code 1).
            start_new_session=True,
        )
        log_file.close()
        Owner(owner_pid=os.getpid(), server_pid=self._process.pid).write(self._owner_file)
        deadline = time.monotonic() + self._timeout
        while time.monotonic() < deadline:
            code = self._process.poll()
            if code is not None:
                self.stop()
                raise EmbeddedMongoError(
                    f"embedded MongoDB exited with code {code} ({self._last_log_line()}); "
                    f"see {self.log_path}"
                )
            if self._answers():
                log.info("embedded MongoDB ready port=%s data=%s", self.port, self.storage)
                return
            time.sleep(_POLL_S)
        self.stop()
        raise EmbeddedMongoError(f"embedded MongoDB did not answer within {self._timeout:.0f} s")

    def _clear_leftovers(self) -> None:
        """Stop the server of an owner that is gone; refuse a live owner's; wait for the lock."""
        owner = Owner.read(self._owner_file)
        if owner is not None:
            if serves(owner.server_pid, self.storage):
                if parent_pid(owner.server_pid) == owner.owner_pid:
                    raise EmbeddedMongoError(
                        f"the data directory {self.data_dir} is in use by process "
                        f"{owner.owner_pid} (its embedded MongoDB is process "
                        f"{owner.server_pid}); stop that one first or give this one another "
                        "OPENLINES_DATA_DIR"
                    )
                log.warning(
                    "stopping the embedded MongoDB pid=%s left behind by process %s",
                    owner.server_pid,
                    owner.owner_pid,
                )
                end_process(owner.server_pid, self._stop_timeout)
            self._owner_file.unlink(missing_ok=True)
        # A server that was just stopped (or is stopping after its owner died) may not have let
        # go of the data yet; starting now would die on WiredTiger's lock.
        if lock_is_free(self.storage):
            return
        log.info("waiting for the previous embedded MongoDB to release %s", self.storage)
        if not _wait_until(lambda: lock_is_free(self.storage), self._release_timeout):
            raise EmbeddedMongoError(
                f"the data directory {self.storage} is still locked by another process after "
                f"{self._release_timeout:.0f} s ({LOCK_FILE}); is another SecantusDB using it?"
            )

    def _last_log_line(self) -> str:
        try:
            with self.log_path.open("rb") as f:
                f.seek(max(0, f.seek(0, os.SEEK_END) - 4096))
                lines = f.read().decode(errors="replace").strip().splitlines()
        except OSError:
            return "no log"
        return lines[-1].strip() if lines else "no log"

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
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=self._stop_timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if Owner.read(self._owner_file) == Owner(os.getpid(), process.pid):
            self._owner_file.unlink(missing_ok=True)

    async def watch(self) -> None:
        """Return (so the caller can fail loudly) when the child process dies."""
        process = self._process
        if process is not None:
            await asyncio.to_thread(process.wait)
        log.critical("embedded MongoDB died; see %s", self.log_path)
