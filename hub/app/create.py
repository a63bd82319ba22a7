"""``create_app(settings)``: one hub process as an aiohttp app, built from its parts.

The only place in ``hub/`` (with the CLI and ``hub.app.parts``) that knows the other packages:
it adds their routes and the parts that wire the channel adapters, the router, the CRM and
the two Socket.IO namespaces in.
"""

from __future__ import annotations

from collections.abc import Sequence

import orjson
import socketio
from aiohttp import web

import crm_bridge
import operators_ui.web
import widget.web
from hub import api, socket_manager
from hub.api.openapi import OPENAPI, build_spec
from hub.app.parts import PARTS, Part, disconnect_sockets
from hub.appkeys import EXIT, SETTINGS, SIO, ExitStatus
from hub.http import body_deadline, error_middleware, security_headers
from hub.lognoise import quiet_client_errors
from hub.settings import Settings


async def create_app(settings: Settings, *, parts: Sequence[Part] = PARTS) -> web.Application:
    """The app, its parts registered in order (they start when the app starts)."""
    quiet_client_errors()
    app = web.Application(
        middlewares=[error_middleware, body_deadline(settings.request_body_timeout_s)],
        client_max_size=2 << 20,
        # A connection that sends no complete request headers (or idles between requests)
        # for this long is closed: slow clients cannot hold connections open.
        handler_args={"keepalive_timeout": settings.request_header_timeout_s},
    )
    app.on_response_prepare.append(security_headers)
    app[SETTINGS] = settings
    app[EXIT] = ExitStatus()
    # Attached now, not in a part: attaching adds the Socket.IO route, and routes are fixed
    # before the app starts. Its Redis manager connects when the first socket does.
    app[SIO] = _socket_server(settings)
    app[SIO].attach(app)
    # A stop closes the open sockets first: else each browser tab's websocket (or long poll)
    # holds the stop until the shutdown timeout.
    app.on_shutdown.append(lambda app: disconnect_sockets(app[SIO]))
    app.cleanup_ctx.extend(parts)
    app.router.add_routes(api.routes())
    app.router.add_routes(crm_bridge.routes())
    widget.web.setup(app)  # the bundle, /demo, uploads and file downloads; the demo seed
    operators_ui.web.setup(app)  # the console at / and its /api/v1/console endpoints
    # Built from the finished router, so every package's routes are described.
    app[OPENAPI] = build_spec(
        app.router.routes(),
        {
            **api.body_models(),
            **crm_bridge.body_models(),
            ("POST", "/api/v1/console/quick-answers"): operators_ui.web.QuickAnswerIn,
            ("PATCH", "/api/v1/console/quick-answers/{answer_id}"): (
                operators_ui.web.QuickAnswerPatch
            ),
        },
    )
    return app


def _socket_server(settings: Settings) -> socketio.AsyncServer:
    prefix = f"openlines:{settings.mongo_db}"
    # Rooms indexed by sid and one encoding per broadcast (hub/socket_manager.py).
    manager: socket_manager.Manager | socket_manager.RedisManager = (
        socket_manager.RedisManager(settings.redis_url, channel=f"{prefix}:socketio")
        if settings.redis_url
        else socket_manager.Manager()
    )
    return socket_manager.SocketServer(
        async_mode="aiohttp",
        client_manager=manager,
        # The widget runs on customers' sites; /widget checks each channel's allowed origins
        # itself and /operator authenticates with a bearer token, never a cookie.
        cors_allowed_origins="*",
        json=_OrjsonForSocketIO,
    )


class _OrjsonForSocketIO:
    """python-socketio's pluggable JSON module, backed by orjson (messages are the hot path)."""

    @staticmethod
    def dumps(obj: object, **_: object) -> str:
        return orjson.dumps(obj).decode()

    @staticmethod
    def loads(data: str | bytes, **_: object) -> object:
        return orjson.loads(data)
