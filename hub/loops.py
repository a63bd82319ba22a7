"""The one shape of every background worker in the hub: do what is due until there is no
more, then sleep until woken or until the interval passes. Owned by the app (started and
awaited at shutdown); a failing step is logged and counted, never fatal."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable


class Worker:
    def __init__(
        self,
        name: str,
        step: Callable[[], Awaitable[bool]],
        *,
        interval_s: float,
        log: logging.Logger,
    ) -> None:
        """``step()`` does one batch of work and returns True when more may be waiting."""
        self.name = name
        self.failures = 0
        self._step = step
        self._interval_s = interval_s
        self._log = log
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        """Something is due now: don't wait for the interval."""
        self._wake.set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                while await self._step():
                    pass
            except asyncio.CancelledError:
                raise
            except Exception:
                self.failures += 1
                self._log.exception("%s failed; trying again", self.name)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._interval_s)
