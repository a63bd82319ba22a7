"""The ``quick_answers`` collection: the console's saved replies, personal (no line), shared
with a line, or for everyone. Titles are unique per line and owner (an index)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import Field, model_validator
from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from hub.errors import Conflict
from hub.models import Doc as StoredDoc
from hub.models import utcnow

Doc = dict[str, Any]


class AnswerScope(StrEnum):
    """Who sees a quick answer: its owner, the staff of its line, or all staff."""

    PERSONAL = "personal"
    LINE = "line"
    EVERYONE = "everyone"


class QuickAnswer(StoredDoc):
    owner_id: str
    line_id: str | None = None
    scope: AnswerScope = AnswerScope.PERSONAL
    title: str
    text: str
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime | None = None

    @model_validator(mode="before")
    @classmethod
    def _scope_of_old_answers(cls, data: Any) -> Any:
        # Stored before scopes existed: an answer with a line was the line's.
        if isinstance(data, dict) and "scope" not in data and data.get("line_id"):
            return {**data, "scope": AnswerScope.LINE}
        return data


class QuickAnswerStore:
    def __init__(self, collection: AsyncCollection[Doc]) -> None:
        self._collection = collection

    async def ensure_indexes(self) -> None:
        await self._collection.create_index(
            [("line_id", ASCENDING), ("owner_id", ASCENDING), ("title", ASCENDING)], unique=True
        )

    async def get(self, answer_id: str) -> QuickAnswer | None:
        doc = await self._collection.find_one({"_id": answer_id})
        return QuickAnswer.from_doc(doc) if doc else None

    async def visible(self, owner_id: str, line_ids: list[str]) -> list[QuickAnswer]:
        """``owner_id``'s personal answers, those of ``line_ids`` and those for everyone, by
        title."""
        docs = (
            await self._collection.find(
                {
                    "$or": [
                        {"owner_id": owner_id, "line_id": None},
                        {"line_id": {"$in": line_ids}},
                        {"scope": AnswerScope.EVERYONE.value},
                    ]
                }
            )
            .sort("title", 1)
            .to_list()
        )
        return [QuickAnswer.from_doc(d) for d in docs]

    async def insert(self, answer: QuickAnswer) -> None:
        """Raises ``Conflict(title_taken)`` when the owner (or line) has that title already."""
        try:
            await self._collection.insert_one(answer.to_doc())
        except DuplicateKeyError:
            raise Conflict("a quick answer with this title exists", code="title_taken") from None

    async def replace(self, answer: QuickAnswer) -> None:
        """Store the edited answer; ``Conflict(title_taken)`` as ``insert``."""
        try:
            await self._collection.replace_one({"_id": answer.id}, answer.to_doc())
        except DuplicateKeyError:
            raise Conflict("a quick answer with this title exists", code="title_taken") from None

    async def delete(self, answer_id: str) -> None:
        await self._collection.delete_one({"_id": answer_id})
