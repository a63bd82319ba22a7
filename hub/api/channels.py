"""Channels of a line, and the webhooks platforms call."""

from __future__ import annotations

import secrets
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from hub.api.common import caller, hub_of
from hub.api.lines import ensure_member, load_line
from hub.channels import ChannelKind
from hub.errors import ChannelError, Conflict, NotFound, ValidationFailed
from hub.events import ChannelWritten
from hub.http import json_response, read_json
from hub.models import ChannelRecord, Role
from hub.services import Hub
from hub.sink import HubSink

routes = web.RouteTableDef()


class ChannelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: str = Field(min_length=1, max_length=40)
    config: dict[str, Any] = Field(default_factory=dict)


class ChannelPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    config: dict[str, Any] | None = None
    active: bool | None = None


def public_base(request: web.Request) -> str:
    """Where clients and platforms reach the hub: PUBLIC_URL, else the address asked."""
    return hub_of(request).settings.public_url or f"{request.scheme}://{request.host}"


async def connect(
    kind: ChannelKind[Any],
    config: BaseModel,
    channel_id: str,
    hub: Hub,
    previous: dict[str, Any] | None,
) -> dict[str, Any]:
    """``kind.connect``; a platform that fails there (unreachable, refusing, answering
    garbage) is a 422 with its words: the admin's config does not work, nothing is stored."""
    try:
        return await kind.connect(config, channel_id, hub.channel_deps(), previous)
    except ChannelError as exc:
        raise ValidationFailed(exc.message, code=exc.code) from exc


async def load_channel(hub: Hub, channel_id: str) -> ChannelRecord:
    channel = await hub.store.channels.get(channel_id)
    if channel is None:
        raise NotFound("no such channel")
    return channel


@routes.post("/api/v1/lines/{line_id}/channels")
async def create_channel(request: web.Request) -> web.Response:
    await caller(request, Role.ADMIN)
    hub = hub_of(request)
    line = await load_line(hub, request.match_info["line_id"])
    body = await read_json(request, ChannelIn)
    channel = await add_channel(hub, line.id, body, paused=line.archived)
    kind = hub.registry.get(channel.type)
    view = hub.registry.public_view(channel, public_base(request))
    # Generated secrets are shown once, at creation, so the admin can paste them elsewhere.
    view.update({k: channel.config[k] for k in kind.reveal_on_create if k in channel.config})
    return json_response(view, status=201)


async def add_channel(
    hub: Hub, line_id: str, body: ChannelIn, *, paused: bool = False
) -> ChannelRecord:
    """Connect a new channel to a line (shared by the API and the demo seed): the config is
    validated, the platform checks it (a wrong token is a 422, and nothing is stored), then it
    is stored and the receivers look at once. The stored record, secrets in clear. ``paused``:
    the line is archived, so the channel starts switched off until the line is restored."""
    config_model = hub.registry.validate_config(body.type, body.config)
    kind = hub.registry.get(body.type)
    channel = ChannelRecord(type=body.type, line_id=line_id, config={})
    config = await connect(kind, config_model, channel.id, hub, None)
    channel = channel.model_copy(
        update={
            "config": config,
            "widget_key": config.get("key") if body.type == "widget" else None,
            "active": not paused,
            "paused_by_archive": paused,
        }
    )
    await hub.store.channels.insert(channel)
    hub.runners.poke()
    return channel


@routes.get("/api/v1/lines/{line_id}/channels")
async def list_channels(request: web.Request) -> web.Response:
    user = await caller(request)
    hub = hub_of(request)
    line = await load_line(hub, request.match_info["line_id"])
    ensure_member(user, line)
    channels = await hub.store.channels.of_line(line.id)
    base = public_base(request)
    return json_response({"channels": [hub.registry.public_view(c, base) for c in channels]})


@routes.get("/api/v1/channels/{channel_id}")
async def get_channel(request: web.Request) -> web.Response:
    user = await caller(request)
    hub = hub_of(request)
    channel = await load_channel(hub, request.match_info["channel_id"])
    ensure_member(user, await load_line(hub, channel.line_id))
    return json_response(hub.registry.public_view(channel, public_base(request)))


@routes.patch("/api/v1/channels/{channel_id}")
async def patch_channel(request: web.Request) -> web.Response:
    await caller(request, Role.ADMIN)
    hub = hub_of(request)
    channel = await load_channel(hub, request.match_info["channel_id"])
    body = await read_json(request, ChannelPatch)
    changes: dict[str, Any] = {}
    if body.config is not None:
        # Omitted secrets keep their stored values: the client never saw them.
        merged = hub.registry.validate_config(channel.type, body.config, partial_of=channel.config)
        kind = hub.registry.get(channel.type)
        changes["config"] = await connect(kind, merged, channel.id, hub, channel.config)
    if body.active is not None:
        if body.active and (await load_line(hub, channel.line_id)).archived:
            raise Conflict(
                "the line is archived: restore it to switch its channels on",
                code="line_archived",
            )
        changes["active"] = body.active
    if changes:
        await hub.store.channels.update(
            channel, config=changes.get("config"), active=changes.get("active")
        )
        await hub.bus.broadcast(ChannelWritten(channel_id=channel.id))
        hub.runners.poke()
    updated = channel.model_copy(update=changes)
    return json_response(hub.registry.public_view(updated, public_base(request)))


@routes.post("/api/v1/channels/{channel_id}/rotate-secret")
async def rotate_secret(request: web.Request) -> web.Response:
    """Replace the channel's generated secrets (those shown once at creation) with new ones,
    shown once in this answer; the old ones stop working at once."""
    await caller(request, Role.ADMIN)
    hub = hub_of(request)
    channel = await load_channel(hub, request.match_info["channel_id"])
    kind = hub.registry.get(channel.type)
    rotated = sorted(kind.reveal_on_create)
    if not rotated:
        raise Conflict(
            "this kind of channel has no generated secret to rotate", code="nothing_to_rotate"
        )
    # The new values as if the admin had typed them; a kind that generates its own (Telegram's
    # webhook secret) does so when the previous config no longer holds one.
    fresh = {key: secrets.token_urlsafe(32) for key in rotated}
    previous = {k: v for k, v in channel.config.items() if k not in kind.reveal_on_create}
    merged = hub.registry.validate_config(channel.type, fresh, partial_of=previous)
    config = await connect(kind, merged, channel.id, hub, previous)
    await hub.store.channels.update(channel, config=config, active=None)
    await hub.bus.broadcast(ChannelWritten(channel_id=channel.id))
    hub.runners.poke()
    updated = channel.model_copy(update={"config": config})
    view = hub.registry.public_view(updated, public_base(request))
    view.update({k: config[k] for k in rotated if config.get(k)})
    return json_response(view)


@routes.delete("/api/v1/channels/{channel_id}")
async def delete_channel(request: web.Request) -> web.Response:
    await caller(request, Role.ADMIN)
    hub = hub_of(request)
    channel = await load_channel(hub, request.match_info["channel_id"])
    await hub.registry.get(channel.type).disconnect(channel, hub.channel_deps())
    await hub.store.channels.delete(channel.id)
    await hub.bus.broadcast(ChannelWritten(channel_id=channel.id))
    return web.Response(status=204)


@routes.post("/hooks/{type}/{channel_id}")
async def webhook(request: web.Request) -> web.StreamResponse:
    """Verify, normalise, persist, acknowledge."""
    hub = hub_of(request)
    # The stream's per-process copy: a channel changed through another process is seen here
    # within ``hub.stream.CHANNEL_TTL_S``.
    channel = await hub.stream.channel(request.match_info["channel_id"])
    if (
        channel is None
        or channel.deleted
        or not channel.active
        or channel.type != request.match_info["type"]
    ):
        raise NotFound("no such channel")
    kind = hub.registry.get(channel.type)
    return await kind.webhook(channel, request, HubSink(hub, channel), hub.channel_deps())
