"""The hub's services, built once per app by the composition root and shared by the REST
handlers, the socket namespaces and the adapters (one typed ``web.AppKey`` holds it)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from redis.asyncio import Redis

from hub.auth import Sessions, VisitorTokens
from hub.channels import ChannelDeps, ChannelRegistry
from hub.conversations import Conversations
from hub.events import EventBus
from hub.files import Files
from hub.indexer import SearchIndexer
from hub.metrics import Metrics
from hub.outbox import Outbox
from hub.presence import Presence
from hub.realtime import Gateway
from hub.runners import ChannelRunners
from hub.settings import Settings
from hub.store import Store
from hub.stream import Stream
from hub.throttle import LoginThrottle
from hub.timers import Timers


class SinkServices(Protocol):
    """What a channel's sink (``hub.sink.HubSink``) writes through. ``Hub`` offers it, and so
    does ``Core``: the outbox and the channel runners make sinks, and they are built before the
    ``Hub`` that holds them, so they get the ``Core`` that exists by then."""

    @property
    def settings(self) -> Settings: ...
    @property
    def store(self) -> Store: ...
    @property
    def stream(self) -> Stream: ...
    @property
    def conversations(self) -> Conversations: ...
    @property
    def files(self) -> Files: ...
    @property
    def visitor_tokens(self) -> VisitorTokens: ...


class ClientOwners(Protocol):
    """Who is responsible for a client in the CRM (the CRM bridge answers it): sticky routing
    (``routing.prefer: crm_responsible``) asks through this port, not the CRM's internals."""

    async def responsible_for(self, client_id: str) -> str | None: ...


@dataclass(frozen=True)
class Core:
    """The services a sink needs, before the workers that make sinks exist."""

    settings: Settings
    store: Store
    stream: Stream
    conversations: Conversations
    files: Files
    visitor_tokens: VisitorTokens


@dataclass
class Hub:
    """Every hub service of one app; the composition root builds it, the packages use it."""

    settings: Settings
    store: Store
    bus: EventBus
    metrics: Metrics
    stream: Stream
    conversations: Conversations
    sessions: Sessions
    visitor_tokens: VisitorTokens
    presence: Presence
    gateway: Gateway
    registry: ChannelRegistry
    outbox: Outbox
    timers: Timers
    files: Files
    channel_deps: Callable[[], ChannelDeps]
    runners: ChannelRunners
    login_throttle: LoginThrottle
    redis: Redis | None
    # Keeps the message search's word index up to date (hub/indexer.py).
    search: SearchIndexer
    # Set by the CRM bridge when it is wired in (hub/app/parts.py).
    owners: ClientOwners | None = None
