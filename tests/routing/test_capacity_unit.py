"""The capacity repair verdict as a pure function: a counter is fixed only once it has
disagreed, unchanged, for the settle time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hub.conversations.capacity import SlotCounter, Suspicion
from routing.capacity import Repair, verdict

T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
SETTLE_S = 10.0


def counter(active: int, v: int, suspect: Suspicion | None = None) -> SlotCounter:
    return SlotCounter(key="l1:u1", line_id="l1", active=active, v=v, suspect=suspect)


def test_a_counter_that_agrees_is_kept() -> None:
    assert verdict(counter(2, 5), 2, T0, SETTLE_S) == Repair.KEEP


def test_a_counter_that_agrees_again_loses_its_suspicion() -> None:
    marked = counter(2, 5, Suspicion(v=4, held=1, at=T0))
    assert verdict(marked, 2, T0, SETTLE_S) == Repair.CLEAR


def test_a_counter_too_high_is_first_only_marked() -> None:
    assert verdict(counter(3, 5), 2, T0, SETTLE_S) == Repair.MARK


def test_a_marked_counter_that_moved_is_marked_anew() -> None:
    moved = counter(3, 6, Suspicion(v=5, held=2, at=T0))
    later = T0 + timedelta(seconds=SETTLE_S * 2)
    assert verdict(moved, 2, later, SETTLE_S) == Repair.MARK
    assert verdict(counter(3, 5, Suspicion(v=5, held=1, at=T0)), 2, later, SETTLE_S) == (
        Repair.MARK
    )


def test_a_marked_counter_still_settling_is_kept() -> None:
    marked = counter(3, 5, Suspicion(v=5, held=2, at=T0))
    soon = T0 + timedelta(seconds=SETTLE_S / 2)
    assert verdict(marked, 2, soon, SETTLE_S) == Repair.KEEP


def test_a_counter_unchanged_for_the_settle_time_is_fixed() -> None:
    marked = counter(3, 5, Suspicion(v=5, held=2, at=T0))
    assert verdict(marked, 2, T0 + timedelta(seconds=SETTLE_S), SETTLE_S) == Repair.FIX
