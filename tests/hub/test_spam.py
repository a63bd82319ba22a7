"""Spam and blocked clients (issue 17, point 7): a spam close tells the client nothing (no
closing text, no rating request) and counts on the client; a blocked client's new messages are
stored once and offered to nobody, seen only by the line's supervisors and admins; unblocking
offers their waiting conversation as normal (docs/spam.md). Telegram's side is in
tests/channels/telegram/test_blocked.py."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from hub.appkeys import HUB
from hub.services import Hub
from tests.routing.test_router import offer_for
from tests.support.clients import Api, SocketClient, new_msg_id, operator_socket
from tests.support.waiting import eventually
from tests.support.world import LineWorld, make_line, visitor_says

CLOSING = "Thank you, goodbye!"


async def settle(hub: Hub) -> None:
    """Until every subscriber handled everything, including what the handlers published."""
    while True:
        published = hub.bus.stats.published
        await hub.bus.drain()
        if hub.bus.stats.published == published:
            return


async def supervised_line(admin: Api, **fields: Any) -> tuple[LineWorld, Api]:
    supervisor = await admin.create_user("supervisor")
    assert supervisor.user is not None
    world = await make_line(admin, supervisors=[supervisor.user["id"]], **fields)
    return world, supervisor


async def messages_of(api: Api, conversation_id: str) -> list[dict[str, Any]]:
    page = await api.get(f"/api/v1/conversations/{conversation_id}/messages?limit=200")
    return list(page["messages"])


async def test_spam_closes_without_closing_text_or_rating_and_marks_the_client(
    base_url: str, admin: Api, hub_app: web.Application
) -> None:
    hub = hub_app[HUB]
    world, supervisor = await supervised_line(
        admin, csat={"enabled": True}, messages={"closing": CLOSING}
    )
    operator = world.operators[0]
    # The control: an operator's close says goodbye and asks for a rating.
    polite, first = await visitor_says(base_url, world.key, "Where is my order?")
    path = f"/api/v1/conversations/{first['conversation_id']}"
    await operator.post(f"{path}/accept", expect=200)
    await operator.post(f"{path}/close", expect=200)
    await polite.events.wait("csat:request")
    await polite.events.wait("message:new", lambda d: d["message"]["text"] == CLOSING)
    await polite.close()

    spammer, message = await visitor_says(base_url, world.key, "Cheap pills, click here")
    cid = message["conversation_id"]
    path = f"/api/v1/conversations/{cid}"
    await operator.post(f"{path}/accept", expect=200)
    await settle(hub)
    said_before = len(await messages_of(admin, cid))

    closed = await operator.post(f"{path}/spam", expect=200)
    assert closed["status"] == "closed" and closed["close_reason"] == "spam"
    assert closed["csat"] is None
    await spammer.events.wait("conversation:closed")
    await settle(hub)

    after = await messages_of(admin, cid)
    assert len(after) == said_before  # nothing said: no closing text, no rating prompt
    assert not [m for m in after if m["text"] == CLOSING or m["purpose"] == "csat_request"]
    assert spammer.events.all("csat:request") == []
    assert not [e for e in spammer.events.all("message:new") if e["message"]["text"] == CLOSING]
    ack = await spammer.call("csat:submit", {"rating": 5})
    assert ack["ok"] is False and ack["error"]["code"] == "csat_not_awaited", ack

    # Counted on the client, shown on the card; the Closed list tells it apart.
    card = await supervisor.get(f"/api/v1/console/clients/{closed['client']['id']}")
    assert card["client"]["spam_count"] == 1 and card["client"]["spam_at"]
    assert card["client"]["blocked"] is False  # spam is not a block: that is the supervisor's
    listed = await operator.get("/api/v1/conversations?status=closed")
    reasons = {c["id"]: c["close_reason"] for c in listed["conversations"]}
    assert reasons[cid] == "spam" and reasons[first["conversation_id"]] == "operator"

    status, body = await operator.call("POST", f"{path}/spam")
    assert status == 409 and body["error"]["code"] == "conversation_closed"
    await spammer.close()


async def test_line_operators_mark_the_queue_spam_managers_do_not(
    base_url: str, admin: Api
) -> None:
    world = await make_line(admin, operators=2)
    manager = await admin.create_user("manager")
    visitor, message = await visitor_says(base_url, world.key, "spam from the queue")
    path = f"/api/v1/conversations/{message['conversation_id']}"
    # Managers see a conversation once the CRM linked it (a lead), and may not mark it spam.
    await eventually(lambda: admin.get(path), lambda c: c["crm"]["lead_id"] is not None)
    status, body = await manager.call("POST", f"{path}/spam")
    assert status == 403, body
    # Any operator of the line sees its queue, and may clear spam out of it.
    closed = await world.operators[1].post(f"{path}/spam", expect=200)
    assert closed["close_reason"] == "spam"
    await visitor.close()


async def test_a_blocked_client_is_stored_once_and_offered_to_nobody_until_unblocked(
    base_url: str, admin: Api, hub_app: web.Application
) -> None:
    hub = hub_app[HUB]
    world, supervisor = await supervised_line(admin)
    operator = world.operators[0]
    socket = await operator_socket(base_url, operator.token or "")
    sockets: list[SocketClient] = [socket]
    visitor, first = await visitor_says(base_url, world.key, "hello")
    await offer_for(sockets, first["conversation_id"])
    path = f"/api/v1/conversations/{first['conversation_id']}"
    await operator.post(f"{path}/accept", expect=200)
    await operator.post(f"{path}/close", expect=200)
    client_id = (await admin.get(path))["client"]["id"]

    # Operators may not block: it is a decision about a person, across lines.
    status, body = await operator.call("POST", f"/api/v1/clients/{client_id}/block")
    assert status == 403, body
    blocked = await supervisor.post(f"/api/v1/clients/{client_id}/block", expect=200)
    assert blocked["blocked"] is True and blocked["blocked_at"]

    told = await visitor.call("prechat", {"name": "Returning visitor"})
    assert told["ok"] and "blocked" not in told["client"], told  # never told they are blocked
    msg_id = new_msg_id()
    ack = await visitor.call("message:send", {"text": "I am back", "client_msg_id": msg_id})
    again = await visitor.call("message:send", {"text": "I am back", "client_msg_id": msg_id})
    assert ack["ok"] and again["ok"] and again["message"]["id"] == ack["message"]["id"]
    cid = ack["message"]["conversation_id"]
    assert cid != first["conversation_id"]
    # Someone else writes after them and is offered: the router passed the blocked one by.
    other, later = await visitor_says(base_url, world.key, "my turn")
    await offer_for(sockets, later["conversation_id"])
    await settle(hub)

    waiting = await supervisor.get(f"/api/v1/conversations/{cid}")
    assert waiting["status"] == "queued" and waiting["offered_to"] == []
    assert waiting["client"]["blocked"] is True
    assert [m["text"] for m in await messages_of(admin, cid)] == ["I am back"]  # once, no texts
    assert not [
        e for e in socket.events.all("conversation:offered") if e["conversation"]["id"] == cid
    ]
    # Supervisors and admins see it waiting; the line's operators do not.
    status, _ = await operator.call("GET", f"/api/v1/conversations/{cid}")
    assert status == 404
    queue = await operator.get("/api/v1/conversations?status=queued")
    assert cid not in [c["id"] for c in queue["conversations"]]
    queue = await supervisor.get("/api/v1/conversations?status=queued")
    assert cid in [c["id"] for c in queue["conversations"]]
    board = await supervisor.get(f"/api/v1/console/lines/{world.line['id']}/board")
    assert board["waiting"] == 1  # the one offered; the blocked one waits for nobody

    # Unblocked: offered as normal, from its place in the queue.
    unblocked = await supervisor.post(f"/api/v1/clients/{client_id}/unblock", expect=200)
    assert unblocked["blocked"] is False
    _, offer = await offer_for(sockets, cid)
    assert offer["conversation"]["client"]["blocked"] is False
    await visitor.close()
    await other.close()
    await socket.close()


async def test_blocking_withdraws_a_pending_offer_and_spares_an_accepted_chat(
    base_url: str, admin: Api
) -> None:
    world, supervisor = await supervised_line(admin)
    operator = world.operators[0]
    socket = await operator_socket(base_url, operator.token or "")
    visitor, message = await visitor_says(base_url, world.key, "hi")
    cid = message["conversation_id"]
    await offer_for([socket], cid)
    client_id = (await admin.get(f"/api/v1/conversations/{cid}"))["client"]["id"]

    await supervisor.post(f"/api/v1/clients/{client_id}/block", expect=200)
    withdrawn = await admin.get(f"/api/v1/conversations/{cid}")
    assert withdrawn["status"] == "queued" and withdrawn["offered_to"] == []
    status, body = await operator.call("POST", f"/api/v1/conversations/{cid}/accept")
    assert status == 404, body

    # An operator already talking to the client keeps the chat (and may close it as spam).
    await supervisor.post(f"/api/v1/clients/{client_id}/unblock", expect=200)
    await offer_for([socket], cid)
    await operator.post(f"/api/v1/conversations/{cid}/accept", expect=200)
    await supervisor.post(f"/api/v1/clients/{client_id}/block", expect=200)
    active = await operator.get(f"/api/v1/conversations/{cid}")
    assert active["status"] == "active" and active["client"]["blocked"] is True
    await operator.post(f"/api/v1/conversations/{cid}/spam", expect=200)
    await visitor.close()
    await socket.close()


async def test_rating_by_a_supervisor_beside_the_clients_csat(
    base_url: str, admin: Api, hub_app: web.Application
) -> None:
    world, supervisor = await supervised_line(admin, csat={"enabled": True})
    operator = world.operators[0]
    assert supervisor.user is not None and admin.user is not None
    console = await operator_socket(base_url, supervisor.token or "", online=False)
    visitor, message = await visitor_says(base_url, world.key, "Thanks for the help")
    cid = message["conversation_id"]
    path = f"/api/v1/conversations/{cid}"
    await operator.post(f"{path}/accept", expect=200)

    status, body = await supervisor.call("POST", f"{path}/rating", {"rating": 4})
    assert status == 409 and body["error"]["code"] == "conversation_open"
    await operator.post(f"{path}/close", expect=200)
    await visitor.events.wait("csat:request")
    assert (await visitor.call("csat:submit", {"rating": 5}))["ok"]

    for bad in (0, 6, "3", 3.5, True, None):
        status, body = await supervisor.call("POST", f"{path}/rating", {"rating": bad})
        assert status == 422, (bad, body)
        assert [d["field"] for d in body["error"]["details"]] == ["rating"], body
    status, body = await supervisor.call("POST", f"{path}/rating", {"comment": "no stars"})
    assert status == 422 and body["error"]["details"][0]["field"] == "rating"
    status, body = await operator.call("POST", f"{path}/rating", {"rating": 5})
    assert status == 403, body

    rated = await supervisor.post(f"{path}/rating", {"rating": 4, "comment": "Polite"})
    assert rated["rating"] == {
        "rating": 4,
        "comment": "Polite",
        "by_user_id": supervisor.user["id"],
        "rated_at": rated["rating"]["rated_at"],
    }
    assert rated["csat"]["rating"] == 5  # the client's stays beside it
    heard = await console.events.wait(
        "conversation:updated",
        lambda d: d["change"] == "rating" and d["conversation"]["id"] == cid,
    )
    assert heard["conversation"]["rating"]["rating"] == 4

    # Rating again replaces it, author and comment included.
    again = await admin.post(f"{path}/rating", {"rating": 2})
    assert again["rating"]["rating"] == 2 and again["rating"]["comment"] is None
    assert again["rating"]["by_user_id"] == admin.user["id"]
    shown = await operator.get(path)
    assert shown["rating"]["rating"] == 2 and shown["csat"]["rating"] == 5
    listed = await supervisor.get("/api/v1/conversations?status=closed")
    assert [c["rating"]["rating"] for c in listed["conversations"] if c["id"] == cid] == [2]
    await visitor.close()
    await console.close()
