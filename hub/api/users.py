"""Staff accounts (admin only)."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel, ConfigDict, EmailStr, Field

from hub.api.common import caller, hub_of
from hub.auth import hash_password
from hub.errors import NotFound, ValidationFailed
from hub.http import json_response, read_json
from hub.models import Role, User
from hub.storage.users import UserChanges
from hub.store import Store

routes = web.RouteTableDef()


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: EmailStr
    password: str = Field(min_length=8, max_length=1024)
    name: str = Field(min_length=1, max_length=200)
    role: Role = Role.OPERATOR


class UserPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: EmailStr | None = None
    password: str | None = Field(default=None, min_length=8, max_length=1024)
    name: str | None = Field(default=None, min_length=1, max_length=200)
    role: Role | None = None
    active: bool | None = None


async def create_user(store: Store, body: UserIn) -> User:
    """Shared by the API and the admin bootstrap."""
    user = User(
        email=str(body.email).lower(),
        name=body.name,
        role=body.role,
        password_hash=await hash_password(body.password),
    )
    await store.users.insert(user)  # Conflict(email_taken) when the email is taken
    return user


@routes.get("/api/v1/users")
async def list_users(request: web.Request) -> web.Response:
    await caller(request, Role.ADMIN, Role.SUPERVISOR)
    users = await hub_of(request).store.users.all()
    return json_response({"users": [u.model_dump(mode="json") for u in users]})


@routes.post("/api/v1/users")
async def post_user(request: web.Request) -> web.Response:
    await caller(request, Role.ADMIN)
    body = await read_json(request, UserIn)
    user = await create_user(hub_of(request).store, body)
    return json_response(user.model_dump(mode="json"), status=201)


@routes.get("/api/v1/users/{user_id}")
async def get_user(request: web.Request) -> web.Response:
    await caller(request, Role.ADMIN, Role.SUPERVISOR)
    user = await hub_of(request).store.users.get(request.match_info["user_id"])
    if user is None:
        raise NotFound("no such user")
    return json_response(user.model_dump(mode="json"))


@routes.patch("/api/v1/users/{user_id}")
async def patch_user(request: web.Request) -> web.Response:
    await caller(request, Role.ADMIN)
    body = await read_json(request, UserPatch)
    hub = hub_of(request)
    changes = UserChanges(
        email=str(body.email).lower() if body.email is not None else None,
        name=body.name,
        role=body.role,
        active=body.active,
        password_hash=await hash_password(body.password) if body.password is not None else None,
    )
    user_id = request.match_info["user_id"]
    if changes.empty():
        raise ValidationFailed("nothing to change", code="empty_patch")
    user = await hub.store.users.update(user_id, changes)  # Conflict(email_taken) too
    if user is None:
        raise NotFound("no such user")
    if body.active is False or body.password is not None:
        await hub.sessions.revoke_user(user_id)
    return json_response(user.model_dump(mode="json"))
