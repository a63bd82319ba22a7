"""The ``presence`` collection (each operator's chosen status and open sockets) and the
``hub_processes`` collection (each hub process's last heartbeat): the one place they are read
and written. Not journaled: presence is rebuilt by the sockets and beats within a lease."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field
from pymongo.asynchronous.collection import AsyncCollection

from hub.models import PresenceStatus

Doc = dict[str, Any]


class PresenceRecord(BaseModel):
    """One operator's presence: the status they chose and their sockets, each entry
    ``"<process>|<sid>"``."""

    user_id: str
    status: PresenceStatus = PresenceStatus.OFFLINE
    sockets: list[str] = Field(default_factory=list)

    @classmethod
    def from_doc(cls, doc: Doc) -> PresenceRecord:
        return cls(
            user_id=doc["_id"],
            status=doc.get("status") or PresenceStatus.OFFLINE,
            sockets=doc.get("sockets") or [],
        )


class PresenceStore:
    def __init__(self, presence: AsyncCollection[Doc], processes: AsyncCollection[Doc]) -> None:
        self._presence = presence
        self._processes = processes

    async def ensure_indexes(self) -> None:
        """None: both are read by ``_id`` or whole (one row per operator, per process)."""

    # --- processes -----------------------------------------------------------------------

    async def beat(self, process: str, now: datetime) -> bool:
        """Record that ``process`` is alive; True when it had no row (new, or swept as dead)."""
        result = await self._processes.update_one(
            {"_id": process}, {"$set": {"seen_at": now}}, upsert=True
        )
        return result.upserted_id is not None

    async def processes_seen_after(self, since: datetime) -> set[str]:
        docs = await self._processes.find({"seen_at": {"$gt": since}}, {"_id": 1}).to_list()
        return {d["_id"] for d in docs}

    async def forget_processes_silent_since(self, since: datetime) -> None:
        await self._processes.delete_many({"seen_at": {"$lte": since}})

    async def forget_process(self, process: str) -> None:
        await self._processes.delete_one({"_id": process})

    # --- operators -----------------------------------------------------------------------

    async def get(self, user_id: str) -> PresenceRecord | None:
        doc = await self._presence.find_one({"_id": user_id})
        return PresenceRecord.from_doc(doc) if doc else None

    async def of_users(self, user_ids: Iterable[str]) -> list[PresenceRecord]:
        """Those of ``user_ids`` ever seen."""
        docs = await self._presence.find({"_id": {"$in": list(user_ids)}}).to_list()
        return [PresenceRecord.from_doc(d) for d in docs]

    async def with_sockets(self) -> list[PresenceRecord]:
        """Every operator with at least one socket entry (live or not)."""
        docs = await self._presence.find(
            {"sockets": {"$exists": True, "$ne": []}}, {"sockets": 1}
        ).to_list()
        return [PresenceRecord.from_doc(d) for d in docs]

    async def add_socket(self, user_id: str, entry: str, *, first_seen: bool = True) -> None:
        """``first_seen``: an operator seen for the first time starts ``offline`` (their status
        is theirs to set); without it an unknown operator gets no row."""
        if first_seen:
            await self._presence.update_one(
                {"_id": user_id},
                {"$addToSet": {"sockets": entry}, "$setOnInsert": {"status": "offline"}},
                upsert=True,
            )
        else:
            await self._presence.update_one({"_id": user_id}, {"$addToSet": {"sockets": entry}})

    async def remove_sockets(self, user_id: str, entries: list[str]) -> None:
        await self._presence.update_one({"_id": user_id}, {"$pull": {"sockets": {"$in": entries}}})

    async def remove_sockets_of_everyone(self, entries: list[str]) -> None:
        await self._presence.update_many({}, {"$pull": {"sockets": {"$in": entries}}})

    async def set_status(self, user_id: str, status: PresenceStatus) -> None:
        await self._presence.update_one(
            {"_id": user_id}, {"$set": {"status": status.value}}, upsert=True
        )

    async def offline_if_no_sockets(self, user_id: str) -> bool:
        """Set the operator offline if no socket of theirs is left; True if this changed it
        (a conditional update: two processes racing report it once)."""
        result = await self._presence.update_one(
            {"_id": user_id, "sockets": [], "status": {"$ne": "offline"}},
            {"$set": {"status": "offline"}},
        )
        return bool(result.modified_count)
