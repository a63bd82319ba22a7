"""The one path a conversation changes by: a conditional ``find_one_and_update`` (the expected
old state in the filter, so two processes never both win), ``rev`` raised by exactly one, and
a typed ``ConversationChanged`` published to everyone who follows the conversation."""

from __future__ import annotations

import logging
from typing import Any

from pymongo import ReturnDocument

from hub.events import ChangeDetail, ConversationChange, ConversationChanged, EventBus
from hub.models import Conversation, utcnow
from hub.store import Store

log = logging.getLogger("openlines.conversations")

# Gives a capacity slot back; ``v`` counts every change of the counter (see routing.capacity).
GIVE_BACK = {"$inc": {"active": -1, "v": 1}}


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
        doc = await self._store.conversations.find_one_and_update(
            {"_id": conversation_id, **expected}, update, return_document=ReturnDocument.AFTER
        )
        if doc is None:
            return None
        if release_slot:
            await self.release_slot(conversation_id)
            doc["load_key"] = None
        conversation = Conversation.from_doc(doc)
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
        before = await self._store.conversations.find_one_and_update(
            {"_id": conversation_id, "load_key": {"$ne": None}},
            {"$set": {"load_key": None}},
            return_document=ReturnDocument.BEFORE,
        )
        if before is not None:
            await self._store.operator_load.update_one({"_id": before["load_key"]}, GIVE_BACK)
