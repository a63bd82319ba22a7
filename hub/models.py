"""Domain models: what the hub stores and what the contract (API.md) shows."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Annotated, Any, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bson import ObjectId
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    field_serializer,
    field_validator,
    model_serializer,
)


def new_id() -> str:
    """A new, time-ordered id (an ObjectId as a string)."""
    return str(ObjectId())


def utcnow() -> datetime:
    return datetime.now(UTC)


def to_millis(at: datetime) -> datetime:
    """``at`` as MongoDB stores it (milliseconds): what is answered now equals what is read
    back later, and a time kept elsewhere (a timer's payload) compares equal to the stored one."""
    return at.replace(microsecond=at.microsecond // 1000 * 1000)


class Role(StrEnum):
    OPERATOR = "operator"
    SUPERVISOR = "supervisor"
    MANAGER = "manager"
    ADMIN = "admin"


class PresenceStatus(StrEnum):
    ONLINE = "online"
    AWAY = "away"
    OFFLINE = "offline"


class Distribution(StrEnum):
    ROUND_ROBIN = "round_robin"
    STRICT_ORDER = "strict_order"
    ALL_AT_ONCE = "all_at_once"


class ConversationStatus(StrEnum):
    QUEUED = "queued"
    OFFERED = "offered"
    ACTIVE = "active"
    CLOSED = "closed"


class Direction(StrEnum):
    IN = "in"
    OUT = "out"
    SYSTEM = "system"


class AuthorType(StrEnum):
    CLIENT = "client"
    OPERATOR = "operator"
    SYSTEM = "system"


class MessagePurpose(StrEnum):
    """What a message is for: a channel renders a ``CSAT_REQUEST`` as its own rating prompt
    (buttons, links) instead of plain text."""

    TEXT = "text"
    CSAT_REQUEST = "csat_request"


class CsatStatus(StrEnum):
    REQUESTED = "requested"
    SUBMITTED = "submitted"
    EXPIRED = "expired"


class MessageStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"


def _iso_utc(value: datetime) -> str:
    """A time as the contract shows it: UTC, ISO 8601, ``Z`` (BSON dates come back naive
    unless the client is tz_aware)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


class Doc(BaseModel):
    """A stored document: ``id`` in Python and JSON, ``_id`` in MongoDB; times in UTC."""

    model_config = ConfigDict(use_enum_values=False, validate_assignment=False)

    id: str = Field(default_factory=new_id)

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Self:
        data = dict(doc)
        data["id"] = data.pop("_id")
        return cls.model_validate(data)

    def to_doc(self) -> dict[str, Any]:
        data = self.model_dump(mode="python")
        data["_id"] = data.pop("id")
        return data

    @field_serializer("*", when_used="json")
    def _times_as_iso(self, value: Any) -> Any:
        if isinstance(value, datetime):
            return _iso_utc(value)
        return value


class _Part(BaseModel):
    """A part of a stored document that is written with only some of its fields: it stores
    and serialises exactly the fields it was given (or loaded with), so documents and the
    JSON on the wire look as they did when these parts were plain dicts."""

    @model_serializer(mode="wrap")
    def _only_given(self, handler: SerializerFunctionWrapHandler, info: Any) -> Any:
        data = handler(self)
        given = self.model_fields_set
        fields = type(self).model_fields
        kept = {}
        for name, field in fields.items():
            key = field.serialization_alias or field.alias or name
            if name in given and key in data:
                value = data[key]
                if info.mode == "json" and isinstance(getattr(self, name), datetime):
                    value = _iso_utc(getattr(self, name))
                kept[key] = value
        return kept


class User(Doc):
    email: str
    name: str
    role: Role
    password_hash: str = Field(exclude=True, repr=False)
    active: bool = True
    status_preference: PresenceStatus = PresenceStatus.ONLINE
    created_at: datetime = Field(default_factory=utcnow)

    def to_doc(self) -> dict[str, Any]:
        data = super().to_doc()
        data["password_hash"] = self.password_hash
        return data


# The longest a line's timer may be set to: a year is more than any line needs and still far
# from the dates a datetime can hold (1e18 seconds stopped the router with OverflowError).
MAX_TIMER_S = 366 * 24 * 3600
MAX_ACCEPT_TIMEOUT_S = 12 * 3600
MAX_ACTIVE_PER_OPERATOR = 1000


def _within(low: int, high: int) -> AfterValidator:
    """Stored values outside ``low..high`` (written before the ranges existed) are read as the
    nearest bound, so an old document can neither fail to load nor overflow a deadline."""
    return AfterValidator(lambda v: v if v is None else min(max(v, low), high))


TimerS = Annotated[int, _within(1, MAX_TIMER_S)]

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HHMM = re.compile(r"^([01]\d|2[0-4]):[0-5]\d$")


class WorkingHours(BaseModel):
    """Weekly intervals in a named timezone, plus holidays. An interval whose end is not after
    its start runs past midnight."""

    timezone: str = Field(default="UTC", min_length=1, max_length=64)
    week: dict[str, list[tuple[str, str]]] = Field(default_factory=dict, max_length=7)
    holidays: list[str] = Field(default_factory=list, max_length=1000)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name too long
            raise ValueError(f"unknown IANA timezone {value!r}") from None
        return value

    @field_validator("week")
    @classmethod
    def _valid_week(
        cls, value: dict[str, list[tuple[str, str]]]
    ) -> dict[str, list[tuple[str, str]]]:
        for day, intervals in value.items():
            if day not in WEEKDAYS:
                raise ValueError(f"unknown weekday {day!r}; use {', '.join(WEEKDAYS)}")
            if len(intervals) > 24:
                raise ValueError(f"at most 24 intervals a day ({day})")
            for start, end in intervals:
                for hhmm in (start, end):
                    if not _HHMM.match(hhmm) or (hhmm.startswith("24") and hhmm != "24:00"):
                        raise ValueError(f"{hhmm!r} is not a HH:MM time")
        return value

    @field_validator("holidays")
    @classmethod
    def _valid_holidays(cls, value: list[str]) -> list[str]:
        for day in value:
            date.fromisoformat(day)  # ValueError names the bad date
        return value


class LineMessages(BaseModel):
    """Texts the line sends to clients. Unset ones are not sent, except ``no_answer`` and
    ``queued``, which have defaults because their timers are on by default."""

    welcome: str | None = Field(default=None, max_length=2000)
    after_hours: str | None = Field(default=None, max_length=2000)
    closing: str | None = Field(default=None, max_length=2000)
    auto_close: str | None = Field(default=None, max_length=2000)
    no_answer: str | None = Field(
        default="Thank you for waiting! All our operators are busy; we will answer as soon as "
        "we can.",
        max_length=2000,
    )
    # {position} is replaced by the client's place in the queue.
    queued: str | None = Field(
        default="All operators are busy right now. You are number {position} in the queue.",
        max_length=2000,
    )
    csat: str | None = Field(
        default="Please rate this conversation from 1 (bad) to 5 (excellent).", max_length=2000
    )


class LineCsat(BaseModel):
    enabled: bool = False


class LineCrm(BaseModel):
    create_lead: bool = True
    source: str | None = Field(default=None, max_length=200)
    deal_for_existing_contact: bool = False
    pipeline_id: str | None = Field(default=None, max_length=100)


class AnswerTimeoutAction(StrEnum):
    """Where an accepted conversation goes when its operator leaves the client unanswered for
    the line's ``answer_timeout_s``: offered to the next operator (not back to the same one),
    or back to the queue for anyone, the same operator included."""

    NEXT_OPERATOR = "next_operator"
    QUEUE = "queue"


class Prefer(StrEnum):
    """Whom a returning client is offered first (``LineRouting.prefer``)."""

    CRM_RESPONSIBLE = "crm_responsible"
    LAST_OPERATOR = "last_operator"


MAX_PREFER_WAIT_S = 3600


class LineRouting(BaseModel):
    """Sticky routing: a returning client is offered first to the responsible of their CRM
    contact or open deal, or to the operator who last served them, when that person is online
    with room; while they are not, the conversation waits for them up to ``prefer_wait_s``
    after it was queued (without holding up the rest of the queue), then goes the usual way."""

    model_config = ConfigDict(extra="forbid")

    prefer: Prefer | None = None
    prefer_wait_s: int = Field(default=30, ge=0, le=MAX_PREFER_WAIT_S)


class SlaKind(StrEnum):
    """The response-time clocks of a line (Bitrix24's KPI of first and further answers)."""

    FIRST_ANSWER = "first_answer"
    NEXT_ANSWER = "next_answer"
    RESOLVE = "resolve"


class LineSla(BaseModel):
    """A line's response-time targets; an unset one is not watched.

    ``first_answer_s``: from the client's first message to staff's first public answer;
    ``next_answer_s``: from a client's message that finds nobody waiting to answer (staff had
    answered before) to the next public answer; ``resolve_s``: from the first message to the
    close. With ``business_hours`` the clocks stand still outside the line's working hours.
    On a breach the line's supervisors and ``notify_user_ids`` hear ``sla:breached``."""

    model_config = ConfigDict(extra="forbid")

    first_answer_s: int | None = Field(default=None, ge=1, le=MAX_TIMER_S)
    next_answer_s: int | None = Field(default=None, ge=1, le=MAX_TIMER_S)
    resolve_s: int | None = Field(default=None, ge=1, le=MAX_TIMER_S)
    business_hours: bool = False
    notify_user_ids: list[str] = Field(default_factory=list, max_length=100)

    def seconds(self, kind: SlaKind) -> int | None:
        return {
            SlaKind.FIRST_ANSWER: self.first_answer_s,
            SlaKind.NEXT_ANSWER: self.next_answer_s,
            SlaKind.RESOLVE: self.resolve_s,
        }[kind]


class Line(Doc):
    name: str
    operators: list[str] = Field(default_factory=list)
    supervisors: list[str] = Field(default_factory=list)
    distribution: Distribution = Distribution.ROUND_ROBIN
    accept_timeout_s: Annotated[int, _within(1, MAX_ACCEPT_TIMEOUT_S)] = 60
    max_active_per_operator: Annotated[int, _within(0, MAX_ACTIVE_PER_OPERATOR)] = 5
    working_hours: WorkingHours | None = None
    messages: LineMessages = Field(default_factory=LineMessages)
    no_answer_after_s: TimerS | None = 60
    auto_close_after_s: TimerS | None = 86400
    # An accepted conversation whose client waits this long for the operator's answer moves on
    # (``answer_timeout_action``); unset: it stays. Not the accept timeout of an offer.
    answer_timeout_s: TimerS | None = None
    answer_timeout_action: AnswerTimeoutAction = AnswerTimeoutAction.NEXT_OPERATOR
    csat: LineCsat = Field(default_factory=LineCsat)
    crm: LineCrm = Field(default_factory=LineCrm)
    sla: LineSla = Field(default_factory=LineSla)
    routing: LineRouting = Field(default_factory=LineRouting)
    # Archived: its channels are switched off (no new conversations), it is left out of the
    # pickers, and it can be restored; see hub/api/lines.py.
    archived: bool = False
    created_at: datetime = Field(default_factory=utcnow)

    def staff_ids(self) -> set[str]:
        return set(self.operators) | set(self.supervisors)


class ChannelRecord(Doc):
    """A connected channel of a line. ``config`` holds secrets: never serialise it as is."""

    type: str
    line_id: str
    config: dict[str, Any]
    widget_key: str | None = None
    active: bool = True
    # Switched off because its line was archived: restoring the line switches it back on.
    paused_by_archive: bool = False
    deleted: bool = False
    created_at: datetime = Field(default_factory=utcnow)


class ClientInfo(BaseModel):
    id: str
    name: str | None = None
    email: str | None = None
    phone: str | None = None


class Client(Doc):
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    # Whether ``email`` / ``phone`` are proven to be this person's (the mail arrived from that
    # address; the site vouched for it) rather than typed into a form. Only proven ones may
    # join the person to a CRM contact: a typed address is a claim, not an identity.
    email_verified: bool = False
    phone_verified: bool = False
    # As the platform knows them (a Telegram @username, the app's language code).
    username: str | None = None
    language: str | None = None
    identities: list[dict[str, str]] = Field(default_factory=list)
    created_at: datetime = Field(default_factory=utcnow)

    def info(self) -> ClientInfo:
        return ClientInfo(id=self.id, name=self.name, email=self.email, phone=self.phone)


class ChannelRef(BaseModel):
    id: str
    type: str


class Participant(BaseModel):
    user_id: str
    hidden: bool = False


class CrmLinks(BaseModel):
    lead_id: str | None = None
    contact_id: str | None = None
    deal_id: str | None = None


class Author(BaseModel):
    type: AuthorType
    id: str | None = None
    name: str | None = None


class SystemNote(BaseModel):
    """What a system note to the staff says, as a code and its parameters (names): the console
    renders it in its own language; the message's ``text`` is the English (docs/i18n.md)."""

    code: str
    params: dict[str, str] = Field(default_factory=dict)


class Attachment(BaseModel):
    id: str
    name: str
    mime: str
    size: int
    url: str | None = None
    # An image's size in pixels as shown (EXIF rotation applied), when the hub could read it:
    # threads reserve its room before it loads, so the newest message stays in view.
    width: int | None = None
    height: int | None = None


class Csat(_Part):
    """The client's rating of a closed conversation: asked for, given, or no longer awaited."""

    status: CsatStatus
    requested_at: datetime | None = None
    rating: int | None = None
    comment: str | None = None
    submitted_at: datetime | None = None


class ConversationSla(BaseModel):
    """Where a conversation's response-time clocks stand: the due time of each running one
    (None: not running) and the kinds already breached (each fires once)."""

    first_answer_due_at: datetime | None = None
    next_answer_due_at: datetime | None = None
    resolve_due_at: datetime | None = None
    breached: list[SlaKind] = Field(default_factory=list)

    def due(self, kind: SlaKind) -> datetime | None:
        at: datetime | None = getattr(self, f"{kind.value}_due_at")
        return at


class Transfer(_Part):
    """A transfer to one operator waiting for their accept (``from``/``to`` on the wire)."""

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    from_user_id: str = Field(alias="from")
    to_user_id: str = Field(alias="to")
    # Whom a cancel gives the conversation back to (its assignee before the transfer), and
    # when the transfer began (how long the receiver's client has waited since).
    back_to: str | None = None
    at: datetime | None = None


class LastMessage(_Part):
    """The preview people scan in conversation lists."""

    id: str
    direction: Direction
    author: Author
    text: str = ""
    created_at: datetime | None = None


class ClientUnreachable(_Part):
    """The platform refused delivery for good (bot blocked, address bouncing)."""

    reason: str
    at: datetime | None = None


class Message(Doc):
    conversation_id: str
    seq: int
    channel_id: str
    # Unique per channel: the platform's message id, or our own dedupe key when it has none.
    external_id: str
    direction: Direction
    author: Author
    text: str = ""
    attachments: list[Attachment] = Field(default_factory=list)
    hidden: bool = False
    status: MessageStatus = MessageStatus.SENT
    status_reason: str | None = None
    client_msg_id: str | None = None
    purpose: MessagePurpose = MessagePurpose.TEXT
    edited: bool = False
    # The message this one replies to (the client quoted it on their platform).
    reply_to: str | None = None
    # A system note's code and parameters (``text`` is their English rendering).
    system: SystemNote | None = None
    # As the platform sent it, where the text shown was cut from more (an e-mail's MIME
    # source: quotes, signature, HTML); staff download it, clients never see it.
    original: Attachment | None = None
    created_at: datetime = Field(default_factory=utcnow)


class Conversation(Doc):
    line_id: str
    channel: ChannelRef
    # The platform chat this conversation lives in (Telegram chat id, visitor id, mail thread).
    chat_id: str
    client: ClientInfo
    status: ConversationStatus = ConversationStatus.QUEUED
    assignee_id: str | None = None
    participants: list[Participant] = Field(default_factory=list)
    offered_to: list[str] = Field(default_factory=list)
    offer_expires_at: datetime | None = None
    # Operators who let an offer of this conversation time out (skipped on the next round).
    offer_history: list[str] = Field(default_factory=list)
    # Set while a transfer to one operator waits for their accept: {"from": id, "to": id}.
    transfer: Transfer | None = None
    # The capacity slot (``operator_load`` id) the assignee holds for this conversation.
    load_key: str | None = None
    pinned: bool = False
    crm: CrmLinks = Field(default_factory=CrmLinks)
    last_message: LastMessage | None = None
    last_seq: int = 0
    unread: int = 0
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    # Raised by every write that staff hear of: the copy with the higher ``rev`` is the newer
    # (clocks cannot tell, as concurrent writes land in another order than they were stamped).
    rev: int = 0
    queued_at: datetime | None = Field(default_factory=utcnow)
    first_response_at: datetime | None = None
    closed_at: datetime | None = None
    close_reason: str | None = None
    csat: Csat | None = None
    # Set when the platform refused delivery for good (bot blocked, address bouncing).
    client_unreachable: ClientUnreachable | None = None
    after_hours_until: datetime | None = None
    # Where the client came from (a Telegram ``/start`` payload, a campaign tag).
    source: str | None = None
    # When the assignee's answer timeout runs out (``Line.answer_timeout_s``): set while the
    # client of an accepted conversation waits for the operator.
    answer_due_at: datetime | None = None
    # The line's response-time clocks (``LineSla``): all None while none runs.
    sla: ConversationSla = Field(default_factory=ConversationSla)

    def staff_ids(self) -> set[str]:
        """Users who take part: the assignee and every participant, hidden ones included."""
        ids = {p.user_id for p in self.participants}
        if self.assignee_id:
            ids.add(self.assignee_id)
        return ids

    def watcher_ids(self) -> set[str]:
        """Staff who follow it: those who take part, and the sender of a pending transfer
        (they see it until it is accepted, and may cancel it)."""
        ids = self.staff_ids()
        if self.transfer is not None:
            ids.add(self.transfer.from_user_id)
        return ids

    def visible_participant(self, user_id: str) -> bool:
        if user_id == self.assignee_id:
            return True
        return any(p.user_id == user_id and not p.hidden for p in self.participants)


# --- what channels hand to the hub and take from it -------------------------------------


class Sender(BaseModel):
    """Who wrote, as the platform knows them."""

    external_id: str
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    username: str | None = None
    language: str | None = None
    # The channel proves these (an e-mail's From address, a site's signed identity).
    email_verified: bool = False
    phone_verified: bool = False


class Inbound(BaseModel):
    """One platform message, normalised by its channel adapter."""

    channel_id: str
    chat_id: str
    external_id: str
    sender: Sender
    text: str = ""
    attachments: list[Attachment] = Field(default_factory=list)
    sent_at: datetime | None = None
    # The platform id (``external_id``) of the message this one quotes.
    reply_to_external_id: str | None = None
    # Recorded as the conversation's ``source`` when this message opens it.
    source: str | None = None
    # The message exactly as the platform sent it (an e-mail's MIME source), for staff.
    original: Attachment | None = None


class Outbound(BaseModel):
    """One message to deliver on a channel (never a hidden one)."""

    message_id: str
    conversation_id: str
    seq: int
    chat_id: str
    text: str
    attachments: list[Attachment] = Field(default_factory=list)
    author: Author
    direction: Direction = Direction.OUT
    purpose: MessagePurpose = MessagePurpose.TEXT
    created_at: datetime


class Receipt(BaseModel):
    """What a channel reports after a successful send."""

    platform_message_id: str | None = None
