"""How durable a write must be before it is acknowledged, and the one upsert every repository
shares. Works on MongoDB and on the embedded SecantusDB alike."""

from __future__ import annotations

from typing import Any

from pymongo import ReturnDocument, WriteConcern
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

Doc = dict[str, Any]

# Messages, outbox rows and conversation state are promises to people: fsync the journal.
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
