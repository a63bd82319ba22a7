"""The lines repository: membership queries and whole-record writes."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from hub.models import Line
from hub.store import Store
from tests.support.store import fresh_store


@pytest.fixture
async def store(mongo_url: str, db_name: str) -> AsyncIterator[Store]:
    async with fresh_store(mongo_url, db_name) as store:
        yield store


async def test_membership(store: Store) -> None:
    assert not await store.lines.any()
    sales = Line(name="Sales", operators=["ann"], supervisors=["sue"])
    help_ = Line(name="Help", operators=["bob", "sue"])
    for line in (sales, help_):
        await store.lines.insert(line)
    assert await store.lines.any()
    assert [line.name for line in await store.lines.all()] == ["Sales", "Help"]
    assert [line.id for line in await store.lines.of_member("sue")] == [sales.id, help_.id]
    assert await store.lines.ids_of_member("ann") == [sales.id]
    assert await store.lines.ids_operated_by("sue") == [help_.id]
    assert sorted(await store.lines.ids()) == sorted([sales.id, help_.id])
    assert await store.lines.of_member("nobody") == []


async def test_replace_and_delete(store: Store) -> None:
    line = Line(name="Sales")
    await store.lines.insert(line)
    await store.lines.replace(line.model_copy(update={"name": "Sales 2", "operators": ["ann"]}))
    stored = await store.lines.get(line.id)
    assert stored is not None and (stored.name, stored.operators) == ("Sales 2", ["ann"])
    await store.lines.delete(line.id)
    assert await store.lines.get(line.id) is None
