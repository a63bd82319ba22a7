"""The CRM rules, a subscriber to hub events (configured per line by ``Line.crm``):

- a new conversation joins the contact its client is known to be (its channel identity, or an
  e-mail or phone the channel proved: crm_bridge/matching.py), else, when the line says
  ``create_lead``, a new lead (unless the address is blocklisted); an address only typed into
  a form goes on that lead as unverified and suggests contacts (``possible_contact_ids``);
- data that arrives later updates the lead, or proves a known contact: link, don't duplicate;
- the operator who takes the conversation becomes the lead's responsible unless one is set;
- opening and closing conversations are written to the timeline.
"""

from __future__ import annotations

import logging

from crm_bridge.hub_view import HubView
from crm_bridge.linking import Linking
from crm_bridge.matching import Identity
from crm_bridge.models import (
    MAX_ADDRESSES,
    MAX_NAME,
    MAX_ORIGIN,
    MAX_SUGGESTIONS,
    MAX_TITLE,
    OPEN_LEAD,
    Entity,
    Lead,
    LeadStatus,
    WebhookEvent,
    ref,
)
from crm_bridge.normalize import blocked
from crm_bridge.records import Records
from crm_bridge.storage import CrmStorage
from crm_bridge.timeline import Timeline
from crm_bridge.webhooks import Webhooks
from hub.events import (
    ClientUpdated,
    ConversationChange,
    ConversationChanged,
    ConversationOpened,
    EventBus,
    SlaBreached,
)
from hub.models import Client, Conversation
from hub.realtime import conversation_view

log = logging.getLogger("openlines.crm.rules")


class Rules:
    def __init__(
        self,
        hub: HubView,
        storage: CrmStorage,
        records: Records,
        linking: Linking,
        timeline: Timeline,
        webhooks: Webhooks,
    ) -> None:
        self._hub = hub
        self._storage = storage
        self._records = records
        self._linking = linking
        self._timeline = timeline
        self._webhooks = webhooks

    def subscribe(self, bus: EventBus) -> None:
        bus.subscribe("crm", self.handle, ConversationOpened, ConversationChanged, ClientUpdated)

    async def handle(
        self, event: ConversationOpened | ConversationChanged | ClientUpdated
    ) -> None:
        if isinstance(event, ConversationOpened):
            await self.opened(event.conversation)
        elif isinstance(event, ClientUpdated):
            await self.client_updated(event.client)
        elif event.change == ConversationChange.ASSIGNED:
            await self.assigned(event.conversation)
        elif event.change == ConversationChange.CLOSED:
            await self.closed(event.conversation)
        elif isinstance(event.detail, SlaBreached):
            await self._webhooks.emit(
                WebhookEvent.CONVERSATION_SLA_BREACHED,
                {
                    "conversation": conversation_view(event.conversation),
                    "kind": event.detail.kind.value,
                },
            )

    async def opened(self, conversation: Conversation) -> None:
        line = await self._hub.line(conversation.line_id)
        client = await self._hub.client(conversation.client.id)
        identity = Identity.of(conversation.client.id, client, conversation.client)
        contact = await self._storage.find_contact(identity)
        if contact is not None:
            await self._linking.link_to_contact(conversation, contact, line)
            return
        lead = await self._storage.find_open_lead(identity)
        if lead is None:
            if line is None or not line.crm.create_lead:
                return
            email = next(iter(identity.emails), None)
            if email and blocked(email, await self._hub.blocklist(line.id)):
                log.info("no lead for a blocklisted sender conversation=%s", conversation.id)
                return
            name = conversation.client.name
            who = name or email or next(iter(identity.phones), None) or "новый клиент / new client"
            lead = Lead(
                title=f"{line.crm.source or conversation.channel.type}: {who}"[:MAX_TITLE],
                name=name[:MAX_NAME] if name else None,
                emails=identity.emails,
                phones=identity.phones,
                unverified_emails=list(identity.claimed_emails),
                unverified_phones=list(identity.claimed_phones),
                possible_contact_ids=await self._storage.possible_contacts(identity),
                source=line.crm.source,
                channel=conversation.channel.model_dump(),
                # The /start payload or page URL, where the channel records one.
                origin=(conversation.source or "")[:MAX_ORIGIN] or None,
                client_ids=[conversation.client.id],
                conversation_ids=[conversation.id],
            )
            await self._records.insert(Entity.LEADS, lead)
        else:
            await self._records.update(
                Entity.LEADS,
                lead.id,
                {},
                add={
                    "client_ids": [conversation.client.id],
                    "conversation_ids": [conversation.id],
                },
            )
        await self._linking.link(conversation.id, lead_id=lead.id)
        await self._timeline.add(
            "conversation_opened",
            [ref(Entity.LEADS, lead.id)],
            text=f"Conversation on {conversation.channel.type}",
            data={"channel": conversation.channel.model_dump()},
            conversation_id=conversation.id,
        )

    async def client_updated(self, client: Client) -> None:
        """New name, email or phone: update the lead, or join the contact it now proves the
        client to be (a claimed address only suggests one)."""
        identity = Identity.of(client.id, client)
        for conversation in await self._hub.open_of_client(client.id):
            if conversation.crm.contact_id:
                continue
            contact = await self._storage.find_contact(identity)
            if contact is not None:
                line = await self._hub.line(conversation.line_id)
                await self._linking.link_to_contact(conversation, contact, line)
                if conversation.crm.lead_id:
                    # The "unknown" person was known after all: the lead is done with.
                    await self._records.update_if(
                        Entity.LEADS,
                        conversation.crm.lead_id,
                        {"status": OPEN_LEAD},
                        {"status": LeadStatus.CONVERTED, "contact_id": contact.id},
                    )
                    await self._timeline.add(
                        "lead_matched_contact",
                        [
                            ref(Entity.LEADS, conversation.crm.lead_id),
                            ref(Entity.CONTACTS, contact.id),
                        ],
                        text="The client turned out to be a known contact",
                        conversation_id=conversation.id,
                    )
                continue
            if conversation.crm.lead_id:
                await self._tell_lead(conversation.crm.lead_id, client, identity)
            else:
                # No lead yet (e.g. the line had nothing to go on): the rules of a new one.
                await self.opened(conversation)

    async def _tell_lead(self, lead_id: str, client: Client, identity: Identity) -> None:
        """What the client now says goes on their lead: the name, addresses (room allowing;
        claimed ones marked so, proven ones no longer), and the contacts they suggest."""
        lead = await self._records.lead(lead_id)
        room = MAX_ADDRESSES - len(lead.emails)
        emails = [e for e in identity.emails if e not in lead.emails][: max(room, 0)]
        room = MAX_ADDRESSES - len(lead.phones)
        phones = [p for p in identity.phones if p not in lead.phones][: max(room, 0)]
        possible = await self._storage.possible_contacts(identity)
        room = MAX_SUGGESTIONS - len(lead.possible_contact_ids)
        suggested = [c for c in possible if c not in lead.possible_contact_ids][: max(room, 0)]
        changes: dict[str, object] = {}
        if client.name:
            changes["name"] = client.name[:MAX_NAME]
        proven = set(identity.proven_emails) | set(identity.proven_phones)
        unverified_emails = [e for e in lead.unverified_emails if e not in proven]
        unverified_emails += [e for e in emails if e in identity.claimed_emails]
        unverified_phones = [p for p in lead.unverified_phones if p not in proven]
        unverified_phones += [p for p in phones if p in identity.claimed_phones]
        if unverified_emails != lead.unverified_emails:
            changes["unverified_emails"] = unverified_emails
        if unverified_phones != lead.unverified_phones:
            changes["unverified_phones"] = unverified_phones
        await self._records.update(
            Entity.LEADS,
            lead_id,
            changes,
            add={"emails": emails, "phones": phones, "possible_contact_ids": suggested},
        )

    async def assigned(self, conversation: Conversation) -> None:
        if not (conversation.crm.lead_id and conversation.assignee_id):
            return
        taken = await self._records.update_if(
            Entity.LEADS,
            conversation.crm.lead_id,
            {"responsible_id": None, "status": OPEN_LEAD},
            {"responsible_id": conversation.assignee_id, "status": LeadStatus.IN_PROGRESS},
        )
        if taken is not None:
            await self._timeline.add(
                "responsible_set",
                [ref(Entity.LEADS, conversation.crm.lead_id)],
                data={"responsible_id": conversation.assignee_id},
                conversation_id=conversation.id,
                actor_id=conversation.assignee_id,
            )

    async def closed(self, conversation: Conversation) -> None:
        refs = [
            ref(entity, record_id)
            for entity, record_id in (
                (Entity.LEADS, conversation.crm.lead_id),
                (Entity.CONTACTS, conversation.crm.contact_id),
                (Entity.DEALS, conversation.crm.deal_id),
            )
            if record_id
        ]
        if refs:
            await self._timeline.add(
                "conversation_closed",
                refs,
                text=f"Conversation closed ({conversation.close_reason or 'closed'})",
                conversation_id=conversation.id,
            )
