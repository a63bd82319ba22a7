"""Response-time control of a line (Bitrix24's KPI, Chatwoot's SLA): the clocks of
``LineSla``, kept on the conversation (``Conversation.sla``) and run out by durable timers.

- **first answer** starts when the conversation opens (the client's first message) and stops
  at staff's first public answer;
- **next answer** starts at a client's message that finds staff not owing an answer already
  (they had answered before) and stops at the next public answer;
- **resolve** starts at the opening and stops at the close.

Hidden notes stop nothing. With ``business_hours`` a clock counts only the line's working time
(``hub.hours.working_deadline``): it stands still at night, at weekends and on holidays. A
clock that runs out is a breach: recorded once on the conversation (``sla.breached``; each
kind once per conversation), heard by the line's supervisors and the line's
``notify_user_ids`` as ``sla:breached {conversation, kind}``, and by the CRM webhooks as
``conversation.sla_breached``.

Each clock is a durable timer ``sla_<kind>`` keyed by the conversation and carrying its due
time; the breach is a conditional write on that same due time, so a clock stopped or moved
since, a second process and a restart mid-way all end in one breach or none.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from functools import partial
from typing import Any

from hub.events import (
    ConversationChange,
    ConversationChanged,
    ConversationOpened,
    MessageStored,
    conversation_key,
)
from hub.hours import working_deadline
from hub.models import (
    AuthorType,
    Conversation,
    ConversationStatus,
    Direction,
    Line,
    Message,
    SlaKind,
    to_millis,
)
from hub.realtime import OPERATOR_NS, conversation_view, supervise_room, user_room
from hub.services import Hub
from hub.timers import Timers

log = logging.getLogger("openlines.routing.sla")

TIMER = {kind: f"sla_{kind.value}" for kind in SlaKind}
# What staff's public answer stops.
ANSWERED = (SlaKind.FIRST_ANSWER, SlaKind.NEXT_ANSWER)


def deadline(line: Line, since: datetime, kind: SlaKind) -> datetime | None:
    """When the line's ``kind`` clock, started at ``since``, runs out (None: not watched, or
    working hours that never come)."""
    seconds = line.sla.seconds(kind)
    if not seconds:
        return None
    hours = line.working_hours if line.sla.business_hours else None
    return working_deadline(hours, since, seconds)


def answers(message: Message) -> bool:
    return message.author.type == AuthorType.OPERATOR and not message.hidden


class SlaWatch:
    def __init__(self, hub: Hub, timers: Timers) -> None:
        self._hub = hub
        self._timers = timers

    def subscribe(self) -> None:
        self._hub.bus.subscribe(
            "sla",
            self._on_event,
            ConversationOpened,
            MessageStored,
            ConversationChanged,
            key=conversation_key,  # a conversation's events in order: opened, then messages
        )
        for kind, timer in TIMER.items():
            self._timers.on(timer, partial(self._ran_out, kind))

    async def _on_event(self, event: Any) -> None:
        if isinstance(event, ConversationOpened):
            await self._opened(event.conversation)
        elif isinstance(event, MessageStored):
            await self._message(event.message, event.conversation)
        elif isinstance(event, ConversationChanged) and event.change == ConversationChange.CLOSED:
            await self._stop(event.conversation, list(SlaKind))

    async def _opened(self, conversation: Conversation) -> None:
        if conversation.assignee_id is not None:
            return  # staff opened it to write first (from the CRM): nobody waits for them
        line = await self._hub.conversations.line(conversation.line_id)
        if line is None:
            return
        due = {
            kind: at
            for kind in (SlaKind.FIRST_ANSWER, SlaKind.RESOLVE)
            if (at := deadline(line, conversation.created_at, kind)) is not None
        }
        await self._start(conversation.id, due, if_stopped=False)

    async def _message(self, message: Message, conversation: Conversation) -> None:
        if conversation.status == ConversationStatus.CLOSED:
            return
        if answers(message):
            running = [k for k in ANSWERED if conversation.sla.due(k) is not None]
            line = await self._hub.conversations.line(conversation.line_id)
            watched = [k for k in ANSWERED if line is not None and line.sla.seconds(k)]
            if running or watched:
                await self._stop(conversation, ANSWERED)
        elif message.direction == Direction.IN and conversation.first_response_at is not None:
            if conversation.sla.next_answer_due_at is not None:
                return  # the client waits already: the clock runs from their first message
            line = await self._hub.conversations.line(conversation.line_id)
            at = deadline(line, message.created_at, SlaKind.NEXT_ANSWER) if line else None
            if at is not None:
                await self._start(conversation.id, {SlaKind.NEXT_ANSWER: at}, if_stopped=True)

    async def _start(
        self, conversation_id: str, due: dict[SlaKind, datetime], *, if_stopped: bool
    ) -> None:
        """Set the timers, then the clocks: a crash between the two leaves a timer whose
        breach finds no such clock (nothing happens), never a clock without a timer."""
        if not due:
            return
        for kind, at in due.items():
            await self._timers.set(TIMER[kind], conversation_id, at, {"due_at": to_millis(at)})
        started = await self._hub.conversations.sla.start(
            conversation_id, due, if_stopped=if_stopped
        )
        if started is not None or not if_stopped:
            return
        # A clock of these was running already (another process, a retry): put its timer back.
        current = await self._hub.store.conversations.get(conversation_id)
        for kind in due:
            running = current.sla.due(kind) if current is not None else None
            if running is None:
                await self._timers.cancel(TIMER[kind], conversation_id)
            else:
                await self._timers.set(TIMER[kind], conversation_id, running, {"due_at": running})

    async def _stop(self, conversation: Conversation, kinds: Sequence[SlaKind]) -> None:
        await self._hub.conversations.sla.stop(conversation.id, kinds)
        for kind in kinds:
            await self._timers.cancel(TIMER[kind], conversation.id)

    async def _ran_out(self, kind: SlaKind, conversation_id: str, payload: dict[str, Any]) -> None:
        due_at = payload.get("due_at")
        if not isinstance(due_at, datetime):
            return
        breached = await self._hub.conversations.sla.breach(conversation_id, kind, due_at)
        if breached is None:
            return  # answered, moved or closed since, or told already
        log.info("sla breached kind=%s conversation=%s", kind.value, conversation_id)
        line = await self._hub.conversations.line(breached.line_id)
        rooms = [supervise_room(breached.line_id)]
        if line is not None:
            rooms += [user_room(user_id) for user_id in line.sla.notify_user_ids]
        await self._hub.gateway.emit(
            "sla:breached",
            {"conversation": conversation_view(breached), "kind": kind.value},
            room=rooms,
            namespace=OPERATOR_NS,
        )
