"""The conversation stream: every message in or out is appended here, exactly once.

``ingest`` is idempotent by the platform's message id; staff posts are idempotent by
``client_msg_id``. ``seq`` comes from an atomic ``$inc`` on the conversation. Outgoing messages
get a durable outbox row before the message itself is written, so none is ever lost.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from hub.conversations.transitions import Transitions
from hub.events import (
    ClientUpdated,
    ConversationChange,
    ConversationOpened,
    EventBus,
    MessageStored,
    MessageUpdated,
)
from hub.metrics import Metrics
from hub.models import (
    Attachment,
    Author,
    AuthorType,
    ChannelRecord,
    ChannelRef,
    Client,
    ClientInfo,
    Conversation,
    ConversationStatus,
    Direction,
    Inbound,
    LastMessage,
    Message,
    MessagePurpose,
    MessageStatus,
    Sender,
    new_id,
    utcnow,
)
from hub.storage.outbox import OutboxRow
from hub.store import Doc, Store, Unflushed

log = logging.getLogger("openlines.stream")

# How long a process keeps using a channel record it read. A channel disabled, deleted or
# reconfigured through another hub process stops (or starts) accepting on this one within this
# time; the process that changed it forgets its copy at once (``forget_channel``).
CHANNEL_TTL_S = 2.0
# Chats (and their clients) remembered per process, least recently used dropped first.
RECENT_CHATS = 10_000

# What a platform may tell us about a client; each known value is kept on the client record.
CLIENT_FIELDS = ("name", "email", "phone", "username", "language")
# The fields whose change is published as ``ClientUpdated`` (what CRM matches people by).
CONTACT_FIELDS = ("name", "email", "phone", "email_verified", "phone_verified")


@dataclass(frozen=True)
class Appended:
    message: Message
    conversation: Conversation
    duplicate: bool = False


K = TypeVar("K")
V = TypeVar("V")


class _Recent(Generic[K, V]):
    """At most ``size`` entries; the least recently used goes first."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._entries: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        value = self._entries.get(key)
        if value is not None:
            self._entries.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        self._entries[key] = value
        self._entries.move_to_end(key)
        if len(self._entries) > self._size:
            self._entries.popitem(last=False)

    def drop(self, key: K) -> None:
        self._entries.pop(key, None)

    def drop_where(self, predicate: Callable[[V], bool]) -> None:
        for key in [k for k, v in self._entries.items() if predicate(v)]:
            del self._entries[key]


class Stream:
    def __init__(self, store: Store, bus: EventBus, metrics: Metrics) -> None:
        self._store = store
        self._bus = bus
        self._metrics = metrics
        self._transitions = Transitions(store, bus)
        self._outbox_listeners: list[Callable[[], None]] = []
        # channel id -> (record, monotonic expiry); see CHANNEL_TTL_S.
        self._channels: _Recent[str, tuple[ChannelRecord, float]] = _Recent(RECENT_CHATS)
        # Hints that spare the hot path its lookups; each is checked where it matters, so a
        # stale one costs a round trip, never a wrong write. "<channel>:<sender>" -> the client
        # as last written by this process; "<channel>:<chat>" -> the conversation that was open.
        self._clients: _Recent[str, Client] = _Recent(RECENT_CHATS)
        self._open_chats: _Recent[str, str] = _Recent(RECENT_CHATS)

    def on_outbox_row(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` whenever a new outbox row is written (wakes the sender)."""
        self._outbox_listeners.append(callback)

    # --- channels --------------------------------------------------------------------------

    async def channel(self, channel_id: str) -> ChannelRecord | None:
        """The channel as stored (inactive and deleted ones too; None if there is none), read
        at most once per ``CHANNEL_TTL_S`` per process: the hot paths ask on every message."""
        now = time.monotonic()
        cached = self._channels.get(channel_id)
        if cached is not None and cached[1] > now:
            return cached[0]
        record = await self._store.channels.get(channel_id, with_deleted=True)
        if record is None:  # not kept: unknown ids must not fill the cache
            self._channels.drop(channel_id)
            return None
        self._channels.put(channel_id, (record, now + CHANNEL_TTL_S))
        return record

    def forget_channel(self, channel_id: str) -> None:
        """The channel was changed here: the next ``channel`` call reads it again."""
        self._channels.drop(channel_id)

    def forget_line(self, line_id: str) -> None:
        """The channels of this line were changed here (the line is gone)."""
        self._channels.drop_where(lambda cached: cached[0].line_id == line_id)

    # --- inbound ---------------------------------------------------------------------------

    async def ingest(self, inbound: Inbound, channel: ChannelRecord) -> Appended:
        """Store one client message: find or create the client and the open conversation.

        Once a chat has written, its later messages cost three round trips: the dedupe lookup,
        the seq ``$inc`` (conditional on the remembered conversation being open, so one closed
        elsewhere sends this message down the full path into a new one) and the journaled
        insert."""
        started = time.perf_counter()
        # Kept although the unique index would catch a retry: a retry that got past this would
        # still take a seq and count as unread before the insert failed.
        existing = await self._find_by_external_id(inbound.channel_id, inbound.external_id)
        if existing is not None:
            self._metrics.duplicates.inc()
            return Appended(existing, await self._conversation(existing.conversation_id), True)

        identity_id = f"{channel.id}:{inbound.sender.external_id}"
        thread_id = f"{channel.id}:{inbound.chat_id}"
        known_id = self._open_chats.get(thread_id)
        client = self._clients.get(identity_id) if known_id is not None else None
        remembered = client is not None and _tells_nothing_new(inbound.sender, client)
        if client is None or not remembered:
            client = await self._find_or_create_client(channel.id, inbound.sender, flush=False)
        reply_to = None
        if inbound.reply_to_external_id:
            quoted = await self._find_by_external_id(channel.id, inbound.reply_to_external_id)
            reply_to = quoted.id if quoted else None
        message = _inbound_message(inbound, channel.id, client, reply_to)

        async def take_seq(conversation_id: str) -> Doc | None:
            return await self._take_seq(conversation_id, message, only_open=True)

        doc = await take_seq(known_id) if known_id is not None else None
        if doc is None:
            # The full path: the chat's first message in this process, or its conversation
            # closed. A new conversation must carry the client as stored, not as remembered.
            self._open_chats.drop(thread_id)
            if remembered:
                client = await self._find_or_create_client(channel.id, inbound.sender, flush=False)
                message = _inbound_message(inbound, channel.id, client, reply_to)
                remembered = False
            doc, _ = await self._open_conversation(
                channel, inbound.chat_id, client, inbound.source, claim=take_seq
            )
        told = ClientInfo.model_validate(doc["client"])
        stale = remembered and told.id == client.id and told != client.info()
        if stale:
            # Changed through another process (pre-chat in a second tab) since we remembered
            # it; open conversations are told at once (``_refresh_open_conversations``).
            message = message.model_copy(
                update={"author": message.author.model_copy(update={"name": told.name})}
            )
        result = await self._store_message(message, doc)
        if not result.duplicate:
            # Only now: the journaled insert made the writes these hints stand for durable.
            self._open_chats.put(thread_id, result.conversation.id)
            if stale:
                self._clients.drop(identity_id)
            else:
                self._clients.put(identity_id, client)
            self._metrics.messages_in.labels(channel.type).inc()
            self._metrics.ingest_latency.observe(time.perf_counter() - started)
            log.info(
                "stored inbound conversation=%s channel=%s seq=%s",
                result.conversation.id,
                channel.id,
                result.message.seq,
            )
        return result

    async def find_or_create_client(self, channel_id: str, sender: Sender) -> Client:
        """The client behind ``sender``, created on first sight; what the sender tells about
        themselves is kept (journaled: a pre-chat form is acknowledged by itself)."""
        return await self._find_or_create_client(channel_id, sender, flush=True)

    async def _find_or_create_client(
        self, channel_id: str, sender: Sender, *, flush: bool
    ) -> Client:
        """``flush=False``: the caller's journaled write follows and makes these durable."""
        collections: Store | Unflushed = self._store if flush else self._store.unflushed
        identity_id = f"{channel_id}:{sender.external_id}"
        identity = await self._store.upsert(
            collections.identities,
            {"_id": identity_id},
            {"$setOnInsert": {"client_id": new_id(), "channel_id": channel_id}},
        )
        client_id = identity["client_id"]
        known = _told(sender)
        on_insert: dict[str, Any] = {
            "identities": [{"channel_id": channel_id, "external_id": sender.external_id}],
            "created_at": utcnow(),
        }
        on_insert.update({k: None for k in CLIENT_FIELDS if k not in known})
        update: dict[str, Any] = {"$setOnInsert": on_insert}
        if known:
            update["$set"] = known
        # One round trip: the document as it was tells what changed (CRM listens for that).
        before = await collections.clients.find_one_and_update(
            {"_id": client_id}, update, upsert=True, return_document=ReturnDocument.BEFORE
        )
        client = Client.from_doc({**(before or {"_id": client_id, **on_insert}), **known})
        contact_data = {k: v for k, v in known.items() if k in CONTACT_FIELDS}
        changed = sorted(k for k, v in contact_data.items() if (before or {}).get(k) != v)
        if changed and before is not None:
            if not flush:
                # Durable before anyone hears of it (rare: the client renamed themselves).
                await self._store.clients.update_one({"_id": client_id}, {"$set": contact_data})
            await self._bus.publish(
                ClientUpdated(client=client, channel_id=channel_id, changed=changed)
            )
            await self._refresh_open_conversations(client)
        if flush:
            self._clients.put(identity_id, client)
        return client

    async def _refresh_open_conversations(self, client: Client) -> None:
        """Open conversations carry who the client is: staff see a new name or e-mail at once."""
        info = client.info().model_dump()
        open_ids = await self._store.conversations.find(
            {"client.id": client.id, "status": {"$ne": ConversationStatus.CLOSED.value}},
            {"_id": 1},
        ).to_list()
        for ref in open_ids:
            await self._transitions.apply(
                ref["_id"], {}, {"$set": {"client": info}}, ConversationChange.CLIENT
            )

    async def open_outbound(
        self, channel: ChannelRecord, chat_id: str, client: Client
    ) -> tuple[Conversation, bool]:
        """The open conversation of a platform chat, opened now when there is none, so staff
        can write first (a manager going back to a client from the CRM). ``True``: opened."""

        async def find_open(conversation_id: str) -> Doc | None:
            return await self._store.conversations.find_one(
                {"_id": conversation_id, "status": {"$ne": ConversationStatus.CLOSED.value}}
            )

        doc, opened = await self._open_conversation(channel, chat_id, client, claim=find_open)
        return Conversation.from_doc(doc), opened

    async def _open_conversation(
        self,
        channel: ChannelRecord,
        chat_id: str,
        client: Client,
        source: str | None = None,
        *,
        claim: Callable[[str], Awaitable[Doc | None]],
    ) -> tuple[Doc, bool]:
        """The chat's open conversation as ``claim`` returns it (None: not open), opened now
        when there is none (``True``). ``claim`` is the seq ``$inc`` on the ingest path."""
        thread_id = f"{channel.id}:{chat_id}"
        for _ in range(3):
            fresh_id = new_id()
            thread = await self._store.upsert(
                self._store.unflushed.open_threads,
                {"_id": thread_id},
                {"$setOnInsert": {"conversation_id": fresh_id}},
            )
            conversation_id = thread["conversation_id"]
            if conversation_id != fresh_id:  # the thread was there already
                doc = await claim(conversation_id)
                if doc is not None:
                    return doc, False
                found = await self._store.conversations.find_one(
                    {"_id": conversation_id}, {"status": 1}
                )
                if found is not None:
                    if found["status"] == ConversationStatus.CLOSED.value:
                        # Its thread row survived the close (crash mid-close): retire it.
                        await self._store.open_threads.delete_one(
                            {"_id": thread_id, "conversation_id": conversation_id}
                        )
                    # Else a concurrent ingest opened it just after ``claim`` looked: retry.
                    continue
            # A new thread, or one whose conversation a crash kept from being written.
            conversation = Conversation(
                id=conversation_id,
                line_id=channel.line_id,
                channel=ChannelRef(id=channel.id, type=channel.type),
                chat_id=chat_id,
                client=client.info(),
                source=source,
            )
            try:
                # Journaled: routing hears of it before any message is stored.
                await self._store.conversations.insert_one(conversation.to_doc())
            except DuplicateKeyError:  # a concurrent ingest opened it first
                continue
            await self._bus.publish(ConversationOpened(conversation=conversation))
            doc = await claim(conversation_id)
            if doc is not None:
                return doc, True
        raise RuntimeError(f"could not open a conversation for thread {thread_id}")

    # --- outbound --------------------------------------------------------------------------

    async def post(
        self,
        conversation: Conversation,
        author: Author,
        text: str,
        *,
        hidden: bool = False,
        client_msg_id: str | None = None,
        direction: Direction = Direction.OUT,
        attachments: list[Attachment] | None = None,
        purpose: MessagePurpose = MessagePurpose.TEXT,
    ) -> Appended:
        """Store a staff or system message; public ones are queued for delivery."""
        message_id = new_id()
        if client_msg_id:
            external_id = f"cmid:{author.id}:{client_msg_id}"
            existing = await self._find_by_external_id(conversation.channel.id, external_id)
            if existing is not None:
                self._metrics.duplicates.inc()
                return Appended(existing, conversation, True)
        else:
            external_id = f"id:{message_id}"
        message = Message(
            id=message_id,
            conversation_id=conversation.id,
            seq=0,
            channel_id=conversation.channel.id,
            external_id=external_id,
            direction=direction,
            author=author,
            text=text,
            attachments=attachments or [],
            purpose=purpose,
            hidden=hidden,
            # Hidden messages never leave the hub, so there is nothing to deliver.
            status=MessageStatus.SENT if hidden else MessageStatus.PENDING,
            client_msg_id=client_msg_id,
        )
        return await self._append(message, conversation)

    async def _append(self, message: Message, conversation: Conversation) -> Appended:
        doc = await self._take_seq(conversation.id, message, only_open=False)
        if doc is None:
            raise RuntimeError(f"conversation {conversation.id} vanished")
        return await self._store_message(message, doc)

    async def _take_seq(
        self, conversation_id: str, message: Message, *, only_open: bool
    ) -> Doc | None:
        """The conversation after giving ``message`` the next seq (the one atomic ``$inc``);
        None if there is no such conversation, or with ``only_open`` if it is closed."""
        update: dict[str, Any] = {
            "$inc": {"last_seq": 1, "rev": 1},
            "$set": {"updated_at": utcnow()},
        }
        if not message.hidden and message.direction != Direction.SYSTEM:
            # The preview people scan in lists: what the client or an operator wrote, not the
            # line's automatic texts.
            update["$set"]["last_message"] = _summary(message)
        if message.direction == Direction.IN:
            update["$inc"]["unread"] = 1
        elif message.author.type == AuthorType.OPERATOR and not message.hidden:
            update["$set"]["unread"] = 0
        query: dict[str, Any] = {"_id": conversation_id}
        if only_open:
            query["status"] = {"$ne": ConversationStatus.CLOSED.value}
        # Unflushed: the journaled message insert that follows flushes it (hub/store.py).
        return await self._store.unflushed.conversations.find_one_and_update(
            query, update, return_document=ReturnDocument.AFTER
        )

    async def _store_message(self, message: Message, doc: Doc) -> Appended:
        """Store ``message`` with the seq ``doc`` (the conversation after ``_take_seq``) gave."""
        conversation_id: str = doc["_id"]
        # Ours is the seq this ``$inc`` returned; a re-read below may see later ones already.
        seq: int = doc["last_seq"]
        now = utcnow()
        if (
            message.author.type == AuthorType.OPERATOR
            and not message.hidden
            and doc.get("first_response_at") is None
        ):
            doc = (
                await self._store.unflushed.conversations.find_one_and_update(
                    {"_id": conversation_id, "first_response_at": None},
                    {"$set": {"first_response_at": now}, "$inc": {"rev": 1}},
                    return_document=ReturnDocument.AFTER,
                )
                or doc
            )
        message = message.model_copy(update={"seq": seq, "conversation_id": conversation_id})
        needs_delivery = message.status == MessageStatus.PENDING
        if needs_delivery:
            await self._store.outbox.enqueue(
                OutboxRow(
                    id=message.id,
                    channel_id=message.channel_id,
                    conversation_id=message.conversation_id,
                    due_at=now,
                    created_at=now,
                )
            )
        try:
            await self._store.messages.insert_one(message.to_doc())
        except DuplicateKeyError:
            # A concurrent retry of the same platform message won; its seq stands, ours is a gap.
            if needs_delivery:
                await self._store.outbox.withdraw(message.id)
            existing = await self._find_by_external_id(message.channel_id, message.external_id)
            if existing is None:
                raise
            self._metrics.duplicates.inc()
            return Appended(existing, Conversation.from_doc(doc), True)
        conversation = Conversation.from_doc(doc)
        await self._bus.publish(MessageStored(message=message, conversation=conversation))
        if needs_delivery:
            for callback in self._outbox_listeners:
                callback()
        return Appended(message, conversation)

    async def edit(self, channel_id: str, external_id: str, text: str) -> Message | None:
        """The client edited a message on their platform: keep the new text, mark it edited."""
        doc = await self._store.messages.find_one_and_update(
            {"channel_id": channel_id, "external_id": external_id},
            {"$set": {"text": text, "edited": True, "edited_at": utcnow()}},
            return_document=ReturnDocument.AFTER,
        )
        if doc is None:
            return None
        message = Message.from_doc(doc)
        conversation = await self._conversation(message.conversation_id)
        await self._bus.publish(MessageUpdated(message=message, conversation=conversation))
        return message

    # --- reading ---------------------------------------------------------------------------

    async def _find_by_external_id(self, channel_id: str, external_id: str) -> Message | None:
        doc = await self._store.messages.find_one(
            {"channel_id": channel_id, "external_id": external_id}
        )
        return Message.from_doc(doc) if doc else None

    async def _conversation(self, conversation_id: str) -> Conversation:
        doc = await self._store.conversations.find_one({"_id": conversation_id})
        if doc is None:
            raise RuntimeError(f"conversation {conversation_id} vanished")
        return Conversation.from_doc(doc)

    async def page(
        self,
        conversation: Conversation,
        *,
        after: int = 0,
        before: int | None = None,
        limit: int = 50,
        include_hidden: bool,
    ) -> list[Message]:
        """One page by seq. A bounded seq range, never skip/limit (see DESIGN.md, Storage)."""
        if before is not None:
            low, high = max(before - limit - 1, 0), before
            seq_range: dict[str, int] = {"$gt": low, "$lt": high}
        else:
            seq_range = {"$gt": after, "$lte": after + limit}
        query: dict[str, Any] = {"conversation_id": conversation.id, "seq": seq_range}
        if not include_hidden:
            query["hidden"] = False
        docs = await self._store.messages.find(query).to_list()
        return sorted((Message.from_doc(d) for d in docs), key=lambda m: m.seq)


def _inbound_message(
    inbound: Inbound, channel_id: str, client: Client, reply_to: str | None
) -> Message:
    return Message(
        conversation_id="",  # set with its seq, by the conversation that gives it
        seq=0,
        channel_id=channel_id,
        external_id=inbound.external_id,
        direction=Direction.IN,
        author=Author(type=AuthorType.CLIENT, id=client.id, name=client.name),
        text=inbound.text,
        attachments=inbound.attachments,
        status=MessageStatus.DELIVERED,
        reply_to=reply_to,
        original=inbound.original,
        created_at=inbound.sent_at or utcnow(),
    )


def _told(sender: Sender) -> dict[str, Any]:
    """What ``sender`` tells about the client: each detail it knows, and for an e-mail or phone
    whether the channel proved it (a new unproven address replaces a proven one's flag too)."""
    known: dict[str, Any] = {k: v for k in CLIENT_FIELDS if (v := getattr(sender, k))}
    if "email" in known:
        known["email_verified"] = sender.email_verified
    if "phone" in known:
        known["phone_verified"] = sender.phone_verified
    return known


def _tells_nothing_new(sender: Sender, client: Client) -> bool:
    """Whether every detail ``sender`` carries is what ``client`` already says."""
    return all(getattr(client, field) == value for field, value in _told(sender).items())


def _summary(message: Message) -> dict[str, Any]:
    """The conversation's ``last_message``, stored as its JSON (``created_at`` a string)."""
    return LastMessage(
        id=message.id,
        direction=message.direction,
        author=message.author,
        text=message.text[:200],
        created_at=message.created_at,
    ).model_dump(mode="json")
