"""Staff accounts (admin only)."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel, ConfigDict, EmailStr, Field
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from hub.api.common import caller, hub_of
from hub.auth import hash_password
from hub.errors import Conflict, NotFound, ValidationFailed
from hub.http import json_response, read_json
from hub.models import Role, User
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
    try:
        await store.users.insert_one(user.to_doc())
    except DuplicateKeyError:
        raise Conflict("a user with this email exists", code="email_taken") from None
    return user


@routes.get("/api/v1/users")
async def list_users(request: web.Request) -> web.Response:
    await caller(request, Role.ADMIN, Role.SUPERVISOR)
    docs = await hub_of(request).store.users.find({}).sort("_id", 1).to_list()
    return json_response({"users": [User.from_doc(d).model_dump(mode="json") for d in docs]})


@routes.post("/api/v1/users")
async def post_user(request: web.Request) -> web.Response:
    await caller(request, Role.ADMIN)
    body = await read_json(request, UserIn)
    user = await create_user(hub_of(request).store, body)
    return json_response(user.model_dump(mode="json"), status=201)


@routes.get("/api/v1/users/{user_id}")
async def get_user(request: web.Request) -> web.Response:
    await caller(request, Role.ADMIN, Role.SUPERVISOR)
    doc = await hub_of(request).store.users.find_one({"_id": request.match_info["user_id"]})
    if doc is None:
        raise NotFound("no such user")
    return json_response(User.from_doc(doc).model_dump(mode="json"))


@routes.patch("/api/v1/users/{user_id}")
async def patch_user(request: web.Request) -> web.Response:
    await caller(request, Role.ADMIN)
    body = await read_json(request, UserPatch)
    hub = hub_of(request)
    changes = body.model_dump(exclude_none=True, exclude={"password"})
    if "email" in changes:
        changes["email"] = str(changes["email"]).lower()
    if body.password is not None:
        changes["password_hash"] = await hash_password(body.password)
    user_id = request.match_info["user_id"]
    if not changes:
        raise ValidationFailed("nothing to change", code="empty_patch")
    try:
        doc = await hub.store.users.find_one_and_update(
            {"_id": user_id}, {"$set": changes}, return_document=ReturnDocument.AFTER
        )
    except DuplicateKeyError:
        raise Conflict("a user with this email exists", code="email_taken") from None
    if doc is None:
        raise NotFound("no such user")
    if body.active is False or body.password is not None:
        await hub.sessions.revoke_user(user_id)
    return json_response(User.from_doc(doc).model_dump(mode="json"))
