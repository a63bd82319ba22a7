"""Capacity repair decisions: what to do with one operator's slot counter, given how many
conversations really hold its slots. Pure: the router's repair worker loads the counters and
commits the verdict through the hub's conditional capacity operations."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from hub.conversations.capacity import SlotCounter


class Repair(StrEnum):
    """What the repair worker does with one counter on one look."""

    KEEP = "keep"  # agrees with the truth, or is suspect and still settling
    CLEAR = "clear"  # agrees again: forget the suspicion
    MARK = "mark"  # disagrees (or moved since it was marked): mark it, look again later
    FIX = "fix"  # disagreed unchanged for ``settle_s``: set it to the truth


def verdict(counter: SlotCounter, held: int, now: datetime, settle_s: float) -> Repair:
    """A counter above ``held`` (the conversations holding its slots) is a leak only when
    neither it (``v`` moves on every take and give-back) nor ``held`` has moved for
    ``settle_s``: a take in flight lasts milliseconds and is never mistaken for one."""
    suspect = counter.suspect
    if counter.active <= held:
        return Repair.CLEAR if suspect is not None else Repair.KEEP
    if suspect is None or (suspect.v, suspect.held) != (counter.v, held):
        return Repair.MARK
    if now - suspect.at >= timedelta(seconds=settle_s):
        return Repair.FIX
    return Repair.KEEP
