"""Sign-in throttling: wrong passwords lock an account (and an address) out for a while.

After ``login_max_failures`` wrong passwords for one account (ten times as many from one IP
address), every sign-in to it is refused for ``login_lockout_s`` — the right password included,
so guessing gains nothing — and each further failure doubles the wait, up to
``login_lockout_max_s``. A success clears the account's count. Counts are forgotten a while
after the last failure. With Redis they are shared by every hub process; without it, one
process keeps them.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from redis.asyncio import Redis

from hub.errors import RateLimited
from hub.settings import Settings

# Failures from one IP address allowed for every one allowed per account: an office behind one
# address signs in many people.
IP_FACTOR = 10


@dataclass
class _Count:
    failures: int = 0
    locked_until: float = 0.0
    last: float = 0.0


class LoginThrottle:
    def __init__(
        self,
        settings: Settings,
        *,
        redis: Redis | None = None,
        prefix: str = "openlines:login",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._max = settings.login_max_failures
        self._base_s = settings.login_lockout_s
        self._cap_s = max(settings.login_lockout_max_s, settings.login_lockout_s)
        # A count outlives its last failure by this much, so a slow guesser is still counted.
        self._memory_s = self._cap_s * 2
        self._redis = redis
        self._prefix = prefix
        self._clock = clock
        self._local: dict[str, _Count] = {}

    def _keys(self, email: str, ip: str) -> list[tuple[str, int]]:
        account = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]
        return [(f"account:{account}", self._max), (f"ip:{ip}", self._max * IP_FACTOR)]

    def _lockout_s(self, failures: int, limit: int) -> float:
        if failures < limit:
            return 0.0
        return float(min(self._cap_s, self._base_s * 2 ** min(failures - limit, 30)))

    async def check(self, email: str, ip: str) -> None:
        """``RateLimited`` (429, with ``retry_after_s``) while the account or address is locked."""
        now = self._clock()
        wait = 0.0
        for key, _ in self._keys(email, ip):
            wait = max(wait, await self._locked_until(key) - now)
        if wait > 0:
            raise RateLimited(
                "too many wrong passwords; try again later",
                code="login_throttled",
                details={"retry_after_s": math.ceil(wait)},
            )

    async def failed(self, email: str, ip: str) -> None:
        for key, limit in self._keys(email, ip):
            await self._count_failure(key, limit)

    async def succeeded(self, email: str) -> None:
        key, _ = self._keys(email, "-")[0]
        if self._redis is not None:
            await self._redis.delete(self._name(key, "n"), self._name(key, "lock"))
        else:
            self._local.pop(key, None)

    # --- storage ---------------------------------------------------------------------------

    def _name(self, key: str, part: str) -> str:
        return f"{self._prefix}:{key}:{part}"

    async def _locked_until(self, key: str) -> float:
        if self._redis is not None:
            value = await self._redis.get(self._name(key, "lock"))
            return float(value) if value is not None else 0.0
        count = self._local.get(key)
        return count.locked_until if count else 0.0

    async def _count_failure(self, key: str, limit: int) -> None:
        now = self._clock()
        if self._redis is not None:
            name = self._name(key, "n")
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.incr(name)
                pipe.expire(name, math.ceil(self._memory_s))
                failures, _ = await pipe.execute()
            lockout = self._lockout_s(int(failures), limit)
            if lockout:
                await self._redis.set(
                    self._name(key, "lock"), str(now + lockout), ex=math.ceil(lockout) + 1
                )
            return
        self._forget_old(now)
        count = self._local.setdefault(key, _Count())
        count.failures += 1
        count.last = now
        lockout = self._lockout_s(count.failures, limit)
        if lockout:
            count.locked_until = now + lockout

    def _forget_old(self, now: float) -> None:
        if len(self._local) < 10_000:
            return
        for key in [k for k, c in self._local.items() if now - c.last > self._memory_s]:
            del self._local[key]
