"""The composition root: ``create_app(settings)`` builds one hub process.

The only place in ``hub/`` that knows the other packages: it wires the channel adapters, the
router and the two Socket.IO namespaces in. Each resource is a single-yield ``cleanup_ctx``
generator, so start-up and teardown sit side by side and fail cleanly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import orjson
import socketio
from aiohttp import web
from pymongo import AsyncMongoClient
from pymongo.errors import PyMongoError
from redis.asyncio import Redis

import channels.api
import channels.email
import channels.telegram
import channels.vk
import crm_bridge
import operators_ui.namespace
import operators_ui.web
import routing.router
import widget.channel
import widget.lifecycle
import widget.namespace
import widget.web
from hub import api
from hub.api.openapi import OPENAPI, build_spec
from hub.api.users import UserIn, create_user
from hub.appkeys import HUB
from hub.auth import Sessions, VisitorTokens
from hub.channels import ChannelDeps, ChannelRegistry
from hub.conversations import Conversations
from hub.embedded import EmbeddedMongo, EmbeddedMongoError
from hub.errors import Conflict
from hub.events import EventBus, InMemoryBus, RedisStreamBus
from hub.files import Files
from hub.http import body_deadline, error_middleware, security_headers
from hub.lognoise import quiet_client_errors
from hub.metrics import Metrics
from hub.models import ChannelRecord, Role
from hub.netguard import GuardedResolver
from hub.outbox import Outbox
from hub.presence import Presence
from hub.realtime import Gateway
from hub.runners import ChannelRunners
from hub.secretbox import SecretBox
from hub.services import Hub
from hub.settings import Settings
from hub.sink import HubSink
from hub.store import Store
from hub.stream import Stream
from hub.throttle import LoginThrottle
from hub.timers import Timers

log = logging.getLogger("openlines.app")


class StartupError(RuntimeError):
    """A dependency is missing or misconfigured; the message is one line for the terminal."""


@dataclass
class ExitStatus:
    code: int = 0


STOP_TIMEOUT_S = 10.0

SETTINGS = web.AppKey("settings", Settings)
MONGO = web.AppKey("mongo", AsyncMongoClient)
REDIS = web.AppKey("redis", Redis)
HTTP = web.AppKey("http", aiohttp.ClientSession)
SIO = web.AppKey("sio", socketio.AsyncServer)
EXIT = web.AppKey("exit", ExitStatus)


def redact(url: str) -> str:
    """The URL without its password, fit for logs and error messages."""
    return re.sub(r"//([^:/@]+):[^@/]*@", r"//\1:***@", url)


def registry() -> ChannelRegistry:
    kinds = ChannelRegistry()
    kinds.add(widget.channel.WidgetKind())
    kinds.add(channels.api.ApiKind())
    kinds.add(channels.telegram.TelegramKind())
    kinds.add(channels.vk.VkKind())
    kinds.add(channels.email.EmailKind())
    return kinds


async def create_app(settings: Settings) -> web.Application:
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
    prefix = f"openlines:{settings.mongo_db}"
    manager = (
        socketio.AsyncRedisManager(settings.redis_url, channel=f"{prefix}:socketio")
        if settings.redis_url
        else None
    )
    sio = socketio.AsyncServer(
        async_mode="aiohttp",
        client_manager=manager,
        # The widget runs on customers' sites; /widget checks each channel's allowed origins
        # itself and /operator authenticates with a bearer token, never a cookie.
        cors_allowed_origins="*",
        json=_OrjsonForSocketIO,
    )
    sio.attach(app)
    app[SIO] = sio
    app.cleanup_ctx.append(_mongo_ctx)
    app.cleanup_ctx.append(_redis_ctx)
    app.cleanup_ctx.append(_http_ctx)
    app.cleanup_ctx.append(_hub_ctx)
    app.router.add_routes(api.routes())
    app.router.add_routes(crm_bridge.routes())
    widget.web.setup(app)  # the bundle, /demo, uploads and file downloads
    operators_ui.web.setup(app)  # the console at / and its /api/v1/console endpoints
    # Built from the finished router, so every package's routes are described.
    app[OPENAPI] = build_spec(
        app.router.routes(),
        {
            **api.body_models(),
            **crm_bridge.body_models(),
            ("POST", "/api/v1/console/quick-answers"): operators_ui.web.QuickAnswerIn,
        },
    )
    return app


class _OrjsonForSocketIO:
    """python-socketio's pluggable JSON module, backed by orjson (messages are the hot path)."""

    @staticmethod
    def dumps(obj: object, **_: object) -> str:
        return orjson.dumps(obj).decode()

    @staticmethod
    def loads(data: str | bytes, **_: object) -> object:
        return orjson.loads(data)


async def _mongo_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    embedded: EmbeddedMongo | None = None
    url = settings.mongo_url
    if url is None:
        embedded = EmbeddedMongo(settings.data_dir)
        try:
            # Blocking (it waits for the server to answer); the server watches this process,
            # not the worker thread, so it lives exactly as long as the hub.
            await asyncio.to_thread(embedded.start)
        except EmbeddedMongoError as exc:
            raise StartupError(str(exc)) from None
        url = embedded.url
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(
        url, tz_aware=True, serverSelectionTimeoutMS=5000
    )
    try:
        await client.admin.command("ping")
    except PyMongoError as exc:
        await client.close()
        if embedded:
            await asyncio.to_thread(embedded.stop)
        raise StartupError(
            f"cannot reach MongoDB at {redact(url)}: {type(exc).__name__}"
        ) from None
    app[MONGO] = client
    watcher = asyncio.create_task(_watch_embedded(app, embedded, client)) if embedded else None
    try:
        yield
    finally:
        if watcher:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
        await client.close()
        if embedded:
            await asyncio.to_thread(embedded.stop)
            if watcher and not watcher.cancelled():
                # The log's last line says why, after the parts' complaints of a closed client.
                log.critical("stopped: the embedded MongoDB died; see %s", embedded.log_path)


async def _watch_embedded(
    app: web.Application, embedded: EmbeddedMongo, client: AsyncMongoClient[dict[str, object]]
) -> None:
    await embedded.watch()
    # Fail loudly: without its database the hub must not pretend to work. Stop at once, not
    # after minutes: the client is closed, so requests and each part's last writes at shutdown
    # fail now instead of each waiting out the server selection timeout for a server that will
    # not come back; the sockets are closed (their clients reconnect to another hub, or to
    # this one restarted), else the graceful stop waits for them up to its shutdown timeout.
    app[EXIT].code = 1
    await client.close()
    await _disconnect_sockets(app[SIO])
    os.kill(os.getpid(), signal.SIGTERM)


async def _disconnect_sockets(sio: socketio.AsyncServer) -> None:
    if sio.eio.sockets:  # engine.io's "disconnect all" fails on none
        await sio.eio.disconnect()


async def _redis_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    if not settings.redis_url:
        yield
        return
    client = Redis.from_url(settings.redis_url)
    try:
        await client.ping()
    except Exception as exc:
        await client.aclose()
        raise StartupError(
            f"cannot reach Redis at {redact(settings.redis_url)}: {type(exc).__name__}"
        ) from None
    app[REDIS] = client
    try:
        yield
    finally:
        await client.aclose()


async def _http_ctx(app: web.Application) -> AsyncIterator[None]:
    # Every outgoing call (platform APIs, webhooks) resolves names to public addresses only.
    resolver = GuardedResolver(allow_private=app[SETTINGS].allow_private_urls)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(resolver=resolver)) as session:
        app[HTTP] = session
        yield


async def _hub_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    sio = app[SIO]
    kinds = registry()
    store = Store(
        app[MONGO],
        settings.mongo_db,
        secrets=SecretBox(settings.resolved_secret_key()),
        secret_fields=kinds.secret_fields,
    )
    await store.ensure_indexes()
    await store.channels.seal_all()  # secrets stored in clear before they were sealed
    redis = app.get(REDIS)
    bus: EventBus = (
        RedisStreamBus(redis, f"openlines:{settings.mongo_db}:events")
        if redis is not None
        else InMemoryBus()
    )
    metrics = Metrics()
    stream = Stream(store, bus, metrics)
    gateway = Gateway(sio, store, metrics)
    files = Files(store, settings.upload_max_bytes)

    def channel_deps() -> ChannelDeps:
        return ChannelDeps(
            settings=settings,
            http=app[HTTP],
            emitter=gateway,
            files=files,
            db=store.db,
            redis=redis,
            csat_link=lambda conversation_id, rating: hub.visitor_tokens.csat_link(
                settings.public_url, conversation_id, rating
            ),
        )

    async def unreachable(channel: ChannelRecord, chat_id: str, reason: str) -> None:
        await HubSink(hub, channel).unreachable(chat_id, reason)

    outbox = Outbox(store, bus, kinds, channel_deps, settings, metrics, unreachable)
    stream.on_outbox_row(outbox.notify)
    hub = Hub(
        settings=settings,
        store=store,
        bus=bus,
        metrics=metrics,
        stream=stream,
        conversations=Conversations(store, stream, bus, files),
        sessions=Sessions(store, settings.token_ttl_s),
        visitor_tokens=VisitorTokens(
            settings.resolved_secret_key(), ttl_s=settings.visitor_token_ttl_s
        ),
        presence=Presence(store, bus, settings.offline_grace_s, lease_s=settings.presence_lease_s),
        gateway=gateway,
        registry=kinds,
        outbox=outbox,
        timers=Timers(store),
        files=files,
        channel_deps=channel_deps,
        runners=ChannelRunners(
            store,
            kinds,
            channel_deps,
            lambda channel: HubSink(hub, channel),
            lease_s=settings.channel_lease_s,
            tick_s=min(5.0, settings.channel_lease_s / 3),
        ),
        login_throttle=LoginThrottle(
            settings, redis=redis, prefix=f"openlines:{settings.mongo_db}:login"
        ),
        redis=redis,
    )
    app[HUB] = hub
    await hub.files.ensure_indexes()
    await _bootstrap_admin(hub)

    gateway.subscribe(bus)
    router = routing.router.Router(hub, hub.timers)
    router.subscribe()
    widget.namespace.register(sio, hub)
    widget.lifecycle.register(sio, hub)
    operators_ui.namespace.register(sio, hub)
    crm = crm_bridge.CrmBridge(hub, app[HTTP])
    app[crm_bridge.CRM] = crm
    await crm.prepare()  # subscribes its rules: before the bus starts

    await bus.start()
    await hub.presence.start()
    await outbox.start()
    await hub.timers.start()
    await hub.runners.start()
    await router.start()
    await crm.start()
    log.info("hub ready db=%s redis=%s", settings.mongo_db, "on" if redis else "off")
    try:
        yield
    finally:
        for name, stop in (
            ("crm", crm.stop),
            ("channel receivers", hub.runners.stop),
            ("timers", hub.timers.stop),
            ("router", router.stop),
            ("outbox", outbox.stop),
            ("channel kinds", kinds.close),  # after all that sends and receives
            ("presence", hub.presence.stop),
            ("event bus", bus.stop),
        ):
            # A stuck part must not keep the process from stopping: say which, move on.
            try:
                await asyncio.wait_for(stop(), timeout=STOP_TIMEOUT_S)
            except TimeoutError:
                log.error("stopping %s took longer than %s s; going on", name, STOP_TIMEOUT_S)
            except Exception as error:  # e.g. MongoDB already gone: say so in one line
                log.error("stopping %s failed: %s", name, error)


async def _bootstrap_admin(hub: Hub) -> None:
    settings = hub.settings
    if not (settings.admin_email and settings.admin_password):
        return
    if await hub.store.users.count_documents({}, limit=1):
        return
    body = UserIn(
        email=settings.admin_email,
        password=settings.admin_password.get_secret_value(),
        name="Administrator",
        role=Role.ADMIN,
    )
    with contextlib.suppress(Conflict):  # another process bootstrapped it first
        await create_user(hub.store, body)
        log.info("created the first admin email=%s", body.email)
