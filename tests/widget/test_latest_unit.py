"""widget.namespace.LatestOfChats: lookups asked for together share a query, each gets its own
visitor's answer, none is answered by a query that started before it was asked."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from widget.namespace import LOOKUP_BATCH, LatestOfChats


class Store:
    """Visitor -> its latest conversation (a stand-in string), read by whole batches."""

    def __init__(self) -> None:
        self.latest: dict[str, str] = {}
        self.queries: list[list[str]] = []
        self.release = asyncio.Event()
        self.release.set()
        self.started = asyncio.Event()
        self.fail = False

    async def read(self, channel_id: str, visitor_ids: list[str]) -> dict[str, Any]:
        self.queries.append(list(visitor_ids))
        self.started.set()
        seen = dict(self.latest)  # what the query sees: the state when it started
        await self.release.wait()
        if self.fail:
            raise ConnectionError("the database went away")
        return {v: seen[v] for v in visitor_ids if v in seen}


async def test_lookups_asked_together_share_queries_and_get_their_own_answer() -> None:
    store = Store()
    store.latest = {f"v{n}": f"conv{n}" for n in range(0, 1200, 2)}
    lookups = LatestOfChats(store.read)
    visitors = [f"v{n}" for n in range(1200)] * 2
    answers = await asyncio.gather(*(lookups.get("ch", v) for v in visitors))
    assert answers == [store.latest.get(v) for v in visitors]
    # The first query takes the first visitor, the others wait for the next ones (each
    # visitor once, at most LOOKUP_BATCH a query).
    assert len(store.queries) <= 1 + -(-1200 // LOOKUP_BATCH)
    assert sorted(v for q in store.queries for v in q) == sorted(set(visitors))
    assert max(map(len, store.queries)) <= LOOKUP_BATCH


async def test_a_lookup_asked_during_a_query_waits_for_the_next_one() -> None:
    store = Store()
    lookups = LatestOfChats(store.read)
    store.release.clear()
    first = asyncio.create_task(lookups.get("ch", "v1"))
    await store.started.wait()
    # v1 writes its first message while the query that will answer "none" is under way.
    store.latest["v1"] = "conv1"
    second = asyncio.create_task(lookups.get("ch", "v1"))
    store.release.set()
    assert await first is None
    assert await second == "conv1"


async def test_a_failed_query_fails_its_lookups_and_the_next_ones_read_again() -> None:
    store = Store()
    lookups = LatestOfChats(store.read)
    store.fail = True
    with pytest.raises(ConnectionError):
        await lookups.get("ch", "v1")
    store.fail = False
    store.latest["v1"] = "conv1"
    assert await lookups.get("ch", "v1") == "conv1"
