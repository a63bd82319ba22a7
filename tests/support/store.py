"""A ``Store`` on a fresh database of the embedded server, for repository tests."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from pymongo import AsyncMongoClient

from hub.store import Store


@contextlib.asynccontextmanager
async def fresh_store(mongo_url: str, db_name: str) -> AsyncIterator[Store]:
    """A ``Store`` with its indexes made, closed afterwards (the database is the test's own)."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url, tz_aware=True)
    store = Store(client, db_name)
    await store.ensure_indexes()
    try:
        yield store
    finally:
        await client.close()
