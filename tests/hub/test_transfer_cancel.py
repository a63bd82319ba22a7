"""A pending transfer stays with its sender, who sees it and may cancel it (issue 15, point 5)."""

from __future__ import annotations

from tests.support.clients import Api, operator_socket
from tests.support.world import make_line, visitor_says


async def test_the_sender_sees_and_cancels_a_pending_transfer(base_url: str, admin: Api) -> None:
    world = await make_line(admin, operators=2)
    alice, bob = world.operators
    bob_socket = await operator_socket(base_url, bob.token or "")
    alice_socket = await operator_socket(base_url, alice.token or "")
    visitor, message = await visitor_says(base_url, world.key, "Help me please")
    path = f"/api/v1/conversations/{message['conversation_id']}"
    await alice.post(f"{path}/accept", expect=200)

    sent = await alice.post(f"{path}/transfer", {"to_user_id": bob.user["id"]}, expect=200)  # type: ignore[index]
    assert sent["status"] == "offered" and sent["transfer"]["from"] == alice.user["id"]  # type: ignore[index]
    assert sent["transfer"]["back_to"] == alice.user["id"] and sent["transfer"]["at"]  # type: ignore[index]
    # Alice still sees it while Bob has not accepted, and hears what happens to it.
    seen = await alice.get(path)
    assert seen["transfer"]["to"] == bob.user["id"]  # type: ignore[index]

    back = await alice.post(f"{path}/transfer/cancel", expect=200)
    assert back["status"] == "active" and back["assignee_id"] == alice.user["id"]  # type: ignore[index]
    assert back["transfer"] is None and back["offered_to"] == []
    await alice_socket.events.wait(
        "conversation:updated",
        lambda d: (
            d["conversation"]["id"] == sent["id"] and d["conversation"]["status"] == "active"
        ),
    )
    await bob_socket.events.wait(
        "conversation:updated",
        lambda d: d["conversation"]["id"] == sent["id"] and d["conversation"]["rev"] > sent["rev"],
    )
    status, body = await bob.call("POST", f"{path}/accept")
    assert status in (404, 409), body  # no longer his to take
    members = await admin.get(f"/api/v1/console/lines/{world.line['id']}/members")
    load = {m["id"]: m["active"] for m in members["members"]}
    assert load == {alice.user["id"]: 1, bob.user["id"]: 0}  # type: ignore[index]
    # Nothing to cancel now.
    status, body = await alice.call("POST", f"{path}/transfer/cancel")
    assert status == 409 and body["error"]["code"] == "no_transfer"

    # Accepted, a transfer is the receiver's: the sender no longer sees the conversation.
    await alice.post(f"{path}/transfer", {"to_user_id": bob.user["id"]}, expect=200)  # type: ignore[index]
    await bob.post(f"{path}/accept", expect=200)
    status, _ = await alice.call("GET", path)
    assert status == 404
    for client in (visitor, alice_socket, bob_socket):
        await client.close()
