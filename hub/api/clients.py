"""Clients: blocking and unblocking a person (supervisors of a line they wrote to, admins)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from hub.api.common import caller, hub_of
from hub.http import json_response
from hub.models import Client

routes = web.RouteTableDef()


def client_view(client: Client) -> dict[str, Any]:
    """A client as staff see them: who they are, whether they are blocked, how often their
    conversations were marked spam (identities and internal fields left out)."""
    return client.model_dump(
        mode="json",
        include={
            "id",
            "name",
            "email",
            "phone",
            "blocked",
            "blocked_at",
            "blocked_by_user_id",
            "spam_count",
            "spam_at",
        },
    )


async def _set_blocked(request: web.Request, *, blocked: bool) -> web.Response:
    user = await caller(request)
    conversations = hub_of(request).conversations
    act = conversations.block_client if blocked else conversations.unblock_client
    return json_response(client_view(await act(user, request.match_info["client_id"])))


@routes.post("/api/v1/clients/{client_id}/block")
async def block(request: web.Request) -> web.Response:
    """Block the client: their conversations are stored but offered to nobody."""
    return await _set_blocked(request, blocked=True)


@routes.post("/api/v1/clients/{client_id}/unblock")
async def unblock(request: web.Request) -> web.Response:
    """Unblock the client: their waiting conversations are offered as normal."""
    return await _set_blocked(request, blocked=False)
