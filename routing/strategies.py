"""Who gets a waiting conversation: one pure function per distribution mode, no I/O.

The shell (``routing.router``) loads the candidates' state, calls ``choose`` and commits the
result with conditional updates; these functions only decide.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from hub.models import Distribution

_NEVER = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Candidate:
    """An operator of the line as the router sees them at one moment."""

    user_id: str
    online: bool
    active: int  # conversations assigned now, in this line
    pending_offers: int  # conversations offered to them now, in this line
    last_routed_at: datetime | None  # last offer or assignment in this line

    def has_room(self, max_active: int) -> bool:
        return max_active == 0 or self.active + self.pending_offers < max_active


def available(candidates: list[Candidate], max_active: int) -> list[Candidate]:
    """Online and under capacity, in the line's order."""
    return [c for c in candidates if c.online and c.has_room(max_active)]


def choose(
    mode: Distribution,
    candidates: list[Candidate],
    *,
    max_active: int,
    skip: frozenset[str] = frozenset(),
) -> list[str]:
    """The operators to offer one conversation to, given in the line's order.

    ``skip`` are operators who already let this offer time out; when everyone available has,
    the round starts again from the top (as Bitrix24 does after the last operator).
    """
    pool = available(candidates, max_active)
    if not pool:
        return []
    if mode == Distribution.ALL_AT_ONCE:
        return [c.user_id for c in pool]
    fresh = [c for c in pool if c.user_id not in skip] or pool
    if mode == Distribution.STRICT_ORDER:
        return [fresh[0].user_id]
    # round_robin: the one routed to longest ago (never routed first); ties keep line order.
    order = {c.user_id: i for i, c in enumerate(candidates)}
    best = min(
        fresh,
        key=lambda c: (
            c.last_routed_at is not None,
            c.last_routed_at or _NEVER,
            order[c.user_id],
        ),
    )
    return [best.user_id]
