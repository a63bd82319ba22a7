"""Capacity slots: an operator's count of active conversations per line (``operator_load``),
taken before an assignment, given back when it ends, and repaired after a crash left one
too high. Every take and give-back moves ``v``, so the repair can tell a leak from a take in
flight."""

from __future__ import annotations

import logging
from datetime import datetime

from hub.conversations.transitions import Transitions
from hub.errors import Conflict
from hub.models import Line
from hub.storage.conversations import Where
from hub.storage.load import SlotCounter, Suspicion, load_key
from hub.store import Store

__all__ = ["Capacity", "SlotCounter", "Suspicion"]

log = logging.getLogger("openlines.conversations")


class Capacity:
    """Takes, gives back and repairs capacity slots; all conditional, so processes may race."""

    def __init__(self, store: Store, transitions: Transitions) -> None:
        self._store = store
        self._transitions = transitions

    async def take_slot(self, line: Line, user_id: str) -> str:
        """Take one of ``user_id``'s slots in ``line`` and return its key; refuses a full one."""
        if not await self._store.operator_load.take(
            line.id, user_id, line.max_active_per_operator
        ):
            raise Conflict(
                f"you already have {line.max_active_per_operator} active conversations "
                "in this line",
                code="capacity_reached",
            )
        return load_key(line.id, user_id)

    async def give_back(self, slot: str) -> None:
        """Return a slot taken for an assignment that then lost its race."""
        await self._store.operator_load.give_back(slot)

    async def release_slot(self, conversation_id: str) -> None:
        """Give back the capacity slot a conversation holds, exactly once."""
        await self._transitions.release_slot(conversation_id)

    async def mark_routed(self, line_id: str, user_id: str) -> None:
        """Note that ``user_id`` was just offered a conversation (the rotation order)."""
        await self._store.operator_load.mark_routed(line_id, user_id)

    async def counters_in_use(self) -> list[SlotCounter]:
        """Every slot counter above zero (the only ones a crash can have left too high)."""
        return await self._store.operator_load.in_use()

    async def slots_held(self, counter: SlotCounter) -> int:
        """How many conversations hold one of the counter's slots: the truth it should show."""
        return await self._store.conversations.count(Where(load_key=counter.key))

    async def clear_suspect(self, counter: SlotCounter) -> None:
        """Forget a suspicion, unless the counter moved since it was read."""
        await self._store.operator_load.clear_suspect(counter)

    async def mark_suspect(self, counter: SlotCounter, held: int, now: datetime) -> None:
        """Note that the counter disagrees with ``held`` as of ``now`` (unless it moved)."""
        await self._store.operator_load.mark_suspect(counter, held, now)

    async def correct(self, counter: SlotCounter, held: int) -> bool:
        """Set a leaked counter to ``held``; False when it moved since it was read."""
        corrected = await self._store.operator_load.correct(counter, held)
        if corrected:
            log.warning(
                "capacity counter repaired slot=%s from=%s to=%s",
                counter.key,
                counter.active,
                held,
            )
        return corrected
