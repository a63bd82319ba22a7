"""Writes repeated when the connection to the server failed under them (a storage concern: the
repositories use it for the few writes whose loss nobody else repairs)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from pymongo.errors import AutoReconnect

log = logging.getLogger("openlines.store")

T = TypeVar("T")


async def retry_transient(
    write: Callable[[], Awaitable[T]], *, what: str, attempts: int = 3, pause_s: float = 0.2
) -> T:
    """Do an idempotent write again when the connection to the server failed under it.

    The driver's retryable writes are off against the embedded server (hub/embedded.py), so a
    dropped connection reaches us. Most writes need nothing more: the client or platform that
    is told of the failure sends again. This is for the few whose loss nobody else repairs
    (a reply already delivered but not yet marked so would be delivered twice). ``attempts``
    tries in all, the pause doubling in between; then the error goes on.
    """
    for attempt in range(1, attempts):
        try:
            return await write()
        except AutoReconnect as exc:  # dropped, timed out, no primary: not the write's fault
            log.warning("%s failed attempt=%s, trying again: %s", what, attempt, exc)
            await asyncio.sleep(pause_s * 2 ** (attempt - 1))
    return await write()
