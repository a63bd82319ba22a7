"""HTTP plumbing: one middleware maps every error to the JSON error body; JSON in and out;
request bodies that must arrive in time; the security headers every answer carries."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import math
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import orjson
from aiohttp import web
from pydantic import BaseModel

from hub.errors import (
    BadRequest,
    HubError,
    PayloadTooLarge,
    RequestTimeout,
    UnsupportedMediaType,
)
from hub.validation import parse_model

log = logging.getLogger("openlines.http")

M = TypeVar("M", bound=BaseModel)
TOKEN_COOKIE = "openlines_token"
MAX_JSON_BYTES = 1 << 20


def json_response(data: Any, *, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, content_type="application/json")


def error_response(error: HubError) -> web.Response:
    response = json_response(error.body(), status=error.status)
    retry_after = error.details.get("retry_after_s") if isinstance(error.details, dict) else None
    if isinstance(retry_after, int | float):
        response.headers["Retry-After"] = str(math.ceil(retry_after))
    return response


def forwarded_address(
    peer: str | None, real_ip: str | None, forwarded_for: str | None, trusted: list[str]
) -> str:
    """The client's address: the peer's, or — when the peer is one of the ``trusted`` reverse
    proxies (CIDR list) — what it says in ``X-Real-IP`` / the last ``X-Forwarded-For`` hop."""
    peer = peer or "unknown"
    try:
        address = ipaddress.ip_address(peer)
        trusted_peer = any(address in ipaddress.ip_network(net, strict=False) for net in trusted)
    except ValueError:
        return peer
    if not trusted_peer:
        return peer
    claimed = (real_ip or "").strip() or (forwarded_for or "").split(",")[-1].strip()
    return claimed or peer


def request_address(request: web.Request, trusted: list[str]) -> str:
    """``forwarded_address`` of an HTTP request."""
    headers = request.headers
    return forwarded_address(
        request.remote, headers.get("X-Real-IP"), headers.get("X-Forwarded-For"), trusted
    )


async def read_json(request: web.Request, model: type[M]) -> M:
    """The body parsed into ``model``: 415 unless sent as ``application/json`` (a browser's
    cross-site form or ``text/plain`` post cannot be one without a CORS preflight, which we
    never grant), 400 when it is not JSON, 422 when it does not fit."""
    if request.content_type != "application/json":
        raise UnsupportedMediaType(
            "send the body as JSON with Content-Type: application/json",
            code="unsupported_media_type",
        )
    if request.content_length is not None and request.content_length > MAX_JSON_BYTES:
        raise PayloadTooLarge("the body is too large")
    raw = await request.read()
    if len(raw) > MAX_JSON_BYTES:
        raise PayloadTooLarge("the body is too large")
    try:
        data = orjson.loads(raw or b"{}")
    except orjson.JSONDecodeError:
        raise BadRequest("the body is not valid JSON", code="invalid_json") from None
    return parse_model(model, data)


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "rate_limited",
}


@web.middleware
async def error_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    try:
        return await handler(request)
    except HubError as exc:
        return error_response(exc)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = _HTTP_CODES.get(exc.status, "http_error")
        message = "no such resource" if exc.status == 404 else (exc.reason or code)
        response = json_response({"error": {"code": code, "message": message}}, status=exc.status)
        if "Allow" in exc.headers:  # a 405 says which methods the resource has
            response.headers["Allow"] = exc.headers["Allow"]
        return response
    except Exception:
        log.exception("unhandled error method=%s path=%s", request.method, request.path)
        return json_response(
            {"error": {"code": "internal_error", "message": "something went wrong on our side"}},
            status=500,
        )


def bearer_token(request: web.Request, *, cookie: bool = False) -> str | None:
    """The caller's token from ``Authorization: Bearer``. ``cookie``: the login cookie counts
    too — only for reading files (``<img src>`` cannot send a header), and only on safe
    methods, so a page elsewhere can make the browser send it but never change anything."""
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    if cookie and request.method in ("GET", "HEAD"):
        return request.cookies.get(TOKEN_COOKIE)
    return None


def body_deadline(timeout_s: float) -> Callable[..., Awaitable[web.StreamResponse]]:
    """A middleware: a request body must arrive within ``timeout_s`` (408 otherwise), so a
    client trickling a body cannot hold a connection and a handler for ever. Small bodies are
    read here, under the deadline (handlers then read them from memory); multipart uploads and
    Socket.IO's own polling posts, which their handlers stream, run under it as a whole."""

    @web.middleware
    async def middleware(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if request.method not in ("POST", "PUT", "PATCH") or not request.body_exists:
            return await handler(request)
        streamed = request.content_type.startswith("multipart/") or request.path.startswith(
            "/socket.io"
        )
        deadline = asyncio.timeout(timeout_s)
        try:
            async with deadline:
                if streamed:
                    return await handler(request)
                await request.read()
        except TimeoutError:
            if deadline.expired():
                raise RequestTimeout(
                    f"the request body did not arrive within {timeout_s:g} s"
                ) from None
            raise
        return await handler(request)

    return middleware


# Pages that set no policy of their own (the demo site, the rating page): our own scripts and
# styles, the hub's sockets and files, never inside another site's frame.
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' blob: data:; connect-src 'self' ws: wss:; media-src 'self' data:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
# The hub's icon, inline (no request, so no 404 on a page's every load): a speech bubble.
FAVICON = (
    '<link rel="icon" href="data:image/svg+xml,'
    "%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 32 32'%3E"
    "%3Crect width='32' height='32' rx='8' fill='%232f6fed'/%3E"
    "%3Cpath d='M8 9h16a2 2 0 0 1 2 2v8a2 2 0 0 1-2 2h-9l-5 4v-4H8a2 2 0 0 1-2-2v-8a2 2 0 0 1 "
    "2-2z' fill='%23fff'/%3E%3C/svg%3E\">"
)
# Everything else (JSON, scripts, files): nothing may run or be framed from it.
DATA_CSP = "default-src 'none'; frame-ancestors 'none'"


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """``on_response_prepare``: every answer says what it is (no sniffing) and where it may run;
    a handler's own, stricter policy (files are sandboxed) is kept."""
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    if "Content-Security-Policy" not in headers:
        html = response.content_type == "text/html"
        headers["Content-Security-Policy"] = PAGE_CSP if html else DATA_CSP
