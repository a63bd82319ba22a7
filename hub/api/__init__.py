"""The REST API of API.md under ``/api/v1``, plus webhooks, health and metrics."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel

from hub.api import (
    auth,
    bots,
    channel_types,
    channels,
    conversations,
    csat,
    forms,
    lines,
    openapi,
    ops,
    users,
)

_MODULES = (
    auth,
    users,
    lines,
    channel_types,
    channels,
    conversations,
    csat,
    forms,
    bots,
    ops,
    openapi,
)


def routes() -> list[web.RouteDef]:
    table: list[web.RouteDef] = []
    for module in _MODULES:
        table.extend(r for r in module.routes if isinstance(r, web.RouteDef))
    return table


def body_models() -> dict[tuple[str, str], type[BaseModel]]:
    """Which model validates the JSON body of each operation (for the OpenAPI document)."""
    return {
        ("POST", "/api/v1/auth/login"): auth.LoginIn,
        ("POST", "/api/v1/users"): users.UserIn,
        ("PATCH", "/api/v1/users/{user_id}"): users.UserPatch,
        ("POST", "/api/v1/lines"): lines.LineIn,
        ("PATCH", "/api/v1/lines/{line_id}"): lines.LineIn,
        ("POST", "/api/v1/lines/{line_id}/channels"): channels.ChannelIn,
        ("PATCH", "/api/v1/channels/{channel_id}"): channels.ChannelPatch,
        ("POST", "/api/v1/conversations/{conversation_id}/messages"): conversations.MessageIn,
        ("POST", "/api/v1/conversations/{conversation_id}/transfer"): conversations.TransferIn,
        ("POST", "/api/v1/conversations/{conversation_id}/invite"): conversations.InviteIn,
        ("POST", "/api/v1/conversations/{conversation_id}/join"): conversations.JoinIn,
        **forms.body_models(),
        **bots.body_models(),
    }
