"""Sticky routing (issue 17, point 6): a returning client is offered first to the operator who
last served them, or to the responsible of their CRM record, when that person is online with
room; while they are away the conversation waits ``prefer_wait_s`` for them without holding up
the queue behind it, then the line's distribution decides."""

from __future__ import annotations

from typing import Any

from tests.routing.test_router import online_operators
from tests.routing.test_router_processes import post_client_message
from tests.support.clients import Api, SocketClient, operator_socket
from tests.support.waiting import eventually
from tests.support.world import LineWorld


async def strict_line(admin: Api, operators: int, **routing: Any) -> tuple[LineWorld, Any]:
    staff = [await admin.create_user("operator") for _ in range(operators)]
    line = await admin.create_line(
        operators=[s.user["id"] for s in staff],
        distribution="strict_order",  # the first operator is always the line's own pick
        routing=routing,
        messages={"queued": None},
    )
    channel = await admin.create_channel(line["id"], "api", {})
    return LineWorld(admin=admin, line=line, widget=channel, operators=staff), channel


async def served_and_closed(
    admin: Api, channel: Any, socket: SocketClient, chat: str, text: str
) -> str:
    """The client ``chat`` writes, ``socket``'s operator takes it and closes it."""
    await post_client_message(admin, channel, chat, text)
    offer = await socket.events.wait(
        "conversation:offered", lambda d: d["conversation"]["last_message"]["text"] == text
    )
    cid = str(offer["conversation"]["id"])
    assert (await socket.call("conversation:accept", {"id": cid}))["ok"]
    assert (await socket.call("conversation:close", {"id": cid}))["ok"]
    return cid


def offered(socket: SocketClient, text: str) -> Any:
    return socket.events.wait(
        "conversation:offered",
        lambda d: (d["conversation"]["last_message"] or {}).get("text") == text,
        timeout_s=15,
    )


async def away(socket: SocketClient, user_id: str, colleague: SocketClient) -> None:
    assert (await socket.call("status:set", {"status": "away"}))["ok"]
    await colleague.events.wait(
        "operator:status", lambda d: d == {"user_id": user_id, "status": "away"}
    )


async def test_a_returning_client_goes_to_the_operator_who_last_served_them(
    base_url: str, admin: Api
) -> None:
    world, channel = await strict_line(admin, 2, prefer="last_operator", prefer_wait_s=3)
    first_pick, second = world.operators
    # Only the second operator is on when the client first writes: they serve them.
    second_socket = await operator_socket(base_url, second.token or "")
    await served_and_closed(admin, channel, second_socket, "chat-1", "first visit")
    first_socket = await operator_socket(base_url, first_pick.token or "")

    # The client comes back: the line's own pick would be the first operator.
    await post_client_message(admin, channel, "chat-1", "I am back")
    back = await offered(second_socket, "I am back")
    assert back["conversation"]["offered_to"] == [second.user["id"]]
    cid = back["conversation"]["id"]
    assert (await second_socket.call("conversation:accept", {"id": cid}))["ok"]
    assert (await second_socket.call("conversation:close", {"id": cid}))["ok"]
    assert first_socket.events.all("conversation:offered") == []

    # The second operator is away: the client's next conversation waits for them, the next
    # client is not held up behind it, and after prefer_wait_s the line's pick takes it.
    await away(second_socket, second.user["id"], first_socket)
    await post_client_message(admin, channel, "chat-1", "me again")
    await post_client_message(admin, channel, "chat-2", "someone new")
    await offered(first_socket, "someone new")
    waited = await offered(first_socket, "me again")
    texts = [
        o["conversation"]["last_message"]["text"]
        for o in first_socket.events.all("conversation:offered")
    ]
    assert texts == ["someone new", "me again"]
    assert waited["conversation"]["client"]["id"] == back["conversation"]["client"]["id"]
    for socket in (first_socket, second_socket):
        await socket.close()


async def test_a_returning_client_goes_to_the_responsible_of_their_crm_record(
    base_url: str, admin: Api
) -> None:
    world, channel = await strict_line(admin, 2, prefer="crm_responsible", prefer_wait_s=0)
    first_pick, responsible = world.operators
    sockets = await online_operators(base_url, world)
    first_socket, responsible_socket = sockets
    # The first visit goes the line's way and leaves a lead; the lead is given to a colleague.
    cid = await served_and_closed(admin, channel, first_socket, "chat-9", "hello")
    conversation = await eventually(
        lambda: admin.get(f"/api/v1/conversations/{cid}"), lambda c: c["crm"]["lead_id"]
    )
    manager = await admin.create_user("manager")
    await manager.patch(
        f"/api/v1/crm/leads/{conversation['crm']['lead_id']}",
        {"responsible_id": responsible.user["id"]},
    )

    await post_client_message(admin, channel, "chat-9", "about my order")
    again = await offered(responsible_socket, "about my order")
    assert again["conversation"]["offered_to"] == [responsible.user["id"]]

    # Away, with no wait set: the line's own pick at once.
    cid = again["conversation"]["id"]
    assert (await responsible_socket.call("conversation:accept", {"id": cid}))["ok"]
    assert (await responsible_socket.call("conversation:close", {"id": cid}))["ok"]
    await away(responsible_socket, responsible.user["id"], first_socket)
    await post_client_message(admin, channel, "chat-9", "anyone?")
    fallback = await offered(first_socket, "anyone?")
    assert fallback["conversation"]["offered_to"] == [first_pick.user["id"]]
    for socket in sockets:
        await socket.close()
