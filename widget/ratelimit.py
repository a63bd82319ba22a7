"""How fast a widget visitor (and an IP address) may send: at most N hits per window per key.

With Redis the counters are shared by every hub process (fixed windows, ``INCR`` + ``EXPIRE``);
without it a sliding log per key in this process does the same job."""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable

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
        self._hits: dict[str, deque[float]] = {}
        self._calls = 0

    async def allow(self, key: str, limit: int) -> bool:
        """Count one hit for ``key``; False when it is over ``limit`` in the current window."""
        if self._redis is not None:
            return await self._allow_redis(key, limit)
        return self._allow_local(key, limit)

    async def _allow_redis(self, key: str, limit: int) -> bool:
        assert self._redis is not None
        # Wall-clock windows, so every process agrees on the bucket.
        bucket = int(time.time() // self.window_s)
        name = f"{self._prefix}:{key}:{bucket}"
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(name)
            pipe.expire(name, math.ceil(self.window_s) + 1)
            count, _ = await pipe.execute()
        return int(count) <= limit

    def _allow_local(self, key: str, limit: int) -> bool:
        now = self._clock()
        self._calls += 1
        if self._calls % _SWEEP_EVERY == 0:
            self._sweep(now)
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - self.window_s:
            hits.popleft()
        if len(hits) >= limit:
            return False
        hits.append(now)
        return True

    def _sweep(self, now: float) -> None:
        horizon = now - self.window_s
        for key in [k for k, hits in self._hits.items() if not hits or hits[-1] <= horizon]:
            del self._hits[key]
