"""The conversation stream: every message in or out is appended here, exactly once.

``ingest`` is idempotent by the platform's message id; staff posts are idempotent by
``client_msg_id``. ``seq`` comes from an atomic ``$inc`` on the conversation. Outgoing messages
get a durable outbox row before the message itself is written, so none is ever lost.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from hub.events import (
    ClientUpdated,
    ConversationChanged,
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
    Conversation,
    ConversationStatus,
    Direction,
    Inbound,
    Message,
    MessageStatus,
    Sender,
    new_id,
    utcnow,
)
from hub.store import Store

log = logging.getLogger("openlines.stream")

# What a platform may tell us about a client; each known value is kept on the client record.
CLIENT_FIELDS = ("name", "email", "phone", "username", "language")
# The fields whose change is published as ``ClientUpdated`` (what CRM matches people by).
CONTACT_FIELDS = ("name", "email", "phone")


@dataclass(frozen=True)
class Appended:
    message: Message
    conversation: Conversation
    duplicate: bool = False


class Stream:
    def __init__(self, store: Store, bus: EventBus, metrics: Metrics) -> None:
        self._store = store
        self._bus = bus
        self._metrics = metrics
        self._outbox_listeners: list[Callable[[], None]] = []

    def on_outbox_row(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` whenever a new outbox row is written (wakes the sender)."""
        self._outbox_listeners.append(callback)

    # --- inbound ---------------------------------------------------------------------------

    async def ingest(self, inbound: Inbound, channel: ChannelRecord) -> Appended:
        """Store one client message: find or create the client and the open conversation."""
        started = time.perf_counter()
        existing = await self._find_by_external_id(inbound.channel_id, inbound.external_id)
        if existing is not None:
            self._metrics.duplicates.inc()
            return Appended(existing, await self._conversation(existing.conversation_id), True)

        client = await self.find_or_create_client(channel.id, inbound.sender)
        conversation, opened = await self._open_conversation(
            channel, inbound.chat_id, client, inbound.source
        )
        reply_to = None
        if inbound.reply_to_external_id:
            quoted = await self._find_by_external_id(channel.id, inbound.reply_to_external_id)
            reply_to = quoted.id if quoted else None
        message = Message(
            conversation_id=conversation.id,
            seq=0,
            channel_id=channel.id,
            external_id=inbound.external_id,
            direction=Direction.IN,
            author=Author(type=AuthorType.CLIENT, id=client.id, name=client.name),
            text=inbound.text,
            attachments=inbound.attachments,
            status=MessageStatus.DELIVERED,
            reply_to=reply_to,
            created_at=inbound.sent_at or utcnow(),
        )
        if opened:
            await self._bus.publish(ConversationOpened(conversation=conversation))
        result = await self._append(message, conversation)
        if not result.duplicate:
            self._metrics.messages_in.labels(channel.type).inc()
            self._metrics.ingest_latency.observe(time.perf_counter() - started)
            log.info(
                "stored inbound conversation=%s channel=%s seq=%s",
                conversation.id,
                channel.id,
                result.message.seq,
            )
        return result

    async def find_or_create_client(self, channel_id: str, sender: Sender) -> Client:
        identity_id = f"{channel_id}:{sender.external_id}"
        identity = await self._store.upsert(
            self._store.identities,
            {"_id": identity_id},
            {"$setOnInsert": {"client_id": new_id(), "channel_id": channel_id}},
        )
        client_id = identity["client_id"]
        known = {k: v for k in CLIENT_FIELDS if (v := getattr(sender, k))}
        on_insert: dict[str, Any] = {
            "identities": [{"channel_id": channel_id, "external_id": sender.external_id}],
            "created_at": utcnow(),
        }
        on_insert.update({k: None for k in CLIENT_FIELDS if k not in known})
        update: dict[str, Any] = {"$setOnInsert": on_insert}
        if known:
            update["$set"] = known
        # One round trip: the document as it was tells what changed (CRM listens for that).
        before = await self._store.clients.find_one_and_update(
            {"_id": client_id}, update, upsert=True, return_document=ReturnDocument.BEFORE
        )
        client = Client.from_doc({**(before or {"_id": client_id, **on_insert}), **known})
        contact_data = {k: v for k, v in known.items() if k in CONTACT_FIELDS}
        changed = sorted(k for k, v in contact_data.items() if (before or {}).get(k) != v)
        if changed and before is not None:
            await self._bus.publish(
                ClientUpdated(client=client, channel_id=channel_id, changed=changed)
            )
            await self._refresh_open_conversations(client)
        return client

    async def _refresh_open_conversations(self, client: Client) -> None:
        """Open conversations carry who the client is: staff see a new name or e-mail at once."""
        info = client.info().model_dump()
        open_ids = await self._store.conversations.find(
            {"client.id": client.id, "status": {"$ne": ConversationStatus.CLOSED.value}},
            {"_id": 1},
        ).to_list()
        for ref in open_ids:
            doc = await self._store.conversations.find_one_and_update(
                {"_id": ref["_id"]},
                {"$set": {"client": info}},
                return_document=ReturnDocument.AFTER,
            )
            if doc is not None:
                await self._bus.publish(
                    ConversationChanged(conversation=Conversation.from_doc(doc), change="client")
                )

    async def open_outbound(
        self, channel: ChannelRecord, chat_id: str, client: Client
    ) -> tuple[Conversation, bool]:
        """The open conversation of a platform chat, opened now when there is none, so staff
        can write first (a manager going back to a client from the CRM). ``True``: opened."""
        conversation, opened = await self._open_conversation(channel, chat_id, client)
        if opened:
            await self._bus.publish(ConversationOpened(conversation=conversation))
        return conversation, opened

    async def _open_conversation(
        self, channel: ChannelRecord, chat_id: str, client: Client, source: str | None = None
    ) -> tuple[Conversation, bool]:
        thread_id = f"{channel.id}:{chat_id}"
        for _ in range(3):
            thread = await self._store.upsert(
                self._store.open_threads,
                {"_id": thread_id},
                {"$setOnInsert": {"conversation_id": new_id()}},
            )
            conversation_id = thread["conversation_id"]
            doc = await self._store.conversations.find_one({"_id": conversation_id})
            if doc is None:
                conversation = Conversation(
                    id=conversation_id,
                    line_id=channel.line_id,
                    channel=ChannelRef(id=channel.id, type=channel.type),
                    chat_id=chat_id,
                    client=client.info(),
                    source=source,
                )
                try:
                    await self._store.conversations.insert_one(conversation.to_doc())
                except DuplicateKeyError:  # a concurrent ingest opened it first
                    continue
                return conversation, True
            conversation = Conversation.from_doc(doc)
            if conversation.status != ConversationStatus.CLOSED:
                return conversation, False
            # Closed but its thread row survived (crash mid-close): retire the row, retry.
            await self._store.open_threads.delete_one(
                {"_id": thread_id, "conversation_id": conversation_id}
            )
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
        purpose: str = "text",
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
        now = utcnow()
        update: dict[str, Any] = {"$inc": {"last_seq": 1}, "$set": {"updated_at": now}}
        if not message.hidden and message.direction != Direction.SYSTEM:
            # The preview people scan in lists: what the client or an operator wrote, not the
            # line's automatic texts.
            update["$set"]["last_message"] = _summary(message)
        if message.direction == Direction.IN:
            update["$inc"]["unread"] = 1
        elif message.author.type == AuthorType.OPERATOR and not message.hidden:
            update["$set"]["unread"] = 0
        doc = await self._store.conversations.find_one_and_update(
            {"_id": conversation.id}, update, return_document=ReturnDocument.AFTER
        )
        if doc is None:
            raise RuntimeError(f"conversation {conversation.id} vanished")
        if (
            message.author.type == AuthorType.OPERATOR
            and not message.hidden
            and doc.get("first_response_at") is None
        ):
            doc = (
                await self._store.conversations.find_one_and_update(
                    {"_id": conversation.id, "first_response_at": None},
                    {"$set": {"first_response_at": now}},
                    return_document=ReturnDocument.AFTER,
                )
                or doc
            )
        message = message.model_copy(update={"seq": doc["last_seq"]})
        needs_delivery = message.status == MessageStatus.PENDING
        if needs_delivery:
            await self._store.outbox.insert_one(
                {
                    "_id": message.id,
                    "channel_id": message.channel_id,
                    "conversation_id": message.conversation_id,
                    "status": "pending",
                    "attempts": 0,
                    "due_at": now,
                    "created_at": now,
                }
            )
        try:
            await self._store.messages.insert_one(message.to_doc())
        except DuplicateKeyError:
            # A concurrent retry of the same platform message won; its seq stands, ours is a gap.
            if needs_delivery:
                await self._store.outbox.delete_one({"_id": message.id})
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


def _summary(message: Message) -> dict[str, Any]:
    summary = message.model_dump(mode="json", include={"id", "direction", "author", "created_at"})
    summary["text"] = message.text[:200]
    return summary
