"""HTTP plumbing: one middleware maps every error to the JSON error body; JSON in and out."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import orjson
from aiohttp import web
from pydantic import BaseModel

from hub.errors import BadRequest, HubError, PayloadTooLarge
from hub.validation import parse_model

log = logging.getLogger("openlines.http")

M = TypeVar("M", bound=BaseModel)
TOKEN_COOKIE = "openlines_token"
MAX_JSON_BYTES = 1 << 20


def json_response(data: Any, *, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, content_type="application/json")


def error_response(error: HubError) -> web.Response:
    return json_response(error.body(), status=error.status)


async def read_json(request: web.Request, model: type[M]) -> M:
    """The body parsed into ``model``: 400 when it is not JSON, 422 when it does not fit."""
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
        return json_response({"error": {"code": code, "message": message}}, status=exc.status)
    except Exception:
        log.exception("unhandled error method=%s path=%s", request.method, request.path)
        return json_response(
            {"error": {"code": "internal_error", "message": "something went wrong on our side"}},
            status=500,
        )


def bearer_token(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return request.cookies.get(TOKEN_COOKIE)
