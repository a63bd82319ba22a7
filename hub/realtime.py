"""The typed gateway over python-socketio: room names, JSON-ready payloads, counted failures,
and the subscriber that turns hub events into staff-side emits.

Rooms: ``user:<id>`` (every socket of a staff member), ``line:<id>`` (a line's members),
``supervise:<id>`` (a line's supervisors), ``admins``; on ``/widget`` ``visitor:<id>``.
Hidden messages go only to the users who may see them, never to a line or visitor room.
"""

from __future__ import annotations

import logging
from typing import Any

import socketio

from hub.events import (
    ConversationChanged,
    EventBus,
    MessageStored,
    MessageUpdated,
    PresenceChanged,
    conversation_key,
)
from hub.metrics import Metrics
from hub.models import Conversation, ConversationStatus, Message
from hub.store import Store

log = logging.getLogger("openlines.realtime")

OPERATOR_NS = "/operator"
WIDGET_NS = "/widget"
ADMINS_ROOM = "admins"


def user_room(user_id: str) -> str:
    return f"user:{user_id}"


def line_room(line_id: str) -> str:
    return f"line:{line_id}"


def supervise_room(line_id: str) -> str:
    return f"supervise:{line_id}"


def visitor_room(visitor_id: str) -> str:
    return f"visitor:{visitor_id}"


def conversation_view(conversation: Conversation) -> dict[str, Any]:
    """A conversation as the contract shows it (internal fields dropped)."""
    return conversation.model_dump(
        mode="json", exclude={"chat_id", "load_key", "after_hours_until"}
    )


def message_view(message: Message) -> dict[str, Any]:
    return message.model_dump(mode="json", exclude={"external_id", "channel_id"})


def _iso(value: Any) -> Any:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


class Gateway:
    def __init__(self, sio: socketio.AsyncServer, store: Store, metrics: Metrics) -> None:
        self.sio = sio
        self._store = store
        self._metrics = metrics
        self.emit_failures = 0

    async def emit(self, event: str, data: Any, *, room: str | list[str], namespace: str) -> None:
        try:
            await self.sio.emit(event, data, room=room, namespace=namespace)
        except Exception:
            self.emit_failures += 1
            self._metrics.emit_failures.inc()
            log.exception("emit failed event=%s", event)
            raise

    async def staff_rooms(self, conversation: Conversation, *, with_line: bool) -> list[str]:
        """Everyone on staff who may see this conversation, as rooms."""
        rooms = [ADMINS_ROOM, supervise_room(conversation.line_id)]
        rooms += [user_room(uid) for uid in conversation.watcher_ids()]
        rooms += [user_room(uid) for uid in conversation.offered_to]
        if with_line:
            rooms.append(line_room(conversation.line_id))
        return rooms

    def subscribe(self, bus: EventBus) -> None:
        bus.subscribe(
            "realtime",
            self._on_event,
            MessageStored,
            MessageUpdated,
            ConversationChanged,
            PresenceChanged,
            key=conversation_key,  # one conversation's emits in order, others' meanwhile
            # Emitted by the process that published the event, as it publishes: through the
            # Redis manager an emit reaches the sockets of every process anyway.
            local=True,
        )

    async def _on_event(self, event: Any) -> None:
        if isinstance(event, MessageStored | MessageUpdated):
            conversation = event.conversation
            name = "message:new" if isinstance(event, MessageStored) else "message:updated"
            # Line colleagues see public messages of waiting conversations (the Queue tab),
            # not a blocked client's; hidden ones only reach the people inside the
            # conversation and its supervisors.
            waiting = not conversation.client.blocked and conversation.status in (
                ConversationStatus.QUEUED,
                ConversationStatus.OFFERED,
            )
            rooms = await self.staff_rooms(
                conversation, with_line=waiting and not event.message.hidden
            )
            await self.emit(
                name, {"message": message_view(event.message)}, room=rooms, namespace=OPERATOR_NS
            )
        elif isinstance(event, PresenceChanged):
            # Colleagues and supervisors of the operator's lines see the status change.
            line_ids = await self._store.lines.ids_of_member(event.user_id)
            rooms = [ADMINS_ROOM, user_room(event.user_id)]
            rooms += [line_room(line_id) for line_id in line_ids]
            await self.emit(
                "operator:status",
                {"user_id": event.user_id, "status": event.status.value},
                room=rooms,
                namespace=OPERATOR_NS,
            )
        elif isinstance(event, ConversationChanged):
            conversation = event.conversation
            rooms = await self.staff_rooms(conversation, with_line=True)
            rooms += [user_room(uid) for uid in event.former_user_ids]
            if event.actor_id:
                rooms.append(user_room(event.actor_id))
            if event.former_line_id:
                rooms += [line_room(event.former_line_id), supervise_room(event.former_line_id)]
            # One view for both emits; each emit encodes it once for all its rooms.
            view = conversation_view(conversation)
            payload = {"conversation": view, "change": event.change}
            await self.emit("conversation:updated", payload, room=rooms, namespace=OPERATOR_NS)
            if event.change in ("offered", "transferred"):
                offer = {
                    "conversation": view,
                    "expires_at": _iso(conversation.offer_expires_at),
                }
                await self.emit(
                    "conversation:offered",
                    offer,
                    room=[user_room(u) for u in conversation.offered_to],
                    namespace=OPERATOR_NS,
                )

    async def rooms_for_staff(self, user_id: str, role: str) -> list[str]:
        """The rooms a staff socket joins at connect."""
        rooms = [user_room(user_id)]
        if role == "admin":
            rooms.append(ADMINS_ROOM)
        for line in await self._store.lines.of_member(user_id):
            rooms.append(line_room(line.id))
            if user_id in line.supervisors:
                rooms.append(supervise_room(line.id))
        return rooms
