"""The ``open_threads`` collection: ``_id = "<channel_id>:<chat_id>"`` -> the one open
conversation of that platform chat. Claimed on the ingest path without a flush of its own (the
journaled message insert that follows flushes it, see hub/storage/concerns.py); retired,
journaled, when the conversation closes."""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from hub.storage.concerns import upsert

Doc = dict[str, Any]


def thread_id(channel_id: str, chat_id: str) -> str:
    return f"{channel_id}:{chat_id}"


class OpenThreadStore:
    def __init__(self, collection: AsyncCollection[Doc], unflushed: AsyncCollection[Doc]) -> None:
        self._collection = collection
        self._unflushed = unflushed

    async def claim(self, thread: str, fresh_conversation_id: str) -> str:
        """The conversation the chat has open, ``fresh_conversation_id`` when it had none."""
        doc = await upsert(
            self._unflushed,
            {"_id": thread},
            {"$setOnInsert": {"conversation_id": fresh_conversation_id}},
        )
        return str(doc["conversation_id"])

    async def retire(self, thread: str, conversation_id: str) -> None:
        """The chat's conversation closed: its next message opens a new one."""
        await self._collection.delete_one({"_id": thread, "conversation_id": conversation_id})
