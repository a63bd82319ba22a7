"""Offer decisions: the order the queue is served in, who is offered the next conversation
(a pinned client's own operator first, then a returning client's preferred one), how the
candidates stand after an offer, and when an offer runs out. Pure: the shell
(``routing.router``) commits them through hub operations."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from hub.models import Conversation, Distribution
from routing.strategies import Candidate, choose


def queue_order(waiting: Iterable[Conversation]) -> list[Conversation]:
    """Oldest first (by when it was queued, else created); ties by id, so every process
    serves the same queue in the same order."""
    return sorted(waiting, key=lambda c: (c.queued_at or c.created_at, c.id))


def offer_deadline(now: datetime, accept_timeout_s: int) -> datetime:
    """When an offer made ``now`` runs out and the conversation goes back to the queue."""
    return now + timedelta(seconds=accept_timeout_s)


def pick(
    mode: Distribution,
    candidates: list[Candidate],
    *,
    max_active: int,
    offer_history: Iterable[str],
    pinned: str | None,
) -> list[str]:
    """Whom to offer one conversation to. A client pinned to an operator goes to them when
    they are available and have not already let this conversation's offer time out;
    otherwise the line's mode decides, skipping those who let it time out."""
    history = frozenset(offer_history)
    if pinned and pinned not in history:
        fits = [c for c in candidates if c.user_id == pinned]
        if choose(Distribution.STRICT_ORDER, fits, max_active=max_active):
            return [pinned]
    return choose(mode, candidates, max_active=max_active, skip=history)


@dataclass(frozen=True)
class Hold:
    """Leave the conversation waiting for its preferred operator until ``until`` (the rest of
    the queue is served meanwhile)."""

    until: datetime


def prefer(
    preferred: str | None,
    candidates: list[Candidate],
    *,
    max_active: int,
    offer_history: Iterable[str],
    queued_at: datetime,
    wait_s: int,
    now: datetime,
) -> list[str] | Hold | None:
    """Sticky routing's decision for one conversation: offer it to ``preferred`` (an operator
    of the line) when they are online with room; while they are not, hold it until
    ``wait_s`` after it was queued; None: the line's distribution decides (nobody preferred,
    they let this offer time out already, they are no operator of the line, or the wait is
    over)."""
    if preferred is None or preferred in frozenset(offer_history):
        return None
    theirs = [c for c in candidates if c.user_id == preferred]
    if not theirs:
        return None
    if choose(Distribution.STRICT_ORDER, theirs, max_active=max_active):
        return [preferred]
    until = queued_at + timedelta(seconds=wait_s)
    return Hold(until) if now < until else None


def after_offer(
    candidates: list[Candidate], chosen: list[str], mode: Distribution, now: datetime
) -> list[Candidate]:
    """The candidates as they stand once ``chosen`` hold one more offer (routed ``now``)."""
    if mode == Distribution.ALL_AT_ONCE:
        return candidates
    return [
        Candidate(c.user_id, c.online, c.active, c.pending_offers + 1, now)
        if c.user_id in chosen
        else c
        for c in candidates
    ]
