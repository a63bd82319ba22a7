"""The ``/widget`` namespace: what a visitor's browser may do. Nothing here ever reads a
hidden message: history asks the stream for public messages only, and live messages arrive
through the widget channel's ``send``, which the outbox never calls for hidden ones.

Who the visitor is: a fresh random id, or the one a visitor token (signed, expiring) resumes,
or, when the site vouches for a signed-in person (identity verification), an id derived from
the channel and that identity, the same on every device. Every connect hands out a new token."""

from __future__ import annotations

import asyncio
import itertools
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import socketio
from pydantic import BaseModel, ConfigDict, EmailStr, Field, TypeAdapter, model_validator

from hub.auth import IDENTIFIED_PREFIX
from hub.errors import HubError, NotFound, ValidationFailed
from hub.hours import is_open
from hub.models import (
    ChannelRecord,
    Conversation,
    ConversationStatus,
    Inbound,
    Sender,
    new_id,
    utcnow,
)
from hub.realtime import WIDGET_NS, message_view, visitor_room
from hub.services import Hub
from hub.sockets import Ack, event_handler, session_of
from widget.channel import identity_proven, origin_allowed
from widget.limits import WidgetEvent, WidgetLimits, client_ip

log = logging.getLogger("openlines.widget")

MAX_TEXT = 4000
# What the widget shows of its line at connect (title, anyone online, open now) is shared by
# every visitor of the line for this long: a reconnect storm reads it once, not per socket.
LINE_STATE_TTL_S = 1.0
# Widget keys (and lines) remembered per process; past this the memory starts over.
KNOWN_KEYS = 10_000
# Visitors whose latest conversation one query looks up, at most (a reconnect storm's).
LOOKUP_BATCH = 500
# Far above any conversation's length, and within every integer type on the way to the store.
MAX_SEQ = 1_000_000_000
_EMAIL: TypeAdapter[EmailStr] = TypeAdapter(EmailStr)


class ConnectAuth(BaseModel):
    key: str = Field(min_length=1, max_length=100)
    token: str | None = Field(default=None, max_length=300)
    # Identity verification: the site's user id (or e-mail) and its HMAC by the site's backend.
    identity: str | None = Field(default=None, min_length=1, max_length=320)
    identity_hash: str | None = Field(default=None, max_length=128)


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
    before_seq: int | None = Field(default=None, ge=1, le=MAX_SEQ)
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


def verified_email(identity: str) -> str | None:
    """The address a verified identity is, if it is an e-mail address (then it is proven)."""
    try:
        return str(_EMAIL.validate_python(identity)).lower()
    except ValueError:
        return None


@dataclass(frozen=True)
class Visit:
    """A connected visitor: their channel, visitor id, address, and the e-mail address the
    site proved is theirs (identity verification), if it did."""

    channel: ChannelRecord
    visitor_id: str
    ip: str
    verified_email: str | None

    def sender(self, **told: Any) -> Sender:
        """The visitor as a sender of what they wrote. An address typed into the pre-chat form
        is a claim (unverified); it never replaces the one the site proved."""
        if self.verified_email:
            told.update(email=self.verified_email, email_verified=True)
        return Sender(external_id=self.visitor_id, **told)


class _Expiring:
    """Values kept until their deadline (monotonic); at most ``size``, then it starts over."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._values: dict[str, tuple[Any, float]] = {}

    def get(self, key: str) -> Any | None:
        entry = self._values.get(key)
        if entry is None or entry[1] <= time.monotonic():
            return None
        return entry[0]

    def put(self, key: str, value: Any, ttl_s: float) -> None:
        if len(self._values) >= self._size:
            self._values.clear()
        self._values[key] = (value, time.monotonic() + ttl_s)

    def drop(self, key: str) -> None:
        self._values.pop(key, None)


class _SingleFlight:
    """One read at a time per key: callers that miss a copy together wait for the same read
    (a storm's connects would otherwise each read what just expired)."""

    def __init__(self) -> None:
        self._flights: dict[str, asyncio.Future[Any]] = {}

    async def run(self, key: str, read: Callable[[], Awaitable[Any]]) -> Any:
        flight = self._flights.get(key)
        if flight is None:
            flight = asyncio.ensure_future(read())
            self._flights[key] = flight
            flight.add_done_callback(lambda _: self._flights.pop(key, None))
        return await asyncio.shield(flight)


class LatestOfChats:
    """Visitors' latest conversations, looked up together: those asked for while a lookup of
    their channel is in flight go into its next query (at most ``LOOKUP_BATCH`` a query), so a
    storm of reconnects costs a query per batch, not one per socket. Each answer is read
    after it was asked for, never older."""

    def __init__(
        self, read: Callable[[str, list[str]], Awaitable[dict[str, Conversation]]]
    ) -> None:
        self._read = read
        # channel id -> visitor id -> its answer, for the next query
        self._waiting: dict[str, dict[str, asyncio.Future[Conversation | None]]] = {}
        self._readers: dict[str, asyncio.Task[None]] = {}

    async def get(self, channel_id: str, visitor_id: str) -> Conversation | None:
        waiting = self._waiting.setdefault(channel_id, {})
        answer = waiting.get(visitor_id)
        if answer is None:
            answer = waiting[visitor_id] = asyncio.get_running_loop().create_future()
        if channel_id not in self._readers:
            self._readers[channel_id] = asyncio.create_task(self._read_all(channel_id))
        return await asyncio.shield(answer)

    async def _read_all(self, channel_id: str) -> None:
        try:
            while waiting := self._waiting.get(channel_id):
                batch = dict(itertools.islice(waiting.items(), LOOKUP_BATCH))
                for visitor_id in batch:
                    del waiting[visitor_id]
                if not waiting:
                    del self._waiting[channel_id]
                try:
                    found = await self._read(channel_id, list(batch))
                except Exception as exc:
                    for answer in batch.values():
                        if not answer.done():
                            answer.set_exception(exc)
                    continue
                for visitor_id, answer in batch.items():
                    if not answer.done():
                        answer.set_result(found.get(visitor_id))
        finally:
            del self._readers[channel_id]


def refuse(code: str, message: str) -> socketio.exceptions.ConnectionRefusedError:
    """A refused connection: the client's ``connect_error`` has ``message`` as its message and
    ``{code, message}`` as its data."""
    return socketio.exceptions.ConnectionRefusedError(message, {"code": code, "message": message})


def register(sio: socketio.AsyncServer, hub: Hub) -> None:
    """Attach the ``/widget`` handlers to the server."""
    limits = WidgetLimits(hub)
    tokens = hub.visitor_tokens
    # The gauge's child, looked up once (a storm opens and closes thousands of sockets).
    open_sockets = hub.metrics.socket_connections.labels("widget")

    async def visitor(sid: str) -> Visit:
        """Who is on this socket. The channel comes from the stream's per-process copy: one
        disabled or deleted elsewhere refuses within ``CHANNEL_TTL_S``."""
        session = await session_of(sio, sid, WIDGET_NS)
        channel = await hub.stream.channel(session["channel_id"])
        if channel is None or channel.deleted or not channel.active:
            raise NotFound("this chat is no longer available", code="channel_gone")
        return Visit(
            channel=channel,
            visitor_id=session["visitor_id"],
            ip=session.get("ip", "unknown"),
            verified_email=session.get("verified_email"),
        )

    latest = LatestOfChats(hub.store.conversations.latest_of_chats)

    async def latest_conversation(channel_id: str, visitor_id: str) -> Conversation | None:
        return await latest.get(channel_id, visitor_id)

    # widget key -> channel id; the record itself comes from the stream's copy (fresh within
    # CHANNEL_TTL_S), and a key that no longer names it is looked up again.
    channel_of_key = _Expiring(KNOWN_KEYS)
    line_states = _Expiring(KNOWN_KEYS)
    reads = _SingleFlight()

    async def channel_by_key(key: str) -> ChannelRecord | None:
        channel_id = channel_of_key.get(key)
        if channel_id is not None:
            channel: ChannelRecord | None = await reads.run(
                f"channel:{channel_id}", lambda: hub.stream.channel(channel_id)
            )
            if channel is not None and channel.widget_key == key and not channel.deleted:
                return channel
            channel_of_key.drop(key)
        channel = await reads.run(f"key:{key}", lambda: hub.store.channels.by_widget_key(key))
        if channel is not None:
            channel_of_key.put(key, channel.id, math.inf)
        return channel

    async def line_state(line_id: str) -> dict[str, Any]:
        cached: dict[str, Any] | None = line_states.get(line_id)
        if cached is not None:
            return cached
        state: dict[str, Any] = await reads.run(
            f"line:{line_id}", lambda: read_line_state(line_id)
        )
        return state

    async def read_line_state(line_id: str) -> dict[str, Any]:
        line = await hub.store.lines.get(line_id)
        if line is None:
            state: dict[str, Any] = {"title": None, "online": False, "open_now": False}
        else:
            state = {
                "title": line.name,
                "online": bool(await hub.presence.available(line.operators)),
                "open_now": is_open(line.working_hours, utcnow()),
            }
        line_states.put(line_id, state, LINE_STATE_TTL_S)
        return state

    async def connect(sid: str, environ: dict[str, Any], auth: Any) -> None:
        ip = client_ip(environ, hub.settings.trusted_proxies)
        try:
            await limits.connect(ip)
        except HubError as exc:
            raise refuse(exc.code, exc.message) from None
        if not limits.sockets.hold(sid, ip):
            raise refuse("too_many_connections", "too many open chats from your address")
        try:
            await accept(sid, environ, auth, ip)
        except BaseException:
            limits.sockets.release(sid)  # refused: python-socketio calls no disconnect
            raise

    async def accept(sid: str, environ: dict[str, Any], auth: Any, ip: str) -> None:
        try:
            creds = ConnectAuth.model_validate(auth or {})
        except ValueError:
            raise refuse("invalid_auth", "connect with auth {key, token?}") from None
        channel = await channel_by_key(creds.key)
        if channel is None or not channel.active:
            raise refuse("unknown_widget", "no widget with this key")
        if not origin_allowed(
            channel.config, environ.get("HTTP_ORIGIN"), environ.get("HTTP_HOST")
        ):
            raise refuse("origin_not_allowed", "this site may not use the widget")
        email = None
        # A visitor id made just now has no conversation to look up.
        fresh = False
        if creds.identity is not None or creds.identity_hash is not None:
            identity = creds.identity
            if not identity or not identity_proven(channel.config, identity, creds.identity_hash):
                raise refuse("invalid_identity", "the identity is not signed by this site")
            email = verified_email(identity)
            # The same person on every device: their visitor id comes from who they are (an
            # address in any letter case is one person).
            visitor_id = tokens.identified_visitor(channel.id, email or identity)
        else:
            resumed = tokens.verify(creds.token, channel.id) if creds.token else None
            # A signed-in person's token resumes them only with their identity: after they
            # sign out, the next person at that browser is a stranger, not them.
            if resumed is not None and resumed.startswith(IDENTIFIED_PREFIX):
                resumed = None
            # An expired, foreign or old-format token just starts a new visitor.
            visitor_id = resumed or new_id()
            fresh = resumed is None
        await sio.save_session(
            sid,
            {
                "channel_id": channel.id,
                "visitor_id": visitor_id,
                "ip": ip,
                "verified_email": email,
            },
            namespace=WIDGET_NS,
        )
        await sio.enter_room(sid, visitor_room(visitor_id), namespace=WIDGET_NS)
        open_sockets.inc()
        conversation = None if fresh else await latest_conversation(channel.id, visitor_id)
        open_id = (
            conversation.id
            if conversation and conversation.status != ConversationStatus.CLOSED
            else None
        )
        await sio.emit(
            "session",
            {
                # Fresh on every connect: the widget keeps the newest, for uploads and files.
                "token": tokens.issue(channel.id, visitor_id),
                "visitor_id": visitor_id,
                "conversation_id": open_id,
                "identified": visitor_id.startswith(IDENTIFIED_PREFIX),
                "verified_email": email,
                "line": await line_state(channel.line_id),
                "widget": widget_view(channel, hub),
            },
            to=sid,
            namespace=WIDGET_NS,
        )

    async def disconnect(sid: str) -> None:
        open_sockets.dec()
        limits.sockets.release(sid)

    @event_handler(SendIn)
    async def send(sid: str, payload: SendIn) -> Ack:
        visit = await visitor(sid)
        channel, visitor_id = visit.channel, visit.visitor_id
        text = payload.text.strip()
        if not text and not payload.attachments:
            raise ValidationFailed("the message is empty", code="empty_message")
        await limits.message(visitor_id, visit.ip)
        attachments = await hub.files.visitor_uploads(
            payload.attachments, channel_id=channel.id, visitor_id=visitor_id
        )
        inbound = Inbound(
            channel_id=channel.id,
            chat_id=visitor_id,
            external_id=f"cmid:{visitor_id}:{payload.client_msg_id}",
            sender=visit.sender(),
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
        visit = await visitor(sid)
        await limits.event(WidgetEvent.HISTORY, visit.visitor_id, visit.ip)
        conversation = await latest_conversation(visit.channel.id, visit.visitor_id)
        if conversation is None:
            return {"messages": [], "conversation_id": None, "closed": False, "csat": None}
        before = payload.before_seq if payload.before_seq else conversation.last_seq + 1
        messages = await hub.stream.page(
            conversation, before=before, limit=payload.limit, include_hidden=False
        )
        # What the widget draws after a reload or a reconnect: the closed marker, and the
        # rating card while a rating is still awaited (a close it missed while disconnected).
        return {
            "messages": [message_view(m) for m in messages],
            "conversation_id": conversation.id,
            "closed": conversation.status == ConversationStatus.CLOSED,
            "csat": conversation.csat.status if conversation.csat else None,
        }

    @event_handler(PrechatIn)
    async def prechat(sid: str, payload: PrechatIn) -> Ack:
        visit = await visitor(sid)
        await limits.event(WidgetEvent.PRECHAT, visit.visitor_id, visit.ip)
        client = await hub.stream.find_or_create_client(
            visit.channel.id,
            visit.sender(
                name=payload.name,
                email=str(payload.email) if payload.email else None,
                phone=payload.phone,
            ),
        )
        # Whether staff blocked them is not the visitor's to know (docs/spam.md).
        return {"client": client.info().model_dump(mode="json", exclude={"blocked"})}

    @event_handler(TypingIn)
    async def typing(sid: str, payload: TypingIn) -> Ack:
        visit = await visitor(sid)
        await limits.event(WidgetEvent.TYPING, visit.visitor_id, visit.ip)
        conversation = await latest_conversation(visit.channel.id, visit.visitor_id)
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
