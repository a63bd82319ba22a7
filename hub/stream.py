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

from hub.commit import Adjust, Committed, Committer
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
    Conversation,
    ConversationStatus,
    Direction,
    Inbound,
    Message,
    MessagePurpose,
    MessageStatus,
    Sender,
    SystemNote,
    new_id,
    utcnow,
)
from hub.storage.conversations import Where
from hub.storage.threads import thread_id as thread_of
from hub.store import Store

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
        self._committer = Committer(store, metrics)
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

        Once a chat has written, its later messages cost no round trip of their own: they are
        stored with the others that arrive meanwhile (``hub.commit``), the dedupe lookup, the
        seq ``$inc`` (conditional on the remembered conversation being open, so one closed
        elsewhere sends this message down the full path into a new one) and the journaled
        insert shared with them."""
        started = time.perf_counter()
        identity_id = f"{channel.id}:{inbound.sender.external_id}"
        thread_id = thread_of(channel.id, inbound.chat_id)
        known_id = self._open_chats.get(thread_id)
        client = self._clients.get(identity_id) if known_id is not None else None
        remembered = client is not None and _tells_nothing_new(inbound.sender, client)
        if client is None or not remembered:
            # Kept although the unique index would catch a retry: a retry that got past this
            # would still take a seq and count as unread before the insert failed. Looked up
            # before the client and thread writes, which a retry must not redo either; on the
            # remembered path there are none, so the batch looks (before any seq is taken).
            existing = await self._store.messages.by_external_id(
                inbound.channel_id, inbound.external_id
            )
            if existing is not None:
                return await self._finish(Committed(existing, None, duplicate=True))
            client = await self._find_or_create_client(channel.id, inbound.sender, flush=False)
        reply_to = None
        if inbound.reply_to_external_id:
            quoted = await self._store.messages.by_external_id(
                channel.id, inbound.reply_to_external_id
            )
            reply_to = quoted.id if quoted else None
        message = _inbound_message(inbound, channel.id, client, reply_to)
        signer = client
        stale = False

        def sign(message: Message, conversation: Conversation) -> Message:
            nonlocal stale
            told = conversation.client
            stale = remembered and told.id == signer.id and told != signer.info()
            if not stale:
                return message
            # Changed through another process (pre-chat in a second tab) since we remembered
            # it; open conversations are told at once (``_refresh_open_conversations``).
            return message.model_copy(
                update={"author": message.author.model_copy(update={"name": told.name})}
            )

        committed: Committed | None = None

        async def take_seq(conversation_id: str) -> Conversation | None:
            nonlocal committed
            committed = await self._commit(
                message, conversation_id, only_open=True, check_stored=remembered, adjust=sign
            )
            return committed.conversation if committed is not None else None

        if known_id is not None:
            await take_seq(known_id)
        if committed is None:
            # The full path: the chat's first message in this process, or its conversation
            # closed. A new conversation must carry the client as stored, not as remembered.
            self._open_chats.drop(thread_id)
            if remembered:
                client = await self._find_or_create_client(channel.id, inbound.sender, flush=False)
                message = _inbound_message(inbound, channel.id, client, reply_to)
                signer = client
                remembered = False
            await self._open_conversation(
                channel, inbound.chat_id, client, inbound.source, claim=take_seq
            )
        assert committed is not None  # _open_conversation raises when it claims none
        result = await self._finish(committed)
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
        identity_id = f"{channel_id}:{sender.external_id}"
        client_id = await self._store.clients.client_id_of(
            identity_id, channel_id, new_id(), flush=flush
        )
        known = _told(sender)
        on_insert: dict[str, Any] = {
            "identities": [{"channel_id": channel_id, "external_id": sender.external_id}],
            "created_at": utcnow(),
        }
        on_insert.update({k: None for k in CLIENT_FIELDS if k not in known})
        before = await self._store.clients.tell(client_id, on_insert, known, flush=flush)
        if before is None:
            client = Client.from_doc({"_id": client_id, **on_insert, **known})
        else:
            client = before.model_copy(update=known)
        contact_data = {k: v for k, v in known.items() if k in CONTACT_FIELDS}
        changed = sorted(k for k, v in contact_data.items() if getattr(before, k, None) != v)
        if changed and before is not None:
            if not flush:
                # Durable before anyone hears of it (rare: the client renamed themselves).
                await self._store.clients.set_details(client_id, contact_data)
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
        for conversation_id in await self._store.conversations.ids(
            Where(client_ids=[client.id], open=True)
        ):
            await self._transitions.apply(
                conversation_id, {}, {"$set": {"client": info}}, ConversationChange.CLIENT
            )

    async def open_outbound(
        self, channel: ChannelRecord, chat_id: str, client: Client, *, assignee_id: str
    ) -> tuple[Conversation, bool]:
        """The open conversation of a platform chat, opened now when there is none, so staff
        can write first (a manager going back to a client from the CRM). ``True``: opened.

        One opened here is ``assignee_id``'s from the start: active, offered to nobody, in no
        capacity slot (the writer chose to take it up), so the client's answer comes back to
        them rather than to the line's queue."""
        return await self._open_conversation(
            channel,
            chat_id,
            client,
            claim=self._store.conversations.get_open,
            assignee_id=assignee_id,
        )

    async def _open_conversation(
        self,
        channel: ChannelRecord,
        chat_id: str,
        client: Client,
        source: str | None = None,
        *,
        claim: Callable[[str], Awaitable[Conversation | None]],
        assignee_id: str | None = None,
    ) -> tuple[Conversation, bool]:
        """The chat's open conversation as ``claim`` returns it (None: not open), opened now
        when there is none (``True``). ``claim`` is the seq ``$inc`` on the ingest path."""
        thread_id = thread_of(channel.id, chat_id)
        for _ in range(3):
            fresh_id = new_id()
            conversation_id = await self._store.open_threads.claim(thread_id, fresh_id)
            if conversation_id != fresh_id:  # the thread was there already
                claimed = await claim(conversation_id)
                if claimed is not None:
                    return claimed, False
                status = await self._store.conversations.status(conversation_id)
                if status is not None:
                    if status == ConversationStatus.CLOSED:
                        # Its thread row survived the close (crash mid-close): retire it.
                        await self._store.open_threads.retire(thread_id, conversation_id)
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
            if assignee_id is not None:
                conversation = conversation.model_copy(
                    update={
                        "status": ConversationStatus.ACTIVE,
                        "assignee_id": assignee_id,
                        "queued_at": None,
                    }
                )
            # Journaled: routing hears of it before any message is stored.
            if not await self._store.conversations.insert(conversation):
                continue  # a concurrent ingest opened it first
            await self._bus.publish(ConversationOpened(conversation=conversation))
            claimed = await claim(conversation_id)
            if claimed is not None:
                return claimed, True
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
        system: SystemNote | None = None,
    ) -> Appended:
        """Store a staff or system message; public ones are queued for delivery."""
        message_id = new_id()
        # A repeated send returns the first message: the group commit looks the id up before
        # it takes a seq (nothing is written before it here).
        external_id = f"cmid:{author.id}:{client_msg_id}" if client_msg_id else f"id:{message_id}"
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
            system=system,
        )
        return await self._append(message, conversation, check_stored=bool(client_msg_id))

    async def _append(
        self, message: Message, conversation: Conversation, *, check_stored: bool = False
    ) -> Appended:
        committed = await self._committer.append(
            message, conversation.id, only_open=False, check_stored=check_stored
        )
        if committed is None:
            raise RuntimeError(f"conversation {conversation.id} vanished")
        if committed.conversation is None:  # a repeated send, in the conversation it was for
            committed = Committed(committed.message, conversation, duplicate=True)
        return await self._finish(committed)

    async def _commit(
        self,
        message: Message,
        conversation_id: str,
        *,
        only_open: bool,
        check_stored: bool = False,
        adjust: Adjust | None = None,
    ) -> Committed | None:
        """Store ``message`` as the conversation's next (the group commit gives it its seq and
        writes it, and its outbox row, with the others arriving meanwhile); the outcome with
        the conversation as it is now, or None when it is gone (or with ``only_open`` closed).
        A duplicate comes back as the stored message."""
        committed = await self._committer.append(
            message, conversation_id, only_open=only_open, check_stored=check_stored, adjust=adjust
        )
        if committed is not None and committed.conversation is None:
            conversation = await self._conversation(committed.message.conversation_id)
            committed = Committed(committed.message, conversation, committed.duplicate)
        return committed

    async def _finish(self, committed: Committed) -> Appended:
        """Tell everyone of a message just stored (a duplicate: only count it)."""
        message = committed.message
        conversation = committed.conversation
        if conversation is None:
            conversation = await self._conversation(message.conversation_id)
        if committed.duplicate:
            self._metrics.duplicates.inc()
            return Appended(message, conversation, True)
        await self._bus.publish(MessageStored(message=message, conversation=conversation))
        if message.status == MessageStatus.PENDING:
            for callback in self._outbox_listeners:
                callback()
        return Appended(message, conversation)

    async def edit(self, channel_id: str, external_id: str, text: str) -> Message | None:
        """The client edited a message on their platform: keep the new text, mark it edited."""
        message = await self._store.messages.edit_text(channel_id, external_id, text)
        if message is None:
            return None
        conversation = await self._conversation(message.conversation_id)
        await self._bus.publish(MessageUpdated(message=message, conversation=conversation))
        return message

    # --- reading ---------------------------------------------------------------------------

    async def _conversation(self, conversation_id: str) -> Conversation:
        conversation = await self._store.conversations.get(conversation_id)
        if conversation is None:
            raise RuntimeError(f"conversation {conversation_id} vanished")
        return conversation

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
            above, below = max(before - limit - 1, 0), before
        else:
            above, below = after, after + limit + 1
        return await self._store.messages.seq_range(
            conversation.id, above=above, below=below, include_hidden=include_hidden
        )


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
