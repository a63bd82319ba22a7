"""A process that dies between taking an operator's capacity slot and assigning leaves the
counter too high; the router puts it right and the waiting client is offered."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from hub.settings import Settings
from tests.conftest import make_settings
from tests.support.clients import Api, operator_socket
from tests.support.world import make_line, visitor_says

REPAIR_S = 0.6


@pytest.fixture
def settings(mongo_url: str, db_name: str, tmp_path: Path) -> Settings:
    return make_settings(mongo_url, db_name, tmp_path / "data", capacity_repair_s=REPAIR_S)


@pytest.fixture
async def db(mongo_url: str, settings: Settings) -> AsyncIterator[Any]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url)
    yield client[settings.mongo_db]
    await client.close()


async def test_a_slot_leaked_by_a_crash_is_given_back(base_url: str, admin: Api, db: Any) -> None:
    world = await make_line(admin, operators=1, max_active_per_operator=1)
    operator_id = world.operators[0].user["id"]  # type: ignore[index]
    slot = f"{world.line['id']}:{operator_id}"
    # What a process killed right after taking the slot leaves: a count, and no conversation.
    await db.operator_load.insert_one(
        {"_id": slot, "line_id": world.line["id"], "user_id": operator_id, "active": 1, "v": 1}
    )
    operator = await operator_socket(base_url, world.operators[0].token or "")

    visitor, message = await visitor_says(base_url, world.key, "Is anyone free?")
    # The router believes the operator is full: the client waits in the queue...
    assert (await visitor.events.wait("queue:position"))["position"] == 1
    # ...until the counter is found to disagree with the conversations and is put right.
    offer = await operator.events.wait(
        "conversation:offered",
        lambda d: d["conversation"]["id"] == message["conversation_id"],
        timeout_s=15,
    )
    assert (await operator.call("conversation:accept", {"id": offer["conversation"]["id"]}))["ok"]
    assert (await db.operator_load.find_one({"_id": slot}))["active"] == 1
    for client in (visitor, operator):
        await client.close()
