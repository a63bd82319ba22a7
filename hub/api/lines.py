"""Lines: admins write, members read."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from hub.api.common import caller, hub_of
from hub.errors import Conflict, Forbidden, NotFound, ValidationFailed
from hub.events import LineChannelsWritten
from hub.http import json_response, read_json
from hub.models import (
    MAX_ACCEPT_TIMEOUT_S,
    MAX_ACTIVE_PER_OPERATOR,
    MAX_TIMER_S,
    AnswerTimeoutAction,
    Distribution,
    Line,
    LineCrm,
    LineCsat,
    LineMessages,
    LineRouting,
    LineSla,
    Role,
    User,
    WorkingHours,
)
from hub.services import Hub
from hub.storage.conversations import Where
from hub.validation import parse_model

routes = web.RouteTableDef()


class LineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    operators: list[str] = Field(default_factory=list, max_length=500)
    supervisors: list[str] = Field(default_factory=list, max_length=100)
    distribution: Distribution = Distribution.ROUND_ROBIN
    accept_timeout_s: int = Field(default=60, ge=1, le=MAX_ACCEPT_TIMEOUT_S)
    max_active_per_operator: int = Field(default=5, ge=0, le=MAX_ACTIVE_PER_OPERATOR)
    working_hours: WorkingHours | None = None
    messages: LineMessages = Field(default_factory=LineMessages)
    no_answer_after_s: int | None = Field(default=60, ge=1, le=MAX_TIMER_S)
    auto_close_after_s: int | None = Field(default=86400, ge=1, le=MAX_TIMER_S)
    answer_timeout_s: int | None = Field(default=None, ge=1, le=MAX_TIMER_S)
    answer_timeout_action: AnswerTimeoutAction = AnswerTimeoutAction.NEXT_OPERATOR
    csat: LineCsat = Field(default_factory=LineCsat)
    crm: LineCrm = Field(default_factory=LineCrm)
    sla: LineSla = Field(default_factory=LineSla)
    routing: LineRouting = Field(default_factory=LineRouting)
    archived: bool = False


async def _check_users(hub: Hub, body: LineIn) -> None:
    wanted = set(body.operators) | set(body.supervisors) | set(body.sla.notify_user_ids)
    if not wanted:
        return
    found = await hub.store.users.many(wanted)
    missing = sorted(wanted - set(found))
    if missing:
        raise ValidationFailed(
            "unknown users in the line", code="unknown_user", details={"user_ids": missing}
        )


async def load_line(hub: Hub, line_id: str) -> Line:
    line = await hub.store.lines.get(line_id)
    if line is None:
        raise NotFound("no such line")
    return line


def ensure_member(user: User, line: Line) -> None:
    if user.role in (Role.ADMIN, Role.MANAGER) or user.id in line.staff_ids():
        return
    raise NotFound("no such line")


@routes.post("/api/v1/lines")
async def create_line(request: web.Request) -> web.Response:
    await caller(request, Role.ADMIN)
    body = await read_json(request, LineIn)
    hub = hub_of(request)
    await _check_users(hub, body)
    line = Line(**body.model_dump())
    await hub.store.lines.insert(line)
    return json_response(line.model_dump(mode="json"), status=201)


@routes.get("/api/v1/lines")
async def list_lines(request: web.Request) -> web.Response:
    user = await caller(request)
    store = hub_of(request).store
    if user.role in (Role.ADMIN, Role.MANAGER):
        lines = await store.lines.all()
    else:
        lines = await store.lines.of_member(user.id)
    return json_response({"lines": [line.model_dump(mode="json") for line in lines]})


@routes.get("/api/v1/lines/{line_id}")
async def get_line(request: web.Request) -> web.Response:
    user = await caller(request)
    line = await load_line(hub_of(request), request.match_info["line_id"])
    ensure_member(user, line)
    return json_response(line.model_dump(mode="json"))


@routes.patch("/api/v1/lines/{line_id}")
async def patch_line(request: web.Request) -> web.Response:
    """Change any of a line's settings (admins: the contract says only admins write lines)."""
    user = await caller(request)
    hub = hub_of(request)
    line = await load_line(hub, request.match_info["line_id"])
    ensure_member(user, line)  # 404 to strangers, as a read would be
    if user.role != Role.ADMIN:
        raise Forbidden("only admins may change a line")
    patch = await read_json(request, _PatchBody)
    current = line.model_dump(mode="json", exclude={"id", "created_at"})
    body = parse_model(LineIn, {**current, **patch.model_dump(exclude_unset=True)})
    await _check_users(hub, body)
    updated = Line(id=line.id, created_at=line.created_at, **body.model_dump())
    await hub.store.lines.replace(updated)
    if updated.archived != line.archived:
        await _archive_channels(hub, updated)
    return json_response(updated.model_dump(mode="json"))


async def _archive_channels(hub: Hub, line: Line) -> None:
    """An archived line takes no new conversations: its channels are switched off (webhooks
    answer 404, receivers stop, the widget is refused); restoring it switches on again the
    ones archiving switched off. Conversations still open stay for staff to finish."""
    if line.archived:
        await hub.store.channels.pause_line(line.id)
    else:
        await hub.store.channels.resume_line(line.id)
    await hub.bus.broadcast(LineChannelsWritten(line_id=line.id))
    hub.runners.poke()


class _PatchBody(BaseModel):
    """Any subset of a line's fields; validated as a whole after merging."""

    model_config = ConfigDict(extra="allow")


@routes.delete("/api/v1/lines/{line_id}")
async def delete_line(request: web.Request) -> web.Response:
    await caller(request, Role.ADMIN)
    hub = hub_of(request)
    line = await load_line(hub, request.match_info["line_id"])
    open_count = await hub.store.conversations.count(Where(line_id=line.id, open=True))
    if open_count:
        raise Conflict(
            "the line still has open conversations; close or transfer them first",
            code="line_in_use",
            details={"open_conversations": open_count},
        )
    await hub.store.channels.deactivate_line(line.id)
    await hub.bus.broadcast(LineChannelsWritten(line_id=line.id))
    await hub.store.lines.delete(line.id)
    return web.Response(status=204)
