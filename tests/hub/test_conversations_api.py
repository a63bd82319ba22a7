"""Conversations over REST: filters, paging by seq, accept and close; metrics and logs."""

from __future__ import annotations

from tests.support.clients import Api, new_msg_id, operator_socket, visitor_socket
from tests.support.world import make_line, visitor_says


async def test_list_filters_and_paging(base_url: str, admin: Api) -> None:
    world = await make_line(admin, operators=2)
    alice, bob = world.operators
    visitor_a, first = await visitor_says(base_url, world.key, "alpha question")
    visitor_b, second = await visitor_says(base_url, world.key, "beta question")
    await alice.post(f"/api/v1/conversations/{first['conversation_id']}/accept", expect=200)

    mine = await alice.get("/api/v1/conversations?assignee=me")
    assert [c["id"] for c in mine["conversations"]] == [first["conversation_id"]]
    queued = await bob.get("/api/v1/conversations?status=queued")
    assert [c["id"] for c in queued["conversations"]] == [second["conversation_id"]]
    found = await admin.get("/api/v1/conversations?q=BETA")
    assert [c["id"] for c in found["conversations"]] == [second["conversation_id"]]
    page1 = await admin.get("/api/v1/conversations?limit=1")
    assert len(page1["conversations"]) == 1 and page1["next_cursor"]
    page2 = await admin.get(f"/api/v1/conversations?limit=1&cursor={page1['next_cursor']}")
    assert {page1["conversations"][0]["id"], page2["conversations"][0]["id"]} == {
        first["conversation_id"],
        second["conversation_id"],
    }
    status, body = await admin.call("GET", "/api/v1/conversations?status=sleeping")
    assert status == 422 and body["error"]["code"] == "invalid_query"
    status, body = await admin.call("GET", "/api/v1/conversations?limit=0")
    assert status == 422

    for i in range(7):
        ack = await visitor_a.call(
            "message:send", {"text": f"more {i}", "client_msg_id": new_msg_id()}
        )
        assert ack["ok"]
    path = f"/api/v1/conversations/{first['conversation_id']}/messages"
    seqs = [m["seq"] for m in (await alice.get(f"{path}?after=0&limit=3"))["messages"]]
    assert seqs == [1, 2, 3]
    seqs = [m["seq"] for m in (await alice.get(f"{path}?after=3&limit=3"))["messages"]]
    assert seqs == [4, 5, 6]
    seqs = [m["seq"] for m in (await alice.get(f"{path}?after=6&limit=50"))["messages"]]
    assert seqs == [7, 8, 9]  # 8 client messages and the staff note of the accept
    seqs = [m["seq"] for m in (await alice.get(f"{path}?before=9&limit=3"))["messages"]]
    assert seqs == [6, 7, 8]  # scrolling up from the newest
    conversation = await alice.get(f"/api/v1/conversations/{first['conversation_id']}")
    assert conversation["last_message"]["text"] == "more 6" and conversation["unread"] == 8
    assert conversation["last_seq"] == 9

    closed = await alice.post(
        f"/api/v1/conversations/{first['conversation_id']}/close", expect=200
    )
    assert closed["status"] == "closed" and closed["closed_at"]
    status, body = await alice.call("POST", f"{path}", {"text": "too late"})
    assert status == 409 and body["error"]["code"] == "conversation_closed"
    # The visitor's next message opens a new conversation.
    ack = await visitor_a.call(
        "message:send", {"text": "new topic", "client_msg_id": new_msg_id()}
    )
    assert ack["message"]["conversation_id"] != first["conversation_id"]
    assert ack["message"]["seq"] == 1
    await visitor_a.close()
    await visitor_b.close()


async def test_metrics_count_what_happens(base_url: str, admin: Api) -> None:
    world = await make_line(admin)
    operator = await operator_socket(base_url, world.operators[0].token or "")
    visitor, message = await visitor_says(base_url, world.key, "count me")
    await operator.events.wait("conversation:offered")
    await operator.call("conversation:accept", {"id": message["conversation_id"]})
    await operator.call(
        "message:send", {"conversation_id": message["conversation_id"], "text": "counted"}
    )
    await visitor.events.wait("message:new")
    status, text = await admin.call("GET", "/metrics")
    assert status == 200
    assert 'openlines_messages_in_total{channel_type="widget"} 1.0' in text
    assert "openlines_ingest_seconds_count 1.0" in text
    assert 'openlines_socket_connections{namespace="widget"} 1.0' in text
    verbose = await admin.get("/healthz?verbose=1")
    assert verbose["counters"]["emit_failures"] == 0
    await operator.events.wait("message:updated", lambda d: d["message"]["status"] == "sent")
    status, text = await admin.call("GET", "/metrics")
    assert 'openlines_messages_out_total{channel_type="widget",status="sent"} 1.0' in text
    await visitor.close()
    await operator.close()


async def test_visitor_token_resumes_the_same_client(base_url: str, admin: Api) -> None:
    world = await make_line(admin)
    operator = await operator_socket(base_url, world.operators[0].token or "", online=False)
    visitor, message = await visitor_says(base_url, world.key, "remember me")
    session = await visitor.events.wait("session")
    ack = await visitor.call("prechat", {"name": "Ann", "email": "ann@example.com"})
    assert ack["ok"] and ack["client"]["name"] == "Ann"
    # The line's staff see who wrote at once, not at their next reload.
    await operator.events.wait(
        "conversation:updated",
        lambda d: (
            d["conversation"]["id"] == message["conversation_id"]
            and d["conversation"]["client"]["email"] == "ann@example.com"
        ),
    )
    await operator.close()
    await visitor.close()
    again = await visitor_socket(base_url, world.key, session["token"])
    resumed = await again.events.wait("session")
    assert resumed["visitor_id"] == session["visitor_id"]
    assert resumed["conversation_id"] == message["conversation_id"]
    conversation = await admin.get(f"/api/v1/conversations/{message['conversation_id']}")
    assert conversation["client"]["name"] == "Ann"
    # A token for another widget, or a forged one, starts a new visitor.
    forged = await visitor_socket(base_url, world.key, session["token"] + "x")
    assert (await forged.events.wait("session"))["visitor_id"] != session["visitor_id"]
    await again.close()
    await forged.close()


async def test_openapi_describes_every_route(anon: Api) -> None:
    spec = await anon.get("/api/v1/openapi.json")
    assert spec["openapi"].startswith("3.1")
    for path, method in [
        ("/api/v1/auth/login", "post"),
        ("/api/v1/lines", "post"),
        ("/api/v1/conversations/{conversation_id}/messages", "post"),
        ("/hooks/{type}/{channel_id}", "post"),
        ("/healthz", "get"),
    ]:
        assert method in spec["paths"][path], path
    login = spec["paths"]["/api/v1/auth/login"]["post"]
    ref = login["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert spec["components"]["schemas"][ref.rsplit("/", 1)[1]]["required"] == [
        "email",
        "password",
    ]


async def test_openapi_covers_every_package(anon: Api) -> None:
    spec = await anon.get("/api/v1/openapi.json")
    assert "post" in spec["paths"]["/api/v1/widget/uploads"]
    assert "post" in spec["paths"]["/api/v1/conversations/{conversation_id}/transfer"]
    ids = [op["operationId"] for ops in spec["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids)), "operationIds must be unique"


async def test_every_change_raises_rev(base_url: str, admin: Api) -> None:
    """``rev`` orders copies of a conversation: a message, an accept, a close each raise it,
    and every event staff hear carries the rev of the change it tells of."""
    world = await make_line(admin, operators=1)
    (op,) = world.operators
    watcher = await operator_socket(base_url, admin.token)
    visitor, first = await visitor_says(base_url, world.key, "hello")
    path = f"/api/v1/conversations/{first['conversation_id']}"
    revs = [(await admin.get(path))["rev"]]
    ack = await visitor.call("message:send", {"text": "anyone?", "client_msg_id": new_msg_id()})
    assert ack["ok"]
    revs.append((await admin.get(path))["rev"])
    revs.append((await op.post(f"{path}/accept", expect=200))["rev"])
    revs.append((await op.post(f"{path}/close", expect=200))["rev"])
    assert revs == sorted(set(revs)), revs

    updates = await watcher.events.wait(
        "conversation:updated", lambda d: d["conversation"]["status"] == "closed"
    )
    heard = [
        d["conversation"]["rev"]
        for d in watcher.events.all("conversation:updated")
        if d["conversation"]["id"] == first["conversation_id"]
    ]
    assert (
        len(set(heard)) == len(heard) and max(heard) == revs[-1] == updates["conversation"]["rev"]
    )
    await visitor.close()
    await watcher.close()
