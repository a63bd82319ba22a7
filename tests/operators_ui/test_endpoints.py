"""The console's own REST endpoints: roles, membership, bad input, and what they return."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.clients import Api, operator_socket
from tests.support.world import make_line, visitor_says
from tests.widget.support import accept_next, reply

I18N = Path(__file__).resolve().parents[2] / "operators_ui" / "src" / "i18n" / "strings.json"


def test_every_label_has_both_languages() -> None:
    texts = json.loads(I18N.read_text())
    assert set(texts) == {"en", "ru"}
    assert set(texts["en"]) == set(texts["ru"])
    assert all(v.strip() for lang in texts.values() for v in lang.values())


async def test_console_page_and_bundle(anon: Api) -> None:
    status, page = await anon.call("GET", "/")
    assert status == 200 and '<div id="app">' in page
    version = page.split("app.js?v=")[1].split('"')[0]
    status, _ = await anon.call("GET", f"/console/app.js?v={version}")
    assert status == 200


async def test_quick_answers_personal_and_per_line(admin: Api) -> None:
    world = await make_line(admin, operators=1)
    op = world.operators[0]
    other = await admin.create_user("operator")
    line_id = world.line["id"]
    mine = await op.post("/api/v1/console/quick-answers", {"title": "hi", "text": "Hello!"})
    # Operators may not write a line's shared answers; admins may.
    status, body = await op.call(
        "POST", "/api/v1/console/quick-answers", {"title": "x", "text": "y", "line_id": line_id}
    )
    assert status == 403 and body["error"]["code"] == "forbidden"
    await admin.post(
        "/api/v1/console/quick-answers", {"title": "bye", "text": "Bye!", "line_id": line_id}
    )
    listed = await op.get("/api/v1/console/quick-answers")
    assert [a["title"] for a in listed["quick_answers"]] == ["bye", "hi"]
    # Another operator sees neither the personal one nor the line's (not a member).
    assert (await other.get("/api/v1/console/quick-answers"))["quick_answers"] == []
    status, _ = await other.call("DELETE", f"/api/v1/console/quick-answers/{mine['id']}")
    assert status == 404
    status, body = await op.call("POST", "/api/v1/console/quick-answers", {"title": ""})
    assert status == 422 and body["error"]["code"] == "validation_failed"
    status, body = await op.call(
        "POST", "/api/v1/console/quick-answers", {"title": "hi", "text": "again"}
    )
    assert status == 409
    await op.call("DELETE", f"/api/v1/console/quick-answers/{mine['id']}", expect=204)


async def test_members_board_history_and_client_card(base_url: str, admin: Api) -> None:
    world = await make_line(admin, operators=1)
    op = world.operators[0]
    stranger = await admin.create_user("operator")
    line_id = world.line["id"]
    socket = await operator_socket(base_url, op.token or "")
    visitor, _ = await visitor_says(base_url, world.key, "first")
    conversation_id = await accept_next(socket)
    await reply(socket, conversation_id, "answer")

    members = (await op.get(f"/api/v1/console/lines/{line_id}/members"))["members"]
    assert [(m["id"], m["status"], m["active"]) for m in members] == [
        (op.user["id"], "online", 1)  # type: ignore[index]
    ]
    assert (await stranger.call("GET", f"/api/v1/console/lines/{line_id}/members"))[0] == 404
    assert (await op.call("GET", f"/api/v1/console/lines/{line_id}/board"))[0] == 403
    assert (await stranger.call("GET", f"/api/v1/console/lines/{line_id}/board"))[0] == 404
    board = await admin.get(f"/api/v1/console/lines/{line_id}/board")
    assert (board["waiting"], board["active"], board["today"]) == (0, 1, 1)
    assert board["avg_first_response_s"] is not None
    assert sum(board["by_hour"]) == 1 and len(board["by_hour"]) == 24
    (mine,) = board["operators"]
    assert (mine["today"], mine["today_closed"], mine["csat_avg"]) == (1, 0, None)
    assert mine["avg_first_response_s"] is not None

    history = await op.get(f"/api/v1/console/conversations/{conversation_id}/history?limit=1")
    assert [m["text"] for m in history["messages"]] == ["answer"]
    last = history["last_seq"]
    older = await op.get(
        f"/api/v1/console/conversations/{conversation_id}/history?before={last}&limit=200"
    )
    assert [m["seq"] for m in older["messages"]] == list(range(1, last))
    status, _ = await op.call(
        "GET", f"/api/v1/console/conversations/{conversation_id}/history?before=x"
    )
    assert status == 422
    assert (
        await stranger.call("GET", f"/api/v1/console/conversations/{conversation_id}/history")
    )[0] in (403, 404)

    conversation = await op.get(f"/api/v1/conversations/{conversation_id}")
    client_id = conversation["client"]["id"]
    card = await op.get(f"/api/v1/console/clients/{client_id}")
    assert [c["id"] for c in card["conversations"]] == [conversation_id]
    assert card["identities"][0]["channel_id"] == world.widget["id"]
    assert (await stranger.call("GET", f"/api/v1/console/clients/{client_id}"))[0] == 404
    assert (await op.call("GET", "/api/v1/console/lines/nope/board"))[0] == 404
    await visitor.close()
    await socket.close()


async def test_staff_names_for_crm_readers(admin: Api) -> None:
    manager = await admin.create_user("manager", name="Maria Manager")
    supervisor = await admin.create_user("supervisor")
    operator = await admin.create_user("operator", name="Oleg Operator")
    for reader in (admin, manager, supervisor):
        staff = (await reader.get("/api/v1/console/staff"))["staff"]
        names = {u["id"]: (u["name"], u["role"]) for u in staff}
        assert names[operator.user["id"]] == ("Oleg Operator", "operator")  # type: ignore[index]
        assert names[manager.user["id"]] == ("Maria Manager", "manager")  # type: ignore[index]
        assert all(set(u) == {"id", "name", "role", "active"} for u in staff)
    status, body = await operator.call("GET", "/api/v1/console/staff")
    assert status == 403 and body["error"]["code"] == "forbidden"
