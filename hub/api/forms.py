"""Forms (``/api/v1/forms``): admins write them, every staff member reads them (to send one
into a conversation)."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel, ConfigDict

from hub.api.common import caller, hub_of
from hub.errors import NotFound
from hub.forms import Form, FormIn
from hub.http import json_response, read_json
from hub.models import Role, to_millis, utcnow
from hub.validation import parse_model

__all__ = ["FormIn", "routes"]

routes = web.RouteTableDef()


class FormPatch(BaseModel):
    """Any subset of a form's fields; validated as a whole after merging."""

    model_config = ConfigDict(extra="allow")


async def _load(request: web.Request) -> Form:
    form = await hub_of(request).store.forms.get(request.match_info["form_id"])
    if form is None:
        raise NotFound("no such form")
    return form


@routes.post("/api/v1/forms")
async def create_form(request: web.Request) -> web.Response:
    await caller(request, Role.ADMIN)
    body = await read_json(request, FormIn)
    form = Form(**body.model_dump(), created_at=to_millis(utcnow()))
    await hub_of(request).store.forms.insert(form)
    return json_response(form.model_dump(mode="json"), status=201)


@routes.get("/api/v1/forms")
async def list_forms(request: web.Request) -> web.Response:
    await caller(request)
    forms = await hub_of(request).store.forms.all()
    return json_response({"forms": [f.model_dump(mode="json") for f in forms]})


@routes.get("/api/v1/forms/{form_id}")
async def get_form(request: web.Request) -> web.Response:
    await caller(request)
    return json_response((await _load(request)).model_dump(mode="json"))


@routes.patch("/api/v1/forms/{form_id}")
async def patch_form(request: web.Request) -> web.Response:
    await caller(request, Role.ADMIN)
    form = await _load(request)
    patch = await read_json(request, FormPatch)
    current = form.model_dump(mode="json", include={"name", "fields", "agreement_text"})
    body = parse_model(FormIn, {**current, **patch.model_dump(exclude_unset=True)})
    updated = Form(
        id=form.id, created_at=form.created_at, updated_at=to_millis(utcnow()), **body.model_dump()
    )
    if not await hub_of(request).store.forms.replace(updated):
        raise NotFound("no such form")
    return json_response(updated.model_dump(mode="json"))


@routes.delete("/api/v1/forms/{form_id}")
async def delete_form(request: web.Request) -> web.Response:
    await caller(request, Role.ADMIN)
    form = await _load(request)
    await hub_of(request).store.forms.delete(form.id)
    return web.Response(status=204)
