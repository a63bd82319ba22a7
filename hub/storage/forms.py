"""The ``forms`` collection (hub/forms.py): the one place forms are read and written. Names
are unique (an index), so two admins cannot make two forms the staff could not tell apart."""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from hub.errors import Conflict
from hub.forms import Form

Doc = dict[str, Any]


def _taken() -> Conflict:
    return Conflict("a form with this name exists", code="name_taken")


class FormStore:
    def __init__(self, collection: AsyncCollection[Doc]) -> None:
        self._collection = collection

    async def ensure_indexes(self) -> None:
        await self._collection.create_index([("name", ASCENDING)], unique=True)

    async def get(self, form_id: str) -> Form | None:
        doc = await self._collection.find_one({"_id": form_id})
        return Form.from_doc(doc) if doc else None

    async def all(self) -> list[Form]:
        docs = await self._collection.find({}).sort("name", 1).to_list()
        return [Form.from_doc(d) for d in docs]

    async def insert(self, form: Form) -> None:
        """``Conflict(name_taken)`` when a form has that name already."""
        try:
            await self._collection.insert_one(form.to_doc())
        except DuplicateKeyError:
            raise _taken() from None

    async def replace(self, form: Form) -> bool:
        """Store the edited form (False: it is gone); ``Conflict(name_taken)`` as ``insert``."""
        try:
            result = await self._collection.replace_one({"_id": form.id}, form.to_doc())
        except DuplicateKeyError:
            raise _taken() from None
        return result.matched_count == 1

    async def delete(self, form_id: str) -> bool:
        return (await self._collection.delete_one({"_id": form_id})).deleted_count == 1
