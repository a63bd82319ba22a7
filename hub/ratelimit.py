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
        self._hits: dict[str, _Log] = {}
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
        horizon = now - self.window_s
        logs = []
        for key, limit in limits:
            log = self._hits.get(key)
            if log is None:
                log = self._hits[key] = _Log()
            log.expire(horizon)
            if log.units + cost > limit:
                return False
            logs.append(log)
        for log in logs:
            log.add(now, cost)
        return True

    def _sweep(self, now: float) -> None:
        horizon = now - self.window_s
        for key in [k for k, log in self._hits.items() if log.idle_since(horizon)]:
            del self._hits[key]


class _Log:
    """One key's hits still inside the window, oldest first, and the sum of their units: kept
    as hits come and go, so a check costs the hits that expired since the last, not the whole
    window (a visitor's log can hold thousands of hits at the bench's limits)."""

    __slots__ = ("hits", "units")

    def __init__(self) -> None:
        self.hits: deque[tuple[float, int]] = deque()  # (when, units)
        self.units = 0

    def expire(self, horizon: float) -> None:
        hits = self.hits
        while hits and hits[0][0] <= horizon:
            self.units -= hits.popleft()[1]

    def add(self, when: float, units: int) -> None:
        self.hits.append((when, units))
        self.units += units

    def idle_since(self, horizon: float) -> bool:
        return not self.hits or self.hits[-1][0] <= horizon
