"""Typed domain events and the bus that carries them to subscribers.

Each subscription has a name (``realtime``, ``routing``, ...) and gets every event it asked for
exactly once per cluster: in one process through an in-memory queue, across processes through a
Redis stream with one consumer group per subscription name.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal, Protocol

import orjson
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from hub.models import Client, Conversation, Message, PresenceStatus

log = logging.getLogger("openlines.events")


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True)


class MessageStored(_Event):
    kind: Literal["message_stored"] = "message_stored"
    message: Message
    conversation: Conversation


class MessageUpdated(_Event):
    kind: Literal["message_updated"] = "message_updated"
    message: Message
    conversation: Conversation


class ConversationOpened(_Event):
    kind: Literal["conversation_opened"] = "conversation_opened"
    conversation: Conversation


class ConversationChange(StrEnum):
    """What happened to a conversation. The values are what the console hears as
    ``conversation:updated {change}``, so they never change."""

    OFFERED = "offered"
    OFFER_EXPIRED = "offer_expired"
    ASSIGNED = "assigned"
    TRANSFERRED = "transferred"
    LINE_CHANGED = "line_changed"
    RETURNED = "returned"
    INVITED = "invited"
    JOINED = "joined"
    LEFT = "left"
    PINNED = "pinned"
    UNPINNED = "unpinned"
    CLOSED = "closed"
    CSAT = "csat"
    CSAT_EXPIRED = "csat_expired"
    CRM_LINKED = "crm_linked"
    CLIENT = "client"
    CLIENT_UNREACHABLE = "client_unreachable"
    CLIENT_REACHABLE = "client_reachable"
    # The after-hours text was claimed for this closed period (``after_hours_until``).
    AFTER_HOURS = "after_hours"
    # The one queue-position text of a platform without a live view was claimed.
    QUEUE_NOTICE = "queue_notice"


# --- what a change carries (the conversation after it is always on the event) ---------------


class _Detail(BaseModel):
    model_config = ConfigDict(frozen=True)


class Offered(_Detail):
    change: Literal[ConversationChange.OFFERED] = ConversationChange.OFFERED
    user_ids: list[str]
    expires_at: datetime | None = None


class OfferExpired(_Detail):
    change: Literal[ConversationChange.OFFER_EXPIRED] = ConversationChange.OFFER_EXPIRED
    user_ids: list[str]


class Assigned(_Detail):
    change: Literal[ConversationChange.ASSIGNED] = ConversationChange.ASSIGNED
    user_id: str


class Transferred(_Detail):
    change: Literal[ConversationChange.TRANSFERRED] = ConversationChange.TRANSFERRED
    from_user_id: str
    to_user_id: str


class LineChanged(_Detail):
    change: Literal[ConversationChange.LINE_CHANGED] = ConversationChange.LINE_CHANGED
    from_line_id: str
    to_line_id: str


class Returned(_Detail):
    change: Literal[ConversationChange.RETURNED] = ConversationChange.RETURNED
    user_id: str


class Invited(_Detail):
    change: Literal[ConversationChange.INVITED] = ConversationChange.INVITED
    user_id: str


class Joined(_Detail):
    change: Literal[ConversationChange.JOINED] = ConversationChange.JOINED
    user_id: str
    hidden: bool


class Left(_Detail):
    change: Literal[ConversationChange.LEFT] = ConversationChange.LEFT
    user_id: str


class Closed(_Detail):
    change: Literal[ConversationChange.CLOSED] = ConversationChange.CLOSED
    reason: str


class CsatSubmitted(_Detail):
    change: Literal[ConversationChange.CSAT] = ConversationChange.CSAT
    rating: int


class ClientUnreachableSet(_Detail):
    change: Literal[ConversationChange.CLIENT_UNREACHABLE] = ConversationChange.CLIENT_UNREACHABLE
    reason: str


ChangeDetail = Annotated[
    Offered
    | OfferExpired
    | Assigned
    | Transferred
    | LineChanged
    | Returned
    | Invited
    | Joined
    | Left
    | Closed
    | CsatSubmitted
    | ClientUnreachableSet,
    Field(discriminator="change"),
]


class ConversationChanged(_Event):
    """Status, assignee, participants or flags changed; ``change`` names what happened and
    ``detail``, for the changes that carry data, says with whom or why."""

    kind: Literal["conversation_changed"] = "conversation_changed"
    conversation: Conversation
    change: ConversationChange
    detail: ChangeDetail | None = None
    actor_id: str | None = None
    # People no longer in the conversation who must still hear of the change (a transfer's
    # previous assignee, someone who left).
    former_user_ids: list[str] = Field(default_factory=list)
    former_line_id: str | None = None

    @model_validator(mode="after")
    def _detail_matches(self) -> ConversationChanged:
        if self.detail is not None and self.detail.change != self.change:
            raise ValueError(f"a {self.detail.change} detail on a {self.change} change")
        return self


class ClientUpdated(_Event):
    """A platform or a form told us more about a client (name, email or phone changed);
    ``changed`` names the fields. CRM rules use it to update a lead or find a known contact."""

    kind: Literal["client_updated"] = "client_updated"
    client: Client
    channel_id: str
    changed: list[str]


class QueuePositionChanged(_Event):
    kind: Literal["queue_position_changed"] = "queue_position_changed"
    conversation: Conversation
    position: int | None


class PresenceChanged(_Event):
    kind: Literal["presence_changed"] = "presence_changed"
    user_id: str
    status: PresenceStatus


Event = Annotated[
    MessageStored
    | MessageUpdated
    | ConversationOpened
    | ConversationChanged
    | PresenceChanged
    | QueuePositionChanged
    | ClientUpdated,
    Field(discriminator="kind"),
]
_event_adapter: TypeAdapter[Event] = TypeAdapter(Event)

Handler = Callable[[Any], Awaitable[None]]


class _Subscription:
    def __init__(self, name: str, handler: Handler, kinds: tuple[type[_Event], ...]) -> None:
        self.name = name
        self.handler = handler
        self.kinds = kinds

    def wants(self, event: _Event) -> bool:
        return isinstance(event, self.kinds)

    async def deliver(self, event: _Event, stats: BusStats) -> None:
        try:
            await self.handler(event)
        except Exception:
            stats.handler_failures += 1
            log.exception("subscriber=%s failed on event=%s", self.name, type(event).__name__)


class BusStats:
    def __init__(self) -> None:
        self.published = 0
        self.handler_failures = 0
        self.publish_failures = 0
        self.reclaimed = 0  # events taken over from consumers that died holding them


class EventBus(Protocol):
    stats: BusStats

    def subscribe(self, name: str, handler: Handler, *kinds: type[_Event]) -> None: ...

    async def publish(self, event: _Event) -> None: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def drain(self) -> None: ...


class InMemoryBus:
    """One process: a queue and a consumer task per subscription, so handlers run in order."""

    def __init__(self) -> None:
        self.stats = BusStats()
        self._subs: list[_Subscription] = []
        self._queues: dict[str, asyncio.Queue[_Event]] = {}
        self._tasks: list[asyncio.Task[None]] = []

    def subscribe(self, name: str, handler: Handler, *kinds: type[_Event]) -> None:
        self._subs.append(_Subscription(name, handler, kinds))

    async def publish(self, event: _Event) -> None:
        self.stats.published += 1
        for sub in self._subs:
            if sub.wants(event):
                self._queues[sub.name].put_nowait(event)

    async def start(self) -> None:
        for sub in self._subs:
            queue: asyncio.Queue[_Event] = asyncio.Queue()
            self._queues[sub.name] = queue
            self._tasks.append(asyncio.create_task(self._consume(sub, queue), name=sub.name))

    async def _consume(self, sub: _Subscription, queue: asyncio.Queue[_Event]) -> None:
        while True:
            event = await queue.get()
            try:
                await sub.deliver(event, self.stats)
            finally:
                queue.task_done()

    async def drain(self) -> None:
        """Wait until every published event has been handled (shutdown, tests)."""
        for queue in self._queues.values():
            await queue.join()

    async def stop(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.drain(), timeout=5)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


class RedisStreamBus:
    """Many processes: events go to one Redis stream; each subscription is a consumer group,
    so every event is handled once per subscription across the whole cluster."""

    BLOCK_MS = 1000
    MAXLEN = 100_000
    # An entry pending this long was taken by a consumer that is gone (handlers take well
    # under a second); claiming sooner could hand a slow but live consumer's entry to another.
    CLAIM_IDLE_S = 60.0

    def __init__(self, redis: Redis, stream: str, *, claim_idle_s: float = CLAIM_IDLE_S) -> None:
        self.stats = BusStats()
        self.claim_idle_s = claim_idle_s
        self._redis = redis
        self._stream = stream
        self._consumer = f"{socket.gethostname()}-{os.getpid()}"
        self._subs: list[_Subscription] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        self._inflight = 0
        self._idle = asyncio.Event()
        self._idle.set()

    def subscribe(self, name: str, handler: Handler, *kinds: type[_Event]) -> None:
        self._subs.append(_Subscription(name, handler, kinds))

    async def publish(self, event: _Event) -> None:
        payload = orjson.dumps(event.model_dump(mode="json"))
        try:
            await self._redis.xadd(
                self._stream, {"e": payload}, maxlen=self.MAXLEN, approximate=True
            )
        except Exception:
            self.stats.publish_failures += 1
            raise
        self.stats.published += 1

    async def start(self) -> None:
        for sub in self._subs:
            group = f"{self._stream}:{sub.name}"
            try:
                await self._redis.xgroup_create(self._stream, group, id="$", mkstream=True)
            except ResponseError as exc:  # BUSYGROUP: another process made it first
                if "BUSYGROUP" not in str(exc):
                    raise
            self._tasks.append(asyncio.create_task(self._consume(sub, group), name=sub.name))

    async def _consume(self, sub: _Subscription, group: str) -> None:
        # First our own entries left pending by a crash of this consumer name, then new ones;
        # now and then, entries another consumer took and never acknowledged (it died).
        cursor = "0"
        next_claim = time.monotonic() + self.claim_idle_s
        while not self._stopping:
            try:
                if time.monotonic() >= next_claim:
                    next_claim = time.monotonic() + self.claim_idle_s / 2
                    entries = await self._claim_abandoned(group)
                else:
                    reply: Any = await self._redis.xreadgroup(
                        group,
                        self._consumer,
                        {self._stream: cursor},
                        count=100,
                        block=None if cursor == "0" else self.BLOCK_MS,
                    )
                    entries = reply[0][1] if reply else []  # [(entry_id, {field: value})]
                    if cursor == "0" and not entries:
                        cursor = ">"
                        continue
            except asyncio.CancelledError:
                raise
            except Exception:
                self.stats.handler_failures += 1
                log.exception("bus read failed subscriber=%s", sub.name)
                await asyncio.sleep(1)
                continue
            for entry_id, fields in entries:
                self._inflight += 1
                self._idle.clear()
                try:
                    if fields is not None:  # None: trimmed from the stream before it was claimed
                        event = _event_adapter.validate_python(orjson.loads(fields[b"e"]))
                        if sub.wants(event):
                            await sub.deliver(event, self.stats)
                    await self._redis.xack(self._stream, group, entry_id)
                finally:
                    self._inflight -= 1
                    if self._inflight == 0:
                        self._idle.set()

    async def _claim_abandoned(self, group: str) -> list[Any]:
        """Take over entries pending longer than ``claim_idle_s`` with any consumer: one that
        crashed and never came back under the same name would otherwise hold them forever."""
        claimed: list[Any] = []
        start = "0-0"
        while True:
            reply: Any = await self._redis.xautoclaim(
                self._stream,
                group,
                self._consumer,
                min_idle_time=int(self.claim_idle_s * 1000),
                start_id=start,
                count=100,
            )
            start, entries = reply[0], reply[1]
            claimed.extend(entries)
            if start in (b"0-0", "0-0") or not entries:
                break
        if claimed:
            self.stats.reclaimed += len(claimed)
            log.warning("took over %d abandoned event(s) group=%s", len(claimed), group)
        return claimed

    async def drain(self) -> None:
        await self._idle.wait()

    async def stop(self) -> None:
        # Let each reader finish the read it is in (at most BLOCK_MS): cancelling redis-py in
        # the middle of a blocking command can leave the pool waiting on a dead connection.
        self._stopping = True
        if not self._tasks:
            return
        _, late = await asyncio.wait(self._tasks, timeout=2 * self.BLOCK_MS / 1000 + 1)
        for task in late:
            task.cancel()
        for task in late:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
