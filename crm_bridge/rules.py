"""The CRM rules, a subscriber to hub events (configured per line by ``Line.crm``):

- a new conversation joins the contact its client matches (email, phone or channel identity),
  else, when the line says ``create_lead``, a new lead (unless the address is blocklisted);
- data that arrives later updates the lead, or reveals a known contact: link, don't duplicate;
- the operator who takes the conversation becomes the lead's responsible unless one is set;
- opening and closing conversations are written to the timeline.
"""

from __future__ import annotations

import logging

from crm_bridge.models import Entity, Lead, LeadStatus, ref
from crm_bridge.normalize import blocked, normalize_email, normalize_phone
from crm_bridge.service import OPEN_LEAD, Crm
from hub.events import ClientUpdated, ConversationChanged, ConversationOpened, EventBus
from hub.models import Client, Conversation, ConversationStatus

log = logging.getLogger("openlines.crm.rules")


class Rules:
    def __init__(self, crm: Crm) -> None:
        self._crm = crm

    def subscribe(self, bus: EventBus) -> None:
        bus.subscribe("crm", self.handle, ConversationOpened, ConversationChanged, ClientUpdated)

    async def handle(
        self, event: ConversationOpened | ConversationChanged | ClientUpdated
    ) -> None:
        if isinstance(event, ConversationOpened):
            await self.opened(event.conversation)
        elif isinstance(event, ClientUpdated):
            await self.client_updated(event.client)
        elif event.change == "assigned":
            await self.assigned(event.conversation)
        elif event.change == "closed":
            await self.closed(event.conversation)

    async def opened(self, conversation: Conversation) -> None:
        crm = self._crm
        line = await crm.hub.conversations.line(conversation.line_id)
        client = await crm.client(conversation.client.id)
        email = normalize_email(client.email if client else conversation.client.email)
        phone = normalize_phone(client.phone if client else conversation.client.phone)
        emails = [email] if email else []
        phones = [phone] if phone else []
        contact = await crm.find_contact(conversation.client.id, emails, phones)
        if contact is not None:
            await crm.link_to_contact(conversation, contact, line)
            return
        lead = await crm.find_open_lead(conversation.client.id, emails, phones)
        if lead is None:
            if line is None or not line.crm.create_lead:
                return
            if email and blocked(email, await crm.blocklist(line.id)):
                log.info("no lead for a blocklisted sender conversation=%s", conversation.id)
                return
            name = conversation.client.name
            who = name or email or phone or "new client"
            lead = Lead(
                title=f"{line.crm.source or conversation.channel.type}: {who}",
                name=name,
                emails=emails,
                phones=phones,
                source=line.crm.source,
                channel=conversation.channel.model_dump(),
                # The /start payload or page URL, where the channel records one.
                origin=getattr(conversation, "source", None),
                client_ids=[conversation.client.id],
                conversation_ids=[conversation.id],
            )
            await crm.insert(Entity.LEADS, lead)
        else:
            await crm.update(
                Entity.LEADS,
                lead.id,
                {},
                **{
                    "$addToSet": {
                        "client_ids": conversation.client.id,
                        "conversation_ids": conversation.id,
                    }
                },
            )
        await crm.link(conversation.id, lead_id=lead.id)
        await crm.activity(
            "conversation_opened",
            [ref(Entity.LEADS, lead.id)],
            text=f"Conversation on {conversation.channel.type}",
            data={"channel": conversation.channel.model_dump()},
            conversation_id=conversation.id,
        )

    async def client_updated(self, client: Client) -> None:
        """New name, email or phone: update the lead, or join a contact it now matches."""
        crm = self._crm
        docs = await crm.hub.store.conversations.find(
            {"client.id": client.id, "status": {"$ne": ConversationStatus.CLOSED.value}}
        ).to_list()
        email = normalize_email(client.email)
        phone = normalize_phone(client.phone)
        emails = [email] if email else []
        phones = [phone] if phone else []
        for doc in docs:
            conversation = Conversation.from_doc(doc)
            if conversation.crm.contact_id:
                continue
            contact = await crm.find_contact(client.id, emails, phones)
            if contact is not None:
                line = await crm.hub.conversations.line(conversation.line_id)
                await crm.link_to_contact(conversation, contact, line)
                if conversation.crm.lead_id:
                    # The "unknown" person was known after all: the lead is done with.
                    await crm.store.leads.update_one(
                        {
                            "_id": conversation.crm.lead_id,
                            "status": {"$in": OPEN_LEAD},
                        },
                        {"$set": {"status": LeadStatus.CONVERTED.value, "contact_id": contact.id}},
                    )
                    await crm.activity(
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
                add: dict[str, object] = {}
                if email:
                    add["emails"] = email
                if phone:
                    add["phones"] = phone
                changes = {"name": client.name} if client.name else {}
                await crm.update(
                    Entity.LEADS,
                    conversation.crm.lead_id,
                    changes,
                    **({"$addToSet": add} if add else {}),
                )
            else:
                # No lead yet (e.g. the line had nothing to go on): the rules of a new one.
                await self.opened(conversation)

    async def assigned(self, conversation: Conversation) -> None:
        if not (conversation.crm.lead_id and conversation.assignee_id):
            return
        result = await self._crm.store.leads.update_one(
            {
                "_id": conversation.crm.lead_id,
                "responsible_id": None,
                "status": {"$in": OPEN_LEAD},
            },
            {
                "$set": {
                    "responsible_id": conversation.assignee_id,
                    "status": LeadStatus.IN_PROGRESS.value,
                }
            },
        )
        if result.modified_count:
            await self._crm.activity(
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
            await self._crm.activity(
                "conversation_closed",
                refs,
                text=f"Conversation closed ({conversation.close_reason or 'closed'})",
                conversation_id=conversation.id,
            )
