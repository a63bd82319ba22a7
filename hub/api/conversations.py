"""Conversations: list, read, write, accept, close."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from hub.api.common import caller, hub_of, int_param
from hub.errors import ValidationFailed
from hub.http import json_response, read_json
from hub.models import ConversationStatus
from hub.realtime import conversation_view, message_view

routes = web.RouteTableDef()


class MessageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=4000)
    hidden: bool = False
    client_msg_id: str | None = Field(default=None, min_length=1, max_length=100)


@routes.get("/api/v1/conversations")
async def list_conversations(request: web.Request) -> web.Response:
    user = await caller(request)
    raw_status = request.query.get("status")
    try:
        status = ConversationStatus(raw_status) if raw_status else None
    except ValueError:
        raise ValidationFailed(
            "status must be one of queued, offered, active, closed", code="invalid_query"
        ) from None
    conversations, cursor = await hub_of(request).conversations.search(
        user,
        status=status,
        line_id=request.query.get("line_id") or None,
        assignee=request.query.get("assignee") or None,
        q=(request.query.get("q") or "").strip()[:100] or None,
        limit=int_param(request, "limit", 50, low=1, high=200),
        cursor=request.query.get("cursor") or None,
    )
    return json_response(
        {"conversations": [conversation_view(c) for c in conversations], "next_cursor": cursor}
    )


@routes.get("/api/v1/conversations/{conversation_id}")
async def get_conversation(request: web.Request) -> web.Response:
    user = await caller(request)
    conversation, _ = await hub_of(request).conversations.get(
        user, request.match_info["conversation_id"]
    )
    return json_response(conversation_view(conversation))


@routes.get("/api/v1/conversations/{conversation_id}/messages")
async def list_messages(request: web.Request) -> web.Response:
    user = await caller(request)
    messages = await hub_of(request).conversations.messages(
        user,
        request.match_info["conversation_id"],
        after=int_param(request, "after", 0, low=0, high=10**12),
        limit=int_param(request, "limit", 50, low=1, high=200),
    )
    return json_response({"messages": [message_view(m) for m in messages]})


@routes.post("/api/v1/conversations/{conversation_id}/messages")
async def post_message(request: web.Request) -> web.Response:
    user = await caller(request)
    body = await read_json(request, MessageIn)
    result = await hub_of(request).conversations.post(
        user,
        request.match_info["conversation_id"],
        body.text,
        hidden=body.hidden,
        client_msg_id=body.client_msg_id,
    )
    return json_response(message_view(result.message), status=200 if result.duplicate else 201)


@routes.post("/api/v1/conversations/{conversation_id}/accept")
async def accept(request: web.Request) -> web.Response:
    user = await caller(request)
    conversation = await hub_of(request).conversations.accept(
        user, request.match_info["conversation_id"]
    )
    return json_response(conversation_view(conversation))


@routes.post("/api/v1/conversations/{conversation_id}/close")
async def close(request: web.Request) -> web.Response:
    user = await caller(request)
    conversation = await hub_of(request).conversations.close(
        user, request.match_info["conversation_id"]
    )
    return json_response(conversation_view(conversation))
