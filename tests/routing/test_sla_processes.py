"""Issue 17's timers across two ``openlines serve`` processes and a restart (acceptance 8):
a first-answer breach and an answer timeout each fire exactly once, whichever process holds the
clock, after the process that started them stopped."""

from __future__ import annotations

from pathlib import Path

import aiohttp

from tests.conftest import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    REDIS_URL,
    Spawn,
    make_settings,
    settings_env,
)
from tests.routing.test_router_processes import post_client_message
from tests.support.clients import Api, operator_socket
from tests.support.waiting import eventually

DEADLINE_S = 10


async def test_a_breach_and_an_answer_timeout_fire_once_across_a_restart_and_two_processes(
    mongo_url: str, db_name: str, tmp_path: Path, spawn: Spawn
) -> None:
    env = settings_env(make_settings(mongo_url, db_name, tmp_path / "data", redis_url=REDIS_URL))
    first, other = await spawn(env, "node0"), await spawn(env, "node1")
    async with aiohttp.ClientSession() as http:
        admin = await Api(first.url, http).login(ADMIN_EMAIL, ADMIN_PASSWORD)
        sup = await admin.create_user("supervisor")
        slow, quick = await admin.create_user("operator"), await admin.create_user("operator")
        # Nobody works the first line: its client waits for a first answer that never comes.
        unstaffed = await admin.create_line(
            supervisors=[sup.user["id"]],
            sla={"first_answer_s": DEADLINE_S},
            messages={"queued": None},
        )
        staffed = await admin.create_line(
            operators=[slow.user["id"], quick.user["id"]],
            distribution="strict_order",
            answer_timeout_s=DEADLINE_S,
            messages={"queued": None},
        )
        waiting = await admin.create_channel(unstaffed["id"], "api", {})
        talking = await admin.create_channel(staffed["id"], "api", {})
        # The supervisor watches from both processes; the quick operator works on the other.
        watchers = [await operator_socket(n.url, sup.token or "") for n in (first, other)]
        quick_socket = await operator_socket(other.url, quick.token or "")
        slow_socket = await operator_socket(first.url, slow.token or "")

        await post_client_message(admin, waiting, "chat-w", "hello?")
        await post_client_message(admin, talking, "chat-t", "hello?")
        offer = await slow_socket.events.wait("conversation:offered")
        talked = offer["conversation"]["id"]
        assert (await slow_socket.call("conversation:accept", {"id": talked}))["ok"]
        await eventually(
            lambda: admin.get(f"/api/v1/conversations/{talked}"),
            lambda c: c["answer_due_at"] is not None,
        )
        # The process that started both clocks stops before either runs out, and comes back.
        await slow_socket.close()
        assert await first.stop() == 0
        restarted = await spawn(env, "node0-again")
        admin2 = Api(other.url, http, admin.token)

        breach = await watchers[1].events.wait("sla:breached", timeout_s=DEADLINE_S + 30)
        passed = await quick_socket.events.wait(
            "conversation:offered",
            lambda d: d["conversation"]["id"] == talked,
            timeout_s=DEADLINE_S + 30,
        )
        assert (await quick_socket.call("conversation:accept", {"id": talked}))["ok"]
        await eventually(
            lambda: admin2.get(f"/api/v1/conversations/{talked}"),
            lambda c: c["assignee_id"] == quick.user["id"],
        )
        again = await operator_socket(restarted.url, sup.token or "")
        # Both processes have had time to fire the same timers again by now: their polls
        # run every 0.5 s, and the restarted one saw both deadlines pass.
        await eventually(
            lambda: admin2.get(f"/api/v1/conversations/{breach['conversation']['id']}"),
            lambda c: c["sla"]["breached"] == ["first_answer"],
        )
        for client in (*watchers, quick_socket, again):
            await client.close()
        assert await other.stop() == 0
        assert await restarted.stop() == 0

    assert breach["kind"] == "first_answer"
    assert passed["conversation"]["offer_history"] == [slow.user["id"]]
    # Each fired once, in one of the processes, and each socket heard the breach once.
    assert len(watchers[1].events.all("sla:breached")) == 1
    logs = "".join(p.log_path.read_text() for p in (first, other, restarted))
    assert logs.count("sla breached kind=first_answer") == 1
    assert logs.count(f"answer timeout conversation={talked}") == 1
