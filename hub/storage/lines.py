"""The ``lines`` collection (queues with their staff and settings): the one place lines are
read and written. Journaled: a line an admin was told is saved stays saved."""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from hub.models import Line

Doc = dict[str, Any]


def _member(user_id: str) -> Doc:
    return {"$or": [{"operators": user_id}, {"supervisors": user_id}]}


class LineStore:
    def __init__(self, collection: AsyncCollection[Doc]) -> None:
        self._collection = collection

    async def ensure_indexes(self) -> None:
        """None today: lines are few, and every query on them is a small full read."""

    async def get(self, line_id: str) -> Line | None:
        doc = await self._collection.find_one({"_id": line_id})
        return Line.from_doc(doc) if doc else None

    async def name(self, line_id: str) -> str | None:
        """The line's name (None when there is no such line): what adapters sign replies with."""
        doc = await self._collection.find_one({"_id": line_id}, {"name": 1})
        return str(doc["name"]) if doc else None

    async def all(self) -> list[Line]:
        """Every line, oldest first."""
        docs = await self._collection.find({}).sort("_id", 1).to_list()
        return [Line.from_doc(d) for d in docs]

    async def of_member(self, user_id: str) -> list[Line]:
        """The lines ``user_id`` operates or supervises, oldest first."""
        docs = await self._collection.find(_member(user_id)).sort("_id", 1).to_list()
        return [Line.from_doc(d) for d in docs]

    async def ids_of_member(self, user_id: str) -> list[str]:
        """The ids of the lines ``user_id`` operates or supervises (no settings loaded)."""
        docs = await self._collection.find(_member(user_id), {"_id": 1}).to_list()
        return [d["_id"] for d in docs]

    async def ids(self) -> list[str]:
        """The ids of every line."""
        return [d["_id"] for d in await self._collection.find({}, {"_id": 1}).to_list()]

    async def ids_operated_by(self, user_id: str) -> list[str]:
        """The ids of the lines ``user_id`` takes conversations in (an operator of)."""
        docs = await self._collection.find({"operators": user_id}, {"_id": 1}).to_list()
        return [d["_id"] for d in docs]

    async def any(self) -> bool:
        return bool(await self._collection.count_documents({}, limit=1))

    async def insert(self, line: Line) -> None:
        await self._collection.insert_one(line.to_doc())

    async def replace(self, line: Line) -> None:
        """Store ``line`` whole (a validated model: a stored line always loads)."""
        await self._collection.replace_one({"_id": line.id}, line.to_doc())

    async def delete(self, line_id: str) -> None:
        await self._collection.delete_one({"_id": line_id})
