"""Capacity slots: an operator's count of active conversations per line (``operator_load``),
taken before an assignment, given back when it ends, and repaired after a crash left one
too high. Every take and give-back moves ``v``, so the repair can tell a leak from a take in
flight."""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo.errors import DuplicateKeyError

from hub.conversations.transitions import GIVE_BACK, Transitions
from hub.errors import Conflict
from hub.models import Line, utcnow
from hub.store import Store

log = logging.getLogger("openlines.conversations")


@dataclass(frozen=True)
class Suspicion:
    """A counter found above the truth, as it stood then (``v`` and ``held``) and when."""

    v: int | None
    held: int
    at: datetime


@dataclass(frozen=True)
class SlotCounter:
    """One operator's capacity counter in one line (``operator_load``), as read."""

    key: str
    line_id: str
    active: int
    v: int | None
    suspect: Suspicion | None

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> SlotCounter:
        """From the stored document (``v`` and ``suspect`` are absent on old counters)."""
        suspect = doc.get("suspect")
        return cls(
            key=doc["_id"],
            line_id=doc["line_id"],
            active=doc["active"],
            v=doc.get("v"),
            suspect=None
            if suspect is None
            else Suspicion(v=suspect.get("v"), held=suspect.get("held"), at=suspect["at"]),
        )


class Capacity:
    """Takes, gives back and repairs capacity slots; all conditional, so processes may race."""

    def __init__(self, store: Store, transitions: Transitions) -> None:
        self._store = store
        self._transitions = transitions

    async def take_slot(self, line: Line, user_id: str) -> str:
        """Take one of ``user_id``'s slots in ``line`` and return its key; refuses a full one."""
        load_key = f"{line.id}:{user_id}"
        limit: dict[str, Any] = (
            {"active": {"$lt": line.max_active_per_operator}}
            if line.max_active_per_operator
            else {}
        )
        take = {"$inc": {"active": 1, "v": 1}, "$set": {"last_routed_at": utcnow()}}
        taken = await self._store.operator_load.find_one_and_update(
            {"_id": load_key, **limit}, take
        )
        if taken is None:
            # No counter yet (their first conversation here) or a full one: make sure it exists
            # (a no-op when it does, or when an offer made it meanwhile), then try once more.
            with contextlib.suppress(DuplicateKeyError):
                await self._store.operator_load.insert_one(
                    {
                        "_id": load_key,
                        "line_id": line.id,
                        "user_id": user_id,
                        "active": 0,
                        "v": 0,
                        "last_routed_at": None,
                    }
                )
            taken = await self._store.operator_load.find_one_and_update(
                {"_id": load_key, **limit}, take
            )
        if taken is None:
            raise Conflict(
                f"you already have {line.max_active_per_operator} active conversations "
                "in this line",
                code="capacity_reached",
            )
        return load_key

    async def give_back(self, load_key: str) -> None:
        """Return a slot taken for an assignment that then lost its race."""
        await self._store.operator_load.update_one({"_id": load_key}, GIVE_BACK)

    async def release_slot(self, conversation_id: str) -> None:
        """Give back the capacity slot a conversation holds, exactly once."""
        await self._transitions.release_slot(conversation_id)

    async def mark_routed(self, line_id: str, user_id: str) -> None:
        """Note that ``user_id`` was just offered a conversation (the rotation order)."""
        await self._store.operator_load.update_one(
            {"_id": f"{line_id}:{user_id}"},
            {
                "$set": {"last_routed_at": utcnow()},
                "$setOnInsert": {"line_id": line_id, "user_id": user_id, "active": 0},
            },
            upsert=True,
        )

    async def counters_in_use(self) -> list[SlotCounter]:
        """Every slot counter above zero (the only ones a crash can have left too high)."""
        docs = await self._store.operator_load.find({"active": {"$gt": 0}}).to_list()
        return [SlotCounter.from_doc(doc) for doc in docs]

    async def slots_held(self, counter: SlotCounter) -> int:
        """How many conversations hold one of the counter's slots: the truth it should show."""
        return await self._store.conversations.count_documents({"load_key": counter.key})

    async def clear_suspect(self, counter: SlotCounter) -> None:
        """Forget a suspicion, unless the counter moved since it was read."""
        await self._store.operator_load.update_one(
            _unchanged(counter), {"$unset": {"suspect": ""}}
        )

    async def mark_suspect(self, counter: SlotCounter, held: int, now: datetime) -> None:
        """Note that the counter disagrees with ``held`` as of ``now`` (unless it moved)."""
        await self._store.operator_load.update_one(
            _unchanged(counter),
            {"$set": {"suspect": {"v": counter.v, "held": held, "at": now}}},
        )

    async def correct(self, counter: SlotCounter, held: int) -> bool:
        """Set a leaked counter to ``held``; False when it moved since it was read."""
        result = await self._store.operator_load.update_one(
            _unchanged(counter),
            {"$set": {"active": held}, "$inc": {"v": 1}, "$unset": {"suspect": ""}},
        )
        if result.modified_count:
            log.warning(
                "capacity counter repaired slot=%s from=%s to=%s",
                counter.key,
                counter.active,
                held,
            )
        return bool(result.modified_count)


def _unchanged(counter: SlotCounter) -> dict[str, Any]:
    """The filter that matches the counter only as it was read."""
    return {"_id": counter.key, "active": counter.active, "v": counter.v}
