"""Waiting on a condition with a deadline: for state that has no event to wait for."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def eventually(
    probe: Callable[[], Awaitable[T]],
    until: Callable[[T], bool],
    *,
    timeout_s: float = 15.0,
    interval_s: float = 0.1,
) -> T:
    """Call ``probe`` until ``until(result)`` holds; fail with the last result at the deadline."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = await probe()
        if until(result):
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout_s} s; last: {result!r}")
        await asyncio.sleep(interval_s)
