"""The ``lines`` collection (queues with their staff and settings): the one place lines are
read and written. Journaled: a line an admin was told is saved stays saved.

Lines are few and read on every message (routing's after-hours check, the widget's connect,
presence), so each process keeps the whole collection in memory. A write through this store
forgets the copy at once and tells ``on_change`` (the app broadcasts it on the bus, so every
other process forgets its copy too); a copy older than ``ttl_s`` is read again, so a change
whose notice was lost leaves a process wrong for at most that long."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from hub.models import Line

Doc = dict[str, Any]
# The backstop for a lost notice (the bus also flushes when it lost its Redis connection).
LINES_TTL_S = 30.0


class LineStore:
    def __init__(
        self,
        collection: AsyncCollection[Doc],
        *,
        ttl_s: float = LINES_TTL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._collection = collection
        self._ttl_s = ttl_s
        self._clock = clock
        self._docs: list[Doc] | None = None  # every line, oldest first
        self._expires = 0.0
        # Raised by every forget: a read that began before it must not store what it read.
        self._generation = 0
        self._changed: list[Callable[[str], Awaitable[None]]] = []
        self.reads = 0  # collection reads (the cache's misses), for tests and benchmarks

    async def ensure_indexes(self) -> None:
        """None today: lines are few, and every query on them is a small full read."""

    def on_change(self, callback: Callable[[str], Awaitable[None]]) -> None:
        """``callback(line_id)`` runs after each write (the app tells the other processes)."""
        self._changed.append(callback)

    def forget(self) -> None:
        """Drop this process's copy: the next read goes to the collection."""
        self._generation += 1
        self._docs = None

    async def _all_docs(self) -> list[Doc]:
        if self._docs is not None and self._clock() < self._expires:
            return self._docs
        generation = self._generation
        self.reads += 1
        docs = await self._collection.find({}).sort("_id", 1).to_list()
        if generation == self._generation:
            self._docs, self._expires = docs, self._clock() + self._ttl_s
        return docs

    async def _wrote(self, line_id: str) -> None:
        self.forget()
        for callback in self._changed:
            await callback(line_id)

    async def get(self, line_id: str) -> Line | None:
        for doc in await self._all_docs():
            if doc["_id"] == line_id:
                return Line.from_doc(doc)
        return None

    async def name(self, line_id: str) -> str | None:
        """The line's name (None when there is no such line): what adapters sign replies with."""
        for doc in await self._all_docs():
            if doc["_id"] == line_id:
                return str(doc["name"])
        return None

    async def all(self) -> list[Line]:
        """Every line, oldest first."""
        return [Line.from_doc(d) for d in await self._all_docs()]

    async def of_member(self, user_id: str) -> list[Line]:
        """The lines ``user_id`` operates or supervises, oldest first."""
        return [Line.from_doc(d) for d in await self._all_docs() if _member(d, user_id)]

    async def ids_of_member(self, user_id: str) -> list[str]:
        """The ids of the lines ``user_id`` operates or supervises."""
        return [d["_id"] for d in await self._all_docs() if _member(d, user_id)]

    async def ids(self) -> list[str]:
        """The ids of every line."""
        return [d["_id"] for d in await self._all_docs()]

    async def ids_operated_by(self, user_id: str) -> list[str]:
        """The ids of the lines ``user_id`` takes conversations in (an operator of)."""
        return [d["_id"] for d in await self._all_docs() if user_id in d.get("operators", ())]

    async def any(self) -> bool:
        return bool(await self._all_docs())

    async def insert(self, line: Line) -> None:
        try:
            await self._collection.insert_one(line.to_doc())
        finally:
            await self._wrote(line.id)

    async def replace(self, line: Line) -> None:
        """Store ``line`` whole (a validated model: a stored line always loads)."""
        try:
            await self._collection.replace_one({"_id": line.id}, line.to_doc())
        finally:
            await self._wrote(line.id)

    async def delete(self, line_id: str) -> None:
        try:
            await self._collection.delete_one({"_id": line_id})
        finally:
            await self._wrote(line_id)


def _member(doc: Doc, user_id: str) -> bool:
    return user_id in doc.get("operators", ()) or user_id in doc.get("supervisors", ())
