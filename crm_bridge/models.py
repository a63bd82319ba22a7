"""CRM records as stored and as the contract (API.md, CRM) shows them."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from hub.models import Doc, utcnow


class LeadStatus(StrEnum):
    NEW = "new"
    IN_PROGRESS = "in_progress"
    CONVERTED = "converted"
    JUNK = "junk"


class StageSemantic(StrEnum):
    OPEN = "open"
    WON = "won"
    LOST = "lost"


class Entity(StrEnum):
    """The kinds of record a timeline belongs to (``/crm/<entity>/<id>/timeline``)."""

    LEADS = "leads"
    CONTACTS = "contacts"
    COMPANIES = "companies"
    DEALS = "deals"


class Lead(Doc):
    title: str
    name: str | None = None
    phones: list[str] = Field(default_factory=list)
    emails: list[str] = Field(default_factory=list)
    source: str | None = None
    # The channel the client first wrote from: {"id", "type"}.
    channel: dict[str, str] | None = None
    # Where the client came from: a Telegram /start payload, the page URL.
    origin: str | None = None
    status: LeadStatus = LeadStatus.NEW
    responsible_id: str | None = None
    client_ids: list[str] = Field(default_factory=list)
    conversation_ids: list[str] = Field(default_factory=list)
    # Set by conversion (or when later data revealed a known contact).
    contact_id: str | None = None
    company_id: str | None = None
    deal_id: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Contact(Doc):
    name: str | None = None
    phones: list[str] = Field(default_factory=list)
    emails: list[str] = Field(default_factory=list)
    company_id: str | None = None
    responsible_id: str | None = None
    source: str | None = None
    lead_id: str | None = None
    # The hub clients (one per channel identity) known to be this person.
    client_ids: list[str] = Field(default_factory=list)
    conversation_ids: list[str] = Field(default_factory=list)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Company(Doc):
    title: str
    phones: list[str] = Field(default_factory=list)
    emails: list[str] = Field(default_factory=list)
    responsible_id: str | None = None
    contact_ids: list[str] = Field(default_factory=list)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Deal(Doc):
    title: str
    pipeline_id: str
    stage: str
    amount: float | None = None
    currency: str | None = None
    contact_id: str | None = None
    company_id: str | None = None
    lead_id: str | None = None
    responsible_id: str | None = None
    conversation_ids: list[str] = Field(default_factory=list)
    closed: bool = False
    # True when closed won, False when closed lost, None while open.
    won: bool | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Stage(BaseModel):
    id: str
    name: str
    semantic: StageSemantic = StageSemantic.OPEN


class Pipeline(Doc):
    name: str
    stages: list[Stage]
    is_default: bool = False
    created_at: datetime = Field(default_factory=utcnow)

    def stage(self, stage_id: str) -> Stage | None:
        return next((s for s in self.stages if s.id == stage_id), None)


class Activity(Doc):
    """One entry of a timeline; ``refs`` are ``"<entity>:<id>"`` of every record it concerns."""

    type: str
    refs: list[str]
    text: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)
    conversation_id: str | None = None
    actor_id: str | None = None
    created_at: datetime = Field(default_factory=utcnow)


class WebhookEvent(StrEnum):
    LEAD_CREATED = "lead.created"
    CONTACT_CREATED = "contact.created"
    DEAL_CREATED = "deal.created"
    DEAL_STAGE_CHANGED = "deal.stage_changed"


class Webhook(Doc):
    url: str
    events: list[WebhookEvent]
    secret: str = Field(exclude=True, repr=False)
    created_by: str | None = None
    created_at: datetime = Field(default_factory=utcnow)

    def to_doc(self) -> dict[str, Any]:
        data = super().to_doc()
        data["secret"] = self.secret
        return data


def ref(entity: Entity, record_id: str) -> str:
    return f"{entity.value}:{record_id}"
