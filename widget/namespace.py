"""The ``/widget`` namespace: what a visitor's browser may do. Nothing here ever reads a
hidden message: history asks the stream for public messages only, and live messages arrive
through the widget channel's ``send``, which the outbox never calls for hidden ones."""

from __future__ import annotations

import ipaddress
import logging
from typing import Any

import socketio
from pydantic import BaseModel, ConfigDict, EmailStr, Field, model_validator

from hub.errors import NotFound, RateLimited, ValidationFailed
from hub.hours import is_open
from hub.models import (
    ChannelRecord,
    Conversation,
    ConversationStatus,
    Inbound,
    Line,
    Sender,
    new_id,
    utcnow,
)
from hub.ratelimit import RateLimiter
from hub.realtime import WIDGET_NS, message_view, visitor_room
from hub.services import Hub
from hub.sockets import Ack, event_handler, session_of

log = logging.getLogger("openlines.widget")

MAX_TEXT = 4000


class ConnectAuth(BaseModel):
    key: str = Field(min_length=1, max_length=100)
    token: str | None = Field(default=None, max_length=300)


class SendIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(default="", max_length=MAX_TEXT)
    client_msg_id: str = Field(min_length=1, max_length=100)
    attachments: list[str] = Field(default_factory=list, max_length=10)

    @model_validator(mode="after")
    def _not_empty(self) -> SendIn:
        if not self.text.strip() and not self.attachments:
            raise ValueError("write a text or attach a file")
        return self


class HistoryIn(BaseModel):
    before_seq: int | None = Field(default=None, ge=1)
    limit: int = Field(default=50, ge=1, le=200)


class PrechatIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    email: EmailStr | None = None
    phone: str | None = Field(default=None, min_length=3, max_length=50)


class TypingIn(BaseModel):
    on: bool


def widget_view(channel: ChannelRecord, hub: Hub) -> dict[str, Any]:
    """What the widget needs of its channel's config to draw itself (sent with ``session``)."""
    config = channel.config
    return {
        "title": config.get("title"),
        "color": config.get("color"),
        "greeting": config.get("greeting"),
        "language": config.get("language", "auto"),
        "prechat_fields": config.get("prechat_fields") or [],
        "agreement_text": config.get("agreement_text"),
        "upload_max_bytes": hub.settings.upload_max_bytes,
        "max_text": MAX_TEXT,
    }


def client_ip(environ: dict[str, Any], trusted_proxies: list[str]) -> str:
    """The visitor's address: the peer, or what a trusted reverse proxy says the client is."""
    peer = str(environ.get("REMOTE_ADDR") or "unknown")
    try:
        address = ipaddress.ip_address(peer)
        trusted = any(
            address in ipaddress.ip_network(net, strict=False) for net in trusted_proxies
        )
    except ValueError:
        return peer
    if not trusted:
        return peer
    real = environ.get("HTTP_X_REAL_IP") or ""
    forwarded = (environ.get("HTTP_X_FORWARDED_FOR") or "").split(",")[-1]
    return (real or forwarded).strip() or peer


async def check_rate(limiter: RateLimiter, hub: Hub, visitor_id: str, ip: str) -> None:
    """Per-visitor and per-IP send limits; ``RateLimited`` (ack ``rate_limited``) when over."""
    settings = hub.settings
    if not await limiter.allow(
        f"visitor:{visitor_id}", settings.widget_rate_messages
    ) or not await limiter.allow(f"ip:{ip}", settings.widget_rate_ip_messages):
        raise RateLimited(
            "you are sending messages too fast; wait a few seconds",
            details={"window_s": settings.widget_rate_window_s},
        )


def register(sio: socketio.AsyncServer, hub: Hub) -> None:
    """Attach the ``/widget`` handlers to the server."""
    limiter = RateLimiter(
        hub.settings.widget_rate_window_s,
        redis=hub.redis,
        prefix=f"openlines:{hub.settings.mongo_db}:widget-rate",
    )

    async def visitor(sid: str) -> tuple[ChannelRecord, str, str]:
        """The socket's channel, visitor id and address. The channel comes from the stream's
        per-process copy: one disabled or deleted elsewhere refuses within ``CHANNEL_TTL_S``."""
        session = await session_of(sio, sid, WIDGET_NS)
        channel = await hub.stream.channel(session["channel_id"])
        if channel is None or channel.deleted or not channel.active:
            raise NotFound("this chat is no longer available", code="channel_gone")
        return channel, session["visitor_id"], session.get("ip", "unknown")

    async def latest_conversation(channel_id: str, visitor_id: str) -> Conversation | None:
        docs = (
            await hub.store.conversations.find({"channel.id": channel_id, "chat_id": visitor_id})
            .sort("_id", -1)
            .limit(1)
            .to_list()
        )
        return Conversation.from_doc(docs[0]) if docs else None

    async def line_state(line_id: str) -> dict[str, Any]:
        doc = await hub.store.lines.find_one({"_id": line_id})
        if doc is None:
            return {"title": None, "online": False, "open_now": False}
        line = Line.from_doc(doc)
        online = bool(await hub.presence.available(line.operators))
        return {
            "title": line.name,
            "online": online,
            "open_now": is_open(line.working_hours, utcnow()),
        }

    async def connect(sid: str, environ: dict[str, Any], auth: Any) -> None:
        try:
            creds = ConnectAuth.model_validate(auth or {})
        except ValueError:
            raise socketio.exceptions.ConnectionRefusedError(
                {"code": "invalid_auth", "message": "connect with auth {key, token?}"}
            ) from None
        doc = await hub.store.channels.find_one(
            {"widget_key": creds.key, "type": "widget", "deleted": {"$ne": True}}
        )
        if doc is None or not doc.get("active", True):
            raise socketio.exceptions.ConnectionRefusedError(
                {"code": "unknown_widget", "message": "no widget with this key"}
            )
        channel = ChannelRecord.from_doc(doc)
        allowed = channel.config.get("allowed_origins") or []
        origin = (environ.get("HTTP_ORIGIN") or "").rstrip("/")
        if allowed and origin not in allowed:
            raise socketio.exceptions.ConnectionRefusedError(
                {"code": "origin_not_allowed", "message": "this site may not use the widget"}
            )
        visitor_id = None
        if creds.token:
            visitor_id = hub.visitor_tokens.verify(creds.token, channel.id)
        visitor_id = visitor_id or new_id()
        token = hub.visitor_tokens.issue(channel.id, visitor_id)
        await sio.save_session(
            sid,
            {
                "channel_id": channel.id,
                "visitor_id": visitor_id,
                "ip": client_ip(environ, hub.settings.trusted_proxies),
            },
            namespace=WIDGET_NS,
        )
        await sio.enter_room(sid, visitor_room(visitor_id), namespace=WIDGET_NS)
        hub.metrics.socket_connections.labels("widget").inc()
        conversation = await latest_conversation(channel.id, visitor_id)
        open_id = (
            conversation.id
            if conversation and conversation.status != ConversationStatus.CLOSED
            else None
        )
        await sio.emit(
            "session",
            {
                "token": token,
                "visitor_id": visitor_id,
                "conversation_id": open_id,
                "line": await line_state(channel.line_id),
                "widget": widget_view(channel, hub),
            },
            to=sid,
            namespace=WIDGET_NS,
        )

    async def disconnect(sid: str) -> None:
        hub.metrics.socket_connections.labels("widget").dec()

    @event_handler(SendIn)
    async def send(sid: str, payload: SendIn) -> Ack:
        channel, visitor_id, ip = await visitor(sid)
        text = payload.text.strip()
        if not text and not payload.attachments:
            raise ValidationFailed("the message is empty", code="empty_message")
        await check_rate(limiter, hub, visitor_id, ip)
        attachments = await hub.files.visitor_uploads(
            payload.attachments, channel_id=channel.id, visitor_id=visitor_id
        )
        inbound = Inbound(
            channel_id=channel.id,
            chat_id=visitor_id,
            external_id=f"cmid:{visitor_id}:{payload.client_msg_id}",
            sender=Sender(external_id=visitor_id),
            text=text,
            attachments=attachments,
        )
        result = await hub.stream.ingest(inbound, channel)
        view = message_view(result.message)
        if not result.duplicate:
            # The visitor's other tabs show it too.
            await sio.emit(
                "message:new",
                {"message": view},
                room=visitor_room(visitor_id),
                skip_sid=sid,
                namespace=WIDGET_NS,
            )
        return {"message": view, "duplicate": result.duplicate}

    @event_handler(HistoryIn)
    async def history(sid: str, payload: HistoryIn) -> Ack:
        channel, visitor_id, _ = await visitor(sid)
        conversation = await latest_conversation(channel.id, visitor_id)
        if conversation is None:
            return {"messages": [], "conversation_id": None}
        before = payload.before_seq if payload.before_seq else conversation.last_seq + 1
        messages = await hub.stream.page(
            conversation, before=before, limit=payload.limit, include_hidden=False
        )
        return {
            "messages": [message_view(m) for m in messages],
            "conversation_id": conversation.id,
        }

    @event_handler(PrechatIn)
    async def prechat(sid: str, payload: PrechatIn) -> Ack:
        channel, visitor_id, _ = await visitor(sid)
        client = await hub.stream.find_or_create_client(
            channel.id,
            Sender(
                external_id=visitor_id,
                name=payload.name,
                email=str(payload.email) if payload.email else None,
                phone=payload.phone,
            ),
        )
        return {"client": client.info().model_dump(mode="json")}

    @event_handler(TypingIn)
    async def typing(sid: str, payload: TypingIn) -> Ack:
        channel, visitor_id, _ = await visitor(sid)
        conversation = await latest_conversation(channel.id, visitor_id)
        if conversation is None or conversation.status == ConversationStatus.CLOSED:
            return {}
        rooms = await hub.gateway.staff_rooms(conversation, with_line=False)
        await hub.gateway.emit(
            "typing",
            {
                "conversation_id": conversation.id,
                "on": payload.on,
                "author": {
                    "type": "client",
                    "id": conversation.client.id,
                    "name": conversation.client.name,
                },
            },
            room=rooms,
            namespace="/operator",
        )
        return {}

    sio.on("connect", connect, namespace=WIDGET_NS)
    sio.on("disconnect", disconnect, namespace=WIDGET_NS)
    sio.on("message:send", send, namespace=WIDGET_NS)
    sio.on("history", history, namespace=WIDGET_NS)
    sio.on("prechat", prechat, namespace=WIDGET_NS)
    sio.on("typing", typing, namespace=WIDGET_NS)
