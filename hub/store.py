"""MongoDB access: the client, the collections (journaled where loss is not an option) and
their indexes, created idempotently at start-up.

Works on MongoDB and on the embedded SecantusDB; only features both support are used (no text
indexes, no TTL indexes, paging by bounded ``seq`` ranges).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pymongo import ASCENDING, AsyncMongoClient, ReturnDocument, WriteConcern
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from hub.secretbox import SecretBox
from hub.storage.channels import ChannelStore
from hub.storage.files import FileStore
from hub.storage.lines import LineStore
from hub.storage.meta import MetaStore
from hub.storage.outbox import OutboxStore
from hub.storage.presence import PresenceStore
from hub.storage.quick_answers import QuickAnswerStore
from hub.storage.retry import retry_transient
from hub.storage.timers import LeaseStore, TimerStore
from hub.storage.users import SessionStore, UserStore

__all__ = ["Doc", "Store", "Unflushed", "retry_transient"]

Doc = dict[str, Any]

# Messages, outbox rows and conversation state are promises to people: fsync the journal.
_JOURNALED = WriteConcern(j=True)
# Acknowledged by the primary, no journal flush of its own: only for writes that a journaled
# write follows before anyone is told of them (see ``Unflushed``).
_UNFLUSHED = WriteConcern(w=1)


@dataclass(frozen=True)
class Unflushed:
    """The ingest path's writes before its journaled message insert, without a flush each.

    Safe because the journal is one sequential log per server: ``j: true`` makes the server
    flush its log up to and including that write, and every write acknowledged earlier (ours
    are awaited one after another) sits before it in that log. So once the message insert is
    acknowledged, the identity, client, thread and seq writes before it are on disk too; a
    crash before that loses a suffix of them along with the unacknowledged message, and the
    platform's retry redoes them idempotently (at most a ``seq`` gap, which paging tolerates).
    SecantusDB: a j:true write fsyncs the WiredTiger log, earlier buffered writes included
    (stack notes 2.4). MongoDB: the same WiredTiger journal; with a replica set the oplog is
    sequential too, so a majority-acknowledged message implies the writes before it. Explicit
    ``w: 1`` rather than the server default, which is ``w: "majority"`` on MongoDB 5+ and would
    wait for replication on every write. Anything acknowledged to people by itself (a new
    conversation, pre-chat details, the message) stays journaled.
    """

    identities: AsyncCollection[Doc]
    clients: AsyncCollection[Doc]
    open_threads: AsyncCollection[Doc]
    conversations: AsyncCollection[Doc]


class Store:
    """Typed handles on every collection of one OpenLines database."""

    def __init__(
        self,
        client: AsyncMongoClient[Doc],
        db_name: str,
        *,
        secrets: SecretBox | None = None,
        secret_fields: Callable[[str], frozenset[str]] = lambda _: frozenset(),
    ) -> None:
        """``secrets`` seals each channel type's ``secret_fields`` at rest (the app always gives
        one; a tool that holds no secret key may leave it out and store configs as given)."""
        self.client = client
        # Seals other secrets the hub keeps (a package's own, e.g. CRM webhook signing keys).
        self.secrets = secrets
        self.db: AsyncDatabase[Doc] = client[db_name]
        journaled = self.db.with_options(write_concern=_JOURNALED)
        self.users = UserStore(self.db["users"])
        self.sessions = SessionStore(self.db["sessions"])
        # Operators' statuses and sockets, and hub processes' last beats.
        self.presence = PresenceStore(self.db["presence"], self.db["hub_processes"])
        self.lines = LineStore(journaled["lines"])
        self.channels = ChannelStore(
            journaled["channels"], secrets, secret_fields if secrets else lambda _: frozenset()
        )
        self.clients: AsyncCollection[Doc] = journaled["clients"]
        # _id = "<channel_id>:<external sender id>" -> client_id; makes find-or-create atomic.
        self.identities: AsyncCollection[Doc] = journaled["client_identities"]
        self.conversations: AsyncCollection[Doc] = journaled["conversations"]
        # _id = "<channel_id>:<chat_id>" -> the one open conversation of that chat.
        self.open_threads: AsyncCollection[Doc] = journaled["open_threads"]
        self.messages: AsyncCollection[Doc] = journaled["messages"]
        self.outbox = OutboxStore(journaled["outbox"])
        # Durable deadlines (offers, no-answer, auto-close, CSAT): see hub/timers.py.
        self.timers = TimerStore(journaled["timers"])
        # Per (line, operator): active conversation count (capacity) and last routing time.
        self.operator_load: AsyncCollection[Doc] = journaled["operator_load"]
        # _id = channel id -> which process receives for it (see hub/runners.py).
        self.channel_leases = LeaseStore(self.db["channel_leases"])
        # _id = "<line_id>:<client_id>" -> the operator a client is pinned to.
        self.pins: AsyncCollection[Doc] = journaled["pins"]
        # The console's saved replies: personal (line_id None) or shared with a line.
        self.quick_answers = QuickAnswerStore(self.db["quick_answers"])
        # One-time things done to this database (the demo seed).
        self.meta = MetaStore(self.db["meta"])
        # Attachments (GridFS bucket ``attachments``): hub/files.py says what may be stored.
        self.files = FileStore(self.db)
        unflushed = self.db.with_options(write_concern=_UNFLUSHED)
        self.unflushed = Unflushed(
            identities=unflushed["client_identities"],
            clients=unflushed["clients"],
            open_threads=unflushed["open_threads"],
            conversations=unflushed["conversations"],
        )

    async def ensure_indexes(self) -> None:
        await self.users.ensure_indexes()
        await self.sessions.ensure_indexes()
        await self.lines.ensure_indexes()
        await self.presence.ensure_indexes()
        await self.channels.ensure_indexes()
        await self.messages.create_index(
            [("conversation_id", ASCENDING), ("seq", ASCENDING)], unique=True
        )
        await self.messages.create_index(
            [("channel_id", ASCENDING), ("external_id", ASCENDING)], unique=True
        )
        await self.conversations.create_index([("status", ASCENDING), ("line_id", ASCENDING)])
        await self.conversations.create_index([("assignee_id", ASCENDING)])
        await self.conversations.create_index([("client.id", ASCENDING)])
        await self.outbox.ensure_indexes()
        await self.timers.ensure_indexes()
        await self.channel_leases.ensure_indexes()
        await self.quick_answers.ensure_indexes()
        await self.files.ensure_indexes()

    @staticmethod
    async def upsert(collection: AsyncCollection[Doc], query: Doc, update: Doc) -> Doc:
        """Atomically update-or-insert one document and return it as it is now. ``update``
        must be safe to apply twice (``$setOnInsert``): a lost insert race is asked again."""
        for _ in range(2):
            try:
                doc = await collection.find_one_and_update(
                    query, update, upsert=True, return_document=ReturnDocument.AFTER
                )
            except DuplicateKeyError:  # MongoDB: a concurrent upsert inserted it first
                continue
            if doc is not None:
                return doc
            # SecantusDB: an upsert that lost the race to insert the same new _id comes back
            # empty (seen with concurrent first messages of one chat); the document exists now.
        raise RuntimeError(f"upsert into {collection.name} found nothing twice: {query}")

    async def ping(self) -> None:
        await self.db.command("ping")
