"""Offer decisions: the order the queue is served in, who is offered the next conversation
(a pinned client's own operator first), how the candidates stand after an offer, and when an
offer runs out. Pure: the shell (``routing.router``) commits them through hub operations."""

from __future__ import annotations

from collections.abc import Iterable
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
