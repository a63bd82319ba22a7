"""The answer timeout of a line (``Line.answer_timeout_s``): an accepted conversation whose
client has waited that long for the operator's answer moves on, to the next operator or back to
the queue (``answer_timeout_action``), with a staff note. Not the accept timeout of an offer.

The clock (``Conversation.answer_due_at``) starts when an operator takes a conversation whose
client is waiting (``unread``: messages since staff's last public answer), or when the client
of an accepted conversation writes and no clock runs; it stops at the assignee's public answer
(a hidden note is not one) and is dropped when the conversation leaves them. It runs out as a
durable timer ``answer_timeout`` carrying the due time and the assignee; the move is a
conditional write on both, so a late answer, another process or a restart move nothing twice.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from hub.events import ConversationChange, ConversationChanged, MessageStored, conversation_key
from hub.models import (
    AnswerTimeoutAction,
    AuthorType,
    Conversation,
    ConversationStatus,
    Direction,
    Message,
    to_millis,
    utcnow,
)
from hub.services import Hub
from hub.timers import Timers

log = logging.getLogger("openlines.routing.answers")

ANSWER_TIMEOUT = "answer_timeout"


class AnswerWatch:
    def __init__(self, hub: Hub, timers: Timers) -> None:
        self._hub = hub
        self._timers = timers

    def subscribe(self) -> None:
        self._hub.bus.subscribe(
            "answer-timeout",
            self._on_event,
            MessageStored,
            ConversationChanged,
            key=conversation_key,
        )
        self._timers.on(ANSWER_TIMEOUT, self._ran_out)

    async def _timeout_s(self, conversation: Conversation) -> int | None:
        line = await self._hub.conversations.line(conversation.line_id)
        return line.answer_timeout_s if line is not None else None

    async def _on_event(self, event: Any) -> None:
        if isinstance(event, MessageStored):
            await self._message(event.message, event.conversation)
        elif (
            isinstance(event, ConversationChanged) and event.change == ConversationChange.ASSIGNED
        ):
            await self._assigned(event.conversation)

    async def _assigned(self, conversation: Conversation) -> None:
        timeout_s = await self._timeout_s(conversation)
        if not timeout_s or conversation.assignee_id is None:
            return
        if conversation.unread > 0:  # the client is waiting for the new assignee
            await self._start(conversation, utcnow() + timedelta(seconds=timeout_s))
        elif conversation.answer_due_at is not None:
            await self._stop(conversation)

    async def _message(self, message: Message, conversation: Conversation) -> None:
        if conversation.status != ConversationStatus.ACTIVE or conversation.assignee_id is None:
            return
        if message.direction == Direction.IN:
            if conversation.answer_due_at is not None:
                return  # the client waits already: the clock runs from their first message
            timeout_s = await self._timeout_s(conversation)
            if timeout_s:
                due_at = message.created_at + timedelta(seconds=timeout_s)
                await self._start(conversation, due_at, if_stopped=True)
        elif message.author.type == AuthorType.OPERATOR and not message.hidden:
            # A clock may run that this copy of the conversation does not show yet.
            running = conversation.answer_due_at is not None
            if running or await self._timeout_s(conversation):
                await self._stop(conversation)

    async def _start(
        self, conversation: Conversation, due_at: datetime, *, if_stopped: bool = False
    ) -> None:
        assignee_id = conversation.assignee_id
        assert assignee_id is not None
        due_at = to_millis(due_at)
        # The timer first: a crash before the clock leaves a timer that moves nothing.
        await self._set_timer(conversation.id, due_at, assignee_id)
        started = await self._hub.conversations.time_answer(
            conversation.id, assignee_id, due_at, if_stopped=if_stopped
        )
        if started is not None or not if_stopped:
            return
        # A clock runs already (set meanwhile by another process): its timer goes back.
        current = await self._hub.store.conversations.get(conversation.id)
        if current is not None and current.answer_due_at and current.assignee_id:
            await self._set_timer(current.id, current.answer_due_at, current.assignee_id)
        else:
            await self._timers.cancel(ANSWER_TIMEOUT, conversation.id)

    async def _set_timer(self, conversation_id: str, due_at: datetime, assignee_id: str) -> None:
        payload = {"due_at": due_at, "assignee_id": assignee_id}
        await self._timers.set(ANSWER_TIMEOUT, conversation_id, due_at, payload)

    async def _stop(self, conversation: Conversation) -> None:
        if conversation.assignee_id is not None:
            await self._hub.conversations.time_answer(
                conversation.id, conversation.assignee_id, None
            )
        await self._timers.cancel(ANSWER_TIMEOUT, conversation.id)

    async def _ran_out(self, conversation_id: str, payload: dict[str, Any]) -> None:
        due_at, assignee_id = payload.get("due_at"), payload.get("assignee_id")
        if not isinstance(due_at, datetime) or not isinstance(assignee_id, str):
            return
        conversation = await self._hub.store.conversations.get(conversation_id)
        if conversation is None:
            return
        line = await self._hub.conversations.line(conversation.line_id)
        if line is None or not line.answer_timeout_s:
            return  # switched off since
        to_next = line.answer_timeout_action == AnswerTimeoutAction.NEXT_OPERATOR
        moved = await self._hub.conversations.pass_unanswered(
            conversation_id, assignee_id, due_at, to_next=to_next
        )
        if moved is not None:
            log.info(
                "answer timeout conversation=%s operator=%s to=%s",
                conversation_id,
                assignee_id,
                line.answer_timeout_action.value,
            )
