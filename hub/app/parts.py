"""The parts of one hub process, each a single-yield ``cleanup_ctx`` generator: started in the
order of ``PARTS``, stopped in reverse, start-up and teardown side by side.

A part that fails to start raises ``StartupError`` (one line, for the terminal) and the parts
already started are stopped: aiohttp unwinds the contexts it entered when the app is cleaned
up, and ``openlines serve`` cleans up after a failed start as well as after a stop.

Two phases, because the event bus starts one consumer per subscription: first the parts that
build and subscribe (nothing to stop), then the event bus, then the parts that run workers
(which publish). Each part reads what earlier parts put on the app under typed keys
(``hub.appkeys``) and puts what it makes there; none closes over an object that does not exist
yet.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import signal
import urllib.parse
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol

import aiohttp
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
import routing.answers
import routing.router
import routing.sla
import widget.channel
import widget.lifecycle
import widget.namespace
from hub.api.users import UserIn, create_user
from hub.appkeys import EXIT, HTTP, HUB, KINDS, MONGO, REDIS, SETTINGS, SIO, STORE
from hub.auth import Sessions, VisitorTokens
from hub.channels import ChannelDeps, ChannelRegistry
from hub.conversations import Conversations
from hub.embedded import EmbeddedMongo, EmbeddedMongoError
from hub.errors import Conflict
from hub.events import (
    ChannelWritten,
    EventBus,
    InMemoryBus,
    LineChannelsWritten,
    LineWritten,
    NoticesLost,
    RedisStreamBus,
)
from hub.files import Files
from hub.indexer import SearchIndexer
from hub.metrics import Metrics
from hub.models import ChannelRecord, Role
from hub.netguard import GuardedResolver
from hub.outbox import Outbox
from hub.presence import Presence
from hub.realtime import Gateway
from hub.runners import ChannelRunners
from hub.secretbox import SecretBox
from hub.services import Core, Hub
from hub.sink import HubSink
from hub.store import Store
from hub.stream import Stream
from hub.throttle import LoginThrottle
from hub.timers import Timers

log = logging.getLogger("openlines.app")

STOP_TIMEOUT_S = 10.0

ROUTER = web.AppKey("router", routing.router.Router)


class StartupError(RuntimeError):
    """A dependency is missing or misconfigured; the message is one line for the terminal."""


def redact(url: str) -> str:
    """The URL without its password, fit for logs and error messages."""
    # The user may be empty (``redis://:password@host``, the usual Redis form).
    return re.sub(r"//([^:/@]*):[^@/]*@", r"//\1:***@", url)


Lifecycle = Callable[[web.Application], AsyncIterator[None]]


@dataclass(frozen=True)
class Part:
    """One part of the app: ``lifecycle`` starts it, yields once while it runs, then stops it.

    Given to ``app.cleanup_ctx``; a failure to start becomes a one-line ``StartupError`` naming
    the part (its traceback is logged at DEBUG), so the terminal says which part and why.
    """

    name: str
    lifecycle: Lifecycle

    def __call__(self, app: web.Application) -> AbstractAsyncContextManager[None]:
        return self._run(app)

    @contextlib.asynccontextmanager
    async def _run(self, app: web.Application) -> AsyncIterator[None]:
        started = False
        try:
            async with contextlib.asynccontextmanager(self.lifecycle)(app):
                started = True
                log.debug("started %s", self.name)
                yield
            log.debug("stopped %s", self.name)
        except StartupError:
            raise
        except Exception as exc:
            if started:
                raise
            log.debug("%s failed to start", self.name, exc_info=True)
            raise StartupError(f"cannot start {self.name}: {type(exc).__name__}: {exc}") from exc


# --- resources ------------------------------------------------------------------------------


def registry() -> ChannelRegistry:
    kinds = ChannelRegistry()
    kinds.add(widget.channel.WidgetKind())
    kinds.add(channels.api.ApiKind())
    kinds.add(channels.telegram.TelegramKind())
    kinds.add(channels.vk.VkKind())
    kinds.add(channels.email.EmailKind())
    return kinds


async def channel_kinds(app: web.Application) -> AsyncIterator[None]:
    """The channel kinds this app serves (adding a channel is one line in ``registry``). They
    are made per app and closed last, after every part that sends and receives has stopped."""
    app[KINDS] = registry()
    try:
        yield
    finally:
        await app[KINDS].close()


async def mongo(app: web.Application) -> AsyncIterator[None]:
    """The MongoDB client; with no URL set, an embedded SecantusDB started for this process."""
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
    # A start gives up on an unreachable MongoDB after 5 s, unless the URL says otherwise: the
    # driver lets keyword options override the URL's, so the default is passed only without one.
    options: dict[str, Any] = {"tz_aware": True}
    if not _url_sets(url, "serverSelectionTimeoutMS"):
        options["serverSelectionTimeoutMS"] = 5000
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(url, **options)
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


def _url_sets(url: str, option: str) -> bool:
    """Whether a MongoDB URL sets ``option`` (URI options are case-insensitive)."""
    query = urllib.parse.urlsplit(url).query
    return option.lower() in {name.lower() for name in urllib.parse.parse_qs(query)}


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
    await disconnect_sockets(app[SIO])
    os.kill(os.getpid(), signal.SIGTERM)


async def disconnect_sockets(sio: socketio.AsyncServer) -> None:
    """Close every open Socket.IO connection of this process (its clients reconnect). Not
    engine.io's "disconnect all": it waits for each socket's queue to drain, which a client
    that is already gone (a long poll nobody comes back for) never does, and the stop hung."""
    sockets = list(sio.eio.sockets.values())
    reason = sio.eio.reason.SERVER_DISCONNECT
    await asyncio.gather(
        *(socket.close(wait=False, reason=reason) for socket in sockets), return_exceptions=True
    )
    sio.eio.sockets.clear()


async def redis(app: web.Application) -> AsyncIterator[None]:
    """The Redis client when ``OPENLINES_REDIS_URL`` is set (the bus and login throttle)."""
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


async def http(app: web.Application) -> AsyncIterator[None]:
    """The one outgoing HTTP session (platform APIs, webhooks)."""
    # Every outgoing call resolves names to public addresses only.
    resolver = GuardedResolver(allow_private=app[SETTINGS].allow_private_urls)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(resolver=resolver)) as session:
        app[HTTP] = session
        yield


async def store(app: web.Application) -> AsyncIterator[None]:
    """The hub's collections and their indexes; channel secrets sealed at rest."""
    settings = app[SETTINGS]
    hub_store = Store(
        app[MONGO],
        settings.mongo_db,
        secrets=SecretBox(settings.resolved_secret_key()),
        secret_fields=app[KINDS].secret_fields,
    )
    await hub_store.ensure_indexes()
    await hub_store.channels.seal_all()  # secrets stored in clear before they were sealed
    app[STORE] = hub_store
    yield


# --- wiring: build and subscribe, nothing runs yet ---------------------------------------------


async def services(app: web.Application) -> AsyncIterator[None]:
    """Every hub service, built in dependency order (no task starts here); the first admin."""
    settings = app[SETTINGS]
    hub_store = app[STORE]
    kinds = app[KINDS]
    redis_client = app.get(REDIS)
    bus: EventBus = (
        RedisStreamBus(redis_client, f"openlines:{settings.mongo_db}:events")
        if redis_client is not None
        else InMemoryBus()
    )
    metrics = Metrics()
    stream = Stream(hub_store, bus, metrics)
    _forget_across_processes(hub_store, stream, bus)
    gateway = Gateway(app[SIO], hub_store, metrics)
    files = Files(hub_store, settings.upload_max_bytes)
    visitor_tokens = VisitorTokens(
        settings.resolved_secret_key(), ttl_s=settings.visitor_token_ttl_s
    )
    conversations = Conversations(hub_store, stream, bus, files)
    core = Core(settings, hub_store, stream, conversations, files, visitor_tokens)
    channel_deps = partial(
        ChannelDeps,
        settings=settings,
        http=app[HTTP],
        emitter=gateway,
        files=files,
        db=hub_store.db,
        redis=redis_client,
        line_name=hub_store.lines.name,
        csat_link=partial(visitor_tokens.csat_link, settings.public_url),
    )
    outbox = Outbox(
        hub_store, bus, kinds, channel_deps, settings, metrics, partial(_unreachable, core)
    )
    stream.on_outbox_row(outbox.notify)
    hub = Hub(
        search=SearchIndexer(hub_store, bus),
        settings=settings,
        store=hub_store,
        bus=bus,
        metrics=metrics,
        stream=stream,
        conversations=conversations,
        sessions=Sessions(hub_store, settings.token_ttl_s),
        visitor_tokens=visitor_tokens,
        presence=Presence(
            hub_store, bus, settings.offline_grace_s, lease_s=settings.presence_lease_s
        ),
        gateway=gateway,
        registry=kinds,
        outbox=outbox,
        timers=Timers(hub_store),
        files=files,
        channel_deps=channel_deps,
        runners=ChannelRunners(
            hub_store,
            kinds,
            channel_deps,
            partial(HubSink, core),
            lease_s=settings.channel_lease_s,
            tick_s=min(5.0, settings.channel_lease_s / 3),
        ),
        login_throttle=LoginThrottle(
            settings, redis=redis_client, prefix=f"openlines:{settings.mongo_db}:login"
        ),
        redis=redis_client,
    )
    await _bootstrap_admin(hub)
    app[HUB] = hub
    yield


def _forget_across_processes(hub_store: Store, stream: Stream, bus: EventBus) -> None:
    """What each process keeps of lines and channels, forgotten in every process on a write
    (and everything at once when this one may have missed a notice)."""

    async def line_written(line_id: str) -> None:
        await bus.broadcast(LineWritten(line_id=line_id))

    hub_store.lines.on_change(line_written)
    bus.listen(lambda _: hub_store.lines.forget(), LineWritten, NoticesLost)
    bus.listen(lambda notice: stream.forget_channel(notice.channel_id), ChannelWritten)
    bus.listen(lambda notice: stream.forget_line(notice.line_id), LineChannelsWritten)


async def _unreachable(core: Core, channel: ChannelRecord, chat_id: str, reason: str) -> None:
    """The outbox found a client the platform no longer delivers to (a blocked bot)."""
    await HubSink(core, channel).unreachable(chat_id, reason)


async def _bootstrap_admin(hub: Hub) -> None:
    settings = hub.settings
    if not (settings.admin_email and settings.admin_password):
        return
    if await hub.store.users.any():
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


async def realtime(app: web.Application) -> AsyncIterator[None]:
    """Events to Socket.IO rooms."""
    hub = app[HUB]
    hub.gateway.subscribe(hub.bus)
    yield


async def routing_rules(app: web.Application) -> AsyncIterator[None]:
    """The router hears conversation events (it starts with the workers, below); the SLA
    watch runs the lines' response-time clocks, the answer watch their answer timeouts."""
    hub = app[HUB]
    router = routing.router.Router(hub, hub.timers)
    router.subscribe()
    app[ROUTER] = router
    routing.sla.SlaWatch(hub, hub.timers).subscribe()
    routing.answers.AnswerWatch(hub, hub.timers).subscribe()
    yield


async def widget_namespace(app: web.Application) -> AsyncIterator[None]:
    """The visitors' ``/widget`` namespace and the widget's conversation lifecycle."""
    widget.namespace.register(app[SIO], app[HUB])
    widget.lifecycle.register(app[SIO], app[HUB])
    yield


async def operators_namespace(app: web.Application) -> AsyncIterator[None]:
    """The console's ``/operator`` namespace."""
    operators_ui.namespace.register(app[SIO], app[HUB])
    yield


async def crm_rules(app: web.Application) -> AsyncIterator[None]:
    """The CRM bridge: its indexes, default pipeline and rules (subscribed here)."""
    crm = crm_bridge.CrmBridge(app[HUB], app[HTTP])
    await crm.prepare()
    app[crm_bridge.CRM] = crm
    app[HUB].owners = crm.owners  # sticky routing asks it who is responsible for a client
    yield


# --- workers: started once everything is subscribed ----------------------------------------


class Startable(Protocol):
    async def start(self) -> None: ...
    async def stop(self) -> None: ...


def worker(name: str, of: Callable[[web.Application], Startable]) -> Part:
    """A part that starts ``of(app)`` and stops it at shutdown; a stuck or failing stop is
    logged in one line and the others still stop."""

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        running = of(app)
        await running.start()
        try:
            yield
        finally:
            await _stop(name, running.stop)

    return Part(name, lifecycle)


async def _stop(name: str, stop: Callable[[], Awaitable[None]]) -> None:
    # A stuck part must not keep the process from stopping: say which, move on.
    try:
        await asyncio.wait_for(stop(), timeout=STOP_TIMEOUT_S)
    except TimeoutError:
        log.error("stopping %s took longer than %s s; going on", name, STOP_TIMEOUT_S)
    except Exception as error:  # e.g. MongoDB already gone: say so in one line
        log.error("stopping %s failed: %s", name, error)


async def ready(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    redis_on = "on" if app.get(REDIS) is not None else "off"
    log.info("hub ready db=%s redis=%s", settings.mongo_db, redis_on)
    yield


PARTS: Sequence[Part] = (
    Part("channel kinds", channel_kinds),
    Part("mongo", mongo),
    Part("redis", redis),
    Part("http session", http),
    Part("store", store),
    Part("hub services", services),
    Part("realtime", realtime),
    Part("routing", routing_rules),
    Part("widget namespace", widget_namespace),
    Part("operators namespace", operators_namespace),
    Part("crm", crm_rules),
    worker("event bus", lambda app: app[HUB].bus),
    worker("presence", lambda app: app[HUB].presence),
    worker("outbox", lambda app: app[HUB].outbox),
    worker("search index", lambda app: app[HUB].search),
    worker("router", lambda app: app[ROUTER]),
    worker("timers", lambda app: app[HUB].timers),
    worker("channel receivers", lambda app: app[HUB].runners),
    worker("crm webhooks", lambda app: app[crm_bridge.CRM]),
    Part("ready", ready),
)
"""The default parts in start order. A test may build the app from another list (one with a
part that fails, say) through ``create_app(settings, parts=...)``."""
