"""The ``operator_load`` collection: per (line, operator), the count of active conversations
(capacity) and when they were last offered one (the rotation order). ``_id = "<line>:<user>"``.

Every take and give-back moves ``v``, so a repair can tell a leak from a take in flight; every
write is conditional, so processes may race. Journaled.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from hub.models import utcnow

Doc = dict[str, Any]

# Gives a capacity slot back.
_GIVE_BACK = {"$inc": {"active": -1, "v": 1}}


def load_key(line_id: str, user_id: str) -> str:
    return f"{line_id}:{user_id}"


@dataclass(frozen=True)
class Suspicion:
    """A counter found above the truth, as it stood then (``v`` and ``held``) and when."""

    v: int | None
    held: int
    at: datetime


@dataclass(frozen=True)
class SlotCounter:
    """One operator's capacity counter in one line, as read."""

    key: str
    line_id: str
    active: int
    v: int | None
    suspect: Suspicion | None
    user_id: str = ""
    last_routed_at: datetime | None = None

    @classmethod
    def from_doc(cls, doc: Doc) -> SlotCounter:
        """From the stored document (``v`` and ``suspect`` are absent on old counters)."""
        suspect = doc.get("suspect")
        return cls(
            key=doc["_id"],
            line_id=doc["line_id"],
            active=doc.get("active", 0),
            v=doc.get("v"),
            suspect=None
            if suspect is None
            else Suspicion(v=suspect.get("v"), held=suspect.get("held"), at=suspect["at"]),
            user_id=doc.get("user_id", ""),
            last_routed_at=doc.get("last_routed_at"),
        )


def _unchanged(counter: SlotCounter) -> Doc:
    """The filter that matches the counter only as it was read."""
    return {"_id": counter.key, "active": counter.active, "v": counter.v}


class LoadStore:
    def __init__(self, collection: AsyncCollection[Doc]) -> None:
        self._collection = collection

    async def take(self, line_id: str, user_id: str, limit: int | None) -> bool:
        """Take one slot of the operator's in the line, unless ``limit`` are taken already."""
        key = load_key(line_id, user_id)
        below: Doc = {"active": {"$lt": limit}} if limit else {}
        take = {"$inc": {"active": 1, "v": 1}, "$set": {"last_routed_at": utcnow()}}
        if await self._collection.find_one_and_update({"_id": key, **below}, take):
            return True
        # No counter yet (their first conversation here) or a full one: make sure it exists
        # (a no-op when it does, or when an offer made it meanwhile), then try once more.
        with contextlib.suppress(DuplicateKeyError):
            await self._collection.insert_one(
                {
                    "_id": key,
                    "line_id": line_id,
                    "user_id": user_id,
                    "active": 0,
                    "v": 0,
                    "last_routed_at": None,
                }
            )
        return await self._collection.find_one_and_update({"_id": key, **below}, take) is not None

    async def give_back(self, key: str) -> None:
        await self._collection.update_one({"_id": key}, _GIVE_BACK)

    async def mark_routed(self, line_id: str, user_id: str) -> None:
        """Note that the operator was just offered a conversation in the line."""
        await self._collection.update_one(
            {"_id": load_key(line_id, user_id)},
            {
                "$set": {"last_routed_at": utcnow()},
                "$setOnInsert": {"line_id": line_id, "user_id": user_id, "active": 0},
            },
            upsert=True,
        )

    async def of_line(self, line_id: str) -> list[SlotCounter]:
        """Every operator's counter in the line (an operator with none has no counter)."""
        docs = await self._collection.find({"line_id": line_id}).to_list()
        return [SlotCounter.from_doc(d) for d in docs]

    async def in_use(self) -> list[SlotCounter]:
        """Every counter above zero (the only ones a crash can have left too high)."""
        docs = await self._collection.find({"active": {"$gt": 0}}).to_list()
        return [SlotCounter.from_doc(d) for d in docs]

    async def clear_suspect(self, counter: SlotCounter) -> None:
        """Forget a suspicion, unless the counter moved since it was read."""
        await self._collection.update_one(_unchanged(counter), {"$unset": {"suspect": ""}})

    async def mark_suspect(self, counter: SlotCounter, held: int, now: datetime) -> None:
        """Note that the counter disagrees with ``held`` as of ``now`` (unless it moved)."""
        await self._collection.update_one(
            _unchanged(counter), {"$set": {"suspect": {"v": counter.v, "held": held, "at": now}}}
        )

    async def correct(self, counter: SlotCounter, held: int) -> bool:
        """Set a leaked counter to ``held``; False when it moved since it was read."""
        result = await self._collection.update_one(
            _unchanged(counter),
            {"$set": {"active": held}, "$inc": {"v": 1}, "$unset": {"suspect": ""}},
        )
        return bool(result.modified_count)
