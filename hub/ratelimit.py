"""How much one key (a widget visitor, an IP address, an account) may do: at most ``limit`` units
per window, a unit being a hit or, with ``cost``, e.g. a byte of an upload.

With Redis the counters are shared by every hub process (fixed windows, ``INCRBY`` +
``EXPIRE``); without it a sliding log per key in this process does the same job."""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Sequence

from redis.asyncio import Redis

# A sweep of idle keys keeps the in-memory table bounded under a flood of new visitors.
_SWEEP_EVERY = 10_000


class RateLimiter:
    def __init__(
        self,
        window_s: float,
        *,
        redis: Redis | None = None,
        prefix: str = "openlines:rate",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.window_s = window_s
        self._redis = redis
        self._prefix = prefix
        self._clock = clock
        # key -> (when, units) of each hit still inside the window
        self._hits: dict[str, deque[tuple[float, int]]] = {}
        self._calls = 0

    async def allow(self, key: str, limit: int, *, cost: int = 1) -> bool:
        """Count ``cost`` units for ``key``; False (and nothing counted) when that would take it
        over ``limit`` in the current window."""
        return await self.allow_all([(key, limit)], cost=cost)

    async def allow_all(self, limits: Sequence[tuple[str, int]], *, cost: int = 1) -> bool:
        """Count ``cost`` units for each ``(key, limit)``; False (and nothing counted for any)
        when that would take one over its limit. On Redis one round trip (two when refused)."""
        if self._redis is not None:
            return await self._allow_redis(limits, cost)
        return self._allow_local(limits, cost)

    async def _allow_redis(self, limits: Sequence[tuple[str, int]], cost: int) -> bool:
        assert self._redis is not None
        # Wall-clock windows, so every process agrees on the bucket.
        bucket = int(time.time() // self.window_s)
        names = [f"{self._prefix}:{key}:{bucket}" for key, _ in limits]
        async with self._redis.pipeline(transaction=True) as pipe:
            for name in names:
                pipe.incrby(name, cost)
                pipe.expire(name, math.ceil(self.window_s) + 1)
            replies = await pipe.execute()
        counts = replies[0::2]
        if all(int(count) <= limit for count, (_, limit) in zip(counts, limits, strict=True)):
            return True
        async with self._redis.pipeline(transaction=False) as pipe:
            for name in names:
                pipe.decrby(name, cost)  # refused: it does not count
            await pipe.execute()
        return False

    def _allow_local(self, limits: Sequence[tuple[str, int]], cost: int) -> bool:
        now = self._clock()
        self._calls += 1
        if self._calls % _SWEEP_EVERY == 0:
            self._sweep(now)
        logs = []
        for key, limit in limits:
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0][0] <= now - self.window_s:
                hits.popleft()
            if sum(units for _, units in hits) + cost > limit:
                return False
            logs.append(hits)
        for hits in logs:
            hits.append((now, cost))
        return True

    def _sweep(self, now: float) -> None:
        horizon = now - self.window_s
        for key in [k for k, hits in self._hits.items() if not hits or hits[-1][0] <= horizon]:
            del self._hits[key]
