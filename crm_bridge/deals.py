"""Deals: started from a conversation, moved through their pipeline's stages (a conditional
update on the stage it was in, so two managers never both move it from the same stage)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crm_bridge.linking import Linking
from crm_bridge.models import Deal, Entity, Pipeline, Stage, StageSemantic, WebhookEvent, ref
from crm_bridge.records import Records, as_
from crm_bridge.storage import CrmStorage
from crm_bridge.timeline import Timeline
from crm_bridge.webhooks import Webhooks
from hub.errors import Conflict, ValidationFailed
from hub.models import Conversation, User


@dataclass(frozen=True)
class StageMove:
    """What moving a deal to a stage changes: its fields and the change as webhooks and the
    timeline tell it."""

    stage: Stage
    changes: dict[str, Any]
    change: dict[str, str]


def stage_move(
    pipeline: Pipeline, deal: Deal, stage_id: str, source: Pipeline | None = None
) -> StageMove | None:
    """The move of ``deal`` to ``stage_id`` of ``pipeline`` (None: it is there already); 422
    ``unknown_stage`` for a stage that pipeline has not. ``source``: the deal's pipeline now,
    when the move takes it to another one. A won or lost stage closes the deal; an open one
    reopens it."""
    moving = source is not None and source.id != pipeline.id
    stage = pipeline.stage(stage_id)
    if stage is None:
        raise ValidationFailed(
            "no such stage in the deal's pipeline",
            code="unknown_stage",
            details={"stages": [s.id for s in pipeline.stages]},
        )
    if stage_id == deal.stage and not moving:
        return None
    closed = stage.semantic != StageSemantic.OPEN
    old = (source or pipeline).stage(deal.stage)
    return StageMove(
        stage=stage,
        changes={
            "stage": stage_id,
            "closed": closed,
            "won": (stage.semantic == StageSemantic.WON) if closed else None,
            **({"pipeline_id": pipeline.id} if moving else {}),
        },
        change={
            "from": deal.stage,
            "to": stage_id,
            "from_name": old.name if old else deal.stage,
            "to_name": stage.name,
        },
    )


class Deals:
    def __init__(
        self,
        storage: CrmStorage,
        records: Records,
        linking: Linking,
        timeline: Timeline,
        webhooks: Webhooks,
    ) -> None:
        self._storage = storage
        self._records = records
        self._linking = linking
        self._timeline = timeline
        self._webhooks = webhooks

    async def from_conversation(
        self,
        conversation: Conversation,
        *,
        title: str,
        pipeline_id: str | None,
        amount: float | None,
        currency: str | None,
        actor: User,
    ) -> Deal:
        """A new deal for the conversation's person (409 ``deal_exists`` while it has an open
        one), linked to the conversation and to its lead."""
        if conversation.crm.deal_id and await self._storage.deal_is_open(conversation.crm.deal_id):
            raise Conflict(
                "the conversation already has an open deal",
                code="deal_exists",
                details={"deal_id": conversation.crm.deal_id},
            )
        pipeline = await self._records.pipeline(pipeline_id)
        company_id = None
        if conversation.crm.contact_id:
            company_id = await self._storage.company_of(conversation.crm.contact_id)
        deal = Deal(
            title=title,
            pipeline_id=pipeline.id,
            stage=pipeline.stages[0].id,
            amount=amount,
            currency=currency,
            contact_id=conversation.crm.contact_id,
            company_id=company_id,
            lead_id=conversation.crm.lead_id,
            responsible_id=actor.id,
            conversation_ids=[conversation.id],
        )
        await self._records.insert(Entity.DEALS, deal, actor_id=actor.id)
        await self._linking.link(conversation.id, deal_id=deal.id, actor_id=actor.id)
        if conversation.crm.lead_id:
            await self._records.update(
                Entity.LEADS, conversation.crm.lead_id, {"deal_id": deal.id}
            )
        return deal

    async def move(
        self, deal: Deal, stage_id: str | None, actor: User, pipeline_id: str | None = None
    ) -> Deal:
        """The deal moved to ``stage_id`` (of ``pipeline_id``, its first stage when None
        there); 409 ``stage_changed`` when it moved meanwhile."""
        source = await self._records.pipeline(deal.pipeline_id)
        pipeline = source
        if pipeline_id is not None and pipeline_id != deal.pipeline_id:
            pipeline = await self._records.pipeline(pipeline_id)
        stage = stage_id or (pipeline.stages[0].id if pipeline is not source else deal.stage)
        move = stage_move(pipeline, deal, stage, source)
        if move is None:
            return deal
        moved = await self._records.update_if(
            Entity.DEALS,
            deal.id,
            {"stage": deal.stage, "pipeline_id": deal.pipeline_id},
            move.changes,
        )
        if moved is None:
            raise Conflict("the deal moved meanwhile; reload it", code="stage_changed")
        await self._timeline.add(
            "stage_changed",
            [ref(Entity.DEALS, deal.id)]
            + ([ref(Entity.CONTACTS, deal.contact_id)] if deal.contact_id else []),
            text=f"{move.change['from_name']} → {move.stage.name}",
            data=move.change,
            actor_id=actor.id,
        )
        await self._webhooks.emit(
            WebhookEvent.DEAL_STAGE_CHANGED,
            {**moved.model_dump(mode="json"), "change": move.change},
        )
        return as_(Deal, moved)
