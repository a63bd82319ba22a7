"""A manager who writes to a client from the CRM gets the answer (issue 15, point 3): the
conversation they open is theirs — assigned to them, in no operator's capacity, offered to
nobody — and the client's reply reaches them in the console."""

from __future__ import annotations

from tests.crm_bridge.test_crm import CRM_LINE, crm_of, widget_visitor
from tests.support.clients import Api, new_msg_id, operator_socket
from tests.support.world import make_line


async def test_the_conversation_a_manager_opens_is_theirs(base_url: str, admin: Api) -> None:
    world = await make_line(admin, **CRM_LINE)
    manager = await admin.create_user("manager")
    operator = world.operators[0]
    op_socket = await operator_socket(base_url, operator.token or "")
    manager_socket = await operator_socket(base_url, manager.token or "")

    anna, first = await widget_visitor(base_url, world, "Hello", name="Anna", email="a@ex.org")
    old = await crm_of(admin, first["conversation_id"], "lead_id")
    converted = await manager.post(
        f"/api/v1/crm/leads/{old['crm']['lead_id']}/convert", {"contact": True}, expect=201
    )
    contact = converted["contact"]
    await admin.post(f"/api/v1/conversations/{old['id']}/close", expect=200)

    sent = await manager.post(
        f"/api/v1/crm/contacts/{contact['id']}/messages",
        {"text": "Your invoice is ready"},
        expect=201,
    )
    opened = sent["conversation"]
    assert opened["id"] != old["id"]
    assert opened["status"] == "active" and opened["assignee_id"] == manager.user["id"]
    assert opened["offered_to"] == []
    await anna.events.wait(
        "message:new", lambda d: d["message"]["text"] == "Your invoice is ready"
    )

    # The client answers: the manager hears it, the line's operator is offered nothing.
    ack = await anna.call(
        "message:send", {"text": "Thanks, paying now", "client_msg_id": new_msg_id()}
    )
    assert ack["ok"], ack
    heard = await manager_socket.events.wait(
        "message:new", lambda d: d["message"]["text"] == "Thanks, paying now"
    )
    assert heard["message"]["conversation_id"] == opened["id"]
    now = await admin.get(f"/api/v1/conversations/{opened['id']}")
    assert now["status"] == "active" and now["assignee_id"] == manager.user["id"]
    assert now["offered_to"] == []
    # No line greeting: staff wrote first.
    texts = [
        m["text"]
        for m in (await manager.get(f"/api/v1/conversations/{opened['id']}/messages"))["messages"]
    ]
    assert texts == ["Your invoice is ready", "Thanks, paying now"]
    # In no operator's capacity: the operator's slot count in the line is untouched.
    members = await admin.get(f"/api/v1/console/lines/{world.line['id']}/members")
    assert all(m["active"] == 0 for m in members["members"])
    assert not [
        e
        for e in op_socket.events.all("conversation:updated")
        if e["conversation"]["id"] == opened["id"] and e["conversation"]["status"] == "offered"
    ]
    for client in (anna, op_socket, manager_socket):
        await client.close()
