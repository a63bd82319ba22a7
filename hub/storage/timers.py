"""The ``timers`` collection (durable deadlines: offers, no-answer, auto-close, CSAT) and the
``channel_leases`` collection (which process receives for a channel): the one place they are
read and written. Both are claimed with conditional updates, so two processes never hold the
same one; timers are journaled (a deadline set is a promise), leases are not (a lost lease is
taken again within its length)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field
from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from hub.models import new_id

Doc = dict[str, Any]
# The lease of a timer nobody has claimed.
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Timer(BaseModel):
    """A deadline ``(kind, key)``; ``version`` changes whenever it is set, so a process that
    fired an old version does not delete the new one."""

    kind: str
    key: str
    due_at: datetime
    payload: dict[str, Any] = Field(default_factory=dict)
    version: str
    lease_until: datetime

    @property
    def id(self) -> str:
        return timer_id(self.kind, self.key)

    @classmethod
    def from_doc(cls, doc: Doc) -> Timer:
        return cls.model_validate({k: v for k, v in doc.items() if k != "_id"})


def timer_id(kind: str, key: str) -> str:
    return f"{kind}:{key}"


class TimerStore:
    def __init__(self, collection: AsyncCollection[Doc]) -> None:
        self._collection = collection

    async def ensure_indexes(self) -> None:
        await self._collection.create_index([("due_at", ASCENDING)])

    async def set(
        self, kind: str, key: str, due_at: datetime, payload: dict[str, Any] | None = None
    ) -> None:
        """Set or move the timer: a new version, unclaimed."""
        timer = Timer(
            kind=kind,
            key=key,
            due_at=due_at,
            payload=payload or {},
            version=new_id(),
            lease_until=_EPOCH,
        )
        await self._collection.update_one(
            {"_id": timer.id}, {"$set": timer.model_dump()}, upsert=True
        )

    async def get(self, kind: str, key: str) -> Timer | None:
        doc = await self._collection.find_one({"_id": timer_id(kind, key)})
        return Timer.from_doc(doc) if doc else None

    async def cancel(self, kind: str, key: str) -> None:
        await self._collection.delete_one({"_id": timer_id(kind, key)})

    async def due(self, now: datetime, limit: int) -> list[Timer]:
        """Up to ``limit`` timers due by ``now`` and not under a live lease, soonest first."""
        docs = (
            await self._collection.find({"due_at": {"$lte": now}, "lease_until": {"$lte": now}})
            .limit(limit)
            .to_list()
        )
        return sorted((Timer.from_doc(d) for d in docs), key=lambda t: t.due_at)

    async def claim(self, timer: Timer, lease_until: datetime) -> Timer | None:
        """Hold ``timer`` until ``lease_until``; None if another process has it or it was
        moved meanwhile."""
        doc = await self._collection.find_one_and_update(
            {"_id": timer.id, "version": timer.version, "lease_until": timer.lease_until},
            {"$set": {"lease_until": lease_until}},
            return_document=ReturnDocument.AFTER,
        )
        return Timer.from_doc(doc) if doc else None

    async def delete_fired(self, timer: Timer) -> None:
        """Delete the version that fired only: its handler may have set the timer anew."""
        await self._collection.delete_one({"_id": timer.id, "version": timer.version})


class Lease(BaseModel):
    """Who receives for a channel, until when."""

    channel_id: str
    holder: str
    until: datetime


class LeaseStore:
    def __init__(self, collection: AsyncCollection[Doc]) -> None:
        self._collection = collection

    async def ensure_indexes(self) -> None:
        """None: leases are read by ``_id`` only."""

    async def get(self, channel_id: str) -> Lease | None:
        doc = await self._collection.find_one({"_id": channel_id})
        if doc is None:
            return None
        return Lease(channel_id=doc["_id"], holder=doc["holder"], until=doc["until"])

    async def acquire(self, channel_id: str, holder: str, now: datetime, until: datetime) -> bool:
        """Take or keep the lease for ``holder``; False while another holder's is live (the
        upsert then collides with that holder's row)."""
        try:
            await self._collection.update_one(
                {"_id": channel_id, "$or": [{"holder": holder}, {"until": {"$lte": now}}]},
                {"$set": {"holder": holder, "until": until}},
                upsert=True,
            )
        except DuplicateKeyError:  # held by a live process
            return False
        return True

    async def renew(self, channel_id: str, holder: str, until: datetime) -> bool:
        """Extend ``holder``'s lease; False if it is no longer theirs."""
        result = await self._collection.update_one(
            {"_id": channel_id, "holder": holder}, {"$set": {"until": until}}
        )
        return result.matched_count == 1

    async def release(self, channel_id: str, holder: str, now: datetime) -> None:
        """End ``holder``'s lease now, so another process may take the channel at once."""
        await self._collection.update_one(
            {"_id": channel_id, "holder": holder}, {"$set": {"until": now}}
        )
