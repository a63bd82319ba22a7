"""The ``pins`` collection: ``_id = "<line_id>:<client_id>"`` -> the operator a client is pinned
to in a line (their next conversation there goes to the same operator). Journaled."""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from hub.models import utcnow

Doc = dict[str, Any]


class PinStore:
    def __init__(self, collection: AsyncCollection[Doc]) -> None:
        self._collection = collection

    async def pin(self, line_id: str, client_id: str, user_id: str) -> None:
        await self._collection.update_one(
            {"_id": f"{line_id}:{client_id}"},
            {"$set": {"user_id": user_id, "at": utcnow()}},
            upsert=True,
        )

    async def unpin(self, line_id: str, client_id: str) -> None:
        await self._collection.delete_one({"_id": f"{line_id}:{client_id}"})

    async def operator(self, line_id: str, client_id: str) -> str | None:
        """Who the client is pinned to in the line (None: nobody)."""
        doc = await self._collection.find_one({"_id": f"{line_id}:{client_id}"})
        return str(doc["user_id"]) if doc else None
