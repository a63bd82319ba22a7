"""The ``openlines`` command as an admin meets it: versions, bad settings, dead databases."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import aiohttp

from hub import __version__
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Spawn
from tests.support.clients import Api, new_msg_id, operator_socket
from tests.support.world import make_line, visitor_says


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OPENLINES_")}
    return subprocess.run(
        [sys.executable, "-m", "hub.cli", *args],
        env={**clean, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_version() -> None:
    result = run_cli("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"openlines {__version__}"


def test_bad_setting_is_one_line(tmp_path: Path) -> None:
    result = run_cli(
        "serve", env={"OPENLINES_OUTBOX_MAX_ATTEMPTS": "zero", "OPENLINES_DATA_DIR": str(tmp_path)}
    )
    assert result.returncode == 2
    assert result.stderr.startswith("openlines: invalid setting OPENLINES_OUTBOX_MAX_ATTEMPTS")
    assert "Traceback" not in result.stderr


def test_unreachable_mongo_names_the_url_without_password(tmp_path: Path) -> None:
    url = "mongodb://ops:hunter2@127.0.0.1:9/openlines?serverSelectionTimeoutMS=500"
    result = run_cli(
        "serve",
        "--port",
        "0",
        env={"OPENLINES_MONGO_URL": url, "OPENLINES_DATA_DIR": str(tmp_path)},
    )
    assert result.returncode == 1
    assert "cannot reach MongoDB at mongodb://ops:***@127.0.0.1:9/" in result.stderr
    assert "hunter2" not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr


def child_pids(pid: int) -> list[int]:
    return [
        int(child)
        for task in Path(f"/proc/{pid}/task").iterdir()
        for child in (task / "children").read_text().split()
    ]


async def test_serve_fails_loudly_when_embedded_mongo_dies(tmp_path: Path, spawn: Spawn) -> None:
    server = await spawn({"OPENLINES_DATA_DIR": str(tmp_path / "data")}, "serve")
    try:
        # The embedded server is the serve process's only child (started from a worker thread).
        (mongo_pid,) = child_pids(server.pid)
        os.kill(mongo_pid, signal.SIGKILL)
        code = await server.stop_when_exited(timeout_s=20)
    finally:
        await server.stop()
    assert code == 1
    assert "embedded MongoDB died" in server.log()


async def test_logs_name_conversations_and_never_secrets(tmp_path: Path, spawn: Spawn) -> None:
    env = {
        "OPENLINES_DATA_DIR": str(tmp_path / "data"),
        "OPENLINES_ADMIN_EMAIL": ADMIN_EMAIL,
        "OPENLINES_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "OPENLINES_LOG_LEVEL": "DEBUG",
    }
    server = await spawn(env, "serve")
    async with aiohttp.ClientSession() as http:
        admin = await Api(server.url, http).login(ADMIN_EMAIL, ADMIN_PASSWORD)
        world = await make_line(admin)
        api_channel = await admin.create_channel(world.line["id"], "api", {})
        operator = await operator_socket(server.url, world.operators[0].token or "")
        visitor, message = await visitor_says(server.url, world.key, "log this?")
        await operator.events.wait("conversation:offered")
        await operator.call("conversation:accept", {"id": message["conversation_id"]})
        await operator.call(
            "message:send",
            {
                "conversation_id": message["conversation_id"],
                "text": "answer",
                "client_msg_id": new_msg_id(),
            },
        )
        await visitor.events.wait("message:new")
        await visitor.close()
        await operator.close()
    assert await server.stop() == 0
    log = server.log_path.read_text()
    assert f"conversation={message['conversation_id']}" in log
    for secret in (ADMIN_PASSWORD, admin.token, world.operators[0].token, api_channel["secret"]):
        assert secret and secret not in log
