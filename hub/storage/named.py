"""A collection of documents an admin names and the staff pick by name (forms, bots): read and
written only here. Names are unique (an index), so two cannot be made that nobody could tell
apart; a clash is ``Conflict(name_taken)``."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from hub.errors import Conflict
from hub.models import Doc as StoredDoc

Doc = dict[str, Any]
T = TypeVar("T", bound=StoredDoc)


class NamedStore(Generic[T]):
    def __init__(self, collection: AsyncCollection[Doc], model: type[T], what: str) -> None:
        self._collection = collection
        self._model = model
        self._what = what

    async def ensure_indexes(self) -> None:
        await self._collection.create_index([("name", ASCENDING)], unique=True)

    def _taken(self) -> Conflict:
        return Conflict(f"a {self._what} with this name exists", code="name_taken")

    async def get(self, record_id: str) -> T | None:
        doc = await self._collection.find_one({"_id": record_id})
        return self._model.from_doc(doc) if doc else None

    async def all(self) -> list[T]:
        docs = await self._collection.find({}).sort("name", 1).to_list()
        return [self._model.from_doc(d) for d in docs]

    async def existing(self, record_ids: set[str]) -> set[str]:
        """Which of ``record_ids`` exist."""
        if not record_ids:
            return set()
        docs = await self._collection.find(
            {"_id": {"$in": list(record_ids)}}, {"_id": 1}
        ).to_list()
        return {str(d["_id"]) for d in docs}

    async def insert(self, record: T) -> None:
        """``Conflict(name_taken)`` when one has that name already."""
        try:
            await self._collection.insert_one(record.to_doc())
        except DuplicateKeyError:
            raise self._taken() from None

    async def replace(self, record: T) -> bool:
        """Store the edited one (False: it is gone); ``Conflict(name_taken)`` as ``insert``."""
        try:
            result = await self._collection.replace_one({"_id": record.id}, record.to_doc())
        except DuplicateKeyError:
            raise self._taken() from None
        return result.matched_count == 1

    async def delete(self, record_id: str) -> bool:
        return (await self._collection.delete_one({"_id": record_id})).deleted_count == 1
