"""The ``message_words`` collection: the word index behind the message search (SecantusDB has
no text index). One document per (message, word): ``_id = "<message_id>:<word>"``, so writing a
message's words twice changes nothing. Found by prefix with an index range, never a regex.

Not journaled: the index is rebuilt from the messages (a message stays ``search_indexed: false``
in ``hub/storage/messages.py`` until its words are written, so a crash in between only delays
it)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError

Doc = dict[str, Any]

# Past the last character any word can start a range with.
_AFTER = "\U0010ffff"


@dataclass(frozen=True)
class WordHit:
    """A message (that has a word), and where it is."""

    conversation_id: str
    message_id: str
    seq: int


class WordStore:
    def __init__(self, collection: AsyncCollection[Doc]) -> None:
        self._collection = collection

    async def ensure_indexes(self) -> None:
        await self._collection.create_index([("word", ASCENDING)])
        await self._collection.create_index([("message_id", ASCENDING)])

    async def replace(self, messages: Sequence[tuple[WordHit, Sequence[str]]]) -> None:
        """Index each message by its words, dropping any words it was indexed by before (an
        edited message). Three round trips for the whole batch."""
        if not messages:
            return
        await self._collection.delete_many(
            {"message_id": {"$in": [hit.message_id for hit, _ in messages]}}
        )
        docs = [
            {
                "_id": f"{hit.message_id}:{word}",
                "word": word,
                "message_id": hit.message_id,
                "conversation_id": hit.conversation_id,
                "seq": hit.seq,
            }
            for hit, words in messages
            for word in words
        ]
        if not docs:
            return
        try:
            await self._collection.insert_many(docs, ordered=False)
        except BulkWriteError as error:  # another process indexed the same message meanwhile
            if any(e.get("code") != 11000 for e in error.details.get("writeErrors", [])):
                raise

    async def starting_with(self, prefix: str, limit: int) -> list[WordHit]:
        """Up to ``limit`` messages with a word that starts with ``prefix``."""
        docs = (
            await self._collection.find(
                {"word": {"$gte": prefix, "$lt": prefix + _AFTER}},
                {"conversation_id": 1, "message_id": 1, "seq": 1},
            )
            .limit(limit)
            .to_list()
        )
        return [
            WordHit(
                conversation_id=str(d["conversation_id"]),
                message_id=str(d["message_id"]),
                seq=int(d["seq"]),
            )
            for d in docs
        ]
