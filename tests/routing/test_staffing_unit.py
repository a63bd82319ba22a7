"""Who is available, as a pure function of presence, capacity counters and offers out."""

from __future__ import annotations

from datetime import UTC, datetime

from hub.models import ChannelRef, ClientInfo, Conversation, ConversationStatus, Distribution
from routing.staffing import Load, pending_offers, staff
from routing.strategies import Candidate

T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def conv(status: ConversationStatus, offered_to: list[str]) -> Conversation:
    return Conversation(
        line_id="l1",
        channel=ChannelRef(id="ch1", type="widget"),
        chat_id="1",
        client=ClientInfo(id="c1"),
        status=status,
        offered_to=offered_to,
    )


def test_offers_out_are_counted_per_operator() -> None:
    waiting = [
        conv(ConversationStatus.OFFERED, ["a"]),
        conv(ConversationStatus.OFFERED, ["a", "b"]),
        conv(ConversationStatus.QUEUED, []),
    ]
    assert pending_offers(waiting, Distribution.ROUND_ROBIN) == {"a": 2, "b": 1}


def test_all_at_once_counts_no_offers() -> None:
    waiting = [conv(ConversationStatus.OFFERED, ["a", "b"])]
    assert pending_offers(waiting, Distribution.ALL_AT_ONCE) == {}


def test_every_operator_is_a_candidate_in_line_order() -> None:
    loads = {"b": Load(active=2, last_routed_at=T0)}
    assert staff(["a", "b", "c"], {"b", "c"}, loads, {"c": 1}) == [
        Candidate("a", False, 0, 0, None),
        Candidate("b", True, 2, 0, T0),
        Candidate("c", True, 0, 1, None),
    ]
