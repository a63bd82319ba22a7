"""What each hub process keeps in memory (lines, channels) is forgotten in every process as
soon as one of them writes it: two ``openlines serve`` processes on Redis."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp

from tests.conftest import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    REDIS_URL,
    Spawn,
    make_settings,
    settings_env,
)
from tests.support.clients import Api, new_msg_id, visitor_socket
from tests.support.waiting import eventually
from tests.support.world import make_line

# Well under the TTL behind the notices (hub/storage/lines.py: 30 s), so passing is not luck.
AT_ONCE_S = 3.0
# Under the 2 s a process keeps a channel (hub/stream.py CHANNEL_TTL_S).
CHANNEL_AT_ONCE_S = 1.5


async def test_a_line_changed_through_one_process_is_seen_by_the_other_at_once(
    mongo_url: str, db_name: str, tmp_path: Path, spawn: Spawn
) -> None:
    env = settings_env(make_settings(mongo_url, db_name, tmp_path / "data", redis_url=REDIS_URL))
    node_a = await spawn(env, "a")
    node_b = await spawn(env, "b")
    try:
        async with aiohttp.ClientSession() as http:
            admin_a = await Api(node_a.url, http).login(ADMIN_EMAIL, ADMIN_PASSWORD)
            admin_b = Api(node_b.url, http, admin_a.token)
            world = await make_line(admin_a)
            line_path = f"/api/v1/lines/{world.line['id']}"
            # B reads the line (and keeps it), then A renames it several times.
            assert (await admin_b.get(line_path))["name"] == world.line["name"]
            for n in range(3):
                await admin_a.patch(line_path, {"name": f"Renamed {n}"})
                await eventually(
                    lambda: admin_b.get(line_path),
                    lambda line, n=n: line["name"] == f"Renamed {n}",
                    timeout_s=AT_ONCE_S,
                    interval_s=0.02,
                )

            # A widget channel switched off through A: B's open socket is refused at once
            # (well within the 2 s its copy of the channel would otherwise live).
            visitor = await visitor_socket(node_b.url, world.key)
            ack = await visitor.call("message:send", {"text": "hi", "client_msg_id": new_msg_id()})
            assert ack["ok"], ack
            await admin_a.patch(f"/api/v1/channels/{world.widget['id']}", {"active": False})

            async def send() -> dict[str, Any]:
                return dict(
                    await visitor.call(
                        "message:send", {"text": "still there?", "client_msg_id": new_msg_id()}
                    )
                )

            refused = await eventually(
                send, lambda a: not a["ok"], timeout_s=CHANNEL_AT_ONCE_S, interval_s=0.05
            )
            assert refused["error"]["code"] == "channel_gone"
            await visitor.close()
    finally:
        await node_a.stop()
        await node_b.stop()
