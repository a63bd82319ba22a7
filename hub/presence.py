"""Operator presence: the status they chose and whether any socket of theirs is open.

Available to the router = status ``online`` and at least one live socket. When the last socket
drops, the operator goes offline after a grace period (a reload is not a logout).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from hub.events import EventBus, PresenceChanged
from hub.models import PresenceStatus
from hub.store import Store

log = logging.getLogger("openlines.presence")


class Presence:
    def __init__(self, store: Store, bus: EventBus, grace_s: float) -> None:
        self._store = store
        self._bus = bus
        self._grace_s = grace_s
        self._pending_offline: dict[str, asyncio.Task[None]] = {}
        self._local_sockets: set[str] = set()

    async def connected(self, user_id: str, sid: str) -> None:
        self._local_sockets.add(sid)
        timer = self._pending_offline.pop(user_id, None)
        if timer is not None:
            timer.cancel()
        await self._store.presence.update_one(
            {"_id": user_id},
            {"$addToSet": {"sockets": sid}, "$setOnInsert": {"status": "offline"}},
            upsert=True,
        )

    async def disconnected(self, user_id: str, sid: str) -> None:
        self._local_sockets.discard(sid)
        await self._store.presence.update_one({"_id": user_id}, {"$pull": {"sockets": sid}})
        doc = await self._store.presence.find_one({"_id": user_id})
        if doc and not doc.get("sockets") and doc.get("status") != "offline":
            old = self._pending_offline.pop(user_id, None)
            if old is not None:
                old.cancel()
            self._pending_offline[user_id] = asyncio.create_task(self._offline_later(user_id))

    async def _offline_later(self, user_id: str) -> None:
        await asyncio.sleep(self._grace_s)
        self._pending_offline.pop(user_id, None)
        result = await self._store.presence.update_one(
            {"_id": user_id, "sockets": [], "status": {"$ne": "offline"}},
            {"$set": {"status": "offline"}},
        )
        if result.modified_count:
            log.info("offline after grace user=%s", user_id)
            await self._bus.publish(
                PresenceChanged(user_id=user_id, status=PresenceStatus.OFFLINE)
            )

    async def set_status(self, user_id: str, status: PresenceStatus) -> None:
        """The operator's own choice; it is also remembered for their next sign-in."""
        await self._store.presence.update_one(
            {"_id": user_id}, {"$set": {"status": status.value}}, upsert=True
        )
        await self._store.users.update_one(
            {"_id": user_id}, {"$set": {"status_preference": status.value}}
        )
        await self._bus.publish(PresenceChanged(user_id=user_id, status=status))

    async def available(self, user_ids: list[str]) -> list[str]:
        """Those of ``user_ids`` who are online with a live socket, in the given order."""
        docs = await self._store.presence.find(
            {"_id": {"$in": user_ids}, "status": "online"}
        ).to_list()
        live = {d["_id"] for d in docs if d.get("sockets")}
        return [uid for uid in user_ids if uid in live]

    async def stop(self) -> None:
        """On shutdown this process's sockets are gone: don't leave their operators online."""
        if self._local_sockets:
            await self._store.presence.update_many(
                {}, {"$pull": {"sockets": {"$in": sorted(self._local_sockets)}}}
            )
            self._local_sockets.clear()
        for task in self._pending_offline.values():
            task.cancel()
        for task in self._pending_offline.values():
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._pending_offline.clear()
