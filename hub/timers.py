"""Durable timers: deadlines stored in MongoDB and fired by a scheduler loop in every process.

A timer is ``(kind, key)`` with a ``due_at``; setting it again moves it. Each due timer is
claimed with a conditional update (a lease), handled, then deleted only if still ours and
unchanged, so a restart loses none and two processes never fire the same one together. A
handler must tolerate a second call after a crash mid-way (check state with conditional
updates); nothing here keeps a timer in memory.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from hub.loops import Worker
from hub.models import utcnow
from hub.store import Store

log = logging.getLogger("openlines.timers")

TimerHandler = Callable[[str, dict[str, Any]], Awaitable[None]]
LEASE_S = 30.0
# Timers fired a poll at most; a full batch means look again at once.
BATCH = 50


class Timers:
    def __init__(self, store: Store, poll_s: float = 0.5) -> None:
        self._store = store
        self._poll_s = poll_s
        self._handlers: dict[str, TimerHandler] = {}
        self._handler_failures = 0
        self._worker = Worker("timers", self._fire_due, interval_s=poll_s, log=log)

    def on(self, kind: str, handler: TimerHandler) -> None:
        """``handler(key, payload)`` runs when a timer of ``kind`` is due."""
        self._handlers[kind] = handler

    async def set(
        self, kind: str, key: str, due_at: datetime, payload: dict[str, Any] | None = None
    ) -> None:
        await self._store.timers.set(kind, key, due_at, payload)
        if due_at <= utcnow() + timedelta(seconds=self._poll_s):
            self._worker.wake()

    async def cancel(self, kind: str, key: str) -> None:
        await self._store.timers.cancel(kind, key)

    async def start(self) -> None:
        await self._worker.start()

    async def stop(self) -> None:
        await self._worker.stop()

    @property
    def failures(self) -> int:
        return self._worker.failures + self._handler_failures

    async def _fire_due(self) -> bool:
        """Fire what is due now; True when there may be more."""
        now = utcnow()
        rows = await self._store.timers.due(now, BATCH)
        for row in rows:
            claimed = await self._store.timers.claim(row, now + timedelta(seconds=LEASE_S))
            if claimed is None:
                continue  # another process has it, or it was moved meanwhile
            handler = self._handlers.get(claimed.kind)
            try:
                if handler is not None:
                    await handler(claimed.key, claimed.payload)
            except Exception:
                self._handler_failures += 1
                log.exception("timer failed kind=%s key=%s", claimed.kind, claimed.key)
            # Delete only the version we fired: a handler may have set the timer anew.
            await self._store.timers.delete_fired(claimed)
        return len(rows) == BATCH
