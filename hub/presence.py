"""Operator presence: the status they chose and whether any socket of theirs is open.

Available to the router = status ``online`` and at least one live socket. When the last socket
drops, the operator goes offline after a grace period (a reload is not a logout).

A socket is live only while the hub process holding it is: every process beats in
``hub_processes`` every third of ``lease_s`` and sweeps the sockets of processes that stopped
beating (killed, frozen, cut off), so a crashed replica never leaves operators "online" with
conversations offered to nobody.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Iterable
from datetime import timedelta

from hub.events import EventBus, PresenceChanged
from hub.loops import Worker
from hub.models import PresenceStatus, new_id, utcnow
from hub.storage.presence import PresenceRecord
from hub.store import Store

log = logging.getLogger("openlines.presence")

LEASE_S = 15.0


class Presence:
    def __init__(
        self, store: Store, bus: EventBus, grace_s: float, *, lease_s: float = LEASE_S
    ) -> None:
        self._store = store
        self._bus = bus
        self._grace_s = grace_s
        self._lease_s = lease_s
        self.process = f"{socket.gethostname()}-{os.getpid()}-{new_id()}"
        self._pending_offline: dict[str, asyncio.Task[None]] = {}
        self._local_sockets: dict[str, str] = {}  # entry -> user id
        self._worker = Worker("presence", self._beat, interval_s=lease_s / 3, log=log)

    def _entry(self, sid: str) -> str:
        return f"{self.process}|{sid}"

    async def start(self) -> None:
        await self._store.presence.beat(self.process, utcnow())
        await self._worker.start()

    async def connected(self, user_id: str, sid: str) -> None:
        self._local_sockets[self._entry(sid)] = user_id
        timer = self._pending_offline.pop(user_id, None)
        if timer is not None:
            timer.cancel()
        await self._store.presence.add_socket(user_id, self._entry(sid))

    async def disconnected(self, user_id: str, sid: str) -> None:
        self._local_sockets.pop(self._entry(sid), None)
        await self._store.presence.remove_sockets(user_id, [self._entry(sid)])
        record = await self._store.presence.get(user_id)
        if record and not record.sockets and record.status != PresenceStatus.OFFLINE:
            old = self._pending_offline.pop(user_id, None)
            if old is not None:
                old.cancel()
            self._pending_offline[user_id] = asyncio.create_task(self._offline_later(user_id))

    async def _offline_later(self, user_id: str) -> None:
        await asyncio.sleep(self._grace_s)
        self._pending_offline.pop(user_id, None)
        await self._offline_if_no_sockets(user_id)

    async def _offline_if_no_sockets(self, user_id: str) -> None:
        if await self._store.presence.offline_if_no_sockets(user_id):
            log.info("offline user=%s", user_id)
            await self._bus.publish(
                PresenceChanged(user_id=user_id, status=PresenceStatus.OFFLINE)
            )

    async def set_status(self, user_id: str, status: PresenceStatus) -> None:
        """The operator's own choice; it is also remembered for their next sign-in."""
        await self._store.presence.set_status(user_id, status)
        await self._store.users.remember_status(user_id, status)
        await self._bus.publish(PresenceChanged(user_id=user_id, status=status))

    async def statuses(self, user_ids: Iterable[str]) -> dict[str, PresenceStatus]:
        """What everyone else sees: the chosen status while a live socket is open, else
        offline. Users never seen are absent."""
        records = await self._store.presence.of_users(user_ids)
        live = await self._live_processes()
        return {
            r.user_id: r.status if _has_live_socket(r, live) else PresenceStatus.OFFLINE
            for r in records
        }

    async def available(self, user_ids: list[str]) -> list[str]:
        """Those of ``user_ids`` who are online with a live socket, in the given order."""
        statuses = await self.statuses(user_ids)
        return [uid for uid in user_ids if statuses.get(uid) == PresenceStatus.ONLINE]

    async def _live_processes(self) -> set[str]:
        since = utcnow() - timedelta(seconds=self._lease_s)
        return await self._store.presence.processes_seen_after(since) | {self.process}

    async def _beat(self) -> bool:
        swept = await self._store.presence.beat(self.process, utcnow())
        if swept and self._local_sockets:
            # We were taken for dead (a stall longer than the lease) and swept: our sockets
            # are still open, so put them back; the operators' statuses are theirs to set.
            log.warning("this process was swept as dead; re-registering its sockets")
            for entry, user_id in self._local_sockets.items():
                await self._store.presence.add_socket(user_id, entry, first_seen=False)
        await self._sweep()
        return False

    async def _sweep(self) -> None:
        """Drop the sockets of processes that stopped beating; their operators go offline."""
        live = await self._live_processes()
        for record in await self._store.presence.with_sockets():
            dead = [entry for entry in record.sockets if _process_of(entry) not in live]
            if not dead:
                continue
            await self._store.presence.remove_sockets(record.user_id, dead)
            log.warning(
                "dropped %d socket(s) of dead processes user=%s", len(dead), record.user_id
            )
            await self._offline_if_no_sockets(record.user_id)
        since = utcnow() - timedelta(seconds=self._lease_s)
        await self._store.presence.forget_processes_silent_since(since)

    async def stop(self) -> None:
        """On shutdown this process's sockets are gone: don't leave their operators online."""
        await self._worker.stop()
        if self._local_sockets:
            await self._store.presence.remove_sockets_of_everyone(sorted(self._local_sockets))
            self._local_sockets.clear()
        await self._store.presence.forget_process(self.process)
        for task in self._pending_offline.values():
            task.cancel()
        for task in self._pending_offline.values():
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._pending_offline.clear()


def _process_of(entry: str) -> str:
    # Entries are "<process>|<sid>"; one without a process (an older hub's) counts as dead.
    process, sep, _ = entry.partition("|")
    return process if sep else ""


def _has_live_socket(record: PresenceRecord, live: set[str]) -> bool:
    return any(_process_of(entry) in live for entry in record.sockets)
