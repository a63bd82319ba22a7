"""The quick answers repository: personal and line answers, titles unique per owner/line."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from hub.errors import Conflict
from hub.storage.quick_answers import QuickAnswer
from hub.store import Store
from tests.support.store import fresh_store


@pytest.fixture
async def store(mongo_url: str, db_name: str) -> AsyncIterator[Store]:
    async with fresh_store(mongo_url, db_name) as store:
        yield store


async def test_visible_answers(store: Store) -> None:
    answers = store.quick_answers
    mine = QuickAnswer(owner_id="ann", title="hi", text="Hello!")
    shared = QuickAnswer(owner_id="sue", line_id="sales", title="bye", text="Bye!")
    others = QuickAnswer(owner_id="bob", title="yo", text="Yo")
    for answer in (mine, shared, others):
        await answers.insert(answer)
    with pytest.raises(Conflict) as taken:
        await answers.insert(QuickAnswer(owner_id="ann", title="hi", text="again"))
    assert taken.value.code == "title_taken"
    # The same title elsewhere is fine.
    await answers.insert(QuickAnswer(owner_id="ann", line_id="sales", title="hi", text="x"))
    visible = await answers.visible("ann", ["sales"])
    assert [a.title for a in visible] == ["bye", "hi", "hi"]  # by title
    assert {(a.title, a.line_id) for a in visible} == {
        ("bye", "sales"),
        ("hi", None),
        ("hi", "sales"),
    }
    assert [a.title for a in await answers.visible("ann", [])] == ["hi"]
    got = await answers.get(mine.id)
    assert got is not None and got.text == "Hello!"
    await answers.delete(mine.id)
    assert await answers.get(mine.id) is None


async def test_meta_marks_are_claimed_once(store: Store) -> None:
    assert await store.meta.get("demo") is None
    assert await store.meta.claim("demo")
    assert not await store.meta.claim("demo")
    await store.meta.done("demo", line_id="l", channel_id="c")
    mark = await store.meta.get("demo")
    assert mark is not None and (mark.state, mark.channel_id) == ("done", "c")
    await store.meta.release("demo")
    assert await store.meta.get("demo") is None
