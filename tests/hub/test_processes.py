"""Real ``openlines serve`` processes: embedded defaults, restarts, and two nodes as one."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable
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
from tests.support.clients import Api, new_msg_id, operator_socket, public_texts, visitor_socket
from tests.support.waiting import eventually
from tests.support.world import make_line, visitor_says

EMBEDDED_ENV = {
    "OPENLINES_ADMIN_EMAIL": ADMIN_EMAIL,
    "OPENLINES_ADMIN_PASSWORD": ADMIN_PASSWORD,
    "OPENLINES_OFFLINE_GRACE_S": "0.5",
}


async def test_embedded_defaults_and_restart_keep_everything(tmp_path: Path, spawn: Spawn) -> None:
    env = {**EMBEDDED_ENV, "OPENLINES_DATA_DIR": str(tmp_path / "data")}
    first = await spawn(env, "serve1")
    async with aiohttp.ClientSession() as http:
        async with http.get(first.url + "/healthz") as response:
            assert response.status == 200
            assert await response.json() == {"status": "ok", "mongo": "ok", "redis": "disabled"}
        admin = await Api(first.url, http).login(ADMIN_EMAIL, ADMIN_PASSWORD)
        world = await make_line(admin)
        operator_api = world.operators[0]
        operator = await operator_socket(first.url, operator_api.token or "")
        visitor, first_message = await visitor_says(first.url, world.key, "Before the restart")
        before = await visitor.events.wait("session")
        token = before["token"]
        conversation_id = first_message["conversation_id"]
        await operator.events.wait("conversation:offered")
        assert (await operator.call("conversation:accept", {"id": conversation_id}))["ok"]
        await operator.call(
            "message:send",
            {"conversation_id": conversation_id, "text": "Answer before the restart"},
        )
        await visitor.events.wait("message:new")
        await visitor.close()
        await operator.close()
        assert await first.stop() == 0

        second = await spawn(env, "serve2")
        admin2 = await Api(second.url, http).login(ADMIN_EMAIL, ADMIN_PASSWORD)
        users = (await admin2.get("/api/v1/users"))["users"]
        assert operator_api.user["email"] in [u["email"] for u in users]
        lines = (await admin2.get("/api/v1/lines"))["lines"]
        assert [line["id"] for line in lines] == [world.line["id"]]
        conversation = await admin2.get(f"/api/v1/conversations/{conversation_id}")
        assert conversation["assignee_id"] == operator_api.user["id"]
        assert conversation["status"] == "active"
        # The operator's token survives too: sessions are stored, not in memory.
        operator2 = Api(second.url, http, operator_api.token)
        history = await operator2.get(f"/api/v1/conversations/{conversation_id}/messages")
        assert public_texts(history["messages"]) == [
            "Before the restart",
            "Answer before the restart",
        ]

        resumed = await visitor_socket(second.url, world.key, token)
        session = await resumed.events.wait("session")
        assert session["conversation_id"] == conversation_id
        # The same visitor (the secret key is kept in the data dir), with a fresh token.
        assert session["visitor_id"] == before["visitor_id"]
        assert session["token"] != token
        widget_history = await resumed.call("history", {})
        assert [m["text"] for m in widget_history["messages"]] == [
            "Before the restart",
            "Answer before the restart",
        ]
        await resumed.close()
        assert await second.stop() == 0


async def test_two_processes_act_as_one(
    mongo_url: str, db_name: str, tmp_path: Path, spawn: Spawn
) -> None:
    settings = make_settings(mongo_url, db_name, tmp_path / "data", redis_url=REDIS_URL)
    env = settings_env(settings)
    node_a = await spawn(env, "a")
    node_b = await spawn(env, "b")
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(node_b.url + "/healthz") as response:
                assert (await response.json())["redis"] == "ok"
            admin = await Api(node_a.url, http).login(ADMIN_EMAIL, ADMIN_PASSWORD)
            world = await make_line(admin, operators=2, distribution="all_at_once")
            op_on_a = await operator_socket(node_a.url, world.operators[0].token or "")
            op_on_b = await operator_socket(node_b.url, world.operators[1].token or "")
            visitor = await visitor_socket(node_a.url, world.key)

            ack = await visitor.call(
                "message:send", {"text": "Who takes this?", "client_msg_id": new_msg_id()}
            )
            conversation_id = ack["message"]["conversation_id"]
            for op in (op_on_a, op_on_b):
                await op.events.wait(
                    "conversation:offered", lambda d: d["conversation"]["id"] == conversation_id
                )
            results = await asyncio.gather(
                op_on_a.call("conversation:accept", {"id": conversation_id}),
                op_on_b.call("conversation:accept", {"id": conversation_id}),
            )
            winners = [r for r in results if r["ok"]]
            losers = [r for r in results if not r["ok"]]
            assert len(winners) == 1 and len(losers) == 1
            assert losers[0]["error"]["code"] == "already_taken"

            # Talk across nodes: a new visitor on A, answered by the operator on B.
            talker = await visitor_socket(node_a.url, world.key)
            ack = await talker.call(
                "message:send", {"text": "Hello from A", "client_msg_id": new_msg_id()}
            )
            talk_id = ack["message"]["conversation_id"]
            await op_on_b.events.wait(
                "conversation:offered", lambda d: d["conversation"]["id"] == talk_id
            )
            assert (await op_on_b.call("conversation:accept", {"id": talk_id}))["ok"]
            await op_on_b.events.wait(
                "message:new", lambda d: d["message"]["text"] == "Hello from A"
            )
            await op_on_b.call(
                "message:send", {"conversation_id": talk_id, "text": "Reply from B"}
            )
            await talker.events.wait(
                "message:new", lambda d: d["message"]["text"] == "Reply from B"
            )
            await talker.call("message:send", {"text": "Thanks", "client_msg_id": new_msg_id()})
            await op_on_b.events.wait("message:new", lambda d: d["message"]["text"] == "Thanks")

            conversation = await admin.get(f"/api/v1/conversations/{conversation_id}")
            assert conversation["assignee_id"] in {o.user["id"] for o in world.operators}
            for client in (visitor, talker, op_on_a, op_on_b):
                await client.close()
    finally:
        await node_a.stop()
        await node_b.stop()


async def test_a_killed_process_does_not_leave_its_operators_online(
    mongo_url: str, db_name: str, tmp_path: Path, spawn: Spawn
) -> None:
    settings = make_settings(
        mongo_url, db_name, tmp_path / "data", redis_url=REDIS_URL, presence_lease_s=1.5
    )
    env = settings_env(settings)
    doomed = await spawn(env, "doomed")
    survivor = await spawn(env, "survivor")
    async with aiohttp.ClientSession() as http:
        admin = await Api(survivor.url, http).login(ADMIN_EMAIL, ADMIN_PASSWORD)
        world = await make_line(admin, operators=1)
        operator_id = world.operators[0].user["id"]  # type: ignore[index]
        members = f"/api/v1/console/lines/{world.line['id']}/members"

        def status_is(expected: str) -> Callable[[dict[str, Any]], bool]:
            return lambda body: any(
                m["id"] == operator_id and m["status"] == expected for m in body["members"]
            )

        op = await operator_socket(doomed.url, world.operators[0].token or "")
        await eventually(lambda: admin.get(members), status_is("online"))

        # The process dies without a word: its socket row stays behind in MongoDB...
        os.kill(doomed.pid, signal.SIGKILL)
        await doomed.stop_when_exited(10)
        await op.close()
        # ...until the survivor sees the process stopped beating: the operator is offline
        # and a new client waits in the queue instead of being offered to nobody.
        await eventually(lambda: admin.get(members), status_is("offline"), timeout_s=15)
        visitor, message = await visitor_says(survivor.url, world.key, "Anyone there?")
        conversation = await admin.get(f"/api/v1/conversations/{message['conversation_id']}")
        assert conversation["status"] == "queued"

        # Back on the surviving process, the operator is offered the waiting client.
        again = await operator_socket(survivor.url, world.operators[0].token or "")
        await again.events.wait(
            "conversation:offered",
            lambda d: d["conversation"]["id"] == message["conversation_id"],
        )
        for client in (visitor, again):
            await client.close()
