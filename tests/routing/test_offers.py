"""The foundation's router: only online operators get offers, capacity holds, queue waits."""

from __future__ import annotations

import asyncio

from tests.support.clients import Api, operator_socket
from tests.support.world import make_line, visitor_says


async def test_connecting_alone_is_not_available(base_url: str, admin: Api) -> None:
    world = await make_line(admin)
    operator = await operator_socket(base_url, world.operators[0].token or "", online=False)
    first_visitor, first = await visitor_says(base_url, world.key, "first")
    second_visitor, second = await visitor_says(base_url, world.key, "second")
    queued = await admin.get(f"/api/v1/conversations?status=queued&line_id={world.line['id']}")
    assert {c["id"] for c in queued["conversations"]} == {
        first["conversation_id"],
        second["conversation_id"],
    }
    assert operator.events.all("conversation:offered") == []

    ack = await operator.call("status:set", {"status": "online"})
    assert ack == {"ok": True, "status": "online"}
    for message in (first, second):
        await operator.events.wait(
            "conversation:offered",
            lambda d, cid=message["conversation_id"]: d["conversation"]["id"] == cid,
        )
    for client in (first_visitor, second_visitor, operator):
        await client.close()


async def test_away_operators_get_nothing(base_url: str, admin: Api) -> None:
    world = await make_line(admin, operators=2)
    away = await operator_socket(base_url, world.operators[0].token or "", online=False)
    assert (await away.call("status:set", {"status": "away"}))["ok"]
    online = await operator_socket(base_url, world.operators[1].token or "")
    visitor, _ = await visitor_says(base_url, world.key, "hello")
    offer = await online.events.wait("conversation:offered")
    assert offer["conversation"]["offered_to"] == [world.operators[1].user["id"]]
    assert away.events.all("conversation:offered") == []
    for client in (visitor, away, online):
        await client.close()


async def test_capacity_keeps_the_second_conversation_waiting(base_url: str, admin: Api) -> None:
    world = await make_line(admin, max_active_per_operator=1)
    operator = await operator_socket(base_url, world.operators[0].token or "")
    v1, first = await visitor_says(base_url, world.key, "first")
    await operator.events.wait("conversation:offered")
    assert (await operator.call("conversation:accept", {"id": first["conversation_id"]}))["ok"]

    v2, second = await visitor_says(base_url, world.key, "second")
    # The second stays queued while the operator is at capacity...
    waiting = await admin.get(f"/api/v1/conversations/{second['conversation_id']}")
    assert waiting["status"] == "queued" and waiting["offered_to"] == []
    # ...and is offered as soon as the first one closes.
    assert (await operator.call("conversation:close", {"id": first["conversation_id"]}))["ok"]
    await operator.events.wait(
        "conversation:offered",
        lambda d: d["conversation"]["id"] == second["conversation_id"],
    )
    for client in (v1, v2, operator):
        await client.close()


async def test_last_socket_dropping_means_offline_after_grace(base_url: str, admin: Api) -> None:
    world = await make_line(admin)
    supervisor_api = await admin.create_user("supervisor")
    await admin.patch(
        f"/api/v1/lines/{world.line['id']}", {"supervisors": [supervisor_api.user["id"]]}
    )
    watcher = await operator_socket(base_url, supervisor_api.token or "", online=False)
    operator_id = world.operators[0].user["id"]
    tab1 = await operator_socket(base_url, world.operators[0].token or "")
    tab2 = await operator_socket(base_url, world.operators[0].token or "", online=False)
    await watcher.events.wait(
        "operator:status", lambda d: d == {"user_id": operator_id, "status": "online"}
    )
    await tab1.close()  # one tab closed: still online
    visitor, message = await visitor_says(base_url, world.key, "anyone?")
    await tab2.events.wait("conversation:offered")
    await tab2.call("conversation:accept", {"id": message["conversation_id"]})
    await tab2.close()
    await watcher.events.wait(
        "operator:status", lambda d: d == {"user_id": operator_id, "status": "offline"}
    )
    # Offline now: a new conversation waits in the queue.
    visitor2, message2 = await visitor_says(base_url, world.key, "hello?")
    await asyncio.sleep(0)  # routing runs on the bus; the REST read below is the assertion
    conversation = await admin.get(f"/api/v1/conversations/{message2['conversation_id']}")
    assert conversation["offered_to"] == []
    me = await world.operators[0].get("/api/v1/me")
    assert me["status_preference"] == "online"  # offline by disconnect is not a choice
    for client in (watcher, visitor, visitor2):
        await client.close()
