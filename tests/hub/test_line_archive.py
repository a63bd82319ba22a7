"""Archiving a line (issue 15, point 12): it takes no new conversations, is left out of the
transfer picker, refuses transfers, and comes back as it was when restored."""

from __future__ import annotations

import pytest

from tests.support.clients import Api, operator_socket
from tests.support.world import make_line, visitor_says


async def test_an_archived_line_takes_nothing_new_and_is_restored(
    base_url: str, admin: Api
) -> None:
    world = await make_line(admin)
    other = await make_line(admin)
    line_id = world.line["id"]
    # An admin switched this one off before: restoring the line must leave it off.
    api_channel = await admin.create_channel(line_id, "api", {})
    await admin.patch(f"/api/v1/channels/{api_channel['id']}", {"active": False})
    visitor, message = await visitor_says(base_url, world.key, "Still open when archived")
    await visitor.close()

    archived = await admin.patch(f"/api/v1/lines/{line_id}", {"archived": True})
    assert archived["archived"] is True and archived["name"] == world.line["name"]
    assert (await admin.get(f"/api/v1/lines/{line_id}"))["archived"] is True
    channels = (await admin.get(f"/api/v1/lines/{line_id}/channels"))["channels"]
    assert {c["type"]: c["active"] for c in channels} == {"widget": False, "api": False}
    # No new visitor gets in through its widget.
    with pytest.raises(Exception, match=r"(?i)refused|connect|channel"):
        await visitor_says(base_url, world.key, "New here")
    # The transfer picker does not offer it, and a transfer to it is refused.
    picker = (await admin.get("/api/v1/console/transfer-lines"))["lines"]
    assert line_id not in [line["id"] for line in picker]
    assert other.line["id"] in [line["id"] for line in picker]
    _, theirs = await visitor_says(base_url, other.key, "Move me")
    status, body = await admin.call(
        "POST",
        f"/api/v1/conversations/{theirs['conversation_id']}/transfer",
        {"to_line_id": line_id},
    )
    assert status == 409 and body["error"]["code"] == "line_archived", body
    # A channel added meanwhile starts switched off, and none is switched on by hand.
    added = await admin.create_channel(line_id, "api", {})
    assert added["active"] is False
    status, body = await admin.call("PATCH", f"/api/v1/channels/{added['id']}", {"active": True})
    assert status == 409 and body["error"]["code"] == "line_archived", body
    # Switched off by hand while archived: restoring the line leaves it off.
    held = await admin.create_channel(line_id, "api", {})
    await admin.patch(f"/api/v1/channels/{held['id']}", {"active": False})
    # The conversation still open stays for staff to finish.
    path = f"/api/v1/conversations/{message['conversation_id']}"
    assert (await admin.get(path))["status"] != "closed"
    await admin.post(f"{path}/close", expect=200)

    restored = await admin.patch(f"/api/v1/lines/{line_id}", {"archived": False})
    assert restored["archived"] is False
    channels = (await admin.get(f"/api/v1/lines/{line_id}/channels"))["channels"]
    assert {c["id"]: c["active"] for c in channels} == {
        world.widget["id"]: True,
        api_channel["id"]: False,
        added["id"]: True,
        held["id"]: False,
    }
    again, _ = await visitor_says(base_url, world.key, "Back again")
    await again.close()
    picker = (await admin.get("/api/v1/console/transfer-lines"))["lines"]
    assert line_id in [line["id"] for line in picker]


async def test_archiving_is_an_admins_and_checked(base_url: str, admin: Api) -> None:
    world = await make_line(admin)
    operator = world.operators[0]
    socket = await operator_socket(base_url, operator.token or "")
    status, body = await operator.call(
        "PATCH", f"/api/v1/lines/{world.line['id']}", {"archived": True}
    )
    assert status == 403, body
    status, body = await admin.call(
        "PATCH", f"/api/v1/lines/{world.line['id']}", {"archived": "soon"}
    )
    assert status == 422, body
    assert (await admin.get(f"/api/v1/lines/{world.line['id']}"))["archived"] is False
    await socket.close()
