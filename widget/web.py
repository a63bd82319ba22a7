"""The widget's HTTP side: the built bundle (``/widget/loader.js``, ``/widget/widget.js``), the
``/demo`` page, visitor uploads (``POST /api/v1/widget/uploads``) and file downloads
(``GET /api/v1/files/<id>``, authorised by a visitor token or a staff token)."""

from __future__ import annotations

import html
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import BadHttpMessage

from hub.appkeys import HUB
from hub.errors import BadRequest, Forbidden, HubError, NotFound, Unauthorized
from hub.files import StoredFile
from hub.http import bearer_token, error_response, json_response, request_address
from hub.models import ChannelRecord, User
from hub.services import Hub
from widget import demo
from widget.channel import origin_allowed
from widget.limits import WidgetLimits

log = logging.getLogger("openlines.widget")

DIST = Path(__file__).resolve().parent / "static" / "dist"
# The loader's URL is pasted into customers' pages and never changes: cache it for an hour.
# The bundle's URL carries its content hash (``?v=``): cache that for a year.
LOADER_CACHE = "public, max-age=3600"
BUNDLE_CACHE = "public, max-age=31536000, immutable"
# Multipart framing around the file itself.
_MULTIPART_SLACK = 64 * 1024
_READ_CHUNK = 64 * 1024

# The upload limits of this process (in-memory counters when the hub has no Redis).
LIMITS = web.AppKey("widget_limits", WidgetLimits)

routes = web.RouteTableDef()


class LengthRequired(HubError):
    status = 411
    code = "length_required"


def setup(app: web.Application) -> None:
    """Wire the widget's routes and its start-up work (limits, demo seed) into the app."""
    app.router.add_routes(routes)
    app.cleanup_ctx.append(_widget_ctx)


async def _widget_ctx(app: web.Application) -> AsyncIterator[None]:
    app[LIMITS] = WidgetLimits(app[HUB])
    await demo.seed(app[HUB])
    yield


def bundle_version() -> str | None:
    try:
        manifest = json.loads((DIST / "manifest.json").read_text())
    except (OSError, ValueError):
        return None
    return str(manifest.get("widget")) if manifest.get("widget") else None


def _asset(name: str, cache: str) -> web.StreamResponse:
    path = DIST / name
    if not path.is_file():
        raise NotFound(
            "the widget bundle is not built: run `make install` (npm run build)",
            code="bundle_missing",
        )
    # FileResponse serves the pre-compressed ``.gz`` sibling to clients that accept gzip.
    return web.FileResponse(
        path,
        headers={
            "Content-Type": "text/javascript; charset=utf-8",
            "Cache-Control": cache,
            "Access-Control-Allow-Origin": "*",
            "X-Content-Type-Options": "nosniff",
        },
    )


@routes.get("/widget/loader.js")
async def loader_js(request: web.Request) -> web.StreamResponse:
    return _asset("loader.js", LOADER_CACHE)


@routes.get("/widget/widget.js")
async def widget_js(request: web.Request) -> web.StreamResponse:
    current = request.query.get("v") == bundle_version()
    return _asset("widget.js", BUNDLE_CACHE if current else "no-cache")


# --- uploads -------------------------------------------------------------------------------


def _cors(origin: str | None, allowed: bool) -> dict[str, str]:
    if not origin or not allowed:
        return {}
    return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}


async def _visitor(hub: Hub, token: str) -> tuple[ChannelRecord, str]:
    """The channel and visitor a visitor token names; 401 when it is forged, foreign, of the
    old (never expiring) form, or older than ``VISITOR_TOKEN_TTL_S``."""
    channel_id = token.split(".", 1)[0]
    visitor_id = hub.visitor_tokens.verify(token, channel_id)
    if visitor_id is None:
        raise Unauthorized(
            "the visitor token is invalid or expired; reconnect for a new one",
            code="invalid_visitor_token",
        )
    channel = await hub.store.channels.get(channel_id)
    if channel is None or not channel.active:
        raise Unauthorized("the visitor token is invalid", code="invalid_visitor_token")
    return channel, visitor_id


@routes.options("/api/v1/widget/uploads")
async def upload_preflight(request: web.Request) -> web.Response:
    # The preflight carries no token, so it cannot know the channel: the POST checks the origin.
    origin = request.headers.get("Origin")
    headers = _cors(origin, True) | {
        "Access-Control-Allow-Methods": "POST",
        "Access-Control-Allow-Headers": "X-Visitor-Token, Content-Type",
        "Access-Control-Max-Age": "600",
    }
    return web.Response(status=204, headers=headers)


@routes.post("/api/v1/widget/uploads")
async def upload(request: web.Request) -> web.Response:
    """One file (multipart field ``file``) from a visitor (``X-Visitor-Token``) or staff.

    A visitor's upload declares its size (``Content-Length``, as browsers do): a too large one
    is refused, and the visitor's and their address's files and bytes are counted, before a
    byte of it is read; the body is then checked again as it streams into the store."""
    hub = request.app[HUB]
    files = hub.files
    origin = request.headers.get("Origin")
    cors: dict[str, str] = {}
    try:
        owner: dict[str, Any]
        token = request.headers.get("X-Visitor-Token")
        if token:
            channel, visitor_id = await _visitor(hub, token)
            allowed = origin_allowed(channel.config, origin, request.host)
            cors = _cors(origin, allowed)
            if not allowed:
                raise Forbidden("this site may not use the widget", code="origin_not_allowed")
            owner = {"kind": "visitor", "channel_id": channel.id, "visitor_id": visitor_id}
            if request.content_length is None:
                raise LengthRequired("send the file with a Content-Length")
            files.check_size(request.content_length - _MULTIPART_SLACK)
            await request.app[LIMITS].upload(
                f"{channel.id}:{visitor_id}",
                request_address(request, hub.settings.trusted_proxies),
                request.content_length,
            )
        else:
            user = await hub.sessions.authenticate(bearer_token(request))
            owner = {"kind": "staff", "user_id": user.id}
            if request.content_length is not None:
                files.check_size(request.content_length - _MULTIPART_SLACK)
        part = await _file_part(request)
        stored = await files.upload(part.filename, _part_chunks(part), owner)
    except HubError as exc:
        response = error_response(exc)
        response.headers.update(cors)
        return response
    log.info("stored upload file=%s size=%s kind=%s", stored.id, stored.size, owner["kind"])
    body = stored.attachment().model_dump(mode="json")
    response = json_response(body, status=201)
    response.headers.update(cors)
    return response


_MALFORMED = (ValueError, BadHttpMessage)  # what aiohttp's multipart reader raises on bad input


def _malformed() -> BadRequest:
    return BadRequest("the multipart body is malformed", code="invalid_multipart")


async def _file_part(request: web.Request) -> BodyPartReader:
    if not request.content_type.startswith("multipart/"):
        raise BadRequest("send the file as multipart/form-data", code="not_multipart")
    try:
        # No boundary, a header aiohttp cannot parse (a NUL in the file name), a missing
        # starting boundary: all ValueError or BadHttpMessage, all the sender's fault.
        reader = await request.multipart()
        while True:
            part = await reader.next()
            if part is None:
                raise BadRequest("no file in the request (field `file`)", code="no_file")
            if isinstance(part, BodyPartReader) and part.name == "file":
                return part
    except _MALFORMED:
        raise _malformed() from None


async def _part_chunks(part: BodyPartReader) -> AsyncIterator[bytes]:
    try:
        while chunk := await part.read_chunk(_READ_CHUNK):
            yield chunk
    except _MALFORMED:
        raise _malformed() from None


# --- downloads -----------------------------------------------------------------------------


@routes.get("/api/v1/files/{file_id}")
async def download(request: web.Request) -> web.StreamResponse:
    """A stored file, for a visitor (``?token=`` or ``X-Visitor-Token``) or staff (bearer)."""
    hub = request.app[HUB]
    files = request.app[HUB].files
    stored = await files.get(request.match_info["file_id"])
    if stored is None:
        raise NotFound("no such file")
    visitor_token = request.query.get("token") or request.headers.get("X-Visitor-Token")
    if visitor_token:
        channel, visitor_id = await _visitor(hub, visitor_token)
        allowed = await files.visitor_may_read(stored, channel.id, visitor_id)
    else:
        user: User = await hub.sessions.authenticate(bearer_token(request, cookie=True))
        allowed = await files.staff_may_read(stored, user)
    if not allowed:
        raise NotFound("no such file")  # 404, not 403: nothing to learn about others' files
    response = web.StreamResponse(headers=_file_headers(stored))
    response.content_length = stored.size
    await response.prepare(request)
    async for chunk in files.stream(stored.id):  # a chunk in memory at a time, not the file
        await response.write(chunk)
    await response.write_eof()
    return response


def _file_headers(stored: StoredFile) -> dict[str, str]:
    disposition = "inline" if stored.mime.startswith("image/") else "attachment"
    return {
        "Content-Type": stored.mime,
        "Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(stored.name)}",
        "Cache-Control": "private, max-age=3600",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        # Lets customer pages that isolate themselves (COEP) still show the image previews.
        "Cross-Origin-Resource-Policy": "cross-origin",
    }


# --- the demo page -------------------------------------------------------------------------


@routes.get("/demo")
async def demo_page(request: web.Request) -> web.Response:
    """A page that embeds the widget as a customer's site would (the snippet, nothing else)."""
    hub = request.app[HUB]
    key = request.query.get("key") or await demo.widget_key(hub)
    if not key:
        raise NotFound(
            "no demo here: `make run` (OPENLINES_DEMO=true) seeds it into an empty database; "
            "pass ?key=<widget key> to try another widget",
            code="no_demo",
        )
    return web.Response(
        text=demo.PAGE.replace("{{KEY}}", html.escape(key)), content_type="text/html"
    )
