"""Conversations: list, read, write, accept, close."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, model_validator

from hub.api.common import caller, hub_of, int_param
from hub.conversations.queries import Match
from hub.errors import ValidationFailed
from hub.http import json_response, read_json
from hub.models import Conversation, ConversationStatus
from hub.realtime import conversation_view, message_view

routes = web.RouteTableDef()


class MessageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(default="", max_length=4000)
    hidden: bool = False
    client_msg_id: str | None = Field(default=None, min_length=1, max_length=100)
    # Ids from POST /api/v1/widget/uploads made with this user's bearer token.
    attachments: list[str] = Field(default_factory=list, max_length=10)


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
    sla = request.query.get("sla")
    if sla not in (None, "", "breached"):
        raise ValidationFailed("sla must be breached", code="invalid_query")
    page = await hub_of(request).conversations.search(
        user,
        status=status,
        line_id=request.query.get("line_id") or None,
        assignee=request.query.get("assignee") or None,
        q=(request.query.get("q") or "").strip()[:100] or None,
        limit=int_param(request, "limit", 50, low=1, high=200),
        cursor=request.query.get("cursor") or None,
        sla_breached=sla == "breached",
    )
    return json_response(
        {
            "conversations": [_found_view(c, page.matches.get(c.id)) for c in page.conversations],
            "next_cursor": page.next_cursor,
        }
    )


def _found_view(conversation: Conversation, match: Match | None) -> dict[str, Any]:
    """A conversation in a list; one found by its words says where (``match``)."""
    view = conversation_view(conversation)
    if match is not None:
        view["match"] = {
            "message_id": match.message_id,
            "seq": match.seq,
            "hidden": match.hidden,
            "text": match.snippet.text,
            "highlights": [list(span) for span in match.snippet.highlights],
        }
    return view


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
    before = request.query.get("before")
    messages = await hub_of(request).conversations.messages(
        user,
        request.match_info["conversation_id"],
        after=int_param(request, "after", 0, low=0, high=10**12),
        before=int_param(request, "before", 1, low=1, high=10**12) if before else None,
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
        attachment_ids=body.attachments,
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


class TransferIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to_user_id: str | None = Field(default=None, min_length=1, max_length=100)
    to_line_id: str | None = Field(default=None, min_length=1, max_length=100)

    @model_validator(mode="after")
    def _exactly_one(self) -> TransferIn:
        if (self.to_user_id is None) == (self.to_line_id is None):
            raise ValueError("give exactly one of to_user_id and to_line_id")
        return self


class InviteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_id: str = Field(min_length=1, max_length=100)


class JoinIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    hidden: bool = True


def _conversation_id(request: web.Request) -> str:
    return request.match_info["conversation_id"]


@routes.post("/api/v1/conversations/{conversation_id}/transfer")
async def transfer(request: web.Request) -> web.Response:
    """Hand the conversation to an operator (offered to them) or to another line (queued)."""
    user = await caller(request)
    body = await read_json(request, TransferIn)
    conversations = hub_of(request).conversations
    if body.to_user_id is not None:
        result = await conversations.transfer_to_user(
            user, _conversation_id(request), body.to_user_id
        )
    else:
        assert body.to_line_id is not None
        result = await conversations.transfer_to_line(
            user, _conversation_id(request), body.to_line_id
        )
    return json_response(conversation_view(result))


@routes.post("/api/v1/conversations/{conversation_id}/invite")
async def invite(request: web.Request) -> web.Response:
    """Invite a colleague: they see the whole history and may write."""
    user = await caller(request)
    body = await read_json(request, InviteIn)
    result = await hub_of(request).conversations.invite(
        user, _conversation_id(request), body.user_id
    )
    return json_response(conversation_view(result))


@routes.post("/api/v1/conversations/{conversation_id}/join")
async def join(request: web.Request) -> web.Response:
    """A supervisor or admin joins, hidden by default: the client never learns of it."""
    user = await caller(request)
    body = await read_json(request, JoinIn)
    result = await hub_of(request).conversations.join(
        user, _conversation_id(request), hidden=body.hidden
    )
    return json_response(conversation_view(result))


@routes.post("/api/v1/conversations/{conversation_id}/transfer/cancel")
async def cancel_transfer(request: web.Request) -> web.Response:
    """Who sent a transfer (or a supervisor) takes it back before it is accepted."""
    user = await caller(request)
    result = await hub_of(request).conversations.cancel_transfer(user, _conversation_id(request))
    return json_response(conversation_view(result))


@routes.post("/api/v1/conversations/{conversation_id}/take-over")
async def take_over(request: web.Request) -> web.Response:
    """A supervisor or admin takes the conversation from its assignee and answers it."""
    user = await caller(request)
    result = await hub_of(request).conversations.take_over(user, _conversation_id(request))
    return json_response(conversation_view(result))


@routes.post("/api/v1/conversations/{conversation_id}/leave")
async def leave(request: web.Request) -> web.Response:
    """An invited or joined colleague leaves the conversation."""
    user = await caller(request)
    result = await hub_of(request).conversations.leave(user, _conversation_id(request))
    return json_response(conversation_view(result))


@routes.post("/api/v1/conversations/{conversation_id}/return")
async def return_to_queue(request: web.Request) -> web.Response:
    """The assignee gives the conversation back to the line's queue (keeping its place)."""
    user = await caller(request)
    result = await hub_of(request).conversations.return_to_queue(user, _conversation_id(request))
    return json_response(conversation_view(result))


@routes.post("/api/v1/conversations/{conversation_id}/pin")
async def pin(request: web.Request) -> web.Response:
    """Pin the client to the assignee: their next conversation goes to the same operator."""
    user = await caller(request)
    result = await hub_of(request).conversations.pin(user, _conversation_id(request), pinned=True)
    return json_response(conversation_view(result))


@routes.post("/api/v1/conversations/{conversation_id}/unpin")
async def unpin(request: web.Request) -> web.Response:
    """Undo a pin."""
    user = await caller(request)
    result = await hub_of(request).conversations.pin(user, _conversation_id(request), pinned=False)
    return json_response(conversation_view(result))
