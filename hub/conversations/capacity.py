"""Capacity slots: an operator's count of active conversations per line (``operator_load``),
taken before an assignment, given back when it ends, and repaired after a crash left one
too high. Every take and give-back moves ``v``, so the repair can tell a leak from a take in
flight."""

from __future__ import annotations

import contextlib
import logging
from datetime import timedelta
from typing import Any

from pymongo.errors import DuplicateKeyError

from hub.conversations.transitions import GIVE_BACK, Transitions
from hub.errors import Conflict
from hub.models import Line, utcnow
from hub.store import Store

log = logging.getLogger("openlines.conversations")


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

    async def repair_capacity(self, settle_s: float) -> list[str]:
        """Put right capacity counters a crash left too high, and return their lines.

        A process that dies between taking a slot and assigning (or between freeing the
        conversation and giving the slot back) leaves ``active`` above the number of
        conversations holding the slot, and the operator short of room for good. A counter
        that disagrees is only marked on the first look; it is set to the truth when, ``settle_s``
        later, neither it nor that number has moved (``v`` counts every take and give-back, so
        a take still in flight, which lasts milliseconds, can never be mistaken for a leak)."""
        now = utcnow()
        repaired: list[str] = []
        for doc in await self._store.operator_load.find({"active": {"$gt": 0}}).to_list():
            held = await self._store.conversations.count_documents({"load_key": doc["_id"]})
            unchanged = {"_id": doc["_id"], "active": doc["active"], "v": doc.get("v")}
            suspect = doc.get("suspect")
            if doc["active"] <= held:
                if suspect is not None:
                    await self._store.operator_load.update_one(
                        unchanged, {"$unset": {"suspect": ""}}
                    )
                continue
            seen = {"v": doc.get("v"), "held": held}
            if suspect is None or {k: suspect.get(k) for k in seen} != seen:
                await self._store.operator_load.update_one(
                    unchanged, {"$set": {"suspect": {**seen, "at": now}}}
                )
            elif now - suspect["at"] >= timedelta(seconds=settle_s):
                result = await self._store.operator_load.update_one(
                    unchanged,
                    {"$set": {"active": held}, "$inc": {"v": 1}, "$unset": {"suspect": ""}},
                )
                if result.modified_count:
                    log.warning(
                        "capacity counter repaired slot=%s from=%s to=%s",
                        doc["_id"],
                        doc["active"],
                        held,
                    )
                    repaired.append(doc["line_id"])
        return repaired
