"""The answer timeout (issue 17, point 2): an accepted conversation whose client has waited the
line's ``answer_timeout_s`` for the operator's answer goes to the next available operator (or
back to the queue), with a staff note; an answer in time, or a timer that outlived it, moves
nothing. Distinct from the accept timeout of an offer."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web

from hub.appkeys import HUB
from hub.models import utcnow
from routing.answers import ANSWER_TIMEOUT
from tests.routing.test_router import offer_for, online_operators
from tests.support.clients import Api, new_msg_id
from tests.support.waiting import eventually
from tests.support.world import make_line, visitor_says


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def notes(admin: Api, cid: str) -> list[tuple[str, dict[str, Any]]]:
    messages = (await admin.get(f"/api/v1/conversations/{cid}/messages"))["messages"]
    return [(m["system"]["code"], m["system"]["params"]) for m in messages if m.get("system")]


async def test_an_unanswered_client_goes_to_the_next_operator_with_a_note(
    base_url: str, admin: Api
) -> None:
    world = await make_line(admin, operators=2, answer_timeout_s=2)
    sockets = await online_operators(base_url, world)
    visitor, message = await visitor_says(base_url, world.key, "Hello?")
    cid = message["conversation_id"]
    first, _ = await offer_for(sockets, cid)
    assert (await first.call("conversation:accept", {"id": cid}))["ok"]
    accepted_at = utcnow()
    # A hidden note to a colleague is not an answer to the client.
    await first.call("message:send", {"conversation_id": cid, "text": "hm", "hidden": True})

    second = next(s for s in sockets if s is not first)
    offer = await second.events.wait(
        "conversation:offered", lambda d: d["conversation"]["id"] == cid, timeout_s=10
    )
    waited = utcnow() - accepted_at
    assert 1.9 <= waited.total_seconds() <= 4.5, waited
    assert offer["conversation"]["assignee_id"] is None
    first_id = world.operators[sockets.index(first)].user["id"]
    assert first_id in offer["conversation"]["offer_history"]
    assert ("unanswered_next", {"user": _name(world, first_id)}) in await notes(admin, cid)
    assert (await second.call("conversation:accept", {"id": cid}))["ok"]
    conversation = await admin.get(f"/api/v1/conversations/{cid}")
    assert conversation["assignee_id"] != first_id
    for client in (visitor, *sockets):
        await client.close()


async def test_an_answer_in_time_keeps_the_conversation_and_a_stale_timer_moves_nothing(
    base_url: str, admin: Api, hub_app: web.Application
) -> None:
    hub = hub_app[HUB]
    world = await make_line(admin, answer_timeout_s=60)
    (operator,) = await online_operators(base_url, world)
    visitor, message = await visitor_says(base_url, world.key, "Hello?")
    cid = message["conversation_id"]
    await operator.events.wait("conversation:offered")
    assert (await operator.call("conversation:accept", {"id": cid}))["ok"]
    running = await eventually(
        lambda: admin.get(f"/api/v1/conversations/{cid}"),
        lambda c: c["answer_due_at"] is not None,
    )
    timer = await hub.store.timers.get(ANSWER_TIMEOUT, cid)
    assert timer is not None and timer.due_at == at(running["answer_due_at"])

    await operator.call("message:send", {"conversation_id": cid, "text": "Hi, how can I help?"})
    await eventually(
        lambda: admin.get(f"/api/v1/conversations/{cid}"),
        lambda c: c["answer_due_at"] is None,
    )
    assert await hub.store.timers.get(ANSWER_TIMEOUT, cid) is None
    # Had the timer outlived the answer, it would move nothing.
    await hub.timers.set(
        ANSWER_TIMEOUT,
        cid,
        utcnow(),
        {"due_at": timer.due_at, "assignee_id": running["assignee_id"]},
    )
    await eventually(lambda: hub.store.timers.get(ANSWER_TIMEOUT, cid), lambda t: t is None)
    await hub.bus.drain()
    kept = await admin.get(f"/api/v1/conversations/{cid}")
    assert kept["status"] == "active" and kept["assignee_id"] == running["assignee_id"]

    # The client writes again: the clock runs from that message, and not from the next one.
    ack = await visitor.call("message:send", {"text": "One more", "client_msg_id": new_msg_id()})
    waiting = await eventually(
        lambda: admin.get(f"/api/v1/conversations/{cid}"),
        lambda c: c["answer_due_at"] is not None,
    )
    started = at(waiting["answer_due_at"]).timestamp() - 60
    assert abs(started - at(ack["message"]["created_at"]).timestamp()) < 0.01
    await visitor.call("message:send", {"text": "Hello??", "client_msg_id": new_msg_id()})
    await hub.bus.drain()
    assert (await admin.get(f"/api/v1/conversations/{cid}"))["answer_due_at"] == waiting[
        "answer_due_at"
    ]
    for client in (visitor, operator):
        await client.close()


async def test_with_the_queue_action_it_goes_back_to_the_queue_for_anyone(
    base_url: str, admin: Api
) -> None:
    world = await make_line(admin, answer_timeout_s=1, answer_timeout_action="queue")
    (operator,) = await online_operators(base_url, world)
    visitor, message = await visitor_says(base_url, world.key, "Hello?")
    cid = message["conversation_id"]
    await operator.events.wait("conversation:offered")
    assert (await operator.call("conversation:accept", {"id": cid}))["ok"]
    # Back in the queue, and (the only operator, with room again) offered to them once more.
    await eventually(
        lambda: notes(admin, cid), lambda found: any(c == "unanswered_queue" for c, _ in found)
    )
    await operator.events.wait_count("conversation:offered", 2)
    conversation = await admin.get(f"/api/v1/conversations/{cid}")
    assert conversation["status"] == "offered" and conversation["offer_history"] == []
    for client in (visitor, operator):
        await client.close()


async def test_the_line_settings_are_validated(admin: Api) -> None:
    line = await admin.create_line()
    assert line["answer_timeout_s"] is None and line["answer_timeout_action"] == "next_operator"
    for bad in ({"answer_timeout_s": 0}, {"answer_timeout_action": "drop"}):
        status, _ = await admin.call("PATCH", f"/api/v1/lines/{line['id']}", bad)
        assert status == 422, bad
    updated = await admin.patch(
        f"/api/v1/lines/{line['id']}", {"answer_timeout_s": 120, "answer_timeout_action": "queue"}
    )
    assert updated["answer_timeout_s"] == 120 and updated["answer_timeout_action"] == "queue"


def _name(world: Any, user_id: str) -> str:
    return next(str(op.user["name"]) for op in world.operators if op.user["id"] == user_id)
