"""A conversation's response-time clocks (``Conversation.sla``): started, stopped and breached
through the one change path, each write conditional, so two processes racing on one clock
leave it as one of them would have, and a breach is recorded (and heard of) exactly once.

The decisions (which clock, which due time) are the SLA subscriber's (``routing/sla.py``);
this part only writes them down."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from hub.conversations.transitions import Transitions
from hub.events import ConversationChange, SlaBreached
from hub.models import Conversation, ConversationStatus, SlaKind, to_millis

_NOT_CLOSED = {"status": {"$ne": ConversationStatus.CLOSED.value}}


def due_field(kind: SlaKind) -> str:
    return f"sla.{kind.value}_due_at"


class SlaClocks:
    def __init__(self, transitions: Transitions) -> None:
        self._transitions = transitions

    async def start(
        self, conversation_id: str, due: dict[SlaKind, datetime], *, if_stopped: bool
    ) -> Conversation | None:
        """Run the clocks of ``due`` (kind → due time) on an open conversation. ``if_stopped``:
        only if none of them is running already (a client's second message does not move the
        next-answer clock that the first started). None: nothing changed."""
        if not due:
            return None
        expected: dict[str, Any] = dict(_NOT_CLOSED)
        if if_stopped:
            expected |= {due_field(kind): None for kind in due}
        return await self._transitions.apply(
            conversation_id,
            expected,
            {"$set": {due_field(kind): to_millis(at) for kind, at in due.items()}},
            ConversationChange.SLA,
        )

    async def stop(self, conversation_id: str, kinds: Iterable[SlaKind]) -> Conversation | None:
        """Stop the running clocks of ``kinds`` (staff answered, the conversation closed).
        None: none of them was running."""
        fields = [due_field(kind) for kind in kinds]
        if not fields:
            return None
        return await self._transitions.apply(
            conversation_id,
            {"$or": [{field: {"$ne": None}} for field in fields]},
            {"$set": dict.fromkeys(fields)},
            ConversationChange.SLA,
        )

    async def breach(
        self, conversation_id: str, kind: SlaKind, due_at: datetime
    ) -> Conversation | None:
        """Record that the ``kind`` clock ran out at ``due_at``: only while that very clock
        still runs (not answered, moved or closed since) and only once. None otherwise."""
        return await self._transitions.apply(
            conversation_id,
            {
                **_NOT_CLOSED,
                due_field(kind): to_millis(due_at),
                "sla.breached": {"$ne": kind.value},
            },
            {"$addToSet": {"sla.breached": kind.value}},
            ConversationChange.SLA_BREACHED,
            detail=SlaBreached(kind=kind),
        )
