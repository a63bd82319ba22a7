"""The bodies and list queries of the CRM's REST API (API.md, CRM): every field bounded, so
a request that would make a bad record is refused before anything is read or written."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, field_validator

from crm_bridge.models import (
    MAX_ADDRESSES,
    MAX_EMAIL,
    MAX_NAME,
    MAX_PHONE,
    MAX_STAGE_NAME,
    MAX_STAGES,
    MAX_TEXT,
    STAGE_COLOR,
    Amount,
    Comments,
    Currency,
    Entity,
    LeadStatus,
    RefId,
    StageSemantic,
    Title,
    WebhookEvent,
)
from crm_bridge.normalize import normalize_emails, normalize_phones

# A search longer than any name, title or address only costs the database a longer scan.
MAX_QUERY = 200
MAX_LIST_LIMIT = 500
Name = Annotated[str, Field(max_length=MAX_NAME)]


class _People(BaseModel):
    model_config = ConfigDict(extra="forbid")

    phones: list[Annotated[str, Field(max_length=MAX_PHONE)]] | None = Field(
        default=None, max_length=MAX_ADDRESSES
    )
    emails: list[Annotated[str, Field(max_length=MAX_EMAIL)]] | None = Field(
        default=None, max_length=MAX_ADDRESSES
    )

    @field_validator("phones")
    @classmethod
    def _phones(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        bad = [v for v in value if v.strip() and not normalize_phones([v])]
        if bad:
            raise ValueError(f"not phone numbers: {', '.join(bad)}")
        return normalize_phones(value)

    @field_validator("emails")
    @classmethod
    def _emails(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        bad = [v for v in value if not normalize_emails([v])]
        if bad:
            raise ValueError(f"not email addresses: {', '.join(bad)}")
        return normalize_emails(value)


class LeadIn(_People):
    title: Title
    name: Name | None = None
    source: Name | None = None
    responsible_id: RefId | None = None
    comments: Comments | None = None


class LeadPatch(_People):
    # ``None`` passes here and fails the whole-record check where the record needs a value.
    title: Title | None = None
    name: Name | None = None
    source: Name | None = None
    responsible_id: RefId | None = None
    status: LeadStatus | None = None
    comments: Comments | None = None

    @field_validator("status")
    @classmethod
    def _not_converted(cls, value: LeadStatus | None) -> LeadStatus | None:
        if value == LeadStatus.CONVERTED:
            raise ValueError("a lead becomes converted only through /convert")
        return value


class ContactIn(_People):
    name: Annotated[str, Field(min_length=1, max_length=MAX_NAME)]
    company_id: RefId | None = None
    responsible_id: RefId | None = None
    source: Name | None = None
    comments: Comments | None = None


class ContactPatch(_People):
    name: Annotated[str, Field(min_length=1, max_length=MAX_NAME)] | None = None
    company_id: RefId | None = None
    responsible_id: RefId | None = None
    source: Name | None = None
    comments: Comments | None = None


class CompanyIn(_People):
    title: Title
    responsible_id: RefId | None = None
    comments: Comments | None = None


class CompanyPatch(_People):
    title: Title | None = None
    responsible_id: RefId | None = None
    comments: Comments | None = None


class _DealFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title
    pipeline_id: RefId | None = None
    amount: Amount | None = None
    currency: Currency | None = None


class DealIn(_DealFields):
    contact_id: RefId | None = None
    company_id: RefId | None = None
    responsible_id: RefId | None = None
    stage: RefId | None = None
    comments: Comments | None = None


class DealPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title | None = None
    # To another pipeline: into ``stage`` of it, or its first stage.
    pipeline_id: RefId | None = None
    stage: RefId | None = None
    amount: Amount | None = None
    currency: Currency | None = None
    contact_id: RefId | None = None
    company_id: RefId | None = None
    responsible_id: RefId | None = None
    comments: Comments | None = None


class CompanyRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title


class ConvertIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    contact: bool = True
    company: CompanyRef | None = None
    deal: _DealFields | None = None


class StageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: RefId | None = None
    name: str = Field(min_length=1, max_length=MAX_STAGE_NAME)
    semantic: StageSemantic = StageSemantic.OPEN
    color: str | None = Field(default=None, pattern=STAGE_COLOR)


class PipelineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=MAX_NAME)
    stages: list[StageIn] = Field(min_length=1, max_length=MAX_STAGES)


class PipelinePatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=MAX_NAME)
    stages: list[StageIn] | None = Field(default=None, min_length=1, max_length=MAX_STAGES)


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=MAX_TEXT)


class ContactMessageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=MAX_TEXT)
    channel_id: RefId | None = None


class ConversationDealIn(_DealFields):
    pass


class WebhookIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: HttpUrl
    events: list[WebhookEvent] = Field(default_factory=lambda: list(WebhookEvent), min_length=1)
    secret: str | None = Field(default=None, min_length=16, max_length=200)
    active: bool = True


class WebhookPatch(BaseModel):
    """What an admin changes of a webhook; its secret stays (delete and create anew to rotate)."""

    model_config = ConfigDict(extra="forbid")

    url: HttpUrl | None = None
    events: list[WebhookEvent] | None = Field(default=None, min_length=1)
    active: bool | None = None


BODY_MODELS: dict[tuple[str, str], type[BaseModel]] = {
    ("POST", "/api/v1/crm/leads"): LeadIn,
    ("PATCH", "/api/v1/crm/leads/{record_id}"): LeadPatch,
    ("POST", "/api/v1/crm/leads/{record_id}/convert"): ConvertIn,
    ("POST", "/api/v1/crm/contacts"): ContactIn,
    ("PATCH", "/api/v1/crm/contacts/{record_id}"): ContactPatch,
    ("POST", "/api/v1/crm/companies"): CompanyIn,
    ("PATCH", "/api/v1/crm/companies/{record_id}"): CompanyPatch,
    ("POST", "/api/v1/crm/deals"): DealIn,
    ("PATCH", "/api/v1/crm/deals/{record_id}"): DealPatch,
    ("POST", "/api/v1/crm/pipelines"): PipelineIn,
    ("PATCH", "/api/v1/crm/pipelines/{pipeline_id}"): PipelinePatch,
    ("POST", "/api/v1/crm/{entity}/{record_id}/notes"): NoteIn,
    ("POST", "/api/v1/crm/contacts/{record_id}/messages"): ContactMessageIn,
    ("POST", "/api/v1/conversations/{conversation_id}/deal"): ConversationDealIn,
    ("POST", "/api/v1/webhooks"): WebhookIn,
    ("PATCH", "/api/v1/webhooks/{webhook_id}"): WebhookPatch,
}

CREATE_BODIES: dict[Entity, type[BaseModel]] = {
    Entity.LEADS: LeadIn,
    Entity.CONTACTS: ContactIn,
    Entity.COMPANIES: CompanyIn,
    Entity.DEALS: DealIn,
}
PATCH_BODIES: dict[Entity, type[BaseModel]] = {
    Entity.LEADS: LeadPatch,
    Entity.CONTACTS: ContactPatch,
    Entity.COMPANIES: CompanyPatch,
    Entity.DEALS: DealPatch,
}


class ListQuery(BaseModel):
    """The query of a CRM list: every parameter bounded (422 ``invalid_query``)."""

    q: str | None = Field(default=None, max_length=MAX_QUERY)
    limit: int = Field(default=50, ge=1, le=MAX_LIST_LIMIT)
    cursor: RefId | None = None
    status: LeadStatus | None = None
    source: Name | None = None
    # A user id, or ``me``.
    responsible_id: RefId | None = None
    company_id: RefId | None = None
    contact_id: RefId | None = None
    pipeline_id: RefId | None = None
    stage: RefId | None = None


LIST_FILTERS = {
    Entity.LEADS: ("status", "source", "responsible_id"),
    Entity.CONTACTS: ("responsible_id", "company_id"),
    Entity.COMPANIES: ("responsible_id",),
    Entity.DEALS: ("pipeline_id", "stage", "contact_id", "company_id", "responsible_id"),
}
