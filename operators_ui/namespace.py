"""The ``/operator`` namespace: staff act here with the same services and checks as REST."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import socketio
from pydantic import BaseModel, ConfigDict, Field

from hub.api.conversations import InviteIn, JoinIn, TransferIn
from hub.errors import HubError
from hub.models import Conversation, PresenceStatus, User
from hub.realtime import OPERATOR_NS, conversation_view, message_view
from hub.services import Hub
from hub.sockets import Ack, event_handler, session_of

log = logging.getLogger("openlines.operator")

M = TypeVar("M", bound=BaseModel)


class StatusIn(BaseModel):
    status: PresenceStatus


class ConversationIdIn(BaseModel):
    id: str = Field(min_length=1, max_length=100)


class SendIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    conversation_id: str = Field(min_length=1, max_length=100)
    text: str = Field(default="", max_length=4000)
    hidden: bool = False
    client_msg_id: str | None = Field(default=None, min_length=1, max_length=100)
    attachments: list[str] = Field(default_factory=list, max_length=10)


class TransferEvent(TransferIn):
    id: str = Field(min_length=1, max_length=100)


class InviteEvent(InviteIn):
    id: str = Field(min_length=1, max_length=100)


class JoinEvent(JoinIn):
    id: str = Field(min_length=1, max_length=100)


class PinEvent(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=100)
    pinned: bool


class TypingIn(BaseModel):
    conversation_id: str = Field(min_length=1, max_length=100)
    on: bool


def register(sio: socketio.AsyncServer, hub: Hub) -> None:
    """Attach the ``/operator`` handlers to the server."""

    async def current(sid: str) -> User:
        session = await session_of(sio, sid, OPERATOR_NS)
        # Re-checked on every event: a revoked token or a disabled account stops working now.
        return await hub.sessions.authenticate(session["token"])

    async def connect(sid: str, environ: dict[str, Any], auth: Any) -> None:
        token = auth.get("token") if isinstance(auth, dict) else None
        try:
            user = await hub.sessions.authenticate(token)
        except HubError as exc:
            raise socketio.exceptions.ConnectionRefusedError(exc.body()["error"]) from None
        await sio.save_session(sid, {"token": token, "user_id": user.id}, namespace=OPERATOR_NS)
        for room in await hub.gateway.rooms_for_staff(user.id, user.role.value):
            await sio.enter_room(sid, room, namespace=OPERATOR_NS)
        await hub.presence.connected(user.id, sid)
        hub.metrics.socket_connections.labels("operator").inc()

    async def disconnect(sid: str) -> None:
        hub.metrics.socket_connections.labels("operator").dec()
        session = await sio.get_session(sid, namespace=OPERATOR_NS)
        if session.get("user_id"):
            await hub.presence.disconnected(session["user_id"], sid)

    @event_handler(StatusIn)
    async def status_set(sid: str, payload: StatusIn) -> Ack:
        user = await current(sid)
        await hub.presence.set_status(user.id, payload.status)
        return {"status": payload.status.value}

    @event_handler(SendIn)
    async def send(sid: str, payload: SendIn) -> Ack:
        user = await current(sid)
        result = await hub.conversations.post(
            user,
            payload.conversation_id,
            payload.text,
            hidden=payload.hidden,
            client_msg_id=payload.client_msg_id,
            attachment_ids=payload.attachments,
        )
        return {"message": message_view(result.message), "duplicate": result.duplicate}

    def conversation_action(
        event: str, model: type[M], act: Callable[[User, M], Awaitable[Conversation]]
    ) -> None:
        """An event that changes one conversation and answers with it as it is now."""

        async def handler(sid: str, payload: M) -> Ack:
            return {"conversation": conversation_view(await act(await current(sid), payload))}

        handler.__name__ = event  # what a failure log names
        sio.on(event, event_handler(model)(handler), namespace=OPERATOR_NS)

    def transfer(user: User, p: TransferEvent) -> Awaitable[Conversation]:
        if p.to_user_id is not None:
            return hub.conversations.transfer_to_user(user, p.id, p.to_user_id)
        assert p.to_line_id is not None
        return hub.conversations.transfer_to_line(user, p.id, p.to_line_id)

    c = hub.conversations
    conversation_action("conversation:accept", ConversationIdIn, lambda u, p: c.accept(u, p.id))
    conversation_action("conversation:close", ConversationIdIn, lambda u, p: c.close(u, p.id))
    conversation_action("conversation:transfer", TransferEvent, transfer)
    conversation_action(
        "conversation:invite", InviteEvent, lambda u, p: c.invite(u, p.id, p.user_id)
    )
    conversation_action(
        "conversation:join", JoinEvent, lambda u, p: c.join(u, p.id, hidden=p.hidden)
    )
    conversation_action("conversation:leave", ConversationIdIn, lambda u, p: c.leave(u, p.id))
    conversation_action(
        "conversation:take_over", ConversationIdIn, lambda u, p: c.take_over(u, p.id)
    )
    conversation_action(
        "conversation:transfer_cancel", ConversationIdIn, lambda u, p: c.cancel_transfer(u, p.id)
    )
    conversation_action(
        "conversation:return", ConversationIdIn, lambda u, p: c.return_to_queue(u, p.id)
    )
    conversation_action("conversation:pin", PinEvent, lambda u, p: c.pin(u, p.id, pinned=p.pinned))

    @event_handler(TypingIn)
    async def typing(sid: str, payload: TypingIn) -> Ack:
        user = await current(sid)
        conversation, _ = await hub.conversations.get(user, payload.conversation_id)
        author = {"type": "operator", "id": user.id, "name": user.name}
        rooms = await hub.gateway.staff_rooms(conversation, with_line=False)
        await hub.gateway.emit(
            "typing",
            {"conversation_id": conversation.id, "on": payload.on, "author": author},
            room=rooms,
            namespace=OPERATOR_NS,
        )
        # A hidden participant's typing never shows on the client's side.
        if conversation.visible_participant(user.id):
            channel = await hub.store.channels.get(conversation.channel.id)
            if channel is not None:
                await hub.registry.get(channel.type).typing(
                    channel, conversation.chat_id, payload.on, user.name, hub.channel_deps()
                )
        return {}

    sio.on("connect", connect, namespace=OPERATOR_NS)
    sio.on("disconnect", disconnect, namespace=OPERATOR_NS)
    sio.on("status:set", status_set, namespace=OPERATOR_NS)
    sio.on("message:send", send, namespace=OPERATOR_NS)
    sio.on("typing", typing, namespace=OPERATOR_NS)
