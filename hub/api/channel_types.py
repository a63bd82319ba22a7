"""``GET /api/v1/channel-types``: every channel kind the hub knows, with its config model as
JSON Schema, so that the console generates its channel forms and a new channel needs no console
change. The schemas carry titles in Russian and English and say which fields are secret, long
text or generated (see ``hub.channels.field_form``)."""

from __future__ import annotations

from aiohttp import web

from hub.api.common import caller, hub_of
from hub.http import json_response

routes = web.RouteTableDef()


@routes.get("/api/v1/channel-types")
async def channel_types(request: web.Request) -> web.Response:
    """Every channel kind, in the order the hub registers them, with its config's schema."""
    await caller(request)
    return json_response({"channel_types": hub_of(request).registry.describe()})
