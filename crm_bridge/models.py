"""CRM records as stored and as the contract (API.md, CRM) shows them.

Each model is the whole truth about a stored record: every write validates the record as it
will be stored against it (``crm_bridge.documents``), so its bounds hold for what is in the
database, not only for what a request body said."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, Field, HttpUrl, TypeAdapter, field_validator, model_validator

from hub.models import Doc, utcnow

# Bounds of every record (and of the bodies that write them, crm_bridge/api.py).
MAX_TITLE = 300
MAX_NAME = 200
MAX_ADDRESSES = 20
MAX_EMAIL = 320
MAX_PHONE = 50
MAX_ORIGIN = 2000
MAX_REF = 100
MAX_STAGES = 50
MAX_STAGE_NAME = 100
MAX_TEXT = 4000
MAX_SUGGESTIONS = 5
MAX_URL = 2083
MAX_COMMENTS = 4000
# A stage's colour on the board: "#rrggbb".
STAGE_COLOR = r"^#[0-9a-fA-F]{6}$"
# The largest amount a deal may carry: exact as a float (below 2**53), far above any real deal.
MAX_AMOUNT = 10**15

_HTTP_URL = TypeAdapter(HttpUrl)
Title = Annotated[str, Field(min_length=1, max_length=MAX_TITLE)]
Amount = Annotated[float, Field(ge=0, le=MAX_AMOUNT, allow_inf_nan=False)]
Currency = Annotated[str, Field(min_length=3, max_length=3)]
RefId = Annotated[str, Field(min_length=1, max_length=MAX_REF)]
Emails = Annotated[
    list[Annotated[str, Field(max_length=MAX_EMAIL)]], Field(max_length=MAX_ADDRESSES)
]
Phones = Annotated[
    list[Annotated[str, Field(max_length=MAX_PHONE)]], Field(max_length=MAX_ADDRESSES)
]
# Free text staff keep on a record (Bitrix24's "Comment" field).
Comments = Annotated[str, Field(max_length=MAX_COMMENTS)]


class LeadStatus(StrEnum):
    NEW = "new"
    IN_PROGRESS = "in_progress"
    CONVERTED = "converted"
    JUNK = "junk"


# Leads that still represent an unknown person (a new conversation may join them).
OPEN_LEAD = (LeadStatus.NEW, LeadStatus.IN_PROGRESS)


class StageSemantic(StrEnum):
    OPEN = "open"
    WON = "won"
    LOST = "lost"


DEFAULT_PIPELINE_ID = "sales"
DEFAULT_STAGES = (
    ("new", "New", StageSemantic.OPEN),
    ("preparing_documents", "Preparing documents", StageSemantic.OPEN),
    ("invoice", "Invoice", StageSemantic.OPEN),
    ("in_progress", "In progress", StageSemantic.OPEN),
    ("won", "Won", StageSemantic.WON),
    ("lost", "Lost", StageSemantic.LOST),
)


class Entity(StrEnum):
    """The kinds of record a timeline belongs to (``/crm/<entity>/<id>/timeline``)."""

    LEADS = "leads"
    CONTACTS = "contacts"
    COMPANIES = "companies"
    DEALS = "deals"


class _Person(Doc):
    """A lead or a contact: a person known by addresses and by hub clients."""

    emails: Emails = Field(default_factory=list)
    phones: Phones = Field(default_factory=list)
    # The hub clients (one per channel identity) known to be this person.
    client_ids: list[str] = Field(default_factory=list)
    conversation_ids: list[str] = Field(default_factory=list)


class Lead(_Person):
    """``emails``/``phones`` also in ``unverified_emails``/``unverified_phones`` came from a
    form the client filled in, which proves nothing: they never match another client to this
    lead (crm_bridge/matching.py), so a visitor who types someone's address can neither join
    their lead nor have them join the visitor's. Converting the lead is staff taking the
    addresses on: a contact's addresses are all its own."""

    title: Title
    name: str | None = Field(default=None, max_length=MAX_NAME)
    unverified_emails: Emails = Field(default_factory=list)
    unverified_phones: Phones = Field(default_factory=list)
    source: str | None = Field(default=None, max_length=MAX_NAME)
    # The channel the client first wrote from: {"id", "type"}.
    channel: dict[str, str] | None = None
    # Where the client came from: a Telegram /start payload, the page URL.
    origin: str | None = Field(default=None, max_length=MAX_ORIGIN)
    status: LeadStatus = LeadStatus.NEW
    responsible_id: str | None = None
    comments: Comments | None = None
    # Contacts an address of the lead's client names without proving it: a hint for staff.
    possible_contact_ids: list[str] = Field(default_factory=list, max_length=MAX_SUGGESTIONS)
    # Set by conversion (or when later data revealed a known contact).
    contact_id: str | None = None
    company_id: str | None = None
    deal_id: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)

    @model_validator(mode="after")
    def _claims_are_addresses(self) -> Lead:
        # An address staff removed is no claim any more.
        self.unverified_emails = [e for e in self.unverified_emails if e in self.emails]
        self.unverified_phones = [p for p in self.unverified_phones if p in self.phones]
        return self


class Contact(_Person):
    name: str | None = Field(default=None, max_length=MAX_NAME)
    company_id: str | None = None
    responsible_id: str | None = None
    source: str | None = Field(default=None, max_length=MAX_NAME)
    comments: Comments | None = None
    lead_id: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Company(Doc):
    title: Title
    phones: Phones = Field(default_factory=list)
    emails: Emails = Field(default_factory=list)
    responsible_id: str | None = None
    comments: Comments | None = None
    contact_ids: list[str] = Field(default_factory=list)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Deal(Doc):
    title: Title
    pipeline_id: RefId
    stage: RefId
    amount: Amount | None = None
    currency: Currency | None = None
    contact_id: str | None = None
    company_id: str | None = None
    lead_id: str | None = None
    responsible_id: str | None = None
    comments: Comments | None = None
    conversation_ids: list[str] = Field(default_factory=list)
    closed: bool = False
    # True when closed won, False when closed lost, None while open.
    won: bool | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Stage(BaseModel):
    id: RefId
    name: str = Field(min_length=1, max_length=MAX_STAGE_NAME)
    semantic: StageSemantic = StageSemantic.OPEN
    # None: the board's colour for the semantic.
    color: str | None = Field(default=None, pattern=STAGE_COLOR)


class Pipeline(Doc):
    name: str = Field(min_length=1, max_length=MAX_NAME)
    # Never empty: a new deal starts in the first stage.
    stages: list[Stage] = Field(min_length=1, max_length=MAX_STAGES)
    is_default: bool = False
    created_at: datetime = Field(default_factory=utcnow)

    def stage(self, stage_id: str) -> Stage | None:
        return next((s for s in self.stages if s.id == stage_id), None)


class Activity(Doc):
    """One entry of a timeline; ``refs`` are ``"<entity>:<id>"`` of every record it concerns."""

    type: str = Field(min_length=1, max_length=MAX_REF)
    refs: list[str]
    text: str | None = Field(default=None, max_length=MAX_TEXT)
    data: dict[str, Any] = Field(default_factory=dict)
    conversation_id: str | None = None
    actor_id: str | None = None
    created_at: datetime = Field(default_factory=utcnow)


class WebhookEvent(StrEnum):
    LEAD_CREATED = "lead.created"
    CONTACT_CREATED = "contact.created"
    DEAL_CREATED = "deal.created"
    DEAL_STAGE_CHANGED = "deal.stage_changed"
    # A line's response-time clock ran out (routing/sla.py): ``{conversation, kind}``.
    CONVERSATION_SLA_BREACHED = "conversation.sla_breached"


class Webhook(Doc):
    url: str = Field(max_length=MAX_URL)
    events: list[WebhookEvent] = Field(min_length=1)
    # Sealed at rest (crm_bridge/storage.py): longer stored than the 200 characters one may give.
    secret: str = Field(min_length=16, max_length=500, exclude=True, repr=False)
    # A paused webhook keeps its URL, events and secret but gets no deliveries.
    active: bool = True
    created_by: str | None = None
    created_at: datetime = Field(default_factory=utcnow)

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        return str(_HTTP_URL.validate_python(value))

    def to_doc(self) -> dict[str, Any]:
        data = super().to_doc()
        data["secret"] = self.secret
        return data


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class Delivery(Doc):
    """One event on its way to one webhook: the signed body as it will be POSTed, and where its
    retries stand (crm_bridge/webhooks.py)."""

    webhook_id: str
    event: WebhookEvent
    body: bytes
    status: DeliveryStatus = DeliveryStatus.PENDING
    attempts: int = 0
    due_at: datetime
    created_at: datetime = Field(default_factory=utcnow)
    last_error: str | None = None
    finished_at: datetime | None = None


def ref(entity: Entity, record_id: str) -> str:
    return f"{entity.value}:{record_id}"
