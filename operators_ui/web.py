"""The console's HTTP side: the built app at ``/`` (``/console/app.js``) and the few REST
endpoints only the console needs (``/api/v1/console/...``): history pages ending at the newest
message, line members with presence and load, the supervisor board, quick answers, the
client card and the staff names of the CRM screens. Every endpoint checks the caller's role
and line membership."""

from __future__ import annotations

import json
import statistics
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from hub.access import oversees
from hub.api.clients import client_view
from hub.api.common import caller, hub_of, int_param
from hub.api.lines import ensure_member, load_line
from hub.conversations.spam import may_block
from hub.errors import Forbidden, NotFound, ValidationFailed
from hub.http import FAVICON, PAGE_CSP, json_response, read_json
from hub.models import (
    Conversation,
    ConversationStatus,
    Line,
    PresenceStatus,
    Role,
    User,
    utcnow,
)
from hub.realtime import conversation_view, message_view
from hub.services import Hub
from hub.storage.conversations import Where
from hub.storage.quick_answers import AnswerScope, QuickAnswer

DIST = Path(__file__).resolve().parent / "static" / "dist"
BUNDLE_CACHE = "public, max-age=31536000, immutable"
# The console talks only to its own origin; images and files come from the hub (or blob:).
CSP = PAGE_CSP

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>OpenLines</title>
{favicon}
</head><body><div id="app"></div>
<script src="/console/app.js?v={version}"></script></body></html>
"""

routes = web.RouteTableDef()


def setup(app: web.Application) -> None:
    """Wire the console's routes into the hub app."""
    app.router.add_routes(routes)


def bundle_version() -> str | None:
    try:
        manifest = json.loads((DIST / "manifest.json").read_text())
    except (OSError, ValueError):
        return None
    return str(manifest.get("console")) if manifest.get("console") else None


@routes.get("/")
async def index(request: web.Request) -> web.Response:
    """The operator console (a single page app)."""
    version = bundle_version()
    if version is None:
        raise NotFound(
            "the console is not built: run `make install` (npm run build)",
            code="bundle_missing",
        )
    return web.Response(
        text=PAGE.replace("{version}", version).replace("{favicon}", FAVICON),
        content_type="text/html",
        headers={
            "Cache-Control": "no-cache",
            "Content-Security-Policy": CSP,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "same-origin",
        },
    )


@routes.get("/console/app.js")
async def app_js(request: web.Request) -> web.StreamResponse:
    """The console bundle (cached for a year under its content hash)."""
    path = DIST / "app.js"
    if not path.is_file():
        raise NotFound("the console is not built", code="bundle_missing")
    current = request.query.get("v") == bundle_version()
    return web.FileResponse(
        path,
        headers={
            "Content-Type": "text/javascript; charset=utf-8",
            "Cache-Control": BUNDLE_CACHE if current else "no-cache",
            "X-Content-Type-Options": "nosniff",
        },
    )


# --- history ending at the newest message ---------------------------------------------------


@routes.get("/api/v1/console/conversations/{conversation_id}/history")
async def history(request: web.Request) -> web.Response:
    """Messages before ``before`` (default: the newest ones), hidden ones included, by seq."""
    user = await caller(request)
    hub = hub_of(request)
    conversation, _ = await hub.conversations.get(user, request.match_info["conversation_id"])
    last_seq = await hub.store.conversations.last_seq(conversation.id)
    before = int_param(request, "before", last_seq + 1, low=1, high=10**12)
    limit = int_param(request, "limit", 50, low=1, high=200)
    messages = await hub.stream.page(
        conversation, before=min(before, last_seq + 1), limit=limit, include_hidden=True
    )
    return json_response({"messages": [message_view(m) for m in messages], "last_seq": last_seq})


# --- line members, for the transfer and invite pickers ------------------------------------


async def _active_load(hub: Hub, line_id: str | None, user_ids: list[str]) -> dict[str, int]:
    return await hub.store.conversations.count_by_assignee(
        Where(statuses=[ConversationStatus.ACTIVE], assignee_ids=user_ids, line_id=line_id)
    )


async def _members(hub: Hub, line: Line) -> list[dict[str, Any]]:
    ids = list(dict.fromkeys([*line.operators, *line.supervisors]))
    users = await hub.store.users.many(ids)
    status = await hub.presence.statuses(ids)
    load = await _active_load(hub, line.id, ids)
    return [
        {
            "id": uid,
            "name": users[uid].name,
            "role": users[uid].role.value,
            "operator": uid in line.operators,
            "supervisor": uid in line.supervisors,
            "status": status.get(uid, PresenceStatus.OFFLINE).value,
            "active": load.get(uid, 0),
            "max_active": line.max_active_per_operator,
        }
        for uid in ids
        if uid in users and users[uid].active
    ]


@routes.get("/api/v1/console/lines/{line_id}/members")
async def line_members(request: web.Request) -> web.Response:
    """The line's operators and supervisors with their presence status and active load."""
    user = await caller(request)
    hub = hub_of(request)
    line = await load_line(hub, request.match_info["line_id"])
    ensure_member(user, line)
    return json_response({"members": await _members(hub, line)})


# --- the supervisor board --------------------------------------------------------------------


def _zone(line: Line) -> ZoneInfo:
    return ZoneInfo(line.working_hours.timezone if line.working_hours else "UTC")


def _start_of_today(line: Line, now: datetime) -> datetime:
    local = now.astimezone(_zone(line))
    return datetime.combine(local.date(), time(0), tzinfo=local.tzinfo).astimezone(UTC)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _today_figures(handled: list[Conversation]) -> dict[str, Any]:
    """What a supervisor compares lines and operators by: today's conversations, how many
    were closed, how fast the first answer came, and how clients rated them."""
    firsts = [
        (_aware(c.first_response_at) - _aware(c.created_at)).total_seconds()
        for c in handled
        if c.first_response_at is not None
    ]
    ratings = [int(c.csat.rating) for c in handled if c.csat and c.csat.rating]
    return {
        "today": len(handled),
        "today_closed": sum(1 for c in handled if c.closed_at is not None),
        "avg_first_response_s": round(statistics.fmean(firsts), 1) if firsts else None,
        "csat_avg": round(statistics.fmean(ratings), 2) if ratings else None,
    }


@routes.get("/api/v1/console/lines/{line_id}/board")
async def board(request: web.Request) -> web.Response:
    """Live figures of a line for its supervisors and admins."""
    user = await caller(request)
    hub = hub_of(request)
    line = await load_line(hub, request.match_info["line_id"])
    if not oversees(user, line):
        ensure_member(user, line)  # 404 for strangers, 403 for the line's operators
        raise Forbidden("only the line's supervisors and admins see its board")
    now = utcnow()
    waiting = [
        c
        for c in await hub.store.conversations.matching(
            Where(
                line_id=line.id, statuses=[ConversationStatus.QUEUED, ConversationStatus.OFFERED]
            )
        )
        if not c.client.blocked  # waits for nobody (docs/spam.md): no one's wait to count
    ]
    since = [_aware(c.queued_at or c.created_at) for c in waiting]
    today_start = _start_of_today(line, now)
    today = await hub.store.conversations.matching(
        Where(line_id=line.id, created_since=today_start)
    )
    by_hour = [0] * 24
    for c in today:
        by_hour[_aware(c.created_at).astimezone(_zone(line)).hour] += 1
    members = [
        {**m, **_today_figures([c for c in today if c.assignee_id == m["id"]])}
        for m in await _members(hub, line)
        if m["operator"]
    ]
    return json_response(
        {
            "line_id": line.id,
            "waiting": len(waiting),
            "longest_wait_s": int(max((now - s).total_seconds() for s in since)) if since else 0,
            "active": await hub.store.conversations.count(
                Where(line_id=line.id, statuses=[ConversationStatus.ACTIVE])
            ),
            **_today_figures(today),
            "by_hour": by_hour,
            "operators": members,
            "at": now.isoformat().replace("+00:00", "Z"),
        }
    )


# --- quick answers ----------------------------------------------------------------------------


class QuickAnswerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=100)
    text: str = Field(min_length=1, max_length=4000)
    # Set: shared with the line (its supervisors and admins write these); unset: personal.
    line_id: str | None = Field(default=None, min_length=1, max_length=100)
    # Unset: "line" with a line_id, else "personal". "everyone": all staff see it (admins).
    scope: AnswerScope | None = None


class QuickAnswerPatch(BaseModel):
    """Any of an answer's fields; a new scope (or line) is checked as a new answer would be."""

    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(default=None, min_length=1, max_length=100)
    text: str | None = Field(default=None, min_length=1, max_length=4000)
    line_id: str | None = Field(default=None, min_length=1, max_length=100)
    scope: AnswerScope | None = None


def _answer_view(answer: QuickAnswer) -> dict[str, Any]:
    return answer.model_dump(
        mode="json", include={"id", "title", "text", "line_id", "owner_id", "scope"}
    )


async def _visible_line_ids(hub: Hub, user: User) -> list[str]:
    if user.role in (Role.ADMIN, Role.MANAGER):
        return await hub.store.lines.ids()
    return await hub.store.lines.ids_of_member(user.id)


@routes.get("/api/v1/console/quick-answers")
async def list_quick_answers(request: web.Request) -> web.Response:
    """The caller's own saved replies, those of their lines and those for everyone
    (``?line_id=`` narrows the line ones)."""
    user = await caller(request)
    hub = hub_of(request)
    lines = await _visible_line_ids(hub, user)
    wanted = request.query.get("line_id")
    if wanted:
        lines = [lid for lid in lines if lid == wanted]
    answers = await hub.store.quick_answers.visible(user.id, lines)
    return json_response({"quick_answers": [_answer_view(a) for a in answers]})


def _scope_of(scope: AnswerScope | None, line_id: str | None) -> tuple[AnswerScope, str | None]:
    """The scope an answer gets and its line: a line_id only with the line scope."""
    scope = scope or (AnswerScope.LINE if line_id else AnswerScope.PERSONAL)
    if scope == AnswerScope.LINE and not line_id:
        raise ValidationFailed(
            "a line's quick answer needs line_id",
            code="line_required",
            details={"field": "line_id"},
        )
    if scope != AnswerScope.LINE and line_id:
        raise ValidationFailed(
            "only a line's quick answer has a line_id",
            code="line_not_allowed",
            details={"field": "line_id"},
        )
    return scope, line_id


async def _may_write(hub: Hub, user: User, scope: AnswerScope, line_id: str | None) -> None:
    """Who writes which answers: anyone their own personal ones, the line's supervisors and
    admins a line's, admins those for everyone (a supervisor's reach is their own lines)."""
    if scope == AnswerScope.LINE and line_id:
        line = await load_line(hub, line_id)
        ensure_member(user, line)
        if not oversees(user, line):
            raise Forbidden("only the line's supervisors and admins manage its quick answers")
    elif scope == AnswerScope.EVERYONE and user.role != Role.ADMIN:
        raise Forbidden("only admins manage the quick answers for everyone")


async def _managed_answer(hub: Hub, user: User, answer_id: str) -> QuickAnswer:
    """The answer ``user`` may change or delete (404 for someone else's personal one)."""
    answer = await hub.store.quick_answers.get(answer_id)
    if answer is None or (answer.scope == AnswerScope.PERSONAL and answer.owner_id != user.id):
        raise NotFound("no such quick answer")
    await _may_write(hub, user, answer.scope, answer.line_id)
    return answer


@routes.post("/api/v1/console/quick-answers")
async def create_quick_answer(request: web.Request) -> web.Response:
    """Save a reply for oneself, (supervisors, admins) for a whole line, or (admins) for
    everyone."""
    user = await caller(request)
    hub = hub_of(request)
    body = await read_json(request, QuickAnswerIn)
    scope, line_id = _scope_of(body.scope, body.line_id)
    await _may_write(hub, user, scope, line_id)
    answer = QuickAnswer(
        owner_id=user.id, line_id=line_id, scope=scope, title=body.title.strip(), text=body.text
    )
    await hub.store.quick_answers.insert(answer)  # Conflict(title_taken) when taken
    return json_response(_answer_view(answer), status=201)


@routes.patch("/api/v1/console/quick-answers/{answer_id}")
async def patch_quick_answer(request: web.Request) -> web.Response:
    """Edit a reply: its title, text or scope (who may: as for deleting it, and for the new
    scope as for creating one there)."""
    user = await caller(request)
    hub = hub_of(request)
    answer = await _managed_answer(hub, user, request.match_info["answer_id"])
    body = await read_json(request, QuickAnswerPatch)
    given = body.model_dump(exclude_unset=True)
    if not given:
        raise ValidationFailed("nothing to change", code="empty_patch")
    if "scope" in given or "line_id" in given:
        # A new line alone makes it the line's; a new scope alone keeps the line only if it
        # is the line scope.
        wanted = given.get("scope") if "scope" in given else None
        keep_line = wanted in (None, AnswerScope.LINE)
        scope, line_id = _scope_of(
            wanted, given.get("line_id", answer.line_id if keep_line else None)
        )
        await _may_write(hub, user, scope, line_id)
    else:
        scope, line_id = answer.scope, answer.line_id
    updated = answer.model_copy(
        update={
            "title": (body.title or answer.title).strip(),
            "text": body.text or answer.text,
            "scope": scope,
            "line_id": line_id,
            "updated_at": utcnow(),
        }
    )
    await hub.store.quick_answers.replace(updated)  # Conflict(title_taken) when taken
    return json_response(_answer_view(updated))


@routes.delete("/api/v1/console/quick-answers/{answer_id}")
async def delete_quick_answer(request: web.Request) -> web.Response:
    """Delete a personal reply (its owner), a line's (its supervisors, admins) or one for
    everyone (admins)."""
    user = await caller(request)
    hub = hub_of(request)
    answer = await _managed_answer(hub, user, request.match_info["answer_id"])
    await hub.store.quick_answers.delete(answer.id)
    return web.Response(status=204)


# --- the client card --------------------------------------------------------------------------


@routes.get("/api/v1/console/staff")
async def staff(request: web.Request) -> web.Response:
    """Everyone's id, name and role: the names the CRM screens show and filter by (a lead's
    responsible), for those who read all CRM data (managers cannot list users)."""
    await caller(request, Role.ADMIN, Role.MANAGER, Role.SUPERVISOR)
    users = await hub_of(request).store.users.all()
    return json_response(
        {
            "staff": [
                {"id": u.id, "name": u.name, "role": u.role, "active": u.active} for u in users
            ]
        }
    )


@routes.get("/api/v1/console/transfer-lines")
async def transfer_lines(request: web.Request) -> web.Response:
    """Every line's id and name: where a conversation may be transferred to (an operator
    transfers to lines they do not work in; nothing but the name is shown of those)."""
    await caller(request)
    lines = await hub_of(request).store.lines.all()
    # Archived lines take no conversations: they are not offered.
    return json_response(
        {"lines": [{"id": line.id, "name": line.name} for line in lines if not line.archived]}
    )


@routes.get("/api/v1/console/clients/{client_id}")
async def client_card(request: web.Request) -> web.Response:
    """A client with their channel identities and the conversations the caller may see;
    ``may_block``: the caller may block or unblock them (docs/spam.md)."""
    user = await caller(request)
    hub = hub_of(request)
    client_id = request.match_info["client_id"]
    seen = await hub.conversations.of_client(user, client_id)
    visible = [conversation for conversation, _ in seen]
    client = await hub.store.clients.get(client_id)
    # Staff who may see none of the client's conversations learn nothing about the client.
    if client is None or not visible:
        raise NotFound("no such client")
    identities = []
    for identity in client.identities:
        # The channel's type, so the card says "Telegram" rather than an id.
        channel = await hub.stream.channel(str(identity.get("channel_id")))
        identities.append(
            {
                "channel_id": identity.get("channel_id"),
                "type": identity.get("type") or (channel.type if channel else None),
                "name": identity.get("name"),
            }
        )
    return json_response(
        {
            "client": client_view(client),
            "may_block": may_block(user, seen),
            "identities": identities,
            "conversations": [conversation_view(c) for c in visible[:50]],
        }
    )
