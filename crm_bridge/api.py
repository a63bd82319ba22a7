"""REST of the CRM (API.md, CRM): ``/api/v1/crm/*``, deals from conversations, writing to a
contact, and the outgoing webhooks (admin)."""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, HttpUrl, ValidationError, field_validator

from crm_bridge.bridge import CRM
from crm_bridge.documents import merged, validated
from crm_bridge.models import (
    MAX_ADDRESSES,
    MAX_EMAIL,
    MAX_NAME,
    MAX_PHONE,
    MAX_STAGE_NAME,
    MAX_STAGES,
    MAX_TEXT,
    Amount,
    Company,
    Contact,
    Currency,
    Deal,
    Entity,
    Lead,
    LeadStatus,
    Pipeline,
    RefId,
    Stage,
    StageSemantic,
    Title,
    Webhook,
    WebhookEvent,
    ref,
)
from crm_bridge.normalize import normalize_emails, normalize_phones
from crm_bridge.service import EDITORS, Crm
from hub.access import ensure_may_see
from hub.api.common import caller, hub_of
from hub.errors import Conflict, Forbidden, NotFound, ValidationFailed
from hub.http import json_response, read_json
from hub.models import Doc, Role, User, new_id
from hub.netguard import ensure_public_url
from hub.realtime import conversation_view, message_view
from hub.validation import error_details

routes = web.RouteTableDef()


def _crm(request: web.Request) -> Crm:
    return request.app[CRM].crm


def _entity(request: web.Request) -> Entity:
    try:
        return Entity(request.match_info["entity"])
    except ValueError:
        raise NotFound("no such CRM entity") from None


async def _record(
    request: web.Request, entity: Entity, *, edit: bool = False
) -> tuple[User, Crm, Any]:
    """The caller, the CRM and the record of the path, once the caller may read it (and edit
    it, with ``edit``)."""
    user = await caller(request)
    crm = _crm(request)
    record = await crm.load(entity, request.match_info["record_id"])
    await crm.ensure_may_read(user, record)
    if edit:
        await crm.ensure_may_edit(user, record)
    return user, crm, record


# --- bodies ----------------------------------------------------------------------------------


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


class LeadPatch(_People):
    # ``None`` passes here and fails the whole-record check where the record needs a value.
    title: Title | None = None
    name: Name | None = None
    source: Name | None = None
    responsible_id: RefId | None = None
    status: LeadStatus | None = None

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


class ContactPatch(_People):
    name: Annotated[str, Field(min_length=1, max_length=MAX_NAME)] | None = None
    company_id: RefId | None = None
    responsible_id: RefId | None = None


class CompanyIn(_People):
    title: Title
    responsible_id: RefId | None = None


class CompanyPatch(_People):
    title: Title | None = None
    responsible_id: RefId | None = None


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


class DealPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title | None = None
    stage: RefId | None = None
    amount: Amount | None = None
    currency: Currency | None = None
    contact_id: RefId | None = None
    company_id: RefId | None = None
    responsible_id: RefId | None = None


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
}

_CREATE: dict[Entity, type[BaseModel]] = {
    Entity.LEADS: LeadIn,
    Entity.CONTACTS: ContactIn,
    Entity.COMPANIES: CompanyIn,
    Entity.DEALS: DealIn,
}
_PATCH: dict[Entity, type[BaseModel]] = {
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


_LIST_FILTERS = {
    Entity.LEADS: ("status", "source", "responsible_id"),
    Entity.CONTACTS: ("responsible_id", "company_id"),
    Entity.COMPANIES: ("responsible_id",),
    Entity.DEALS: ("pipeline_id", "stage", "contact_id", "company_id", "responsible_id"),
}


async def _check_users(request: web.Request, *user_ids: str | None) -> None:
    wanted = [u for u in user_ids if u]
    if not wanted:
        return
    if not await _crm(request).hub.users_exist(wanted):
        raise ValidationFailed("unknown responsible user", code="unknown_user")


async def _check_refs(crm: Crm, contact_id: str | None, company_id: str | None) -> None:
    if contact_id and not await crm.store.exists(Entity.CONTACTS, contact_id):
        raise ValidationFailed("no such contact", code="unknown_contact")
    if company_id and not await crm.store.exists(Entity.COMPANIES, company_id):
        raise ValidationFailed("no such company", code="unknown_company")


# --- records ---------------------------------------------------------------------------------


def _list_query(request: web.Request, entity: Entity) -> ListQuery:
    """The list's parameters that apply to ``entity`` (others are ignored), bounded."""
    names = ("q", "limit", "cursor", *_LIST_FILTERS[entity])
    try:
        return ListQuery.model_validate(
            {name: request.query[name] for name in names if request.query.get(name)}
        )
    except ValidationError as exc:
        raise ValidationFailed(
            "invalid query parameters", code="invalid_query", details=error_details(exc)
        ) from None


@routes.get("/api/v1/crm/{entity:leads|contacts|companies|deals}")
async def list_records(request: web.Request) -> web.Response:
    user = await caller(request)
    entity = _entity(request)
    crm = _crm(request)
    params = _list_query(request, entity)
    where: dict[str, object] = {
        name: value
        for name in _LIST_FILTERS[entity]
        if (value := getattr(params, name)) is not None
    }
    if params.responsible_id == "me":
        where["responsible_id"] = user.id
    records, next_cursor = await crm.store.page(
        entity,
        where,
        q=params.q,
        conversation_ids=await crm.visible_conversation_ids(user),
        before_id=params.cursor,
        limit=params.limit,
    )
    return json_response(
        {entity.value: [r.model_dump(mode="json") for r in records], "next_cursor": next_cursor}
    )


@routes.post("/api/v1/crm/{entity:leads|contacts|companies|deals}")
async def create_record(request: web.Request) -> web.Response:
    user = await caller(request, *EDITORS)
    entity = _entity(request)
    crm = _crm(request)
    body = await read_json(request, _CREATE[entity])
    data = body.model_dump(exclude_none=True)
    await _check_users(request, data.get("responsible_id"))
    record: Doc
    if isinstance(body, DealIn):
        await _check_refs(crm, body.contact_id, body.company_id)
        pipeline = await crm.pipeline(body.pipeline_id)
        stage = body.stage or pipeline.stages[0].id
        if pipeline.stage(stage) is None:
            raise ValidationFailed("no such stage in the pipeline", code="unknown_stage")
        data.update(pipeline_id=pipeline.id, stage=stage)
        data.setdefault("responsible_id", user.id)
        record = validated(Deal, data)
    elif isinstance(body, ContactIn):
        await _check_refs(crm, None, body.company_id)
        data.setdefault("responsible_id", user.id)
        record = validated(Contact, data)
    elif isinstance(body, CompanyIn):
        record = validated(Company, data)
    else:
        data.setdefault("responsible_id", user.id)
        record = validated(Lead, data)
    await crm.insert(entity, record, actor_id=user.id)
    return json_response(record.model_dump(mode="json"), status=201)


@routes.get("/api/v1/crm/{entity:leads|contacts|companies|deals}/{record_id}")
async def get_record(request: web.Request) -> web.Response:
    _, _, record = await _record(request, _entity(request))
    return json_response(record.model_dump(mode="json"))


@routes.patch("/api/v1/crm/{entity:leads|contacts|companies|deals}/{record_id}")
async def patch_record(request: web.Request) -> web.Response:
    entity = _entity(request)
    user, crm, record = await _record(request, entity, edit=True)
    body = await read_json(request, _PATCH[entity])
    changes = body.model_dump(exclude_unset=True)
    await _check_users(request, changes.get("responsible_id"))
    await _check_refs(crm, changes.get("contact_id"), changes.get("company_id"))
    if isinstance(record, Lead) and record.status == LeadStatus.CONVERTED and "status" in changes:
        raise Conflict("a converted lead keeps its status", code="lead_closed")
    stage = changes.pop("stage", None)
    # The record as it will be, checked whole before anything moves: a 422 names the field.
    merged(record, changes)
    if isinstance(record, Deal) and stage is not None:
        record = await crm.move_deal(record, stage, user)
    if changes:
        record = await crm.update(entity, record.id, changes)
        await crm.activity(
            "updated",
            [ref(entity, record.id)],
            data={"fields": sorted(changes)},
            actor_id=user.id,
        )
    return json_response(record.model_dump(mode="json"))


@routes.post("/api/v1/crm/leads/{record_id}/convert")
async def convert_lead(request: web.Request) -> web.Response:
    user, crm, lead = await _record(request, Entity.LEADS)
    if user.role not in EDITORS:
        raise Forbidden("only managers convert leads")
    body = await read_json(request, ConvertIn)
    result = await crm.convert(
        lead,
        contact=body.contact,
        company_title=body.company.title if body.company else None,
        deal=body.deal.model_dump() if body.deal else None,
        actor=user,
    )
    return json_response(result, status=201)


@routes.get("/api/v1/crm/{entity:leads|contacts|companies|deals}/{record_id}/timeline")
async def timeline(request: web.Request) -> web.Response:
    entity = _entity(request)
    user, crm, record = await _record(request, entity)
    return json_response(await crm.timeline(entity, record, user))


@routes.post("/api/v1/crm/{entity:leads|contacts|companies|deals}/{record_id}/notes")
async def add_note(request: web.Request) -> web.Response:
    entity = _entity(request)
    user, crm, record = await _record(request, entity, edit=True)
    body = await read_json(request, NoteIn)
    note = await crm.activity("note", [ref(entity, record.id)], text=body.text, actor_id=user.id)
    return json_response(note.model_dump(mode="json"), status=201)


@routes.post("/api/v1/crm/contacts/{record_id}/messages")
async def write_to_contact(request: web.Request) -> web.Response:
    user, crm, contact = await _record(request, Entity.CONTACTS, edit=True)
    body = await read_json(request, ContactMessageIn)
    appended = await crm.write_to_contact(contact, body.text, body.channel_id, user)
    return json_response(
        {
            # As every other route shows them: no internal fields (chat ids, dedupe keys).
            "conversation": conversation_view(appended.conversation),
            "message": message_view(appended.message),
        },
        status=201,
    )


@routes.post("/api/v1/conversations/{conversation_id}/deal")
async def deal_from_conversation(request: web.Request) -> web.Response:
    user = await caller(request)
    crm = _crm(request)
    conversation = await crm.hub.conversation(request.match_info["conversation_id"])
    line = await crm.hub.line(conversation.line_id)
    ensure_may_see(user, conversation, line)
    if user.role == Role.SUPERVISOR:
        raise Forbidden("supervisors read CRM data; managers and operators start deals")
    body = await read_json(request, ConversationDealIn)
    deal = await crm.deal_from_conversation(
        conversation,
        title=body.title,
        pipeline_id=body.pipeline_id,
        amount=body.amount,
        currency=body.currency,
        actor=user,
    )
    return json_response(deal.model_dump(mode="json"), status=201)


# --- pipelines -------------------------------------------------------------------------------


def _stages(body: list[StageIn], existing: Pipeline | None) -> list[Stage]:
    stages: list[Stage] = []
    for stage in body:
        if stage.id and (existing is None or existing.stage(stage.id) is None):
            raise ValidationFailed(f"no stage {stage.id!r} to rename", code="unknown_stage")
        stages.append(Stage(id=stage.id or new_id(), name=stage.name, semantic=stage.semantic))
    if stages[0].semantic != StageSemantic.OPEN:
        raise ValidationFailed("the first stage must be an open one", code="invalid_stages")
    return stages


@routes.get("/api/v1/crm/pipelines")
async def list_pipelines(request: web.Request) -> web.Response:
    await caller(request)
    crm = _crm(request)
    pipelines = await crm.store.pipelines()
    return json_response({"pipelines": [p.model_dump(mode="json") for p in pipelines]})


@routes.post("/api/v1/crm/pipelines")
async def create_pipeline(request: web.Request) -> web.Response:
    await caller(request, Role.ADMIN)
    body = await read_json(request, PipelineIn)
    pipeline = validated(Pipeline, {"name": body.name, "stages": _stages(body.stages, None)})
    await _crm(request).store.insert_pipeline(pipeline)
    return json_response(pipeline.model_dump(mode="json"), status=201)


@routes.get("/api/v1/crm/pipelines/{pipeline_id}")
async def get_pipeline(request: web.Request) -> web.Response:
    await caller(request)
    found = await _crm(request).store.pipeline(request.match_info["pipeline_id"])
    if found is None:
        raise NotFound("no such pipeline")
    return json_response(found[0].model_dump(mode="json"))


@routes.patch("/api/v1/crm/pipelines/{pipeline_id}")
async def patch_pipeline(request: web.Request) -> web.Response:
    await caller(request, Role.ADMIN)
    crm = _crm(request)
    found = await crm.store.pipeline(request.match_info["pipeline_id"])
    if found is None:
        raise NotFound("no such pipeline")
    pipeline, intact = found
    body = await read_json(request, PipelinePatch)
    changes: dict[str, Any] = {}
    if "name" in body.model_fields_set:
        changes["name"] = body.name
    if "stages" in body.model_fields_set:
        stages = _stages(body.stages, pipeline) if body.stages is not None else None
        dropped = {s.id for s in pipeline.stages} - {s.id for s in stages} if stages else set()
        if dropped and await crm.store.deals_in_stages(pipeline.id, dropped):
            raise Conflict("deals are still in the stages to remove", code="stage_in_use")
        changes["stages"] = stages
    # The pipeline as it will be, validated whole (422 naming the field, nothing written).
    stored = merged(pipeline, changes).to_doc()
    stored.pop("_id")
    if changes or not intact:
        fields = stored if not intact else {name: stored[name] for name in changes}
        await crm.store.set_pipeline(pipeline.id, fields)
    updated = await crm.pipeline(pipeline.id)
    return json_response(updated.model_dump(mode="json"))


# --- outgoing webhooks (admin) ---------------------------------------------------------------


def _webhook_view(hook: Webhook, *, secret: bool = False) -> dict[str, Any]:
    view = hook.model_dump(mode="json")
    if secret:
        view["secret"] = hook.secret
    return view


@routes.get("/api/v1/webhooks")
async def list_webhooks(request: web.Request) -> web.Response:
    await caller(request, Role.ADMIN)
    hooks = await _crm(request).store.webhooks()
    return json_response({"webhooks": [_webhook_view(h) for h in hooks]})


@routes.post("/api/v1/webhooks")
async def create_webhook(request: web.Request) -> web.Response:
    user: User = await caller(request, Role.ADMIN)
    body = await read_json(request, WebhookIn)
    # Public addresses only (SSRF): a 422 now; deliveries are checked again (webhooks.py).
    await ensure_public_url(
        str(body.url), allow_private=hub_of(request).settings.allow_private_urls
    )
    hook = validated(
        Webhook,
        {
            "url": str(body.url),
            "events": sorted(set(body.events)),
            "secret": body.secret or secrets.token_urlsafe(32),
            "created_by": user.id,
        },
    )
    await _crm(request).store.insert_webhook(hook)
    # The secret is shown once, at creation, so the receiver can verify signatures.
    return json_response(_webhook_view(hook, secret=True), status=201)


@routes.delete("/api/v1/webhooks/{webhook_id}")
async def delete_webhook(request: web.Request) -> web.Response:
    await caller(request, Role.ADMIN)
    if not await _crm(request).store.delete_webhook(request.match_info["webhook_id"]):
        raise NotFound("no such webhook")
    return web.Response(status=204)
