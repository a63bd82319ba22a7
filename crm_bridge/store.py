"""The CRM collections, their indexes and the default pipeline, created idempotently."""

from __future__ import annotations

from pymongo import ASCENDING, WriteConcern
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from crm_bridge.models import Pipeline, Stage, StageSemantic, Webhook
from hub.secretbox import SecretBox

Doc = dict[str, object]

DEFAULT_PIPELINE_ID = "sales"
DEFAULT_STAGES = (
    ("new", "New", StageSemantic.OPEN),
    ("preparing_documents", "Preparing documents", StageSemantic.OPEN),
    ("invoice", "Invoice", StageSemantic.OPEN),
    ("in_progress", "In progress", StageSemantic.OPEN),
    ("won", "Won", StageSemantic.WON),
    ("lost", "Lost", StageSemantic.LOST),
)


class CrmStore:
    def __init__(
        self, db: AsyncDatabase[dict[str, object]], secrets: SecretBox | None = None
    ) -> None:
        # Webhook signing secrets are sealed at rest like channel secrets (hub/secretbox.py).
        self._secrets = secrets
        # CRM records and pending webhook deliveries are promises too: journaled.
        journaled = db.with_options(write_concern=WriteConcern(j=True))
        self.leads: AsyncCollection[Doc] = journaled["crm_leads"]
        self.contacts: AsyncCollection[Doc] = journaled["crm_contacts"]
        self.companies: AsyncCollection[Doc] = journaled["crm_companies"]
        self.deals: AsyncCollection[Doc] = journaled["crm_deals"]
        self.pipelines: AsyncCollection[Doc] = journaled["crm_pipelines"]
        self.activities: AsyncCollection[Doc] = journaled["crm_activities"]
        self.webhooks: AsyncCollection[Doc] = journaled["crm_webhooks"]
        self.deliveries: AsyncCollection[Doc] = journaled["crm_webhook_deliveries"]

    async def ensure_indexes(self) -> None:
        for people in (self.leads, self.contacts):
            await people.create_index([("phones", ASCENDING)])
            await people.create_index([("emails", ASCENDING)])
            await people.create_index([("client_ids", ASCENDING)])
            await people.create_index([("conversation_ids", ASCENDING)])
        await self.companies.create_index([("phones", ASCENDING)])
        await self.companies.create_index([("emails", ASCENDING)])
        await self.leads.create_index([("status", ASCENDING)])
        await self.deals.create_index([("contact_id", ASCENDING)])
        await self.deals.create_index([("pipeline_id", ASCENDING), ("stage", ASCENDING)])
        await self.deals.create_index([("conversation_ids", ASCENDING)])
        await self.activities.create_index([("refs", ASCENDING)])
        await self.deliveries.create_index([("status", ASCENDING), ("due_at", ASCENDING)])

    async def insert_webhook(self, hook: Webhook) -> None:
        doc = hook.to_doc()
        if self._secrets is not None:
            doc["secret"] = self._secrets.seal(hook.secret)
        await self.webhooks.insert_one(doc)

    def opened(self, hook: Webhook) -> Webhook:
        """``hook`` with its signing secret in clear (as stored: sealed)."""
        if self._secrets is None:
            return hook
        return hook.model_copy(update={"secret": self._secrets.open(hook.secret)})

    async def seal_webhook_secrets(self) -> None:
        """Seal signing secrets stored in clear by versions before they were sealed."""
        if self._secrets is None:
            return
        async for doc in self.webhooks.find({"secret": {"$not": {"$regex": "^enc:"}}}):
            secret = doc.get("secret")
            if isinstance(secret, str) and secret:
                await self.webhooks.update_one(
                    {"_id": doc["_id"], "secret": secret},
                    {"$set": {"secret": self._secrets.seal(secret)}},
                )

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
        await self.pipelines.update_one(
            {"_id": DEFAULT_PIPELINE_ID}, {"$setOnInsert": doc}, upsert=True
        )
