"""The ``clients`` and ``client_identities`` collections: the people who write to us, and which
platform sender is which client.

An identity's ``_id`` is ``"<channel_id>:<external sender id>"`` and holds the client id, which
makes find-or-create atomic. Journaled, except on the ingest path (``flush=False``, see
hub/storage/concerns.py), whose journaled message insert follows.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection

from hub.models import Client
from hub.storage.concerns import upsert

Doc = dict[str, Any]


class ClientStore:
    def __init__(
        self,
        clients: AsyncCollection[Doc],
        identities: AsyncCollection[Doc],
        *,
        unflushed_clients: AsyncCollection[Doc],
        unflushed_identities: AsyncCollection[Doc],
    ) -> None:
        self._clients = clients
        self._identities = identities
        self._unflushed_clients = unflushed_clients
        self._unflushed_identities = unflushed_identities

    async def get(self, client_id: str) -> Client | None:
        doc = await self._clients.find_one({"_id": client_id})
        return Client.from_doc(doc) if doc else None

    async def client_id_of(
        self, identity_id: str, channel_id: str, new_client_id: str, *, flush: bool = True
    ) -> str:
        """The client id of a platform sender, ``new_client_id`` when first seen."""
        identity = await upsert(
            self._identities if flush else self._unflushed_identities,
            {"_id": identity_id},
            {"$setOnInsert": {"client_id": new_client_id, "channel_id": channel_id}},
        )
        return str(identity["client_id"])

    async def tell(
        self, client_id: str, on_insert: Doc, known: Doc, *, flush: bool = True
    ) -> Client | None:
        """Create the client with ``on_insert`` if there is none, and keep ``known`` (what the
        sender tells about them); the client as it was before (None: created now). One round
        trip: what it was tells what changed."""
        update: Doc = {"$setOnInsert": on_insert}
        if known:
            update["$set"] = known
        before = await (self._clients if flush else self._unflushed_clients).find_one_and_update(
            {"_id": client_id}, update, upsert=True, return_document=ReturnDocument.BEFORE
        )
        return Client.from_doc(before) if before else None

    async def set_details(self, client_id: str, details: Doc) -> None:
        """Keep ``details`` (name, e-mail, phone and their proofs), journaled."""
        await self._clients.update_one({"_id": client_id}, {"$set": details})

    async def set_blocked(
        self, client_id: str, blocked: bool, *, by_user_id: str, at: datetime
    ) -> Client | None:
        """Block or unblock the client, journaled; the client as it is now (None: no such
        client). Unblocking keeps who blocked and when, for the record."""
        update: Doc = {"blocked": blocked}
        if blocked:
            update |= {"blocked_at": at, "blocked_by_user_id": by_user_id}
        doc = await self._clients.find_one_and_update(
            {"_id": client_id}, {"$set": update}, return_document=ReturnDocument.AFTER
        )
        return Client.from_doc(doc) if doc else None

    async def mark_spam(self, client_id: str, at: datetime) -> None:
        """Count one more conversation of the client's marked spam (journaled)."""
        await self._clients.update_one(
            {"_id": client_id}, {"$inc": {"spam_count": 1}, "$set": {"spam_at": at}}
        )
