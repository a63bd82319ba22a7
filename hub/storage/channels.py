"""The ``channels`` collection: connected channels of lines, with their secrets sealed.

The one place channel records are read and written. Secret config fields (each kind names its
own: bot tokens, passwords, signing secrets) are encrypted before they are stored and decrypted
when a record is loaded, so every other module sees plain ``ChannelRecord`` s and the database
holds no credential in clear.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection

from hub.models import ChannelRecord
from hub.secretbox import SecretBox

log = logging.getLogger("openlines.storage.channels")

Doc = dict[str, Any]
_LIVE: Doc = {"deleted": {"$ne": True}}


class ChannelStore:
    def __init__(
        self,
        collection: AsyncCollection[Doc],
        box: SecretBox | None,
        secret_fields: Callable[[str], frozenset[str]],
    ) -> None:
        self._collection = collection
        self._box = box
        self._secret_fields = secret_fields

    async def ensure_indexes(self) -> None:
        await self._collection.create_index([("line_id", ASCENDING)])
        await self._collection.create_index([("widget_key", ASCENDING)])

    def _load(self, doc: Doc) -> ChannelRecord:
        record = ChannelRecord.from_doc(doc)
        fields = self._secret_fields(record.type)
        if fields and self._box is not None:
            record.config = self._box.open_fields(record.config, fields)
        return record

    def _sealed(self, channel_type: str, config: dict[str, Any]) -> dict[str, Any]:
        if self._box is None:
            return dict(config)
        return self._box.seal_fields(config, self._secret_fields(channel_type))

    # --- reading -----------------------------------------------------------------------------

    async def get(self, channel_id: str, *, with_deleted: bool = False) -> ChannelRecord | None:
        """A channel by id; deleted ones (tombstones) only when asked for."""
        query: Doc = {"_id": channel_id} if with_deleted else {"_id": channel_id, **_LIVE}
        doc = await self._collection.find_one(query)
        return self._load(doc) if doc else None

    async def by_widget_key(self, key: str) -> ChannelRecord | None:
        doc = await self._collection.find_one({"widget_key": key, "type": "widget", **_LIVE})
        return self._load(doc) if doc else None

    async def of_line(self, line_id: str) -> list[ChannelRecord]:
        docs = await self._collection.find({"line_id": line_id, **_LIVE}).sort("_id", 1).to_list()
        return [self._load(d) for d in docs]

    async def active(self) -> list[ChannelRecord]:
        """Every channel that receives (for the background receivers)."""
        docs = await self._collection.find({"active": True, **_LIVE}).to_list()
        return [self._load(d) for d in docs]

    async def blocklist(self, line_id: str) -> list[str]:
        """Addresses and ``@domains`` on the blocklists of the line's (e-mail) channels."""
        docs = await self._collection.find(
            {"line_id": line_id, **_LIVE, "config.blocklist": {"$exists": True}},
            {"config.blocklist": 1},
        ).to_list()
        return [entry for d in docs for entry in (d["config"].get("blocklist") or [])]

    async def receiver_position(self, channel_id: str) -> str | None:
        doc = await self._collection.find_one({"_id": channel_id}, {"receiver_position": 1})
        value = (doc or {}).get("receiver_position")
        return str(value) if value is not None else None

    # --- writing -----------------------------------------------------------------------------

    async def insert(self, record: ChannelRecord) -> None:
        doc = record.to_doc()
        doc["config"] = self._sealed(record.type, record.config)
        await self._collection.insert_one(doc)

    async def update(
        self, record: ChannelRecord, *, config: dict[str, Any] | None, active: bool | None
    ) -> None:
        changes: Doc = {}
        if config is not None:
            changes["config"] = self._sealed(record.type, config)
        if active is not None:
            # Switched by hand: the admin's choice, which restoring the line leaves alone.
            changes["active"] = active
            changes["paused_by_archive"] = False
        if changes:
            await self._collection.update_one({"_id": record.id}, {"$set": changes})

    async def delete(self, channel_id: str) -> None:
        """Kept as a tombstone: its conversations and messages still point at it."""
        await self._collection.update_one(
            {"_id": channel_id}, {"$set": {"deleted": True, "active": False}}
        )

    async def deactivate_line(self, line_id: str) -> None:
        await self._collection.update_many({"line_id": line_id}, {"$set": {"active": False}})

    async def pause_line(self, line_id: str) -> None:
        """Switch off the line's live channels, marked so that ``resume_line`` knows them."""
        await self._collection.update_many(
            {"line_id": line_id, "active": True, **_LIVE},
            {"$set": {"active": False, "paused_by_archive": True}},
        )

    async def resume_line(self, line_id: str) -> None:
        """Switch on again what ``pause_line`` switched off (not what an admin switched off)."""
        await self._collection.update_many(
            {"line_id": line_id, "paused_by_archive": True, **_LIVE},
            {"$set": {"active": True, "paused_by_archive": False}},
        )

    async def save_receiver_position(self, channel_id: str, value: str) -> None:
        # Not part of the config: changing it restarts no receiver.
        await self._collection.update_one(
            {"_id": channel_id}, {"$set": {"receiver_position": value}}
        )

    async def seal_all(self) -> int:
        """Encrypt secrets stored in clear (before encryption existed); how many channels."""
        if self._box is None:
            return 0
        sealed = 0
        async for doc in self._collection.find({}, {"type": 1, "config": 1}):
            fields = self._secret_fields(str(doc.get("type")))
            config = doc.get("config") or {}
            if any(
                isinstance(config.get(f), str) and config[f] and not SecretBox.sealed(config[f])
                for f in fields
            ):
                await self._collection.update_one(
                    {"_id": doc["_id"], "config": config},
                    {"$set": {"config": self._box.seal_fields(config, fields)}},
                )
                sealed += 1
        if sealed:
            log.info("encrypted the secrets of %s channels stored in clear", sealed)
        return sealed
