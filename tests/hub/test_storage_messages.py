"""The ``messages`` repository's bookkeeping for the search index."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from hub.models import Author, AuthorType, Direction, Message
from hub.store import Store
from tests.support.store import fresh_store


@pytest.fixture
async def store(mongo_url: str, db_name: str) -> AsyncIterator[Store]:
    async with fresh_store(mongo_url, db_name) as store:
        yield store


def _message(n: int, text: str) -> Message:
    return Message(
        conversation_id="c1",
        seq=n,
        channel_id="ch",
        external_id=f"p-{n}",
        direction=Direction.IN,
        author=Author(type=AuthorType.CLIENT, id="k1"),
        text=text,
    )


async def test_marks_keep_a_message_edited_while_its_words_were_indexed_to_index(
    store: Store,
) -> None:
    messages = [_message(n, f"text {n}") for n in range(1, 6)]
    for message in messages:
        assert await store.messages.insert(message)
    read = await store.messages.to_index(10)
    assert {m.id for m in read} == {m.id for m in messages}
    await store.messages.edit_text("ch", "p-3", "edited meanwhile")
    await store.messages.mark_indexed(read)
    assert [m.text for m in await store.messages.to_index(10)] == ["edited meanwhile"]
    await store.messages.mark_indexed(await store.messages.to_index(10))
    assert await store.messages.to_index(10) == []
