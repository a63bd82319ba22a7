"""The ``outbox`` collection: one durable row per outgoing message, from ``pending`` to
``sent`` or ``failed``. Journaled (a new row by the journaled insert of its message, which
follows it): a reply the operator saw accepted is never lost. Rows are claimed with a lease (a
conditional update of ``due_at``), so processes share the work."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection

from hub.models import MessageStatus
from hub.storage.concerns import UNFLUSHED
from hub.storage.retry import retry_transient

Doc = dict[str, Any]


class OutboxRow(BaseModel):
    """A message to deliver; ``id`` is the message's id (one row per message)."""

    id: str
    channel_id: str
    conversation_id: str
    status: MessageStatus = MessageStatus.PENDING
    attempts: int = 0
    due_at: datetime
    created_at: datetime
    last_error: str | None = None
    finished_at: datetime | None = None

    @classmethod
    def from_doc(cls, doc: Doc) -> OutboxRow:
        data = dict(doc)
        data["id"] = data.pop("_id")
        return cls.model_validate(data)

    def to_doc(self) -> Doc:
        data = self.model_dump(exclude={"id", "last_error", "finished_at"}, exclude_none=True)
        data["status"] = self.status.value
        return {"_id": self.id, **data}


class OutboxStore:
    def __init__(self, collection: AsyncCollection[Doc]) -> None:
        self._collection = collection
        # For rows written just before the journaled insert of their messages.
        self._unflushed = collection.with_options(write_concern=UNFLUSHED)

    async def ensure_indexes(self) -> None:
        await self._collection.create_index([("status", ASCENDING), ("due_at", ASCENDING)])

    async def enqueue(self, row: OutboxRow) -> None:
        """Written before its message: a row whose message never comes is an orphan that the
        sender drops (see hub/outbox.py)."""
        await self._collection.insert_one(row.to_doc())

    async def enqueue_before_messages(self, rows: Sequence[OutboxRow]) -> None:
        """Write the rows of messages about to be inserted, unflushed (one ``insert_many``):
        the journaled insert of those messages, which follows, flushes them with it (see
        ``UNFLUSHED`` in hub/storage/concerns.py). A row is durable no later than its message,
        so a reply the operator saw accepted is never lost; one whose message a crash kept
        from being written is an orphan the sender drops, as with ``enqueue``."""
        if rows:
            await self._unflushed.insert_many([row.to_doc() for row in rows], ordered=False)

    async def withdraw(self, row_id: str) -> None:
        """Drop a row whose message turned out a duplicate (its original has its own row)."""
        await self._collection.delete_one({"_id": row_id})

    async def withdraw_many(self, row_ids: Sequence[str]) -> None:
        """``withdraw`` for several rows at once."""
        if row_ids:
            await self._collection.delete_many({"_id": {"$in": list(row_ids)}})

    async def get(self, row_id: str) -> OutboxRow | None:
        doc = await self._collection.find_one({"_id": row_id})
        return OutboxRow.from_doc(doc) if doc else None

    async def pending_count(self) -> int:
        return await self._collection.count_documents({"status": MessageStatus.PENDING.value})

    async def due(self, now: datetime, limit: int) -> list[OutboxRow]:
        """Up to ``limit`` pending rows due by ``now`` (not yet claimed, or their lease ran out),
        oldest due first."""
        docs = (
            await self._collection.find(
                {"status": MessageStatus.PENDING.value, "due_at": {"$lte": now}}
            )
            .limit(limit)
            .to_list()
        )
        rows = [OutboxRow.from_doc(d) for d in docs]
        return sorted(rows, key=lambda r: (r.due_at, r.id))

    async def claim(self, row: OutboxRow, lease_until: datetime) -> OutboxRow | None:
        """Take ``row`` until ``lease_until``; None if another process took or moved it first."""
        doc = await self._collection.find_one_and_update(
            {"_id": row.id, "status": MessageStatus.PENDING.value, "due_at": row.due_at},
            {"$set": {"due_at": lease_until}},
            return_document=ReturnDocument.AFTER,
        )
        return OutboxRow.from_doc(doc) if doc else None

    async def release(self, row_id: str, now: datetime) -> None:
        """Give a claimed row back at once (on shutdown) instead of after its lease."""
        await self._collection.update_one(
            {"_id": row_id, "status": MessageStatus.PENDING.value}, {"$set": {"due_at": now}}
        )

    async def retry_at(self, row_id: str, *, attempts: int, reason: str, due_at: datetime) -> None:
        await self._collection.update_one(
            {"_id": row_id},
            {"$set": {"attempts": attempts, "last_error": reason, "due_at": due_at}},
        )

    async def finish(
        self, row_id: str, status: MessageStatus, reason: str | None, now: datetime
    ) -> None:
        """End the row ``sent`` or ``failed``. The platform may have the message already: a
        dropped connection is retried (the write is idempotent), or the row would be sent
        again once its lease ran out."""
        finished = {"status": status.value, "last_error": reason, "finished_at": now}
        await retry_transient(
            lambda: self._collection.update_one({"_id": row_id}, {"$set": finished}),
            what="outbox row finish",
        )

    async def delete(self, row_id: str) -> None:
        await self._collection.delete_one({"_id": row_id})
