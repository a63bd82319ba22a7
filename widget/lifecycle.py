"""What a visitor hears of their conversation's life: assignment, queue position, closing and
the CSAT request; and the CSAT answer they send back. Only events safe for a client pass
here: nothing about hidden participants, whispers or staff notes."""

from __future__ import annotations

from typing import Any

import socketio
from pydantic import BaseModel, ConfigDict, Field

from hub.errors import Conflict
from hub.events import ConversationChange, ConversationChanged, QueuePositionChanged
from hub.models import Conversation, CsatStatus
from hub.realtime import WIDGET_NS, visitor_room
from hub.services import Hub
from hub.sockets import Ack, event_handler, session_of


class CsatIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rating: int = Field(ge=1, le=5)
    comment: str | None = Field(default=None, max_length=2000)


def register(sio: socketio.AsyncServer, hub: Hub) -> None:
    async def emit(conversation: Conversation, event: str, data: dict[str, Any]) -> None:
        await hub.gateway.emit(
            event, data, room=visitor_room(conversation.chat_id), namespace=WIDGET_NS
        )

    async def on_event(event: Any) -> None:
        conversation: Conversation = event.conversation
        if conversation.channel.type != "widget":
            return
        if isinstance(event, QueuePositionChanged):
            await emit(
                conversation,
                "queue:position",
                {"conversation_id": conversation.id, "position": event.position},
            )
        elif (
            isinstance(event, ConversationChanged) and event.change == ConversationChange.ASSIGNED
        ):
            user = await hub.store.users.get(conversation.assignee_id or "")
            name = user.name if user else None
            await emit(
                conversation,
                "conversation:assigned",
                {"conversation_id": conversation.id, "operator": {"name": name}},
            )
        elif isinstance(event, ConversationChanged) and event.change == ConversationChange.CLOSED:
            await emit(conversation, "conversation:closed", {"conversation_id": conversation.id})
            if conversation.csat and conversation.csat.status == CsatStatus.REQUESTED:
                await emit(conversation, "csat:request", {"conversation_id": conversation.id})

    hub.bus.subscribe("widget", on_event, ConversationChanged, QueuePositionChanged)

    @event_handler(CsatIn)
    async def csat_submit(sid: str, payload: CsatIn) -> Ack:
        session = await session_of(sio, sid, WIDGET_NS)
        awaiting = await hub.store.conversations.awaiting_rating(
            session["channel_id"], session["visitor_id"]
        )
        if awaiting is None:
            raise Conflict("no rating is awaited", code="csat_not_awaited")
        conversation = await hub.conversations.submit_csat(
            awaiting.id, payload.rating, payload.comment
        )
        return {"csat": conversation.csat.model_dump() if conversation.csat else None}

    sio.on("csat:submit", csat_submit, namespace=WIDGET_NS)
