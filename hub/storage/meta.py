"""The ``meta`` collection: one row per one-time thing a database has had done to it (the demo
seed), claimed by inserting its row, so concurrent processes do it once."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

Doc = dict[str, Any]


class Mark(BaseModel):
    """What became of one one-time thing: ``seeding`` while under way, then ``done`` with the
    ids of what it made."""

    name: str
    state: str
    line_id: str | None = None
    channel_id: str | None = None


class MetaStore:
    def __init__(self, collection: AsyncCollection[Doc]) -> None:
        self._collection = collection

    async def get(self, name: str) -> Mark | None:
        doc = await self._collection.find_one({"_id": name})
        if doc is None:
            return None
        return Mark(
            name=doc["_id"],
            state=str(doc.get("state")),
            line_id=doc.get("line_id"),
            channel_id=doc.get("channel_id"),
        )

    async def claim(self, name: str) -> bool:
        """True if this caller does it; False if another process claimed it first."""
        try:
            await self._collection.insert_one({"_id": name, "state": "seeding"})
        except DuplicateKeyError:
            return False
        return True

    async def done(self, name: str, *, line_id: str | None, channel_id: str | None) -> None:
        await self._collection.update_one(
            {"_id": name},
            {"$set": {"state": "done", "line_id": line_id, "channel_id": channel_id}},
        )

    async def release(self, name: str) -> None:
        """Give a claim up (it could not be done), so a later start may try again."""
        await self._collection.delete_one({"_id": name})
