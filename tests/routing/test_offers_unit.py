"""Offer decisions as pure functions: queue order, whom to offer, candidates after an offer,
the offer's deadline. No store, no bus."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hub.models import ChannelRef, ClientInfo, Conversation, Distribution
from routing.offers import Hold, after_offer, offer_deadline, pick, prefer, queue_order
from routing.strategies import Candidate

T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def cand(
    uid: str, *, online: bool = True, active: int = 0, routed: int | None = None
) -> Candidate:
    at = None if routed is None else T0 + timedelta(minutes=routed)
    return Candidate(uid, online, active, 0, at)


def conv(cid: str, *, created: int, queued: int | None) -> Conversation:
    return Conversation(
        id=cid,
        line_id="l1",
        channel=ChannelRef(id="ch1", type="widget"),
        chat_id=cid,
        client=ClientInfo(id=f"client-{cid}"),
        created_at=T0 + timedelta(minutes=created),
        queued_at=None if queued is None else T0 + timedelta(minutes=queued),
    )


def test_queue_is_served_oldest_queued_first_then_by_id() -> None:
    waiting = [
        conv("c", created=0, queued=5),
        conv("b", created=3, queued=None),  # not queued: its creation time counts
        conv("a", created=0, queued=5),
    ]
    assert [c.id for c in queue_order(waiting)] == ["b", "a", "c"]


def test_offer_deadline_is_the_lines_accept_timeout_from_now() -> None:
    assert offer_deadline(T0, 90) == T0 + timedelta(seconds=90)


def test_a_pinned_operator_with_room_is_offered_first() -> None:
    ops = [cand("a"), cand("b")]
    assert pick(Distribution.STRICT_ORDER, ops, max_active=2, offer_history=[], pinned="b") == [
        "b"
    ]


def test_a_pinned_operator_who_let_it_time_out_is_skipped() -> None:
    ops = [cand("a"), cand("b")]
    assert pick(Distribution.STRICT_ORDER, ops, max_active=2, offer_history=["b"], pinned="b") == [
        "a"
    ]


def test_a_pinned_operator_offline_or_full_leaves_it_to_the_mode() -> None:
    offline = [cand("a"), cand("b", online=False)]
    full = [cand("a"), cand("b", active=2)]
    for ops in (offline, full):
        assert pick(
            Distribution.STRICT_ORDER, ops, max_active=2, offer_history=[], pinned="b"
        ) == ["a"]


def test_the_mode_skips_those_who_let_the_offer_time_out() -> None:
    ops = [cand("a"), cand("b")]
    assert pick(
        Distribution.STRICT_ORDER, ops, max_active=2, offer_history=["a"], pinned=None
    ) == ["b"]


def test_after_an_offer_the_chosen_hold_one_more_and_were_routed_now() -> None:
    ops = [cand("a"), cand("b", routed=1)]
    now = T0 + timedelta(hours=1)
    after = after_offer(ops, ["b"], Distribution.ROUND_ROBIN, now)
    assert after[0] == ops[0]
    assert (after[1].pending_offers, after[1].last_routed_at) == (1, now)


def test_all_at_once_offers_use_no_room() -> None:
    ops = [cand("a"), cand("b")]
    assert after_offer(ops, ["a", "b"], Distribution.ALL_AT_ONCE, T0) is ops


WAIT_S = 30
QUEUED = T0


@pytest.mark.parametrize(
    ("preferred", "candidates", "history", "now_s", "expected"),
    [
        # Nobody preferred, or no operator of the line: the mode decides.
        (None, [cand("a")], [], 0, None),
        ("x", [cand("a")], [], 0, None),
        # Online with room: offered to them alone, even ahead of the mode's pick.
        ("b", [cand("a"), cand("b")], [], 0, ["b"]),
        # They let this conversation's offer time out: the mode decides.
        ("b", [cand("a"), cand("b")], ["b"], 0, None),
        # Busy or away: held for them until the wait is over, then the mode decides.
        ("b", [cand("a"), cand("b", active=2)], [], 10, Hold(QUEUED + timedelta(seconds=WAIT_S))),
        (
            "b",
            [cand("a"), cand("b", online=False)],
            [],
            29,
            Hold(QUEUED + timedelta(seconds=WAIT_S)),
        ),
        ("b", [cand("a"), cand("b", online=False)], [], 30, None),
    ],
)
def test_a_returning_client_goes_to_their_preferred_operator_or_waits_for_them(
    preferred: str | None,
    candidates: list[Candidate],
    history: list[str],
    now_s: int,
    expected: object,
) -> None:
    decided = prefer(
        preferred,
        candidates,
        max_active=2,
        offer_history=history,
        queued_at=QUEUED,
        wait_s=WAIT_S,
        now=QUEUED + timedelta(seconds=now_s),
    )
    assert decided == expected


def test_no_wait_means_the_mode_decides_at_once_when_they_are_away() -> None:
    away = [cand("a"), cand("b", online=False)]
    decided = prefer(
        "b", away, max_active=2, offer_history=[], queued_at=QUEUED, wait_s=0, now=QUEUED
    )
    assert decided is None
