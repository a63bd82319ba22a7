"""The timeline of a CRM record: activities written as things happen, and the record's
history as a caller may see it (no conversation of another line, nor an activity of one)."""

from __future__ import annotations

from typing import Any

from crm_bridge.access import Access, conversation_ids
from crm_bridge.hub_view import HubView
from crm_bridge.models import Activity, Entity, ref
from crm_bridge.storage import CrmStorage
from hub.models import Conversation, Doc, User

MAX_TIMELINE_ACTIVITIES = 1000
MAX_TIMELINE_CONVERSATIONS = 500
# What a timeline shows of a conversation.
_SUMMARY = {
    "id",
    "line_id",
    "channel",
    "client",
    "status",
    "assignee_id",
    "crm",
    "last_message",
    "created_at",
    "closed_at",
}


class Timeline:
    def __init__(self, storage: CrmStorage, hub: HubView, access: Access) -> None:
        self._storage = storage
        self._hub = hub
        self._access = access

    async def add(
        self,
        type_: str,
        refs: list[str],
        *,
        text: str | None = None,
        data: dict[str, Any] | None = None,
        conversation_id: str | None = None,
        actor_id: str | None = None,
    ) -> Activity:
        """One activity on the timelines of every record of ``refs``."""
        entry = Activity(
            type=type_,
            refs=refs,
            text=text,
            data=data or {},
            conversation_id=conversation_id,
            actor_id=actor_id,
        )
        await self._storage.insert_activity(entry)
        return entry

    async def of(self, entity: Entity, record: Doc, user: User) -> dict[str, Any]:
        """The record's activities and conversations, as far as ``user`` may see them."""
        activities = await self._storage.activities(
            ref(entity, record.id), MAX_TIMELINE_ACTIVITIES
        )
        client_ids: list[str] = list(getattr(record, "client_ids", None) or [])
        conversations = await self._access.visible(
            user,
            await self._hub.of_record(
                conversation_ids(record), client_ids, MAX_TIMELINE_CONVERSATIONS
            ),
        )
        shown = {c.id for c in conversations}
        others = {a.conversation_id for a in activities if a.conversation_id} - shown
        if others:
            other = await self._hub.conversations(sorted(others))
            shown |= {c.id for c in await self._access.visible(user, other)}
        return {
            "activities": [
                a.model_dump(mode="json")
                for a in activities
                if a.conversation_id is None or a.conversation_id in shown
            ],
            "conversations": [_summary(c) for c in conversations],
        }


def _summary(conversation: Conversation) -> dict[str, Any]:
    return conversation.model_dump(mode="json", include=_SUMMARY)
