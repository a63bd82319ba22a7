"""How durable a write must be before it is acknowledged, and the one upsert every repository
shares. Works on MongoDB and on the embedded SecantusDB alike."""

from __future__ import annotations

from typing import Any

from pymongo import ReturnDocument, WriteConcern
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

Doc = dict[str, Any]

# Messages, outbox rows and conversation state are promises to people: fsync the journal
# (an outbox row and a message's seq by the journaled insert of the message that follows).
JOURNALED = WriteConcern(j=True)

# The ingest path's writes before its journaled message insert go without a flush each.
#
# Safe because the journal is one sequential log per server: ``j: true`` makes the server
# flush its log up to and including that write, and every write acknowledged earlier (ours
# are awaited one after another) sits before it in that log. So once the message insert is
# acknowledged, the identity, client, thread and seq writes before it are on disk too; a
# crash before that loses a suffix of them along with the unacknowledged message, and the
# platform's retry redoes them idempotently (at most a ``seq`` gap, which paging tolerates).
# SecantusDB: a j:true write fsyncs the WiredTiger log, earlier buffered writes included
# (stack notes 2.4). MongoDB: the same WiredTiger journal; with a replica set the oplog is
# sequential too, so a majority-acknowledged message implies the writes before it. Explicit
# ``w: 1`` rather than the server default, which is ``w: "majority"`` on MongoDB 5+ and would
# wait for replication on every write. Anything acknowledged to people by itself (a new
# conversation, pre-chat details, the message) stays journaled. Repositories take an
# ``flush=False`` argument on exactly the writes this covers.
#
# The group commit (hub/commit.py) leans on the same argument for a whole batch: its seq
# ``$inc``s (side by side, one per conversation), the ``first_response_at`` stamp and the
# outbox rows are all acknowledged before the one journaled ``insert_many`` of the messages is
# sent, so that flush makes them durable with the messages, and no caller is answered before
# it returns. ``ordered=False`` does not weaken it: the server commits the batch's surviving
# documents in one transaction with the flush and reports the duplicates per document
# (SecantusDB: ``insert`` with ``sync=journal`` per chunk of up to 1,000; MongoDB: the write
# concern of a bulk insert covers every document it wrote). An outbox row is unflushed for the
# same reason: written before its message, durable no later than it, and an orphan the sender
# drops when a crash kept the message from being written. A crash mid-batch loses the batch's
# unflushed suffix along with messages nobody was told are stored.
UNFLUSHED = WriteConcern(w=1)


async def upsert(collection: AsyncCollection[Doc], query: Doc, update: Doc) -> Doc:
    """Atomically update-or-insert one document and return it as it is now. ``update`` must be
    safe to apply twice (``$setOnInsert``): a lost insert race is asked again."""
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
