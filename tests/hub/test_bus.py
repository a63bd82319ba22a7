"""The Redis event bus: every event is handled once per subscription across the cluster, even
when the process that took it died before acknowledging it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from hub.events import PresenceChanged, RedisStreamBus
from hub.models import PresenceStatus
from tests.conftest import REDIS_URL


@pytest.fixture
async def redis(db_name: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(REDIS_URL)
    yield client
    await client.aclose()


async def test_events_a_dead_consumer_held_are_taken_over(redis: Redis, db_name: str) -> None:
    stream = f"openlines:{db_name}:events"
    seen: asyncio.Queue[PresenceChanged] = asyncio.Queue()

    async def handle(event: PresenceChanged) -> None:
        await seen.put(event)

    # A first process subscribes, reads one event and dies before acknowledging it.
    ghost = RedisStreamBus(redis, stream)
    ghost.subscribe("routing", handle, PresenceChanged)
    await ghost.start()
    await ghost.stop()
    held = PresenceChanged(user_id="held-by-the-dead", status=PresenceStatus.ONLINE)
    await ghost.publish(held)
    group = f"{stream}:routing"
    taken = await redis.xreadgroup(group, "ghost-4242", {stream: ">"}, count=10)
    assert len(taken[0][1]) == 1

    # A live process (another consumer name) gets it once it has been pending long enough,
    # along with what is published after; and nothing twice.
    live = RedisStreamBus(redis, stream, claim_idle_s=0.5)
    live.subscribe("routing", handle, PresenceChanged)
    await live.start()
    try:
        fresh = PresenceChanged(user_id="published-later", status=PresenceStatus.AWAY)
        await live.publish(fresh)
        got = {(await asyncio.wait_for(seen.get(), 10)).user_id for _ in range(2)}
        assert got == {"held-by-the-dead", "published-later"}
        assert live.stats.reclaimed == 1
        pending = await redis.xpending(stream, group)
        assert pending["pending"] == 0
    finally:
        await live.stop()
    assert seen.empty()
