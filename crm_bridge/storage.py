"""The CRM's own collections (``crm_*``): the only module that touches them. It owns their
indexes and write concerns, loads stored documents into models (repairing what does not load,
``crm_bridge.documents``) and hands out models, never raw documents.

Filters that cross into here are plain ``field -> expected`` mappings (a tuple, list or set
means "one of"), never MongoDB operators: the query language stays inside this module."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from enum import Enum
from typing import Any

from pymongo import ASCENDING, ReturnDocument, WriteConcern
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from crm_bridge.documents import Reader, checked, merged
from crm_bridge.matching import Identity, maybe_same_person, same_person
from crm_bridge.models import (
    DEFAULT_PIPELINE_ID,
    DEFAULT_STAGES,
    MAX_SUGGESTIONS,
    OPEN_LEAD,
    Activity,
    Company,
    Contact,
    Deal,
    Delivery,
    DeliveryStatus,
    Entity,
    Lead,
    Pipeline,
    Stage,
    Webhook,
    WebhookEvent,
)
from crm_bridge.normalize import normalize_phone
from hub.errors import NotFound
from hub.models import Doc, utcnow
from hub.secretbox import SecretBox

Raw = dict[str, object]

MODELS: dict[Entity, type[Doc]] = {
    Entity.LEADS: Lead,
    Entity.CONTACTS: Contact,
    Entity.COMPANIES: Company,
    Entity.DEALS: Deal,
}


class WebhookGone(Enum):
    """Why a delivery's webhook cannot be used (``CrmStorage.webhook``)."""

    DELETED = "the webhook was deleted"
    UNREADABLE = "the webhook's stored record is unreadable"


class CrmStorage:
    def __init__(
        self, db: AsyncDatabase[Raw], reader: Reader, secrets: SecretBox | None = None
    ) -> None:
        self.reader = reader
        # Webhook signing secrets are sealed at rest like channel secrets (hub/secretbox.py).
        self._secrets = secrets
        # CRM records and pending webhook deliveries are promises too: journaled.
        journaled = db.with_options(write_concern=WriteConcern(j=True))
        self._leads: AsyncCollection[Raw] = journaled["crm_leads"]
        self._contacts: AsyncCollection[Raw] = journaled["crm_contacts"]
        self._companies: AsyncCollection[Raw] = journaled["crm_companies"]
        self._deals: AsyncCollection[Raw] = journaled["crm_deals"]
        self._pipelines: AsyncCollection[Raw] = journaled["crm_pipelines"]
        self._activities: AsyncCollection[Raw] = journaled["crm_activities"]
        self._webhooks: AsyncCollection[Raw] = journaled["crm_webhooks"]
        self._deliveries: AsyncCollection[Raw] = journaled["crm_webhook_deliveries"]
        self._records: dict[Entity, AsyncCollection[Raw]] = {
            Entity.LEADS: self._leads,
            Entity.CONTACTS: self._contacts,
            Entity.COMPANIES: self._companies,
            Entity.DEALS: self._deals,
        }

    async def prepare(self) -> None:
        """Indexes, the default pipeline and sealed secrets (idempotent, at every start)."""
        await self.ensure_indexes()
        await self.ensure_default_pipeline()
        await self.seal_webhook_secrets()

    async def ensure_indexes(self) -> None:
        for people in (self._leads, self._contacts):
            await people.create_index([("phones", ASCENDING)])
            await people.create_index([("emails", ASCENDING)])
            await people.create_index([("client_ids", ASCENDING)])
            await people.create_index([("conversation_ids", ASCENDING)])
        await self._companies.create_index([("phones", ASCENDING)])
        await self._companies.create_index([("emails", ASCENDING)])
        await self._leads.create_index([("status", ASCENDING)])
        await self._deals.create_index([("contact_id", ASCENDING)])
        await self._deals.create_index([("pipeline_id", ASCENDING), ("stage", ASCENDING)])
        await self._deals.create_index([("conversation_ids", ASCENDING)])
        await self._activities.create_index([("refs", ASCENDING)])
        await self._deliveries.create_index([("status", ASCENDING), ("due_at", ASCENDING)])

    # --- records (leads, contacts, companies, deals) --------------------------------------

    async def load(self, entity: Entity, record_id: str) -> Doc:
        """The record, repaired in memory if its stored document does not load."""
        return (await self._load(entity, record_id))[0]

    async def _load(self, entity: Entity, record_id: str) -> tuple[Doc, bool]:
        doc = await self._records[entity].find_one({"_id": record_id})
        if doc is None:
            raise NotFound(f"no such {entity.value[:-1]}")
        return self.reader.repair(MODELS[entity], doc)

    async def exists(self, entity: Entity, record_id: str) -> bool:
        return bool(await self._records[entity].count_documents({"_id": record_id}))

    async def insert(self, entity: Entity, record: Doc) -> Doc:
        """``record`` validated whole, then stored; the record as stored."""
        record = checked(record)
        await self._records[entity].insert_one(record.to_doc())
        return record

    async def update_if(
        self,
        entity: Entity,
        record_id: str,
        where: Mapping[str, object],
        changes: Mapping[str, Any],
        *,
        add: Mapping[str, Iterable[Any]] | None = None,
    ) -> Doc | None:
        """Set ``changes`` and add ``add`` to list fields while the stored record also matches
        ``where``; the record as it is now (None when it does not match).

        The record as it will be is validated whole first (422 naming the field, nothing
        written); the write itself is atomic (``$set`` of the validated fields, ``$addToSet``),
        so concurrent rules lose nothing. A stored document that did not load is rewritten
        whole, repaired."""
        current, intact = await self._load(entity, record_id)
        changes = {**changes, "updated_at": utcnow()}
        stored = merged(current, changes, add).to_doc()
        update: dict[str, Any]
        if intact:
            update = {"$set": {name: stored[name] for name in changes}}
            additions = {
                name: {"$each": [v for v in values if v in stored[name]]}
                for name, values in (add or {}).items()
                if values and name not in changes  # one operator per field: $set wins
            }
            if additions:
                update["$addToSet"] = additions
        else:
            stored.pop("_id")
            update = {"$set": stored}
        after = await self._records[entity].find_one_and_update(
            {**as_filter(where), "_id": record_id}, update, return_document=ReturnDocument.AFTER
        )
        if after is None:
            return None
        record, _ = self.reader.repair(MODELS[entity], after)
        return record

    async def page(
        self,
        entity: Entity,
        where: Mapping[str, object],
        *,
        q: str | None,
        conversation_ids: list[str] | None,
        before_id: str | None,
        limit: int,
    ) -> tuple[list[Doc], str | None]:
        """Newest first: records matching ``where`` and the search ``q``, of the conversations
        ``conversation_ids`` (None: of any), older than ``before_id``; and the next cursor.

        A stored document that does not load is skipped (and logged), never a failed list."""
        clauses = [as_filter(where), search_filter(q)]
        if conversation_ids is not None:
            clauses.append({"conversation_ids": {"$in": conversation_ids}})
        if before_id:
            clauses.append({"_id": {"$lt": before_id}})
        wanted = [c for c in clauses if c]
        docs = (
            await self._records[entity]
            .find({"$and": wanted} if wanted else {})
            .sort("_id", -1)
            .limit(limit)
            .to_list()
        )
        cursor = str(docs[-1]["_id"]) if len(docs) == limit else None
        return self.reader.parse_all(MODELS[entity], docs), cursor

    # --- people ---------------------------------------------------------------------------

    async def find_contact(self, identity: Identity) -> Contact | None:
        """The contact ``identity`` is known to be (never one a claimed address names)."""
        doc = await self._contacts.find_one(same_person(identity), sort=[("_id", 1)])
        return self.reader.repair(Contact, doc)[0] if doc else None

    async def find_open_lead(self, identity: Identity) -> Lead | None:
        doc = await self._leads.find_one(
            {**same_person(identity), **as_filter({"status": OPEN_LEAD})}, sort=[("_id", 1)]
        )
        return self.reader.repair(Lead, doc)[0] if doc else None

    async def possible_contacts(self, identity: Identity) -> list[str]:
        """Ids of the contacts any address of ``identity`` names: suggestions for staff."""
        query = maybe_same_person(identity)
        if query is None:
            return []
        docs = (
            await self._contacts.find(query, {"_id": 1})
            .sort("_id", 1)
            .limit(MAX_SUGGESTIONS)
            .to_list()
        )
        return [str(d["_id"]) for d in docs]

    async def company_of(self, contact_id: str) -> str | None:
        """The company of the contact (None: no such contact, or none)."""
        doc = await self._contacts.find_one({"_id": contact_id}, {"company_id": 1})
        company_id = doc.get("company_id") if doc else None
        return company_id if isinstance(company_id, str) else None

    # --- deals ----------------------------------------------------------------------------

    async def open_deal_of(self, contact_id: str) -> str | None:
        """The id of the contact's newest open deal."""
        doc = await self._deals.find_one(
            {"contact_id": contact_id, "closed": False}, {"_id": 1}, sort=[("_id", -1)]
        )
        return str(doc["_id"]) if doc is not None else None

    async def deal_is_open(self, deal_id: str) -> bool:
        doc = await self._deals.find_one({"_id": deal_id}, {"closed": 1})
        return doc is not None and not doc.get("closed")

    async def deals_in_stages(self, pipeline_id: str, stage_ids: Iterable[str]) -> int:
        return await self._deals.count_documents(
            {"pipeline_id": pipeline_id, "stage": {"$in": list(stage_ids)}}
        )

    async def close_deals_in_stage(
        self, pipeline_id: str, stage_id: str, closed: bool, won: bool | None
    ) -> None:
        """The deals in a stage whose kind changed, closed (won or lost) or reopened with it."""
        await self._deals.update_many(
            {"pipeline_id": pipeline_id, "stage": stage_id},
            {"$set": {"closed": closed, "won": won, "updated_at": utcnow()}},
        )

    async def deals_in_pipeline(self, pipeline_id: str) -> int:
        return await self._deals.count_documents({"pipeline_id": pipeline_id})

    # --- pipelines ------------------------------------------------------------------------

    async def pipeline(self, pipeline_id: str) -> tuple[Pipeline, bool] | None:
        """The pipeline (repaired in memory) and whether it loaded as stored; None: none."""
        doc = await self._pipelines.find_one({"_id": pipeline_id})
        return self.reader.repair(Pipeline, doc) if doc is not None else None

    async def pipelines(self) -> list[Pipeline]:
        docs = await self._pipelines.find({}).sort("created_at", 1).to_list()
        return self.reader.parse_all(Pipeline, docs)

    async def insert_pipeline(self, pipeline: Pipeline) -> None:
        await self._pipelines.insert_one(checked(pipeline).to_doc())

    async def set_pipeline(self, pipeline_id: str, fields: Mapping[str, Any]) -> None:
        """Set stored fields of the pipeline (already validated whole by the caller)."""
        await self._pipelines.update_one({"_id": pipeline_id}, {"$set": dict(fields)})

    async def delete_pipeline(self, pipeline_id: str) -> None:
        await self._pipelines.delete_one({"_id": pipeline_id})

    async def ensure_default_pipeline(self) -> None:
        """The "Sales" pipeline; an upsert, so concurrent start-ups create it once and a
        renamed one keeps its name."""
        pipeline = Pipeline(
            id=DEFAULT_PIPELINE_ID,
            name="Sales",
            is_default=True,
            stages=[Stage(id=i, name=n, semantic=s) for i, n, s in DEFAULT_STAGES],
        )
        doc = pipeline.to_doc()
        doc.pop("_id")
        await self._pipelines.update_one(
            {"_id": DEFAULT_PIPELINE_ID}, {"$setOnInsert": doc}, upsert=True
        )

    # --- activities -----------------------------------------------------------------------

    async def insert_activity(self, entry: Activity) -> None:
        await self._activities.insert_one(entry.to_doc())

    async def activities(self, record_ref: str, limit: int) -> list[Activity]:
        """The first ``limit`` activities concerning ``record_ref``, oldest first."""
        docs = (
            await self._activities.find({"refs": record_ref}).sort("_id", 1).limit(limit).to_list()
        )
        return self.reader.parse_all(Activity, docs)

    # --- webhooks -------------------------------------------------------------------------

    async def insert_webhook(self, hook: Webhook) -> None:
        doc = checked(hook).to_doc()
        if self._secrets is not None:
            doc["secret"] = self._secrets.seal(hook.secret)
        await self._webhooks.insert_one(doc)

    async def webhooks(self) -> list[Webhook]:
        docs = await self._webhooks.find({}).sort("_id", 1).to_list()
        return self.reader.parse_all(Webhook, docs)

    async def webhook_ids(self, event: WebhookEvent) -> list[str]:
        """The active webhooks that want ``event`` (also those whose record no longer loads:
        their deliveries fail, visibly, rather than vanish)."""
        docs = await self._webhooks.find(
            {"events": event.value, "active": {"$ne": False}}, {"_id": 1}
        ).to_list()
        return [str(d["_id"]) for d in docs]

    async def webhook(self, webhook_id: str) -> Webhook | WebhookGone:
        """The webhook with its signing secret as stored (sealed), or why there is none."""
        doc = await self._webhooks.find_one({"_id": webhook_id})
        if doc is None:
            return WebhookGone.DELETED
        hook = self.reader.parse(Webhook, doc)
        return hook if hook is not None else WebhookGone.UNREADABLE

    async def set_webhook(self, webhook_id: str, fields: Mapping[str, Any]) -> None:
        """Set stored fields of the webhook (already validated whole by the caller); never
        its secret."""
        await self._webhooks.update_one(
            {"_id": webhook_id}, {"$set": {k: v for k, v in fields.items() if k != "secret"}}
        )

    async def delete_webhook(self, webhook_id: str) -> bool:
        result = await self._webhooks.delete_one({"_id": webhook_id})
        return bool(result.deleted_count)

    def opened(self, hook: Webhook) -> Webhook:
        """``hook`` with its signing secret in clear (as stored: sealed)."""
        if self._secrets is None:
            return hook
        return hook.model_copy(update={"secret": self._secrets.open(hook.secret)})

    async def seal_webhook_secrets(self) -> None:
        """Seal signing secrets stored in clear by versions before they were sealed."""
        if self._secrets is None:
            return
        async for doc in self._webhooks.find({"secret": {"$not": {"$regex": "^enc:"}}}):
            secret = doc.get("secret")
            if isinstance(secret, str) and secret:
                await self._webhooks.update_one(
                    {"_id": doc["_id"], "secret": secret},
                    {"$set": {"secret": self._secrets.seal(secret)}},
                )

    # --- webhook deliveries ---------------------------------------------------------------

    async def insert_deliveries(self, deliveries: list[Delivery]) -> None:
        await self._deliveries.insert_many([_delivery_doc(d) for d in deliveries])

    async def claim_delivery(self, now: datetime, lease_until: datetime) -> Delivery | None:
        """The pending delivery due longest ago, leased until ``lease_until`` (a conditional
        update: two processes never claim one row at once)."""
        doc = await self._deliveries.find_one_and_update(
            {"status": DeliveryStatus.PENDING.value, "due_at": {"$lte": now}},
            {"$set": {"due_at": lease_until}},
            sort=[("due_at", 1)],
            return_document=ReturnDocument.AFTER,
        )
        return Delivery.from_doc(doc) if doc is not None else None

    async def retry_delivery(
        self, delivery_id: str, *, attempts: int, error: str, due_at: datetime
    ) -> None:
        await self._deliveries.update_one(
            {"_id": delivery_id},
            {"$set": {"attempts": attempts, "last_error": error, "due_at": due_at}},
        )

    async def finish_delivery(
        self,
        delivery_id: str,
        status: DeliveryStatus,
        error: str | None,
        attempts: int | None = None,
    ) -> None:
        update: dict[str, Any] = {
            "status": status.value,
            "last_error": error,
            "finished_at": utcnow(),
        }
        if attempts is not None:
            update["attempts"] = attempts
        await self._deliveries.update_one({"_id": delivery_id}, {"$set": update})


def _delivery_doc(delivery: Delivery) -> dict[str, Any]:
    # As stored before deliveries were a model: no empty error or finish fields yet.
    doc = delivery.to_doc()
    doc["event"] = delivery.event.value
    doc["status"] = delivery.status.value
    for name in ("last_error", "finished_at"):
        if doc[name] is None:
            doc.pop(name)
    return doc


def as_filter(where: Mapping[str, object]) -> dict[str, Any]:
    """``field -> expected`` as a MongoDB filter: a tuple, list or set means one of them."""
    query: dict[str, Any] = {}
    for name, expected in where.items():
        if isinstance(expected, tuple | list | set | frozenset):
            query[name] = {"$in": [_plain(v) for v in expected]}
        else:
            query[name] = _plain(expected)
    return query


def _plain(value: object) -> object:
    return value.value if isinstance(value, Enum) else value


def search_filter(q: str | None) -> dict[str, Any]:
    """A case-insensitive match on names, titles, emails and phones."""
    if not q or not q.strip():
        return {}
    pattern = {"$regex": re.escape(q.strip()), "$options": "i"}
    phone = normalize_phone(q)
    clauses: list[dict[str, Any]] = [
        {"name": pattern},
        {"title": pattern},
        {"emails": pattern},
    ]
    if phone:
        clauses.append({"phones": phone})
    return {"$or": clauses}
