"""Start-up as a whole: the app starts part by part, and a part that fails to start stops the
parts started before it, says why in one line, and leaves nothing running."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from hub.app import HUB, PARTS, Part, StartupError, create_app
from hub.embedded import OWNER_FILE, free_port
from hub.settings import Settings
from tests.support.processes import REPO

pytestmark = pytest.mark.timeout(180)


def _index(name: str) -> int:
    return [part.name for part in PARTS].index(name)


def _others() -> set[asyncio.Task[object]]:
    """The tasks running besides the test's own."""
    current = asyncio.current_task()
    return {task for task in asyncio.all_tasks() if task is not current}


@pytest.mark.parametrize(
    "position",
    [0, _index("hub services") + 1, _index("event bus") + 1, len(PARTS)],
    ids=["first", "after the services", "after the event bus", "last"],
)
async def test_a_part_that_fails_to_start_stops_those_started_before_it(
    settings: Settings, position: int
) -> None:
    before = _others()
    seen: list[str] = []

    async def recorder(app: web.Application) -> AsyncIterator[None]:
        seen.append("started")
        yield
        seen.append("stopped")

    async def failing(app: web.Application) -> AsyncIterator[None]:
        raise RuntimeError("the disk is on fire")
        yield  # pragma: no cover -- a generator, as every part is

    parts = [*PARTS]
    parts[position:position] = [Part("recorder", recorder), Part("failing part", failing)]
    parts.append(Part("never reached", recorder))
    app = await create_app(settings, parts=parts)
    runner = web.AppRunner(app)
    with pytest.raises(StartupError) as raised:
        await runner.setup()
    await runner.cleanup()

    assert str(raised.value) == "cannot start failing part: RuntimeError: the disk is on fire"
    assert "\n" not in str(raised.value)
    assert seen == ["started", "stopped"]  # the recorder, not the part after the failing one
    assert _others() - before == set()  # every worker of the parts started is stopped
    if position > _index("hub services"):
        assert app[HUB].runners.running() == []


async def test_every_part_starts_and_stops(settings: Settings) -> None:
    before = _others()
    app = await create_app(settings)
    runner = web.AppRunner(app)
    try:
        await runner.setup()
        assert app[HUB].bus.stats.published >= 0
        assert _others() - before != set()  # the workers run
    finally:
        await runner.cleanup()
    assert _others() - before == set()


def _embedded_children(storage: Path) -> list[int]:
    """Embedded MongoDB processes serving ``storage``, whoever started them."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"hub.embedded_child" in args and str(storage).encode() in args:
            found.append(int(entry.name))
    return found


@pytest.mark.processes  # an openlines serve process, started here
async def test_serve_with_a_part_that_fails_says_so_in_one_line_and_leaves_nothing(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    closed_port = free_port()  # nothing listens there: the Redis part fails, after MongoDB
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENLINES_")}
    env |= {
        "OPENLINES_DATA_DIR": str(data),
        "OPENLINES_REDIS_URL": f"redis://:sesame@127.0.0.1:{closed_port}/0",
        "OPENLINES_LOG_LEVEL": "WARNING",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "hub.cli",
        "serve",
        "--port",
        str(free_port()),
        env=env,
        cwd=REPO,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=120)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()

    assert process.returncode == 1
    assert stderr.decode().splitlines() == [
        f"openlines: cannot reach Redis at redis://:***@127.0.0.1:{closed_port}/0: ConnectionError"
    ]
    assert b"sesame" not in stdout + stderr
    # The embedded MongoDB was started first, and stopped (not merely orphaned): its owner file
    # is gone and no process serves the data directory any more.
    assert (data / "mongo").is_dir()
    assert not (data / OWNER_FILE).exists()
    assert _embedded_children((data / "mongo").resolve()) == []


def test_redact_hides_a_password_with_or_without_a_user() -> None:
    from hub.app import redact

    assert redact("redis://:sesame@redis:6379/0") == "redis://:***@redis:6379/0"
    assert redact("mongodb://ops:hunter2@db:27017/x") == "mongodb://ops:***@db:27017/x"
    assert redact("redis://redis:6379/0") == "redis://redis:6379/0"
