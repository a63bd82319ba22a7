"""Writing CRM records: each creation is validated whole, announced to the outgoing webhooks
and written to the record's timeline; updates are atomic and conditional where asked."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from crm_bridge.models import (
    DEFAULT_PIPELINE_ID,
    Contact,
    Deal,
    Entity,
    Lead,
    Pipeline,
    WebhookEvent,
    ref,
)
from crm_bridge.storage import CrmStorage
from crm_bridge.timeline import Timeline
from crm_bridge.webhooks import Webhooks
from hub.errors import NotFound, ValidationFailed
from hub.models import Doc

R = TypeVar("R", bound=Doc)

# The webhook event a new record of each kind raises (companies raise none).
CREATED: dict[Entity, WebhookEvent] = {
    Entity.LEADS: WebhookEvent.LEAD_CREATED,
    Entity.CONTACTS: WebhookEvent.CONTACT_CREATED,
    Entity.DEALS: WebhookEvent.DEAL_CREATED,
}


class Records:
    def __init__(self, storage: CrmStorage, webhooks: Webhooks, timeline: Timeline) -> None:
        self._storage = storage
        self._webhooks = webhooks
        self._timeline = timeline

    async def load(self, entity: Entity, record_id: str) -> Doc:
        """The record, repaired in memory if its stored document does not load."""
        return await self._storage.load(entity, record_id)

    async def lead(self, lead_id: str) -> Lead:
        return as_(Lead, await self.load(Entity.LEADS, lead_id))

    async def contact(self, contact_id: str) -> Contact:
        return as_(Contact, await self.load(Entity.CONTACTS, contact_id))

    async def deal(self, deal_id: str) -> Deal:
        return as_(Deal, await self.load(Entity.DEALS, deal_id))

    async def pipeline(self, pipeline_id: str | None) -> Pipeline:
        """The pipeline (the default one for None); 422 ``unknown_pipeline`` when none."""
        found = await self._storage.pipeline(pipeline_id or DEFAULT_PIPELINE_ID)
        if found is None:
            raise ValidationFailed("no such pipeline", code="unknown_pipeline")
        return found[0]

    async def insert(self, entity: Entity, record: Doc, *, actor_id: str | None = None) -> None:
        record = await self._storage.insert(entity, record)
        event = CREATED.get(entity)
        if event is not None:
            await self._webhooks.emit(event, record.model_dump(mode="json"))
        await self._timeline.add(
            f"{entity.value[:-1]}_created", [ref(entity, record.id)], actor_id=actor_id
        )

    async def update(
        self,
        entity: Entity,
        record_id: str,
        changes: Mapping[str, Any],
        *,
        add: Mapping[str, Iterable[Any]] | None = None,
    ) -> Doc:
        """Set ``changes`` and add ``add`` to list fields; the record as it is now."""
        record = await self.update_if(entity, record_id, {}, changes, add=add)
        if record is None:
            raise NotFound(f"no such {entity.value[:-1]}")
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
        """``update`` while the stored record also matches ``where`` (``field -> expected``,
        a tuple meaning one of); None when it does not."""
        return await self._storage.update_if(entity, record_id, where, changes, add=add)


def as_(model: type[R], record: Doc) -> R:
    """``record`` as the model its entity loads into (a programming error otherwise)."""
    assert isinstance(record, model)
    return record
