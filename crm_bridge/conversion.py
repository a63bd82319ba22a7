"""Converting a lead: staff take the unknown person on as a contact (and a company, a deal).
The lead is claimed first by a conditional update (two managers never convert it twice); the
lead's conversations then point at what it became."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crm_bridge.linking import Linking
from crm_bridge.models import (
    OPEN_LEAD,
    Company,
    Contact,
    Deal,
    Entity,
    Lead,
    LeadStatus,
    Pipeline,
    ref,
)
from crm_bridge.records import Records, as_
from crm_bridge.timeline import Timeline
from hub.errors import Conflict, ValidationFailed
from hub.models import User


@dataclass(frozen=True)
class DealTerms:
    """The deal a conversion opens, as the manager asked for it."""

    title: str
    pipeline_id: str | None = None
    amount: float | None = None
    currency: str | None = None


def ensure_something_to_convert(
    contact: bool, company_title: str | None, deal: DealTerms | None
) -> None:
    if not (contact or company_title or deal):
        raise ValidationFailed("convert to at least one of contact, company, deal")


def company_from(lead: Lead, title: str, actor: User) -> Company:
    return Company(title=title, responsible_id=lead.responsible_id or actor.id)


def contact_from(lead: Lead, company: Company | None, actor: User) -> Contact:
    """The lead's person as a contact. The lead's clients are the person whose conversations
    made it: they become the contact's own clients. Converting is staff taking the lead's
    addresses on (the card marks the unverified ones): from now on a proven address may
    match them."""
    return Contact(
        name=lead.name,
        phones=lead.phones,
        emails=lead.emails,
        company_id=company.id if company else None,
        responsible_id=lead.responsible_id or actor.id,
        source=lead.source,
        lead_id=lead.id,
        client_ids=lead.client_ids,
        conversation_ids=lead.conversation_ids,
    )


def deal_from(
    lead: Lead,
    terms: DealTerms,
    pipeline: Pipeline,
    contact: Contact | None,
    company: Company | None,
    actor: User,
) -> Deal:
    """The lead's deal, in the first stage of ``pipeline``, with the lead's conversations."""
    return Deal(
        title=terms.title,
        pipeline_id=pipeline.id,
        stage=pipeline.stages[0].id,
        amount=terms.amount,
        currency=terms.currency,
        contact_id=contact.id if contact else None,
        company_id=company.id if company else None,
        lead_id=lead.id,
        responsible_id=lead.responsible_id or actor.id,
        conversation_ids=lead.conversation_ids,
    )


def converted_refs(
    lead: Lead, contact: Contact | None, company: Company | None, deal: Deal | None
) -> list[str]:
    """The timelines a conversion is written to: the lead's and each new record's."""
    refs = [ref(Entity.LEADS, lead.id)]
    refs += [ref(Entity.CONTACTS, contact.id)] if contact else []
    refs += [ref(Entity.COMPANIES, company.id)] if company else []
    refs += [ref(Entity.DEALS, deal.id)] if deal else []
    return refs


class Conversion:
    def __init__(self, records: Records, linking: Linking, timeline: Timeline) -> None:
        self._records = records
        self._linking = linking
        self._timeline = timeline

    async def convert(
        self,
        lead: Lead,
        *,
        contact: bool,
        company_title: str | None,
        deal: DealTerms | None,
        actor: User,
    ) -> dict[str, Any]:
        """The records the lead became (409 ``lead_closed`` when converted or junk)."""
        ensure_something_to_convert(contact, company_title, deal)
        pipeline = await self._records.pipeline(deal.pipeline_id) if deal is not None else None
        claimed = await self._records.update_if(
            Entity.LEADS, lead.id, {"status": OPEN_LEAD}, {"status": LeadStatus.CONVERTED}
        )
        if claimed is None:
            raise Conflict("the lead is already converted or junk", code="lead_closed")
        new_company = None
        if company_title:
            new_company = company_from(lead, company_title, actor)
            await self._records.insert(Entity.COMPANIES, new_company, actor_id=actor.id)
        new_contact = None
        if contact:
            new_contact = contact_from(lead, new_company, actor)
            await self._records.insert(Entity.CONTACTS, new_contact, actor_id=actor.id)
            if new_company:
                new_company = as_(
                    Company,
                    await self._records.update(
                        Entity.COMPANIES, new_company.id, {}, add={"contact_ids": [new_contact.id]}
                    ),
                )
        new_deal = None
        if deal is not None and pipeline is not None:
            new_deal = deal_from(lead, deal, pipeline, new_contact, new_company, actor)
            await self._records.insert(Entity.DEALS, new_deal, actor_id=actor.id)
        await self._records.update(
            Entity.LEADS,
            lead.id,
            {
                "contact_id": new_contact.id if new_contact else None,
                "company_id": new_company.id if new_company else None,
                "deal_id": new_deal.id if new_deal else None,
            },
        )
        for conversation_id in lead.conversation_ids:
            await self._linking.link(
                conversation_id,
                contact_id=new_contact.id if new_contact else None,
                deal_id=new_deal.id if new_deal else None,
                actor_id=actor.id,
            )
        await self._timeline.add(
            "lead_converted",
            converted_refs(lead, new_contact, new_company, new_deal),
            text="Lead converted",
            actor_id=actor.id,
        )
        return {
            "contact": new_contact.model_dump(mode="json") if new_contact else None,
            "company": new_company.model_dump(mode="json") if new_company else None,
            "deal": new_deal.model_dump(mode="json") if new_deal else None,
        }
