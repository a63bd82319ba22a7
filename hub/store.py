"""MongoDB access: the client, the collections (journaled where loss is not an option) and
their indexes, created idempotently at start-up.

Works on MongoDB and on the embedded SecantusDB; only features both support are used (no text
indexes, no TTL indexes, paging by bounded ``seq`` ranges).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from hub.secretbox import SecretBox
from hub.storage.channels import ChannelStore
from hub.storage.clients import ClientStore
from hub.storage.concerns import JOURNALED, UNFLUSHED
from hub.storage.conversations import ConversationStore
from hub.storage.files import FileStore
from hub.storage.forms import BotStore, FormStore
from hub.storage.lines import LineStore
from hub.storage.load import LoadStore
from hub.storage.messages import MessageStore
from hub.storage.meta import MetaStore
from hub.storage.outbox import OutboxStore
from hub.storage.pins import PinStore
from hub.storage.presence import PresenceStore
from hub.storage.quick_answers import QuickAnswerStore
from hub.storage.retry import retry_transient
from hub.storage.threads import OpenThreadStore
from hub.storage.timers import LeaseStore, TimerStore
from hub.storage.users import SessionStore, UserStore
from hub.storage.words import WordStore

__all__ = ["Doc", "Store", "retry_transient"]

Doc = dict[str, Any]


class Store:
    """The repositories of one OpenLines database: each owns its collections and indexes."""

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
        # For tests and tools that look beneath the repositories; the packages never do.
        self.db: AsyncDatabase[Doc] = client[db_name]
        journaled = self.db.with_options(write_concern=JOURNALED)
        unflushed = self.db.with_options(write_concern=UNFLUSHED)
        self.users = UserStore(self.db["users"])
        self.sessions = SessionStore(self.db["sessions"])
        # Operators' statuses and sockets, and hub processes' last beats.
        self.presence = PresenceStore(self.db["presence"], self.db["hub_processes"])
        self.lines = LineStore(journaled["lines"])
        self.channels = ChannelStore(
            journaled["channels"], secrets, secret_fields if secrets else lambda _: frozenset()
        )
        self.clients = ClientStore(
            journaled["clients"],
            journaled["client_identities"],
            unflushed_clients=unflushed["clients"],
            unflushed_identities=unflushed["client_identities"],
        )
        self.conversations = ConversationStore(
            journaled["conversations"], unflushed["conversations"]
        )
        self.open_threads = OpenThreadStore(journaled["open_threads"], unflushed["open_threads"])
        self.messages = MessageStore(journaled["messages"])
        # The message search's word index: rebuilt from the messages, so not journaled.
        self.words = WordStore(self.db["message_words"])
        self.outbox = OutboxStore(journaled["outbox"])
        # Durable deadlines (offers, no-answer, auto-close, CSAT): see hub/timers.py.
        self.timers = TimerStore(journaled["timers"])
        self.operator_load = LoadStore(journaled["operator_load"])
        # _id = channel id -> which process receives for it (see hub/runners.py).
        self.channel_leases = LeaseStore(self.db["channel_leases"])
        self.pins = PinStore(journaled["pins"])
        # The console's saved replies: personal (line_id None) or shared with a line.
        self.quick_answers = QuickAnswerStore(self.db["quick_answers"])
        # Forms staff send into conversations (hub/forms.py).
        self.forms = FormStore(self.db["forms"])
        # Bots that answer first (hub/bots.py).
        self.bots = BotStore(self.db["bots"])
        # One-time things done to this database (the demo seed).
        self.meta = MetaStore(self.db["meta"])
        # Attachments (GridFS bucket ``attachments``): hub/files.py says what may be stored.
        self.files = FileStore(self.db)

    def database_of(self, owner: str) -> AsyncDatabase[Doc]:
        """The database a package's own storage keeps its collections in, each named with
        ``owner`` as its prefix (``crm_bridge/storage.py``: ``crm_*``)."""
        if not owner.isidentifier():
            raise ValueError(f"not a collection prefix: {owner!r}")
        return self.db

    async def ensure_indexes(self) -> None:
        await self.users.ensure_indexes()
        await self.sessions.ensure_indexes()
        await self.lines.ensure_indexes()
        await self.presence.ensure_indexes()
        await self.channels.ensure_indexes()
        await self.messages.ensure_indexes()
        await self.conversations.ensure_indexes()
        await self.words.ensure_indexes()
        await self.outbox.ensure_indexes()
        await self.timers.ensure_indexes()
        await self.channel_leases.ensure_indexes()
        await self.quick_answers.ensure_indexes()
        await self.forms.ensure_indexes()
        await self.bots.ensure_indexes()
        await self.files.ensure_indexes()

    async def ping(self) -> None:
        await self.db.command("ping")
