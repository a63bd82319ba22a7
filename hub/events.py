"""Typed domain events and the bus that carries them to subscribers.

Each subscription has a name (``realtime``, ``routing``, ...) and gets every event it asked for
exactly once per cluster: in one process through an in-memory queue, across processes through a
Redis stream with one consumer group per subscription name.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import os
import socket
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Hashable
from contextvars import ContextVar
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal, Protocol

import orjson
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from hub.models import Client, Conversation, Message, PresenceStatus, SlaKind

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
    # The client was blocked (offered to nobody) or unblocked (offered as normal again).
    BLOCKED = "blocked"
    UNBLOCKED = "unblocked"
    # A supervisor rated the closed conversation (``rating``), or rated it again.
    RATING = "rating"
    # A response-time clock started or stopped (``sla`` due times), or one ran out.
    SLA = "sla"
    SLA_BREACHED = "sla_breached"
    # The assignee's answer timeout started or stopped (``answer_due_at``).
    ANSWER_DUE = "answer_due"


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


class Rated(_Detail):
    change: Literal[ConversationChange.RATING] = ConversationChange.RATING
    rating: int
    by_user_id: str


class ClientUnreachableSet(_Detail):
    change: Literal[ConversationChange.CLIENT_UNREACHABLE] = ConversationChange.CLIENT_UNREACHABLE
    reason: str


class SlaBreached(_Detail):
    change: Literal[ConversationChange.SLA_BREACHED] = ConversationChange.SLA_BREACHED
    kind: SlaKind


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
    | Rated
    | ClientUnreachableSet
    | SlaBreached,
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
# Events a subscription handles in order are those of one key (a conversation, say); a key
# function of None puts every event in one lane, one at a time.
KeyOf = Callable[[Any], Hashable]
# A run of waiting events of one key whose coalesce keys are equal (and not None) needs only
# its newest handled: it takes the place of the one waiting before it.
CoalesceOf = Callable[[Any], Hashable | None]


# --- notices: told to every process, not once per cluster ------------------------------------


class _Notice(BaseModel):
    model_config = ConfigDict(frozen=True)


class LineWritten(_Notice):
    """A line was written: every process forgets the lines it keeps."""

    kind: Literal["line_written"] = "line_written"
    line_id: str


class ChannelWritten(_Notice):
    """A channel was written: every process forgets its copy of it."""

    kind: Literal["channel_written"] = "channel_written"
    channel_id: str


class LineChannelsWritten(_Notice):
    """Every channel of a line was written (archived, restored, the line deleted)."""

    kind: Literal["line_channels_written"] = "line_channels_written"
    line_id: str


class NoticesLost(_Notice):
    """Local only: this process may have missed notices (its Redis connection dropped), so
    whatever it keeps on their word is to be forgotten."""

    kind: Literal["notices_lost"] = "notices_lost"


Notice = Annotated[
    LineWritten | ChannelWritten | LineChannelsWritten | NoticesLost, Field(discriminator="kind")
]
_notice_adapter: TypeAdapter[Notice] = TypeAdapter(Notice)
NoticeHandler = Callable[[Any], None]


class _Listeners:
    """The handlers of notices in this process; each runs at once (they only forget)."""

    def __init__(self) -> None:
        self._handlers: list[tuple[NoticeHandler, tuple[type[_Notice], ...]]] = []

    def add(self, handler: NoticeHandler, kinds: tuple[type[_Notice], ...]) -> None:
        self._handlers.append((handler, kinds))

    def tell(self, notice: _Notice) -> None:
        for handler, kinds in self._handlers:
            if isinstance(notice, kinds):
                try:
                    handler(notice)
                except Exception:
                    log.exception("notice handler failed notice=%s", type(notice).__name__)


# --- subscriptions ---------------------------------------------------------------------------


class _Subscription:
    def __init__(
        self,
        name: str,
        handler: Handler,
        kinds: tuple[type[_Event], ...],
        key: KeyOf | None = None,
        coalesce: CoalesceOf | None = None,
    ) -> None:
        self.name = name
        self.handler = handler
        self.kinds = kinds
        self.key = key
        self.coalesce = coalesce

    def wants(self, event: _Event) -> bool:
        return isinstance(event, self.kinds)

    async def deliver(self, event: _Event, stats: BusStats) -> None:
        token = _handling.set(True)
        try:
            await self.handler(event)
        except Exception:
            stats.handler_failures += 1
            log.exception("subscriber=%s failed on event=%s", self.name, type(event).__name__)
        finally:
            _handling.reset(token)


class BusStats:
    def __init__(self) -> None:
        self.published = 0
        self.handler_failures = 0
        self.publish_failures = 0
        self.reclaimed = 0  # events taken over from consumers that died holding them
        self.coalesced = 0  # events a newer one of their run stood in for
        self.notices_lost = 0  # times the notices' connection dropped (every cache forgotten)


# Set while a handler runs (and in tasks it starts): its publishes never wait for room, so
# handlers that publish to each other's full queues cannot deadlock.
_handling: ContextVar[bool] = ContextVar("openlines_bus_handling", default=False)
_ONE_LANE = object()


class _Slot:
    __slots__ = ("coalesce_key", "event", "tokens")

    def __init__(self, event: _Event, coalesce_key: Hashable | None, token: Any) -> None:
        self.event = event
        self.coalesce_key = coalesce_key
        # What ``on_done`` is told once the event ran: the stream entries it stands for (its
        # own and those of the events it replaced).
        self.tokens: list[Any] = [] if token is None else [token]


class _Lanes:
    """The waiting events of one subscription: in order within a key, different keys handled
    at once (up to ``concurrency``), and a run of coalescible events of one key replaced by its
    newest. With a ``limit``, ``put`` waits while that many events wait (back-pressure).
    ``on_done`` hears the tokens of each event once its handler ran (or of events that
    replaced none, nothing)."""

    def __init__(
        self,
        sub: _Subscription,
        stats: BusStats,
        *,
        limit: int | None,
        concurrency: int,
        on_done: Callable[[list[Any]], None] | None = None,
    ) -> None:
        self._sub = sub
        self._stats = stats
        self._limit = limit
        self._on_done = on_done
        self._concurrency = concurrency if sub.key is not None else 1
        self._lanes: dict[Hashable, deque[_Slot]] = {}
        self._ready: deque[Hashable] = deque()  # keys with waiting events and none running
        self._busy: set[Hashable] = set()
        self._waiting = 0
        self._workers: set[asyncio.Task[None]] = set()
        self._active = 0  # workers running
        self._room = asyncio.Event()
        self._room.set()
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def waiting(self) -> int:
        return self._waiting

    async def put(self, event: _Event) -> None:
        while (
            self._limit is not None
            and self._waiting >= self._limit
            and not _handling.get()
            and not self._coalesces(event)
        ):
            self._room.clear()
            await self._room.wait()
        self.put_nowait(event)

    def _coalesces(self, event: _Event) -> bool:
        sub = self._sub
        ckey = sub.coalesce(event) if sub.coalesce is not None else None
        if ckey is None:
            return False
        lane = self._lanes.get(sub.key(event) if sub.key is not None else _ONE_LANE)
        return lane is not None and bool(lane) and lane[-1].coalesce_key == ckey

    def put_nowait(self, event: _Event, token: Any = None) -> None:
        sub = self._sub
        key = sub.key(event) if sub.key is not None else _ONE_LANE
        ckey = sub.coalesce(event) if sub.coalesce is not None else None
        lane = self._lanes.get(key)
        if ckey is not None and lane and lane[-1].coalesce_key == ckey:
            slot = lane[-1]
            slot.event = event  # the newest of the run stands for it; not yet started
            if token is not None:
                slot.tokens.append(token)
            self._stats.coalesced += 1
            return
        if lane is None:
            lane = self._lanes[key] = deque()
            if key not in self._busy:
                self._ready.append(key)
        lane.append(_Slot(event, ckey, token))
        self._waiting += 1
        self._idle.clear()
        if self._ready and self._active < self._concurrency:
            # Counted here and uncounted by the worker itself as it finds nothing ready (not
            # in a done callback, which runs later: a key made ready in between would wait).
            self._active += 1
            # Started outside any handler's context, so its own publishes may wait for room.
            worker = asyncio.create_task(
                self._work(), name=f"bus:{sub.name}", context=_OUTSIDE.copy()
            )
            self._workers.add(worker)
            worker.add_done_callback(self._workers.discard)

    async def _work(self) -> None:
        try:
            while self._ready:
                key = self._ready.popleft()
                lane = self._lanes[key]
                slot = lane.popleft()
                self._waiting -= 1
                if self._limit is None or self._waiting < self._limit:
                    self._room.set()
                self._busy.add(key)
                try:
                    await self._sub.deliver(slot.event, self._stats)
                finally:
                    self._busy.discard(key)
                    if lane:
                        self._ready.append(key)
                    else:
                        del self._lanes[key]
                if slot.tokens and self._on_done is not None:
                    self._on_done(slot.tokens)
        finally:
            self._active -= 1
            if not self._active and not self._waiting:
                self._idle.set()

    async def idle(self) -> None:
        """Wait until no event waits and no handler runs."""
        await self._idle.wait()

    async def cancel(self) -> None:
        for worker in list(self._workers):
            worker.cancel()
        for worker in list(self._workers):
            with contextlib.suppress(asyncio.CancelledError):
                await worker


_OUTSIDE = contextvars.Context()


class EventBus(Protocol):
    stats: BusStats

    def subscribe(
        self,
        name: str,
        handler: Handler,
        *kinds: type[_Event],
        key: KeyOf | None = None,
        coalesce: CoalesceOf | None = None,
        local: bool = False,
    ) -> None: ...

    async def publish(self, event: _Event) -> None: ...

    def listen(self, handler: NoticeHandler, *kinds: type[_Notice]) -> None: ...

    async def broadcast(self, notice: _Notice) -> None: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def drain(self) -> None: ...


def conversation_key(event: Any) -> Hashable:
    """The key that keeps one conversation's events in order (``subscribe(key=...)``); other
    events share one lane of their own."""
    conversation = getattr(event, "conversation", None)
    return conversation.id if conversation is not None else _ONE_LANE


# Events a subscription lets wait in memory before a publisher waits for room.
QUEUE_LIMIT = 10_000
# Handlers of one subscription running at once (each for another key).
CONCURRENCY = 32
# How long a stop lets what was taken be handled (and, on Redis, acknowledged).
STOP_DRAIN_S = 5.0


async def _drain(lanes: list[_Lanes]) -> None:
    """Wait until none of ``lanes`` has an event waiting or a handler running (a handler may
    publish to another's)."""
    while any(one.waiting for one in lanes):
        for one in lanes:
            await one.idle()
    for one in lanes:
        await one.idle()


class InMemoryBus:
    """One process: the waiting events of each subscription in memory (``_Lanes``). Every
    subscription is local here (``local`` changes nothing)."""

    def __init__(self, *, limit: int = QUEUE_LIMIT, concurrency: int = CONCURRENCY) -> None:
        self.stats = BusStats()
        self._limit = limit
        self._concurrency = concurrency
        self._subs: list[_Subscription] = []
        self._lanes: dict[str, _Lanes] = {}
        self._listeners = _Listeners()

    def subscribe(
        self,
        name: str,
        handler: Handler,
        *kinds: type[_Event],
        key: KeyOf | None = None,
        coalesce: CoalesceOf | None = None,
        local: bool = False,
    ) -> None:
        sub = _Subscription(name, handler, kinds, key, coalesce)
        self._subs.append(sub)
        self._lanes[name] = _Lanes(
            sub, self.stats, limit=self._limit, concurrency=self._concurrency
        )

    async def publish(self, event: _Event) -> None:
        self.stats.published += 1
        for sub in self._subs:
            if sub.wants(event):
                await self._lanes[sub.name].put(event)

    def listen(self, handler: NoticeHandler, *kinds: type[_Notice]) -> None:
        self._listeners.add(handler, kinds)

    async def broadcast(self, notice: _Notice) -> None:
        self._listeners.tell(notice)

    async def start(self) -> None:
        """Nothing to start: handlers run as events come."""

    async def drain(self) -> None:
        """Wait until every published event has been handled (shutdown, tests)."""
        await _drain(list(self._lanes.values()))

    async def stop(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.drain(), timeout=STOP_DRAIN_S)
        for lanes in self._lanes.values():
            await lanes.cancel()


class _Reader:
    """One subscription's consumer of the Redis stream: the entries it took and has not yet
    acknowledged. Reading goes on while they are handled, so a slow handler holds up only its
    own key, never the reads after its own; each ``XACK`` takes every entry handled since the
    previous one went out (one per read when idle, fewer than reads under load)."""

    # Entries taken and not yet handled, at most: past that, reading waits for room.
    MAX_TAKEN = 1_000

    def __init__(
        self,
        redis: Redis,
        stream: str,
        sub: _Subscription,
        group: str,
        stats: BusStats,
        concurrency: int,
    ) -> None:
        self.sub = sub
        self.group = group
        self._redis = redis
        self._stream = stream
        self._stats = stats
        self.lanes = _Lanes(sub, stats, limit=None, concurrency=concurrency, on_done=self._handled)
        self._taken: set[bytes] = set()  # their events wait or run
        self._handled_ids: list[bytes] = []  # handled, not yet acknowledged
        self._acker: asyncio.Task[None] | None = None
        self._room = asyncio.Event()
        self._room.set()
        self._idle = asyncio.Event()
        self._idle.set()

    async def room(self) -> None:
        while len(self._taken) >= self.MAX_TAKEN:
            self._room.clear()
            await self._room.wait()

    def take(self, entries: list[Any], decode: Callable[[bytes, bytes], _Event]) -> None:
        """Hand a read's events to the lanes; entries with nothing to handle are acknowledged
        with the next ``XACK``."""
        for entry_id, fields in entries:
            if entry_id in self._taken:
                continue  # claimed back while its handler still runs (slower than claim_idle_s)
            event = None
            if fields is not None:  # None: trimmed from the stream before it was claimed
                try:
                    event = decode(entry_id, fields[b"e"])
                except Exception:
                    self._stats.handler_failures += 1
                    log.exception(
                        "undecodable event entry=%s subscriber=%s", entry_id, self.sub.name
                    )
            if event is not None and self.sub.wants(event):
                self._taken.add(entry_id)
                self._idle.clear()
                self.lanes.put_nowait(event, entry_id)
            else:
                self._handled([entry_id])

    def _handled(self, entry_ids: list[Any]) -> None:
        for entry_id in entry_ids:
            self._taken.discard(entry_id)
        self._handled_ids.extend(entry_ids)
        if len(self._taken) < self.MAX_TAKEN:
            self._room.set()
        if self._acker is None or self._acker.done():
            self._idle.clear()
            self._acker = asyncio.create_task(self._ack(), name=f"bus:{self.sub.name}:ack")

    async def _ack(self) -> None:
        while self._handled_ids:
            entry_ids, self._handled_ids = self._handled_ids, []
            try:
                await self._redis.xack(self._stream, self.group, *entry_ids)
            except Exception:
                # Left pending: handled again after a restart, or by a live consumer once
                # pending for claim_idle_s (at least once, as always).
                self._stats.handler_failures += 1
                log.warning(
                    "bus ack failed subscriber=%s entries=%d",
                    self.sub.name,
                    len(entry_ids),
                    exc_info=True,
                )
        if not self._taken:
            self._idle.set()

    async def idle(self) -> None:
        """Wait until everything taken has been handled and acknowledged."""
        await self._idle.wait()

    async def close(self) -> None:
        await self.lanes.cancel()
        if self._acker is not None and not self._acker.done():
            self._acker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._acker


class RedisStreamBus:
    """Many processes: events go to one Redis stream; each subscription is a consumer group,
    so every event is handled once per subscription across the whole cluster.

    A ``local`` subscription is not read from the stream: the process that publishes an event
    hands it to its own handler at once, in memory, while the entry is on its way to Redis.
    It is for handlers whose effect reaches every process by itself (a Socket.IO emit through
    the Redis manager): they run at the speed of the publish, and an event is handled once in
    the cluster as well, but at most once (a process that dies between its publish and the
    handler loses it, as it loses its sockets)."""

    BLOCK_MS = 1000
    MAXLEN = 100_000
    # An entry pending this long was taken by a consumer that is gone (handlers take well
    # under a second); claiming sooner could hand a slow but live consumer's entry to another.
    CLAIM_IDLE_S = 60.0
    READ_COUNT = 100
    DECODED_KEPT = 1_000

    def __init__(
        self,
        redis: Redis,
        stream: str,
        *,
        claim_idle_s: float = CLAIM_IDLE_S,
        concurrency: int = CONCURRENCY,
        consumer: str | None = None,
    ) -> None:
        self.stats = BusStats()
        self.claim_idle_s = claim_idle_s
        self._redis = redis
        self._stream = stream
        # This process's name in every group: a restart under the same name reads its own
        # pending entries first. Two buses of one process (tests) need names of their own.
        self._consumer = consumer or f"{socket.gethostname()}-{os.getpid()}"
        self._origin = f"{self._consumer}-{uuid.uuid4().hex[:8]}"
        self._notices = f"{stream}:notices"
        self._listeners = _Listeners()
        self._decoded: OrderedDict[bytes, _Event] = OrderedDict()
        self._concurrency = concurrency
        self._subs: list[_Subscription] = []
        self._local: list[tuple[_Subscription, _Lanes]] = []
        self._readers: list[_Reader] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False

    def subscribe(
        self,
        name: str,
        handler: Handler,
        *kinds: type[_Event],
        key: KeyOf | None = None,
        coalesce: CoalesceOf | None = None,
        local: bool = False,
    ) -> None:
        sub = _Subscription(name, handler, kinds, key, coalesce)
        if local:
            lanes = _Lanes(sub, self.stats, limit=QUEUE_LIMIT, concurrency=self._concurrency)
            self._local.append((sub, lanes))
        else:
            self._subs.append(sub)

    def listen(self, handler: NoticeHandler, *kinds: type[_Notice]) -> None:
        self._listeners.add(handler, kinds)

    async def broadcast(self, notice: _Notice) -> None:
        """Tell this process at once, then every other one (Redis pub/sub: a process that
        is not connected at that moment misses it, and forgets everything when it reconnects)."""
        self._listeners.tell(notice)
        payload = orjson.dumps({"from": self._origin, "notice": notice.model_dump(mode="json")})
        try:
            await self._redis.publish(self._notices, payload)
        except Exception:
            # What changed is stored; the others' copies expire (their TTL) or are forgotten
            # when their own connection drops. Counted and logged, not raised to the writer.
            self.stats.publish_failures += 1
            log.warning("notice not sent notice=%s", type(notice).__name__, exc_info=True)

    def _heard(self, data: bytes) -> None:
        message = orjson.loads(data)
        if message.get("from") == self._origin:
            return  # ours: told already
        notice: _Notice = _notice_adapter.validate_python(message["notice"])
        self._listeners.tell(notice)

    def _lost_notices(self) -> None:
        self.stats.notices_lost += 1
        self._listeners.tell(NoticesLost())

    async def _listen_notices(self) -> None:
        """Hear other processes' notices. Each (re)subscription after the first means the
        connection dropped (redis-py reconnects and subscribes again by itself): notices sent
        meanwhile are lost, so everything kept on their word is forgotten."""
        subscribed_before = False
        while not self._stopping:
            pubsub = self._redis.pubsub()
            try:
                await pubsub.subscribe(self._notices)
                while not self._stopping:
                    message = await pubsub.get_message(timeout=self.BLOCK_MS / 1000)
                    if message is None:
                        continue
                    if message["type"] == "subscribe":
                        if subscribed_before:
                            log.warning("notices: reconnected to Redis; caches forgotten")
                            self._lost_notices()
                        subscribed_before = True
                    elif message["type"] == "message":
                        self._heard(message["data"])
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("notices: lost the Redis connection; caches forgotten", exc_info=True)
                self._lost_notices()
                await asyncio.sleep(0.5)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call, unused-ignore]  # untyped before redis-py 8.2

    def _decode(self, entry_id: bytes, payload: bytes) -> _Event:
        """The event of a stream entry, decoded once for all of this process's subscriptions
        (each reads the same entries through its own group)."""
        event = self._decoded.get(entry_id)
        if event is None:
            event = _event_adapter.validate_python(orjson.loads(payload))
            self._decoded[entry_id] = event
            if len(self._decoded) > self.DECODED_KEPT:
                self._decoded.popitem(last=False)
        return event

    async def publish(self, event: _Event) -> None:
        # This process's local subscriptions first: their handlers start while the entry is on
        # its way to Redis.
        for sub, lanes in self._local:
            if sub.wants(event):
                await lanes.put(event)
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
            reader = _Reader(self._redis, self._stream, sub, group, self.stats, self._concurrency)
            self._readers.append(reader)
            self._tasks.append(asyncio.create_task(self._consume(reader), name=sub.name))
        self._tasks.append(asyncio.create_task(self._listen_notices(), name="bus:notices"))

    async def _consume(self, reader: _Reader) -> None:
        # First our own entries left pending by a crash of this consumer name (each read
        # starting after the last entry of the one before), then new ones; now and then,
        # entries another consumer took and never acknowledged (it died).
        cursor: str | bytes = "0"
        next_claim = time.monotonic() + self.claim_idle_s
        while not self._stopping:
            try:
                await reader.room()
                if time.monotonic() >= next_claim:
                    next_claim = time.monotonic() + self.claim_idle_s / 2
                    entries = await self._claim_abandoned(reader.group)
                else:
                    reply: Any = await self._redis.xreadgroup(
                        reader.group,
                        self._consumer,
                        {self._stream: cursor},
                        count=self.READ_COUNT,
                        block=self.BLOCK_MS if cursor == ">" else None,
                    )
                    entries = reply[0][1] if reply else []  # [(entry_id, {field: value})]
                    if cursor != ">":
                        cursor = entries[-1][0] if entries else ">"
            except asyncio.CancelledError:
                raise
            except Exception:
                self.stats.handler_failures += 1
                log.exception("bus read failed subscriber=%s", reader.sub.name)
                await asyncio.sleep(1)
                continue
            if entries:
                reader.take(entries, self._decode)

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
        """Wait until this process's local events have been handled, and everything its
        readers took has been handled and acknowledged."""
        local = [lanes for _, lanes in self._local]
        while True:
            await _drain(local)
            for reader in self._readers:
                await reader.idle()
            if not any(lanes.waiting for lanes in local):
                return

    async def stop(self) -> None:
        # Let each reader finish the read it is in (at most BLOCK_MS): cancelling redis-py in
        # the middle of a blocking command can leave the pool waiting on a dead connection.
        self._stopping = True
        if self._tasks:
            _, late = await asyncio.wait(self._tasks, timeout=2 * self.BLOCK_MS / 1000 + 1)
            for task in late:
                task.cancel()
            for task in late:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        # What was taken gets a moment to be handled and acknowledged; the rest stays
        # pending, to be handled again after the restart.
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.drain(), timeout=STOP_DRAIN_S)
        for _, lanes in self._local:
            await lanes.cancel()
        for reader in self._readers:
            await reader.close()
        self._tasks.clear()
        self._readers.clear()
