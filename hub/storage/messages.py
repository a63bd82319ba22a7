"""The ``messages`` collection: every message of every conversation, each stored once.

Journaled. Unique by ``(conversation_id, seq)`` and by ``(channel_id, external_id)`` (the
platform's id, or the hub's own for staff posts): the second is what makes a platform's retry a
duplicate rather than a second message. Pages are bounded seq ranges, never skip/limit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError, DuplicateKeyError

from hub.models import Message, MessageStatus, utcnow
from hub.storage.concerns import UNFLUSHED
from hub.storage.retry import retry_transient

Doc = dict[str, Any]

# The server's code for a unique index violation, per document of a bulk write.
DUPLICATE_KEY = 11000


class MessageStore:
    def __init__(self, collection: AsyncCollection[Doc]) -> None:
        self._collection = collection
        # For the search index's marks: losing one only means indexing the message again.
        self._unflushed = collection.with_options(write_concern=UNFLUSHED)

    async def ensure_indexes(self) -> None:
        await self._collection.create_index(
            [("conversation_id", ASCENDING), ("seq", ASCENDING)], unique=True
        )
        await self._collection.create_index(
            [("channel_id", ASCENDING), ("external_id", ASCENDING)], unique=True
        )
        # Download checks look up the message that carries a file (hub/files.py).
        await self._collection.create_index([("attachments.id", ASCENDING)])
        # The messages whose words the search index does not have yet (hub/indexer.py).
        await self._collection.create_index([("search_indexed", ASCENDING)])

    async def insert(self, message: Message) -> bool:
        """Store ``message``; False when it is a duplicate (its platform id, or its seq, is
        taken: a concurrent retry of the same message won)."""
        try:
            await self._collection.insert_one({**message.to_doc(), "search_indexed": False})
        except DuplicateKeyError:
            return False
        return True

    async def insert_all(self, messages: Sequence[Message]) -> list[bool]:
        """Store ``messages`` with one journaled ``insert_many`` (``ordered=False``: each
        stands on its own); per message, False when it is a duplicate (its platform id, or its
        seq, is taken). The journal is flushed once for them all, and the ones stored are
        durable when this returns even if others were duplicates: the server commits the
        survivors of an unordered batch (with the flush) and reports the rest per document."""
        if not messages:
            return []
        stored = [True] * len(messages)
        try:
            await self._collection.insert_many(
                [{**m.to_doc(), "search_indexed": False} for m in messages], ordered=False
            )
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors", [])
            others = [e for e in errors if e.get("code") != DUPLICATE_KEY]
            if others or exc.details.get("writeConcernErrors"):
                raise
            for error in errors:
                stored[int(error["index"])] = False
        return stored

    async def get(self, message_id: str) -> Message | None:
        doc = await self._collection.find_one({"_id": message_id})
        return Message.from_doc(doc) if doc else None

    async def by_external_id(self, channel_id: str, external_id: str) -> Message | None:
        doc = await self._collection.find_one(
            {"channel_id": channel_id, "external_id": external_id}
        )
        return Message.from_doc(doc) if doc else None

    async def by_external_ids(
        self, channel_id: str, external_ids: Sequence[str]
    ) -> dict[str, Message]:
        """The channel's stored messages among ``external_ids`` (one query on the unique
        index), by external id."""
        if not external_ids:
            return {}
        docs = await self._collection.find(
            {"channel_id": channel_id, "external_id": {"$in": list(external_ids)}}
        ).to_list()
        return {str(d["external_id"]): Message.from_doc(d) for d in docs}

    async def edit_text(self, channel_id: str, external_id: str, text: str) -> Message | None:
        """The client edited a message on their platform: the new text, marked edited."""
        doc = await self._collection.find_one_and_update(
            {"channel_id": channel_id, "external_id": external_id},
            {
                "$set": {
                    "text": text,
                    "edited": True,
                    "edited_at": utcnow(),
                    "search_indexed": False,
                }
            },
            return_document=ReturnDocument.AFTER,
        )
        return Message.from_doc(doc) if doc else None

    async def set_status(
        self,
        message_id: str,
        status: MessageStatus,
        reason: str | None,
        *,
        platform_message_id: str | None = None,
    ) -> Message | None:
        """Where delivery ended. The platform may have the message already, so a dropped
        connection is retried (the write is idempotent)."""
        update: Doc = {"status": status.value, "status_reason": reason}
        if platform_message_id:
            update["platform_message_id"] = platform_message_id
        doc = await retry_transient(
            lambda: self._collection.find_one_and_update(
                {"_id": message_id}, {"$set": update}, return_document=ReturnDocument.AFTER
            ),
            what="message status",
        )
        return Message.from_doc(doc) if doc else None

    async def seq_range(
        self, conversation_id: str, *, above: int, below: int, include_hidden: bool
    ) -> list[Message]:
        """The conversation's messages with ``above < seq < below``, by seq."""
        query: Doc = {"conversation_id": conversation_id, "seq": {"$gt": above, "$lt": below}}
        if not include_hidden:
            query["hidden"] = False
        docs = await self._collection.find(query).to_list()
        return sorted((Message.from_doc(d) for d in docs), key=lambda m: m.seq)

    # --- the search index's bookkeeping (hub/indexer.py) --------------------------------------

    async def to_index(self, limit: int) -> list[Message]:
        """Up to ``limit`` messages whose words the search index does not have yet."""
        docs = await self._collection.find({"search_indexed": False}).limit(limit).to_list()
        return [Message.from_doc(d) for d in docs]

    async def mark_indexed(self, messages: Sequence[Message]) -> None:
        """The index has these messages' words; one edited meanwhile (its text no longer the
        one indexed) stays to be indexed again.

        One unflushed ``update_many``, then the edited ones unmarked (journaled, and rare). Not
        an update per message of a journaled bulk write: SecantusDB commits each statement by
        itself, fsyncing its log while it holds the collection's lock, so a batch of 200 marks
        held up the group commit's inserts for 200 flushes (about 3 ms of the server's CPU per
        message, more than storing it). Unflushed is safe: a mark lost in a crash only means
        the message is indexed again, which is idempotent (hub/indexer.py)."""
        if not messages:
            return
        indexed = {m.id: m.text for m in messages}
        ids = list(indexed)
        await self._unflushed.update_many(
            {"_id": {"$in": ids}, "search_indexed": False}, {"$set": {"search_indexed": True}}
        )
        now = await self._collection.find({"_id": {"$in": ids}}, {"text": 1}).to_list()
        edited = [d["_id"] for d in now if d.get("text") != indexed[str(d["_id"])]]
        if edited:
            await self._collection.update_many(
                {"_id": {"$in": edited}}, {"$set": {"search_indexed": False}}
            )

    async def mark_unindexed_from_before_search(self) -> int:
        """Messages stored before the hub had a search index get indexed too (done once per
        database, at start: it reads every message)."""
        result = await self._collection.update_many(
            {"search_indexed": {"$exists": False}}, {"$set": {"search_indexed": False}}
        )
        return result.modified_count

    async def public_carrier(self, file_id: str) -> str | None:
        """The conversation id of a message clients see that carries the file, if any."""
        doc = await self._collection.find_one(
            {"attachments.id": file_id, "hidden": {"$ne": True}}, {"conversation_id": 1}
        )
        return str(doc["conversation_id"]) if doc else None

    async def carriers(self, file_id: str, limit: int) -> list[str]:
        """Conversation ids of up to ``limit`` messages that carry the file (as an attachment
        or as the platform original), hidden ones included."""
        docs = await self._collection.find(
            {"$or": [{"attachments.id": file_id}, {"original.id": file_id}]},
            {"conversation_id": 1},
        ).to_list(limit)
        return [str(d["conversation_id"]) for d in docs]
