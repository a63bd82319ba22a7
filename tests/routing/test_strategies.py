"""Distribution modes as pure functions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hub.models import Distribution
from routing.strategies import Candidate, choose

T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def cand(
    uid: str, *, online: bool = True, active: int = 0, offers: int = 0, routed: int | None = None
) -> Candidate:
    at = None if routed is None else T0 + timedelta(minutes=routed)
    return Candidate(uid, online, active, offers, at)


def test_round_robin_rotates_by_last_routing_time() -> None:
    ops = [cand("a", routed=5), cand("b", routed=1), cand("c", routed=3)]
    assert choose(Distribution.ROUND_ROBIN, ops, max_active=5) == ["b"]


def test_round_robin_prefers_never_routed_then_line_order() -> None:
    ops = [cand("a", routed=1), cand("b"), cand("c")]
    assert choose(Distribution.ROUND_ROBIN, ops, max_active=5) == ["b"]


def test_round_robin_has_no_lifetime_counter() -> None:
    # "c" was away all day and has handled nothing; once back it is simply next in rotation,
    # not the target of every conversation until it catches up.
    ops = [cand("a", routed=10, active=1), cand("b", routed=11, active=1), cand("c", routed=0)]
    assert choose(Distribution.ROUND_ROBIN, ops, max_active=5) == ["c"]
    ops = [cand("a", routed=10, active=1), cand("b", routed=11, active=1), cand("c", routed=12)]
    assert choose(Distribution.ROUND_ROBIN, ops, max_active=5) == ["a"]


def test_strict_order_takes_first_with_room() -> None:
    ops = [cand("a", active=2), cand("b", active=1, offers=1), cand("c")]
    assert choose(Distribution.STRICT_ORDER, ops, max_active=2) == ["c"]
    assert choose(Distribution.STRICT_ORDER, ops, max_active=3) == ["a"]
    assert choose(Distribution.STRICT_ORDER, ops, max_active=0) == ["a"]  # 0 = no limit


def test_offline_and_full_operators_are_never_chosen() -> None:
    ops = [cand("a", online=False), cand("b", active=1)]
    for mode in Distribution:
        assert choose(mode, ops, max_active=1) == []


def test_all_at_once_offers_everyone_available() -> None:
    ops = [cand("a"), cand("b", online=False), cand("c"), cand("d", active=3)]
    assert choose(Distribution.ALL_AT_ONCE, ops, max_active=3) == ["a", "c"]


def test_timed_out_operators_are_skipped_until_everyone_was_tried() -> None:
    ops = [cand("a"), cand("b"), cand("c")]
    assert choose(Distribution.STRICT_ORDER, ops, max_active=5, skip=frozenset({"a"})) == ["b"]
    everyone = frozenset({"a", "b", "c"})
    assert choose(Distribution.STRICT_ORDER, ops, max_active=5, skip=everyone) == ["a"]
    assert choose(Distribution.ROUND_ROBIN, ops, max_active=5, skip=frozenset({"a", "b"})) == ["c"]
