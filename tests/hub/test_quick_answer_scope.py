"""Quick answers are edited and scoped (issue 15, point 12): personal (anyone, their own),
a line's (its supervisors and admins), everyone's (admins); docs/console.md "Editing"."""

from __future__ import annotations

from tests.support.clients import Api
from tests.support.world import make_line

QA = "/api/v1/console/quick-answers"


async def _titles(api: Api) -> set[str]:
    return {a["title"] for a in (await api.get(QA))["quick_answers"]}


async def test_scopes_decide_who_writes_and_who_sees(admin: Api) -> None:
    world = await make_line(admin, operators=2)
    alice, bob = world.operators
    supervisor = await admin.create_user("supervisor")
    line_id = world.line["id"]
    await admin.patch(f"/api/v1/lines/{line_id}", {"supervisors": [supervisor.user["id"]]})  # type: ignore[index]
    elsewhere = await make_line(admin)

    mine = await alice.post(QA, {"title": "Mine", "text": "alice only"}, expect=201)
    assert mine["scope"] == "personal" and mine["line_id"] is None
    status, body = await alice.call("POST", QA, {"title": "L", "text": "x", "line_id": line_id})
    assert status == 403, body
    status, body = await alice.call("POST", QA, {"title": "E", "text": "x", "scope": "everyone"})
    assert status == 403, body
    status, body = await supervisor.call(
        "POST", QA, {"title": "E", "text": "x", "scope": "everyone"}
    )
    assert status == 403, body
    shared = await supervisor.post(
        QA, {"title": "Line hello", "text": "hello", "scope": "line", "line_id": line_id}
    )
    assert shared["scope"] == "line"
    status, body = await supervisor.call("POST", QA, {"title": "L", "text": "x", "scope": "line"})
    assert status == 422 and body["error"]["details"] == {"field": "line_id"}, body
    status, body = await admin.call(
        "POST", QA, {"title": "E", "text": "x", "scope": "everyone", "line_id": line_id}
    )
    assert status == 422 and body["error"]["code"] == "line_not_allowed", body
    everyone = await admin.post(QA, {"title": "Hi all", "text": "hi", "scope": "everyone"})
    assert everyone["scope"] == "everyone" and everyone["line_id"] is None

    assert await _titles(alice) == {"Mine", "Line hello", "Hi all"}
    assert await _titles(bob) == {"Line hello", "Hi all"}
    assert await _titles(elsewhere.operators[0]) == {"Hi all"}

    # Editing: the text, the title, and the scope, each checked as creating there would be.
    edited = await alice.patch(f"{QA}/{mine['id']}", {"text": "alice, edited", "title": "Mine 2"})
    assert edited["text"] == "alice, edited" and edited["title"] == "Mine 2"
    status, _ = await bob.call("PATCH", f"{QA}/{mine['id']}", {"text": "bob was here"})
    assert status == 404
    status, _ = await alice.call("PATCH", f"{QA}/{shared['id']}", {"text": "nope"})
    assert status == 403
    status, _ = await alice.call("PATCH", f"{QA}/{mine['id']}", {"scope": "everyone"})
    assert status == 403
    status, body = await alice.call("PATCH", f"{QA}/{mine['id']}", {})
    assert status == 422 and body["error"]["code"] == "empty_patch"
    moved = await supervisor.patch(f"{QA}/{shared['id']}", {"text": "hello there"})
    assert moved["text"] == "hello there" and moved["scope"] == "line"
    widened = await admin.patch(f"{QA}/{shared['id']}", {"scope": "everyone"})
    assert widened["scope"] == "everyone" and widened["line_id"] is None
    assert "Line hello" in await _titles(elsewhere.operators[0])
    narrowed = await admin.patch(f"{QA}/{shared['id']}", {"line_id": line_id})
    assert narrowed["scope"] == "line" and narrowed["line_id"] == line_id
    assert "Line hello" not in await _titles(elsewhere.operators[0])
    status, body = await alice.call("PATCH", f"{QA}/{mine['id']}", {"title": "x" * 101})
    assert status == 422, body
    kept = {a["id"]: a for a in (await alice.get(QA))["quick_answers"]}[mine["id"]]
    assert (kept["title"], kept["text"]) == (
        "Mine 2",
        "alice, edited",
    )  # the bad edit changed nothing

    # Deleting one for everyone is an admin's.
    status, _ = await supervisor.call("DELETE", f"{QA}/{everyone['id']}")
    assert status == 403
    status, _ = await admin.call("DELETE", f"{QA}/{everyone['id']}")
    assert status == 204
    assert await _titles(bob) == {"Line hello"}
