"""The timers and channel leases repositories: claims are conditional, so two processes never
hold the same timer or lease; a moved timer is not deleted by the one that fired before."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from hub.models import utcnow
from hub.store import Store
from tests.support.store import fresh_store


@pytest.fixture
async def store(mongo_url: str, db_name: str) -> AsyncIterator[Store]:
    async with fresh_store(mongo_url, db_name) as store:
        yield store


async def test_a_timer_is_claimed_once_and_a_moved_one_survives(store: Store) -> None:
    now = utcnow()
    await store.timers.set("offer", "c1", now - timedelta(seconds=1), {"user": "ann"})
    await store.timers.set("close", "c2", now + timedelta(hours=1))
    (due,) = await store.timers.due(now, 50)
    assert (due.kind, due.key, due.payload) == ("offer", "c1", {"user": "ann"})
    claimed = await store.timers.claim(due, now + timedelta(seconds=30))
    assert claimed is not None
    assert await store.timers.claim(due, now + timedelta(seconds=30)) is None  # taken
    assert await store.timers.due(now, 50) == []  # leased
    # The handler moves it; deleting the fired version leaves the new one.
    await store.timers.set("offer", "c1", now + timedelta(minutes=1))
    await store.timers.delete_fired(claimed)
    moved = await store.timers.get("offer", "c1")
    assert moved is not None and moved.version != claimed.version
    await store.timers.cancel("offer", "c1")
    assert await store.timers.get("offer", "c1") is None


async def test_leases(store: Store) -> None:
    leases, now = store.channel_leases, utcnow()
    later = now + timedelta(seconds=15)
    assert await leases.acquire("ch", "p1", now, later)
    assert await leases.acquire("ch", "p1", now, later)  # kept by its holder
    assert not await leases.acquire("ch", "p2", now, later)  # live: someone else's
    assert await leases.renew("ch", "p1", later)
    assert not await leases.renew("ch", "p2", later)
    await leases.release("ch", "p2", now)  # not p2's: nothing happens
    lease = await leases.get("ch")
    assert lease is not None and lease.holder == "p1"
    await leases.release("ch", "p1", now)
    assert await leases.acquire("ch", "p2", now, later)  # free at once
    lease = await leases.get("ch")
    assert lease is not None and lease.holder == "p2"
