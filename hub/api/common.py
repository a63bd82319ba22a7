"""Helpers the REST handlers share: the hub, the caller, query parameters."""

from __future__ import annotations

from aiohttp import web

from hub.appkeys import HUB
from hub.errors import Forbidden, ValidationFailed
from hub.http import bearer_token
from hub.models import Role, User
from hub.services import Hub


def hub_of(request: web.Request) -> Hub:
    return request.app[HUB]


async def caller(request: web.Request, *roles: Role) -> User:
    """The signed-in user (401 otherwise), optionally required to hold one of ``roles``."""
    user = await hub_of(request).sessions.authenticate(bearer_token(request))
    if roles and user.role not in roles:
        raise Forbidden("your role may not do this")
    return user


def int_param(request: web.Request, name: str, default: int, *, low: int, high: int) -> int:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValidationFailed(f"{name} must be an integer", code="invalid_query") from None
    if not low <= value <= high:
        raise ValidationFailed(f"{name} must be between {low} and {high}", code="invalid_query")
    return value
