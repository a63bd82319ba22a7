"""Who can take a conversation now: the line's operators as ``Candidate``s, from what the
shell loaded (presence, capacity counters, offers outstanding). Pure: no I/O."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from hub.models import Conversation, ConversationStatus, Distribution
from routing.strategies import Candidate


@dataclass(frozen=True)
class Load:
    """An operator's capacity counter in one line, as stored (no counter yet: ``Load()``)."""

    active: int = 0
    last_routed_at: datetime | None = None


def pending_offers(waiting: Iterable[Conversation], mode: Distribution) -> dict[str, int]:
    """Offers each operator holds now. In all_at_once everyone is offered everything at once,
    so an offer does not use up anyone's room and none are counted."""
    pending: dict[str, int] = {}
    if mode == Distribution.ALL_AT_ONCE:
        return pending
    for conversation in waiting:
        if conversation.status == ConversationStatus.OFFERED:
            for user_id in conversation.offered_to:
                pending[user_id] = pending.get(user_id, 0) + 1
    return pending


def staff(
    operators: Sequence[str],
    online: set[str],
    loads: Mapping[str, Load],
    pending: Mapping[str, int],
) -> list[Candidate]:
    """Every operator of the line, in the line's order, as the strategies see them."""
    return [
        Candidate(
            user_id=user_id,
            online=user_id in online,
            active=loads.get(user_id, Load()).active,
            pending_offers=pending.get(user_id, 0),
            last_routed_at=loads.get(user_id, Load()).last_routed_at,
        )
        for user_id in operators
    ]
