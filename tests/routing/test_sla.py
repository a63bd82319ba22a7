"""Response-time control (issue 17, point 1): a line's first-answer, next-answer and resolve
clocks run on the conversation, a breach reaches the line's supervisors and named users once
(in the console and as a CRM webhook), an answer in time prevents it, and with business hours
the clock waits for the line to open."""

from __future__ import annotations

from datetime import datetime, timedelta

from aiohttp import web

from hub.appkeys import HUB
from hub.hours import working_deadline
from hub.models import SlaKind, WorkingHours, utcnow
from routing.sla import TIMER
from tests.crm_bridge.receiver import CrmReceiver
from tests.routing.test_router import online_operators
from tests.support.clients import Api, new_msg_id, operator_socket
from tests.support.waiting import eventually
from tests.support.world import make_line, visitor_says

FIRST = TIMER[SlaKind.FIRST_ANSWER]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def near(a: datetime, b: datetime | None) -> bool:
    """The same instant, as stored (MongoDB keeps milliseconds)."""
    return b is not None and abs(a - b) < timedelta(milliseconds=2)


async def test_a_first_answer_breach_reaches_supervisors_and_named_users_once(
    base_url: str, admin: Api, hub_app: web.Application
) -> None:
    hub = hub_app[HUB]
    supervisor = await admin.create_user("supervisor")
    named = await admin.create_user("operator")
    bystander = await admin.create_user("supervisor")  # supervises another line
    await admin.create_line(supervisors=[bystander.user["id"]])
    world = await make_line(
        admin,
        supervisors=[supervisor.user["id"]],
        sla={"first_answer_s": 2, "notify_user_ids": [named.user["id"]]},
    )
    receiver = await CrmReceiver(lambda attempt: 200).start()
    await admin.post(
        "/api/v1/webhooks",
        {"url": receiver.url, "events": ["conversation.sla_breached"]},
        expect=201,
    )
    sockets = {
        name: await operator_socket(base_url, api.token or "")
        for name, api in (("supervisor", supervisor), ("named", named), ("bystander", bystander))
    }
    (operator,) = await online_operators(base_url, world)
    visitor, message = await visitor_says(base_url, world.key, "Hello?")
    cid = message["conversation_id"]
    await operator.events.wait("conversation:offered")  # offered, never answered

    breach = await sockets["supervisor"].events.wait("sla:breached", timeout_s=10)
    felt_at = utcnow()
    assert breach["kind"] == "first_answer" and breach["conversation"]["id"] == cid
    due = at(breach["conversation"]["sla"]["first_answer_due_at"])
    assert near(due, at(breach["conversation"]["created_at"]) + timedelta(seconds=2))
    assert due - timedelta(seconds=0.01) <= felt_at <= due + timedelta(seconds=2)
    assert breach["conversation"]["sla"]["breached"] == ["first_answer"]
    await sockets["named"].events.wait("sla:breached", lambda b: b["conversation"]["id"] == cid)

    # The conversation carries it, and the inbox finds it by "breached".
    conversation = await admin.get(f"/api/v1/conversations/{cid}")
    assert conversation["sla"]["breached"] == ["first_answer"]
    listed = await supervisor.get("/api/v1/conversations?sla=breached")
    assert [c["id"] for c in listed["conversations"]] == [cid]
    status, error = await supervisor.call("GET", "/api/v1/conversations?sla=late")
    assert status == 422 and error["error"]["code"] == "invalid_query"

    # The CRM webhook says so.
    await eventually(
        lambda: _deliveries(receiver),
        lambda calls: len(calls) == 1,
    )
    (call,) = receiver.delivered("conversation.sla_breached")
    assert call["body"]["data"]["kind"] == "first_answer"
    assert call["body"]["data"]["conversation"]["id"] == cid

    # Once: the same clock running out again (a second process, a restart) tells nobody.
    rev = conversation["rev"]
    await hub.timers.set(FIRST, cid, utcnow(), {"due_at": due})
    await eventually(lambda: hub.store.timers.get(FIRST, cid), lambda t: t is None)
    await hub.bus.drain()
    assert (await admin.get(f"/api/v1/conversations/{cid}"))["rev"] == rev
    assert len(sockets["supervisor"].events.all("sla:breached")) == 1
    # Only the line's supervisors and the named users heard it.
    assert operator.events.all("sla:breached") == []
    assert sockets["bystander"].events.all("sla:breached") == []
    for client in (visitor, operator, *sockets.values()):
        await client.close()
    await receiver.close()


async def test_an_answer_in_time_prevents_the_breach_and_starts_the_next_answer_clock(
    base_url: str, admin: Api, hub_app: web.Application
) -> None:
    hub = hub_app[HUB]
    supervisor = await admin.create_user("supervisor")
    world = await make_line(
        admin,
        supervisors=[supervisor.user["id"]],
        sla={"first_answer_s": 30, "next_answer_s": 600},
    )
    watcher = await operator_socket(base_url, supervisor.token or "")
    (operator,) = await online_operators(base_url, world)
    visitor, message = await visitor_says(base_url, world.key, "Hello?")
    cid = message["conversation_id"]
    first = await eventually(
        lambda: admin.get(f"/api/v1/conversations/{cid}"),
        lambda c: c["sla"]["first_answer_due_at"] is not None,
    )
    due = at(first["sla"]["first_answer_due_at"])
    assert near(due, at(first["created_at"]) + timedelta(seconds=30))
    await operator.events.wait("conversation:offered")
    assert (await operator.call("conversation:accept", {"id": cid}))["ok"]
    # A hidden note is not an answer.
    await operator.call(
        "message:send", {"conversation_id": cid, "text": "looking", "hidden": True}
    )
    await hub.bus.drain()
    noted = await admin.get(f"/api/v1/conversations/{cid}")
    assert noted["sla"]["first_answer_due_at"] == first["sla"]["first_answer_due_at"]

    await operator.call("message:send", {"conversation_id": cid, "text": "Hi! How can I help?"})
    answered = await eventually(
        lambda: admin.get(f"/api/v1/conversations/{cid}"),
        lambda c: c["sla"]["first_answer_due_at"] is None,
    )
    assert answered["sla"]["breached"] == []
    assert await hub.store.timers.get(FIRST, cid) is None
    # Had the timer outlived the answer (its cancel lost), it would breach nothing.
    await hub.timers.set(
        FIRST,
        cid,
        utcnow(),
        {"due_at": at(first["sla"]["first_answer_due_at"])},
    )
    await eventually(lambda: hub.store.timers.get(FIRST, cid), lambda t: t is None)

    # The client writes again: the next-answer clock runs from that message, and a second
    # message does not move it.
    ack = await visitor.call("message:send", {"text": "One more", "client_msg_id": new_msg_id()})
    waiting = await eventually(
        lambda: admin.get(f"/api/v1/conversations/{cid}"),
        lambda c: c["sla"]["next_answer_due_at"] is not None,
    )
    due = at(waiting["sla"]["next_answer_due_at"])
    assert near(due, at(ack["message"]["created_at"]) + timedelta(seconds=600))
    await visitor.call("message:send", {"text": "Hello??", "client_msg_id": new_msg_id()})
    await hub.bus.drain()
    again = await admin.get(f"/api/v1/conversations/{cid}")
    assert again["sla"]["next_answer_due_at"] == waiting["sla"]["next_answer_due_at"]

    await operator.call("message:send", {"conversation_id": cid, "text": "Here you are"})
    await eventually(
        lambda: admin.get(f"/api/v1/conversations/{cid}"),
        lambda c: c["sla"]["next_answer_due_at"] is None,
    )
    assert watcher.events.all("sla:breached") == []
    for client in (visitor, operator, watcher):
        await client.close()


async def test_with_business_hours_the_clock_waits_for_the_line_to_open(
    base_url: str, admin: Api
) -> None:
    # The line opens for an hour, two hours from now, every day: it is closed now.
    now = utcnow()
    opens = (now + timedelta(hours=2)).strftime("%H:%M")
    closes = (now + timedelta(hours=3)).strftime("%H:%M")
    week = {d: [[opens, closes]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    hours = {"timezone": "UTC", "week": week}
    world = await make_line(
        admin,
        working_hours=hours,
        sla={"first_answer_s": 120, "resolve_s": 7200, "business_hours": True},
    )
    visitor, message = await visitor_says(base_url, world.key, "Anyone?")
    cid = message["conversation_id"]
    conversation = await eventually(
        lambda: admin.get(f"/api/v1/conversations/{cid}"),
        lambda c: c["sla"]["first_answer_due_at"] is not None,
    )
    started = at(conversation["created_at"])
    calendar = WorkingHours.model_validate(hours)
    first_due = at(conversation["sla"]["first_answer_due_at"])
    resolve_due = at(conversation["sla"]["resolve_due_at"])
    assert near(first_due, working_deadline(calendar, started, 120))
    assert first_due > now + timedelta(hours=1, minutes=58)
    # Two working hours from now: the hour today, then the next day's hour.
    assert near(resolve_due, working_deadline(calendar, started, 7200))
    assert resolve_due > now + timedelta(hours=24)

    # Closing stops every clock.
    await admin.post(f"/api/v1/conversations/{cid}/close", {})
    closed = await eventually(
        lambda: admin.get(f"/api/v1/conversations/{cid}"),
        lambda c: c["sla"]["resolve_due_at"] is None,
    )
    assert closed["sla"]["first_answer_due_at"] is None
    await visitor.close()


async def test_the_line_settings_are_validated(admin: Api) -> None:
    line = await admin.create_line()
    for bad in (
        {"first_answer_s": 0},
        {"next_answer_s": "soon"},
        {"resolve_s": 10**12},
        {"notify_user_ids": ["nobody"]},
        {"first_answer_s": 60, "unknown": 1},
    ):
        status, error = await admin.call("PATCH", f"/api/v1/lines/{line['id']}", {"sla": bad})
        assert status == 422, (bad, error)
    assert (await admin.get(f"/api/v1/lines/{line['id']}"))["sla"] == line["sla"]
    updated = await admin.patch(
        f"/api/v1/lines/{line['id']}", {"sla": {"first_answer_s": 60, "business_hours": True}}
    )
    assert updated["sla"] == {
        "first_answer_s": 60,
        "next_answer_s": None,
        "resolve_s": None,
        "business_hours": True,
        "notify_user_ids": [],
    }


async def _deliveries(receiver: CrmReceiver) -> list[dict[str, object]]:
    return receiver.delivered("conversation.sla_breached")
