"""Several counters checked at once (a visitor's and its address's): counted together in one
Redis round trip, and a refusal by one counts nothing on any."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from hub.ratelimit import RateLimiter
from tests.conftest import REDIS_URL


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = Redis.from_url(REDIS_URL)
    yield client
    await client.aclose()


@pytest.mark.parametrize("shared", [False, True])
async def test_a_refusal_by_one_counter_counts_on_none(shared: bool, redis: Redis) -> None:
    limiter = RateLimiter(
        60, redis=redis if shared else None, prefix=f"test-rate-{uuid.uuid4().hex}"
    )
    # Visitor a: 2 a window; their address: 3 (visitor b shares it).
    assert await limiter.allow_all([("visitor:a", 2), ("ip:1", 3)])
    assert await limiter.allow_all([("visitor:a", 2), ("ip:1", 3)])
    assert not await limiter.allow_all([("visitor:a", 2), ("ip:1", 3)])  # a is at 2
    # The refusal did not count on the address: b still gets its one remaining message.
    assert await limiter.allow_all([("visitor:b", 2), ("ip:1", 3)])
    assert not await limiter.allow_all([("visitor:b", 2), ("ip:1", 3)])  # the address is full
    # ...and the address's refusal did not count on b either.
    assert await limiter.allow("visitor:b", 2)
