"""The hub's services, built once per app by the composition root and shared by the REST
handlers, the socket namespaces and the adapters (one typed ``web.AppKey`` holds it)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from redis.asyncio import Redis

from hub.auth import Sessions, VisitorTokens
from hub.channels import ChannelDeps, ChannelRegistry
from hub.conversations import Conversations
from hub.events import EventBus
from hub.files import Files
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


@dataclass
class Hub:
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
