"""Sign-in, sign-out and the current user."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel, Field

from hub.api.common import caller, hub_of
from hub.errors import Unauthorized
from hub.http import TOKEN_COOKIE, bearer_token, json_response, read_json, request_address

routes = web.RouteTableDef()


class LoginIn(BaseModel):
    email: str = Field(min_length=3, max_length=320)
    password: str = Field(min_length=1, max_length=1024)


@routes.post("/api/v1/auth/login")
async def login(request: web.Request) -> web.Response:
    """Sign in; too many wrong passwords lock the account and the address out (429)."""
    body = await read_json(request, LoginIn)
    hub = hub_of(request)
    ip = request_address(request, hub.settings.trusted_proxies)
    await hub.login_throttle.check(body.email, ip)
    try:
        token, user = await hub.sessions.login(body.email, body.password)
    except Unauthorized:
        await hub.login_throttle.failed(body.email, ip)
        raise
    await hub.login_throttle.succeeded(body.email)
    response = json_response({"token": token, "user": user.model_dump(mode="json")})
    response.set_cookie(
        TOKEN_COOKIE,
        token,
        httponly=True,
        samesite="Lax",
        path="/",
        max_age=hub.settings.token_ttl_s,
        # Behind a TLS-terminating proxy aiohttp sees plain http: trust the public URL too.
        secure=request.secure or (hub.settings.public_url or "").startswith("https://"),
    )
    return response


@routes.post("/api/v1/auth/logout")
async def logout(request: web.Request) -> web.Response:
    await caller(request)
    token = bearer_token(request)
    if token:
        await hub_of(request).sessions.revoke(token)
    response = json_response({"ok": True})
    response.del_cookie(TOKEN_COOKIE, path="/")
    return response


@routes.get("/api/v1/me")
async def me(request: web.Request) -> web.Response:
    user = await caller(request)
    return json_response(user.model_dump(mode="json"))
