"""REST of the CRM (API.md, CRM): ``/api/v1/crm/*``, deals from conversations, writing to a
contact, and the outgoing webhooks (admin)."""

from __future__ import annotations

import secrets
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from crm_bridge.access import EDITORS
from crm_bridge.bodies import (
    BODY_MODELS,
    CREATE_BODIES,
    LIST_FILTERS,
    PATCH_BODIES,
    CompanyIn,
    ContactIn,
    ContactMessageIn,
    ConversationDealIn,
    ConvertIn,
    DealIn,
    ListQuery,
    NoteIn,
    PipelineIn,
    PipelinePatch,
    StageIn,
    WebhookIn,
    WebhookPatch,
)
from crm_bridge.bridge import CRM, CrmBridge
from crm_bridge.conversion import DealTerms
from crm_bridge.documents import merged, validated
from crm_bridge.models import (
    Company,
    Contact,
    Deal,
    Entity,
    Lead,
    LeadStatus,
    Pipeline,
    Stage,
    StageSemantic,
    Webhook,
    ref,
)
from crm_bridge.storage import WebhookGone
from hub.access import ensure_may_see
from hub.api.common import caller, hub_of
from hub.errors import Conflict, Forbidden, NotFound, ValidationFailed
from hub.http import json_response, read_json
from hub.models import Doc, Role, User, new_id
from hub.netguard import ensure_public_url
from hub.realtime import conversation_view, message_view
from hub.validation import error_details

routes = web.RouteTableDef()
M = TypeVar("M", bound=BaseModel)


def _crm(request: web.Request) -> CrmBridge:
    return request.app[CRM]


def _entity(request: web.Request) -> Entity:
    try:
        return Entity(request.match_info["entity"])
    except ValueError:
        raise NotFound("no such CRM entity") from None


async def _record(
    request: web.Request, entity: Entity, *, edit: bool = False
) -> tuple[User, CrmBridge, Any]:
    """The caller, the CRM and the record of the path, once the caller may read it (and edit
    it, with ``edit``)."""
    user = await caller(request)
    crm = _crm(request)
    record = await crm.records.load(entity, request.match_info["record_id"])
    await crm.access.ensure_may_read(user, record)
    if edit:
        await crm.access.ensure_may_edit(user, record)
    return user, crm, record


async def _check_users(request: web.Request, *user_ids: str | None) -> None:
    wanted = [u for u in user_ids if u]
    if not wanted:
        return
    if not await _crm(request).hub.users_exist(wanted):
        raise ValidationFailed("unknown responsible user", code="unknown_user")


async def _check_refs(crm: CrmBridge, contact_id: str | None, company_id: str | None) -> None:
    if contact_id and not await crm.storage.exists(Entity.CONTACTS, contact_id):
        raise ValidationFailed("no such contact", code="unknown_contact")
    if company_id and not await crm.storage.exists(Entity.COMPANIES, company_id):
        raise ValidationFailed("no such company", code="unknown_company")


# --- records ---------------------------------------------------------------------------------


def _list_query(request: web.Request, entity: Entity) -> ListQuery:
    """The list's parameters that apply to ``entity`` (others are ignored), bounded."""
    names = ("q", "limit", "cursor", *LIST_FILTERS[entity])
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
        for name in LIST_FILTERS[entity]
        if (value := getattr(params, name)) is not None
    }
    if params.responsible_id == "me":
        where["responsible_id"] = user.id
    records, next_cursor = await crm.storage.page(
        entity,
        where,
        q=params.q,
        conversation_ids=await crm.access.visible_conversation_ids(user),
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
    body = await read_json(request, CREATE_BODIES[entity])
    data = body.model_dump(exclude_none=True)
    await _check_users(request, data.get("responsible_id"))
    record: Doc
    if isinstance(body, DealIn):
        await _check_refs(crm, body.contact_id, body.company_id)
        pipeline = await crm.records.pipeline(body.pipeline_id)
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
    await crm.records.insert(entity, record, actor_id=user.id)
    return json_response(record.model_dump(mode="json"), status=201)


@routes.get("/api/v1/crm/{entity:leads|contacts|companies|deals}/{record_id}")
async def get_record(request: web.Request) -> web.Response:
    _, _, record = await _record(request, _entity(request))
    return json_response(record.model_dump(mode="json"))


@routes.patch("/api/v1/crm/{entity:leads|contacts|companies|deals}/{record_id}")
async def patch_record(request: web.Request) -> web.Response:
    entity = _entity(request)
    user, crm, record = await _record(request, entity, edit=True)
    body = await read_json(request, PATCH_BODIES[entity])
    changes = body.model_dump(exclude_unset=True)
    await _check_users(request, changes.get("responsible_id"))
    await _check_refs(crm, changes.get("contact_id"), changes.get("company_id"))
    if isinstance(record, Lead) and record.status == LeadStatus.CONVERTED and "status" in changes:
        raise Conflict("a converted lead keeps its status", code="lead_closed")
    stage = changes.pop("stage", None)
    pipeline_id = changes.pop("pipeline_id", None)
    # The record as it will be, checked whole before anything moves: a 422 names the field.
    merged(record, changes)
    if isinstance(record, Deal) and (stage is not None or pipeline_id is not None):
        record = await crm.deals.move(record, stage, user, pipeline_id)
    if changes:
        record = await crm.records.update(entity, record.id, changes)
        await crm.timeline.add(
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
    result = await crm.conversion.convert(
        lead,
        contact=body.contact,
        company_title=body.company.title if body.company else None,
        deal=DealTerms(**body.deal.model_dump()) if body.deal else None,
        actor=user,
    )
    return json_response(result, status=201)


@routes.get("/api/v1/crm/{entity:leads|contacts|companies|deals}/{record_id}/timeline")
async def timeline(request: web.Request) -> web.Response:
    entity = _entity(request)
    user, crm, record = await _record(request, entity)
    return json_response(await crm.timeline.of(entity, record, user))


@routes.post("/api/v1/crm/{entity:leads|contacts|companies|deals}/{record_id}/notes")
async def add_note(request: web.Request) -> web.Response:
    entity = _entity(request)
    user, crm, record = await _record(request, entity, edit=True)
    body = await read_json(request, NoteIn)
    note = await crm.timeline.add(
        "note", [ref(entity, record.id)], text=body.text, actor_id=user.id
    )
    return json_response(note.model_dump(mode="json"), status=201)


@routes.post("/api/v1/crm/contacts/{record_id}/messages")
async def write_to_contact(request: web.Request) -> web.Response:
    user, crm, contact = await _record(request, Entity.CONTACTS, edit=True)
    body = await read_json(request, ContactMessageIn)
    appended = await crm.contacting.write(contact, body.text, body.channel_id, user)
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
    deal = await crm.deals.from_conversation(
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
    """The stages in the order given: those with an id keep it (renamed, recoloured, moved),
    those without are new."""
    stages: list[Stage] = []
    given = [stage.id for stage in body if stage.id]
    if len(given) != len(set(given)):
        raise ValidationFailed("a stage is listed twice", code="invalid_stages")
    for stage in body:
        if stage.id and (existing is None or existing.stage(stage.id) is None):
            raise ValidationFailed(f"no stage {stage.id!r} to rename", code="unknown_stage")
        kept = existing.stage(stage.id) if existing and stage.id else None
        # A client that does not know colours keeps them: only a given "color" changes one.
        color = stage.color if "color" in stage.model_fields_set or kept is None else kept.color
        stages.append(
            Stage(id=stage.id or new_id(), name=stage.name, semantic=stage.semantic, color=color)
        )
    if stages[0].semantic != StageSemantic.OPEN:
        raise ValidationFailed("the first stage must be an open one", code="invalid_stages")
    return stages


@routes.get("/api/v1/crm/pipelines")
async def list_pipelines(request: web.Request) -> web.Response:
    await caller(request)
    crm = _crm(request)
    pipelines = await crm.storage.pipelines()
    return json_response({"pipelines": [p.model_dump(mode="json") for p in pipelines]})


@routes.post("/api/v1/crm/pipelines")
async def create_pipeline(request: web.Request) -> web.Response:
    await caller(request, Role.ADMIN)
    body = await read_json(request, PipelineIn)
    pipeline = validated(Pipeline, {"name": body.name, "stages": _stages(body.stages, None)})
    await _crm(request).storage.insert_pipeline(pipeline)
    return json_response(pipeline.model_dump(mode="json"), status=201)


@routes.get("/api/v1/crm/pipelines/{pipeline_id}")
async def get_pipeline(request: web.Request) -> web.Response:
    await caller(request)
    found = await _crm(request).storage.pipeline(request.match_info["pipeline_id"])
    if found is None:
        raise NotFound("no such pipeline")
    return json_response(found[0].model_dump(mode="json"))


@routes.patch("/api/v1/crm/pipelines/{pipeline_id}")
async def patch_pipeline(request: web.Request) -> web.Response:
    await caller(request, Role.ADMIN)
    crm = _crm(request)
    found = await crm.storage.pipeline(request.match_info["pipeline_id"])
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
        if dropped and (count := await crm.storage.deals_in_stages(pipeline.id, dropped)):
            raise Conflict(
                f"{count} deal(s) are still in the stages to remove: move them first",
                code="stage_in_use",
                details={"deals": count, "stages": sorted(dropped)},
            )
        changes["stages"] = stages
    # The pipeline as it will be, validated whole (422 naming the field, nothing written).
    stored = merged(pipeline, changes).to_doc()
    stored.pop("_id")
    if changes or not intact:
        fields = stored if not intact else {name: stored[name] for name in changes}
        await crm.storage.set_pipeline(pipeline.id, fields)
    # A stage that became won, lost or open again takes its deals with it.
    for stage in changes.get("stages") or ():
        old = pipeline.stage(stage.id)
        if old is not None and old.semantic != stage.semantic:
            closed = stage.semantic != StageSemantic.OPEN
            won = (stage.semantic == StageSemantic.WON) if closed else None
            await crm.storage.close_deals_in_stage(pipeline.id, stage.id, closed, won)
    updated = await crm.records.pipeline(pipeline.id)
    return json_response(updated.model_dump(mode="json"))


@routes.delete("/api/v1/crm/pipelines/{pipeline_id}")
async def delete_pipeline(request: web.Request) -> web.Response:
    """Refused (409) for the default pipeline (deals from conversations start there) and for
    one that still has deals: they are moved to another pipeline first, never lost."""
    await caller(request, Role.ADMIN)
    crm = _crm(request)
    found = await crm.storage.pipeline(request.match_info["pipeline_id"])
    if found is None:
        raise NotFound("no such pipeline")
    pipeline = found[0]
    if pipeline.is_default:
        raise Conflict("the default pipeline cannot be deleted", code="default_pipeline")
    if count := await crm.storage.deals_in_pipeline(pipeline.id):
        raise Conflict(
            f"{count} deal(s) are still in this pipeline: move them first",
            code="pipeline_in_use",
            details={"deals": count},
        )
    await crm.storage.delete_pipeline(pipeline.id)
    return web.Response(status=204)


# --- outgoing webhooks (admin) ---------------------------------------------------------------


def _webhook_view(hook: Webhook, *, secret: bool = False) -> dict[str, Any]:
    view = hook.model_dump(mode="json")
    if secret:
        view["secret"] = hook.secret
    return view


@routes.get("/api/v1/webhooks")
async def list_webhooks(request: web.Request) -> web.Response:
    await caller(request, Role.ADMIN)
    hooks = await _crm(request).storage.webhooks()
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
            "active": body.active,
            "created_by": user.id,
        },
    )
    await _crm(request).storage.insert_webhook(hook)
    # The secret is shown once, at creation, so the receiver can verify signatures.
    return json_response(_webhook_view(hook, secret=True), status=201)


@routes.patch("/api/v1/webhooks/{webhook_id}")
async def patch_webhook(request: web.Request) -> web.Response:
    """Change a webhook's URL, events or whether it is active; never its secret, which is
    not in the answer either."""
    await caller(request, Role.ADMIN)
    crm = _crm(request)
    hook = await crm.storage.webhook(request.match_info["webhook_id"])
    if isinstance(hook, WebhookGone):
        raise NotFound("no such webhook")
    body = await read_json(request, WebhookPatch)
    changes: dict[str, Any] = {}
    if body.url is not None:
        await ensure_public_url(
            str(body.url), allow_private=hub_of(request).settings.allow_private_urls
        )
        changes["url"] = str(body.url)
    if body.events is not None:
        changes["events"] = sorted(set(body.events))
    if body.active is not None:
        changes["active"] = body.active
    updated = merged(hook, changes)
    if changes:
        stored = updated.to_doc()
        await crm.storage.set_webhook(hook.id, {name: stored[name] for name in changes})
    return json_response(_webhook_view(updated))


@routes.delete("/api/v1/webhooks/{webhook_id}")
async def delete_webhook(request: web.Request) -> web.Response:
    await caller(request, Role.ADMIN)
    if not await _crm(request).storage.delete_webhook(request.match_info["webhook_id"]):
        raise NotFound("no such webhook")
    return web.Response(status=204)


__all__ = ["BODY_MODELS", "routes"]
