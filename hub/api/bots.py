"""Bots (``/api/v1/bots``): admins write them, every staff member reads them. A bot may only
transfer to lines and send forms that exist (``unknown_line``, ``unknown_form``)."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel, ConfigDict

from hub.api.common import caller, hub_of
from hub.bots import Bot, BotIn
from hub.errors import NotFound, ValidationFailed
from hub.http import json_response, read_json
from hub.models import Role, to_millis, utcnow
from hub.services import Hub
from hub.validation import parse_model

__all__ = ["BotIn", "routes"]

routes = web.RouteTableDef()


class BotPatch(BaseModel):
    """Any subset of a bot's fields; validated as a whole after merging."""

    model_config = ConfigDict(extra="allow")


async def _check_refs(hub: Hub, body: BotIn) -> None:
    lines = body.line_ids()
    missing_lines = sorted(lines - {line.id for line in await hub.store.lines.all()})
    if missing_lines:
        raise ValidationFailed(
            "the bot transfers to no such line",
            code="unknown_line",
            details={"line_ids": missing_lines},
        )
    forms = body.form_ids()
    missing_forms = sorted(forms - await hub.store.forms.existing(forms))
    if missing_forms:
        raise ValidationFailed(
            "the bot sends no such form", code="unknown_form", details={"form_ids": missing_forms}
        )


async def _load(request: web.Request) -> Bot:
    bot = await hub_of(request).store.bots.get(request.match_info["bot_id"])
    if bot is None:
        raise NotFound("no such bot")
    return bot


@routes.post("/api/v1/bots")
async def create_bot(request: web.Request) -> web.Response:
    await caller(request, Role.ADMIN)
    body = await read_json(request, BotIn)
    hub = hub_of(request)
    await _check_refs(hub, body)
    bot = Bot(**body.model_dump(), created_at=to_millis(utcnow()))
    await hub.store.bots.insert(bot)
    return json_response(bot.model_dump(mode="json"), status=201)


@routes.get("/api/v1/bots")
async def list_bots(request: web.Request) -> web.Response:
    await caller(request)
    bots = await hub_of(request).store.bots.all()
    return json_response({"bots": [b.model_dump(mode="json") for b in bots]})


@routes.get("/api/v1/bots/{bot_id}")
async def get_bot(request: web.Request) -> web.Response:
    await caller(request)
    return json_response((await _load(request)).model_dump(mode="json"))


@routes.patch("/api/v1/bots/{bot_id}")
async def patch_bot(request: web.Request) -> web.Response:
    await caller(request, Role.ADMIN)
    bot = await _load(request)
    patch = await read_json(request, BotPatch)
    current = bot.model_dump(mode="json", include={"name", "nodes"})
    body = parse_model(BotIn, {**current, **patch.model_dump(exclude_unset=True)})
    hub = hub_of(request)
    await _check_refs(hub, body)
    updated = Bot(
        id=bot.id, created_at=bot.created_at, updated_at=to_millis(utcnow()), **body.model_dump()
    )
    if not await hub.store.bots.replace(updated):
        raise NotFound("no such bot")
    return json_response(updated.model_dump(mode="json"))


@routes.delete("/api/v1/bots/{bot_id}")
async def delete_bot(request: web.Request) -> web.Response:
    await caller(request, Role.ADMIN)
    bot = await _load(request)
    await hub_of(request).store.bots.delete(bot.id)
    return web.Response(status=204)
