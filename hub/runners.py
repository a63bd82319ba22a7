"""Background receivers of channels (Telegram long polling, IMAP IDLE): each one runs in
exactly one hub process of the cluster, held by a lease in MongoDB that the holder renews;
when the holder dies, another process takes the channel over once the lease runs out."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from hub.channels import ChannelDeps, ChannelRegistry, ChannelSink
from hub.loops import Worker
from hub.models import ChannelRecord, new_id, utcnow
from hub.store import Store

log = logging.getLogger("openlines.runners")

LEASE_S = 15.0
TICK_S = 5.0
RESTART_DELAY_S = 2.0


class ChannelRunners:
    def __init__(
        self,
        store: Store,
        registry: ChannelRegistry,
        deps: Callable[[], ChannelDeps],
        sink: Callable[[ChannelRecord], ChannelSink],
        *,
        lease_s: float = LEASE_S,
        tick_s: float = TICK_S,
    ) -> None:
        self._store = store
        self._registry = registry
        self._deps = deps
        self._sink = sink
        self._lease_s = lease_s
        self._holder = f"{socket.gethostname()}-{os.getpid()}-{new_id()}"
        self._running: dict[str, tuple[Any, asyncio.Task[None]]] = {}
        self._worker = Worker("channel-runners", self._tick, interval_s=tick_s, log=log)

    def running(self) -> list[str]:
        """Ids of the channels this process receives for now."""
        return sorted(cid for cid, (_, task) in self._running.items() if not task.done())

    def poke(self) -> None:
        """A channel was created or changed: look now."""
        self._worker.wake()

    async def start(self) -> None:
        await self._worker.start()

    async def stop(self) -> None:
        await self._worker.stop()
        for channel_id in list(self._running):
            await self._stop_one(channel_id)

    async def _tick(self) -> bool:
        wanted: dict[str, ChannelRecord] = {}
        for channel in await self._store.channels.active():
            try:
                kind = self._registry.get(channel.type)
            except Exception:
                continue
            if kind.runs_in_background(channel):
                wanted[channel.id] = channel
        for channel_id in list(self._running):
            version, task = self._running[channel_id]
            current = wanted.get(channel_id)
            if current is None or _version(current) != version or task.done():
                await self._stop_one(channel_id)
        for channel_id, channel in wanted.items():
            if channel_id in self._running:
                if not await self._renew(channel_id):
                    log.warning("lost the lease of channel=%s; stopping here", channel_id)
                    await self._stop_one(channel_id, release=False)
            elif await self._acquire(channel_id):
                self._start_one(channel)
        return False

    def _start_one(self, channel: ChannelRecord) -> None:
        kind = self._registry.get(channel.type)
        task = asyncio.create_task(self._guarded(kind.run, channel), name=f"channel:{channel.id}")
        self._running[channel.id] = (_version(channel), task)
        log.info("receiving for channel=%s type=%s", channel.id, channel.type)

    async def _guarded(self, run: Any, channel: ChannelRecord) -> None:
        """Run the receiver; when it ends or fails, wait a little and let the tick restart it."""
        try:
            await run(channel, self._deps(), self._sink(channel))
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("receiver failed channel=%s", channel.id)
        await asyncio.sleep(RESTART_DELAY_S)

    async def _stop_one(self, channel_id: str, *, release: bool = True) -> None:
        _, task = self._running.pop(channel_id)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        if release:
            await self._store.channel_leases.release(channel_id, self._holder, utcnow())

    async def _acquire(self, channel_id: str) -> bool:
        now = utcnow()
        until = now + timedelta(seconds=self._lease_s)
        return await self._store.channel_leases.acquire(channel_id, self._holder, now, until)

    async def _renew(self, channel_id: str) -> bool:
        until = utcnow() + timedelta(seconds=self._lease_s)
        return await self._store.channel_leases.renew(channel_id, self._holder, until)


def _version(channel: ChannelRecord) -> Any:
    return (channel.config, channel.active)
