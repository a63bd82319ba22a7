"""Linking conversations to CRM records: the hub's conversation points at its lead, contact
and deal (through the hub's change path, so the console hears it), and a known person's new
conversation joins their contact and open deal."""

from __future__ import annotations

from crm_bridge.hub_view import HubView
from crm_bridge.models import MAX_TITLE, Contact, Deal, Entity, Pipeline, ref
from crm_bridge.records import Records
from crm_bridge.storage import CrmStorage
from crm_bridge.timeline import Timeline
from hub.models import Conversation, Line


class Linking:
    def __init__(
        self, hub: HubView, storage: CrmStorage, records: Records, timeline: Timeline
    ) -> None:
        self._hub = hub
        self._storage = storage
        self._records = records
        self._timeline = timeline

    async def link(
        self,
        conversation_id: str,
        *,
        lead_id: str | None = None,
        contact_id: str | None = None,
        deal_id: str | None = None,
        actor_id: str | None = None,
    ) -> Conversation | None:
        """Point the conversation at CRM records; the console hears it (ConversationChanged)."""
        return await self._hub.link_crm(
            conversation_id,
            lead_id=lead_id,
            contact_id=contact_id,
            deal_id=deal_id,
            actor_id=actor_id,
        )

    async def link_to_contact(
        self, conversation: Conversation, contact: Contact, line: Line | None
    ) -> None:
        """A known person (``CrmStorage.find_contact``): the conversation joins the contact
        (and its open deal, or a new one when the line says so)."""
        await self._records.update(
            Entity.CONTACTS,
            contact.id,
            {},
            add={"client_ids": [conversation.client.id], "conversation_ids": [conversation.id]},
        )
        deal_id = await self._storage.open_deal_of(contact.id)
        if deal_id is not None:
            await self._records.update(
                Entity.DEALS, deal_id, {}, add={"conversation_ids": [conversation.id]}
            )
        elif line is not None and line.crm.deal_for_existing_contact:
            pipeline = await self._records.pipeline(line.crm.pipeline_id)
            deal = contact_deal(contact, conversation, pipeline)
            await self._records.insert(Entity.DEALS, deal)
            deal_id = deal.id
        await self.link(conversation.id, contact_id=contact.id, deal_id=deal_id)
        refs = [ref(Entity.CONTACTS, contact.id)]
        if deal_id:
            refs.append(ref(Entity.DEALS, deal_id))
        await self._timeline.add(
            "conversation_opened",
            refs,
            text=f"Conversation on {conversation.channel.type}",
            data={"channel": conversation.channel.model_dump()},
            conversation_id=conversation.id,
        )


def contact_deal(contact: Contact, conversation: Conversation, pipeline: Pipeline) -> Deal:
    """The deal a known contact's new conversation opens (``deal_for_existing_contact``): in
    the pipeline's first stage, the contact's company and responsible."""
    who = contact.name or conversation.client.name or "клиент / client"
    return Deal(
        # The hub has no one language: a title it makes is in both (docs/i18n.md).
        title=f"Сделка / Deal: {who}"[:MAX_TITLE],
        pipeline_id=pipeline.id,
        stage=pipeline.stages[0].id,
        contact_id=contact.id,
        company_id=contact.company_id,
        responsible_id=contact.responsible_id,
        conversation_ids=[conversation.id],
    )
