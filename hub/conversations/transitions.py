"""The one path a conversation changes by: a conditional ``find_one_and_update`` (the expected
old state in the filter, so two processes never both win), ``rev`` raised by exactly one, and
a typed ``ConversationChanged`` published to everyone who follows the conversation."""

from __future__ import annotations

import logging
from typing import Any

from hub.events import ChangeDetail, ConversationChange, ConversationChanged, EventBus
from hub.models import Conversation, utcnow
from hub.store import Store

log = logging.getLogger("openlines.conversations")


class Transitions:
    """Applies changes to conversations. Stateless: any number may share one store and bus."""

    def __init__(self, store: Store, bus: EventBus) -> None:
        self._store = store
        self._bus = bus

    async def apply(
        self,
        conversation_id: str,
        expected: dict[str, Any],
        update: dict[str, Any],
        change: ConversationChange,
        *,
        detail: ChangeDetail | None = None,
        actor_id: str | None = None,
        former_user_ids: list[str] | None = None,
        former_line_id: str | None = None,
        release_slot: bool = False,
    ) -> Conversation | None:
        """Apply ``update`` only if the conversation still matches ``expected``; publish it.

        None when it no longer matches (the caller says why that is a conflict, or not).
        ``release_slot``: the assignee no longer holds it; their capacity slot is given back
        before anyone hears of the change, so the router sees the room it frees."""
        update = {op: dict(fields) for op, fields in update.items()}
        update.setdefault("$set", {})["updated_at"] = utcnow()
        update.setdefault("$inc", {})["rev"] = 1
        conversation = await self._store.conversations.update(conversation_id, expected, update)
        if conversation is None:
            return None
        if release_slot:
            await self.release_slot(conversation_id)
            conversation = conversation.model_copy(update={"load_key": None})
        await self._bus.publish(
            ConversationChanged(
                conversation=conversation,
                change=change,
                detail=detail,
                actor_id=actor_id,
                former_user_ids=former_user_ids or [],
                former_line_id=former_line_id,
            )
        )
        return conversation

    async def release_slot(self, conversation_id: str) -> None:
        """Give back the capacity slot a conversation holds, exactly once."""
        held = await self._store.conversations.take_load_key(conversation_id)
        if held is not None:
            await self._store.operator_load.give_back(held)
