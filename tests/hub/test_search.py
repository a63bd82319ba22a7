"""Searching conversations finds words written in them (the word index), by prefix, in Russian
and English, with the matching message as a highlighted snippet; pages; sees only what the
searcher may see."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from tests.support.clients import Api
from tests.support.waiting import eventually
from tests.support.world import LineWorld, make_line, visitor_says


async def _closed_conversation(base_url: str, world: LineWorld, said: str, reply: str) -> str:
    visitor, message = await visitor_says(base_url, world.key, said)
    conversation_id = str(message["conversation_id"])
    operator = world.operators[0]
    await operator.post(f"/api/v1/conversations/{conversation_id}/accept", expect=200)
    await operator.post(
        f"/api/v1/conversations/{conversation_id}/messages", {"text": reply}, expect=201
    )
    await operator.post(f"/api/v1/conversations/{conversation_id}/close", expect=200)
    await visitor.close()
    return conversation_id


async def _search(api: Api, q: str, **params: str) -> dict[str, Any]:
    query = "&".join(f"{k}={quote(v)}" for k, v in {"q": q, **params}.items())
    return dict(await api.get(f"/api/v1/conversations?{query}"))


async def _found(api: Api, q: str, **params: str) -> list[dict[str, Any]]:
    """The conversations ``q`` finds once the index has caught up (it writes off the ingest
    path): waits until the search finds something."""
    page = await eventually(lambda: _search(api, q, **params), lambda p: p["conversations"])
    return list(page["conversations"])


async def test_a_word_from_a_closed_conversation_finds_it(base_url: str, admin: Api) -> None:
    world = await make_line(admin)
    wanted = await _closed_conversation(
        base_url, world, "Где мой заказ номер 4711?", "Ваш заказ уже доставлен, спасибо!"
    )
    await _closed_conversation(base_url, world, "Hello", "Hi, how can I help?")
    (found,) = await _found(admin, "ДОСТАВ", status="closed")
    assert found["id"] == wanted
    match = found["match"]
    assert match["text"] == "Ваш заказ уже доставлен, спасибо!"
    assert [match["text"][s:e] for s, e in match["highlights"]] == ["доставлен"]
    # Not the last message: the client's own words, by number too.
    (by_number,) = await _found(admin, "4711")
    assert by_number["id"] == wanted and by_number["match"]["text"].startswith("Где мой")


async def test_every_word_of_the_query_must_be_in_the_message(base_url: str, admin: Api) -> None:
    world = await make_line(admin)
    both = await _closed_conversation(base_url, world, "Ёлочные игрушки пришли", "Отлично")
    await _closed_conversation(base_url, world, "Ёлочные гирлянды", "Хорошо")
    (found,) = await _found(admin, "елоч игруш")
    assert found["id"] == both
    assert len(await _found(admin, "ёлочн")) == 2  # ё and е are one letter to the search


async def test_results_page_newest_first(base_url: str, admin: Api) -> None:
    world = await make_line(admin)
    ids = [
        await _closed_conversation(base_url, world, f"parcel number {n}", "ok") for n in range(3)
    ]
    await eventually(lambda: _search(admin, "parcel"), lambda p: len(p["conversations"]) == 3)
    first = await _search(admin, "parcel", limit="2")
    assert [c["id"] for c in first["conversations"]] == ids[:0:-1]
    rest = await _search(admin, "parcel", limit="2", cursor=first["next_cursor"])
    assert [c["id"] for c in rest["conversations"]] == [ids[0]] and rest["next_cursor"] is None


async def test_an_operator_finds_only_what_they_may_see(base_url: str, admin: Api) -> None:
    ours, theirs = await make_line(admin), await make_line(admin)
    await _closed_conversation(base_url, theirs, "secret invoice 9911", "noted")
    mine = await _closed_conversation(base_url, ours, "public invoice 9911", "noted")
    assert len(await _found(admin, "invoice 9911")) == 2
    found = await _found(ours.operators[0], "invoice 9911")
    assert [c["id"] for c in found] == [mine]
