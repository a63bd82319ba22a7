"""The event bus: every event is handled once per subscription across the cluster (even when
the process that took it died before acknowledging it), in order per key and several keys at
once, a run of coalescible events once, a slow handler holding up only its own key (on Redis
too, where reading goes on while it runs); a local subscription in the publishing process;
notices reach every process."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from redis.asyncio import Redis

from hub.events import (
    ChannelWritten,
    InMemoryBus,
    LineWritten,
    MessageStored,
    NoticesLost,
    PresenceChanged,
    RedisStreamBus,
)
from hub.models import (
    Author,
    AuthorType,
    ChannelRef,
    ClientInfo,
    Conversation,
    Direction,
    Message,
    PresenceStatus,
)
from tests.conftest import REDIS_URL
from tests.support.waiting import eventually


@pytest.fixture
async def redis(db_name: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(REDIS_URL)
    yield client
    await client.aclose()


async def test_events_a_dead_consumer_held_are_taken_over(redis: Redis, db_name: str) -> None:
    stream = f"openlines:{db_name}:events"
    seen: asyncio.Queue[PresenceChanged] = asyncio.Queue()

    async def handle(event: PresenceChanged) -> None:
        await seen.put(event)

    # A first process subscribes, reads one event and dies before acknowledging it.
    ghost = RedisStreamBus(redis, stream)
    ghost.subscribe("routing", handle, PresenceChanged)
    await ghost.start()
    await ghost.stop()
    held = PresenceChanged(user_id="held-by-the-dead", status=PresenceStatus.ONLINE)
    await ghost.publish(held)
    group = f"{stream}:routing"
    taken = await redis.xreadgroup(group, "ghost-4242", {stream: ">"}, count=10)
    assert len(taken[0][1]) == 1

    # A live process (another consumer name) gets it once it has been pending long enough,
    # along with what is published after; and nothing twice.
    live = RedisStreamBus(redis, stream, claim_idle_s=0.5)
    live.subscribe("routing", handle, PresenceChanged)
    await live.start()
    try:
        fresh = PresenceChanged(user_id="published-later", status=PresenceStatus.AWAY)
        await live.publish(fresh)
        got = {(await asyncio.wait_for(seen.get(), 10)).user_id for _ in range(2)}
        assert got == {"held-by-the-dead", "published-later"}
        assert live.stats.reclaimed == 1
        pending = await redis.xpending(stream, group)
        assert pending["pending"] == 0
    finally:
        await live.stop()
    assert seen.empty()


# --- ordering, concurrency and coalescing (both buses) ----------------------------------------


def _message_event(conversation_id: str, text: str) -> MessageStored:
    """A client's message of a conversation (only the ids and the text matter here)."""
    conversation = Conversation(
        id=conversation_id,
        line_id="line-1",
        channel=ChannelRef(id="channel-1", type="widget"),
        chat_id="chat-1",
        client=ClientInfo(id="client-1", name="Visitor"),
    )
    message = Message(
        conversation_id=conversation_id,
        seq=1,
        channel_id="channel-1",
        external_id=f"x-{conversation_id}-{text}",
        direction=Direction.IN,
        author=Author(type=AuthorType.CLIENT, id="client-1", name="Visitor"),
        text=text,
    )
    return MessageStored(message=message, conversation=conversation)


def _key(event: Any) -> Any:
    return event.conversation.id if isinstance(event, MessageStored) else "other"


def _text(event: Any) -> str:
    return str(event.message.text)


async def _now(value: Any) -> Any:
    return list(value)


async def _started(
    kind: str,
    redis: Redis,
    db_name: str,
    subscribe: Callable[[Any], None],
    events: list[Any],
) -> Any:
    """A started bus of ``kind`` that has ``events`` to handle: in memory published one by one
    after the start; on Redis published before, so that its first read takes them all."""
    if kind == "memory":
        bus: Any = InMemoryBus()
        subscribe(bus)
        await bus.start()
        for event in events:
            await bus.publish(event)
        return bus
    stream = f"openlines:{db_name}:events"
    before = RedisStreamBus(redis, stream)
    subscribe(before)
    await before.start()  # makes the groups
    await before.stop()
    for event in events:
        await before.publish(event)
    bus = RedisStreamBus(redis, stream)
    subscribe(bus)
    await bus.start()
    return bus


@pytest.mark.parametrize("kind", ["memory", "redis"])
async def test_a_slow_conversation_does_not_hold_up_the_others_and_each_keeps_its_order(
    kind: str, redis: Redis, db_name: str
) -> None:
    release = asyncio.Event()
    seen: list[tuple[str, str]] = []

    async def handle(event: MessageStored) -> None:
        if event.conversation.id == "slow" and not release.is_set():
            await release.wait()
        seen.append((event.conversation.id, _text(event)))

    events = [_message_event("slow", "1"), _message_event("slow", "2")]
    events += [_message_event("fast", str(n)) for n in range(1, 4)]
    bus = await _started(
        kind,
        redis,
        db_name,
        lambda b: b.subscribe("realtime", handle, MessageStored, key=_key),
        events,
    )
    try:
        await eventually(lambda: _now(seen), lambda s: len(s) == 3)
        assert seen == [("fast", "1"), ("fast", "2"), ("fast", "3")]
        release.set()
        await eventually(lambda: _now(seen), lambda s: len(s) == 5)
        assert seen[3:] == [("slow", "1"), ("slow", "2")]
    finally:
        await bus.stop()


@pytest.mark.parametrize("kind", ["memory", "redis"])
async def test_a_run_of_coalescible_events_is_handled_once_and_nothing_else_is_dropped(
    kind: str, redis: Redis, db_name: str
) -> None:
    seen: list[str] = []

    async def handle(event: Any) -> None:
        seen.append(_text(event) if isinstance(event, MessageStored) else event.user_id)

    def coalesce(event: Any) -> str | None:
        # Messages stand for each other, "keep" ones never do, nor any other event.
        if not isinstance(event, MessageStored) or _text(event).startswith("keep"):
            return None
        return "message"

    def subscribe(bus: Any) -> None:
        bus.subscribe(
            "routing",
            handle,
            MessageStored,
            PresenceChanged,
            key=lambda _: "one lane",
            coalesce=coalesce,
        )

    events: list[Any] = [_message_event("c", text) for text in ["1", "2", "keep-3", "4", "5"]]
    events.append(PresenceChanged(user_id="never-coalesced", status=PresenceStatus.AWAY))
    events.append(_message_event("c", "6"))
    bus = await _started(kind, redis, db_name, subscribe, events)
    try:
        await eventually(lambda: _now(seen), lambda s: "6" in s)
        await bus.drain()
        assert seen == ["2", "keep-3", "5", "never-coalesced", "6"]
        assert bus.stats.coalesced == 2
        if kind == "redis":  # the replaced ones acknowledged with those that stood for them
            stream = f"openlines:{db_name}:events"
            assert await _pending(redis, stream, f"{stream}:routing") == 0
    finally:
        await bus.stop()


async def test_a_full_queue_holds_up_publishers_not_handlers() -> None:
    bus = InMemoryBus(limit=2)
    release = asyncio.Event()
    handled: list[str] = []

    async def slow(event: MessageStored) -> None:
        await release.wait()
        handled.append(_text(event))

    async def republish(event: PresenceChanged) -> None:
        # A handler publishing into a full queue goes on (handlers never wait on each other).
        for n in range(3):
            await bus.publish(_message_event(f"from-handler-{n}", str(n)))
        handled.append("republished")

    bus.subscribe("realtime", slow, MessageStored)
    bus.subscribe("routing", republish, PresenceChanged)
    await bus.start()
    try:
        for n in range(3):  # one is handled (held), two wait: the queue is full
            await bus.publish(_message_event("c", str(n)))
            await asyncio.sleep(0)  # let the first one start
        blocked = asyncio.create_task(bus.publish(_message_event("c", "3")))
        await asyncio.sleep(0.2)
        assert not blocked.done()
        await bus.publish(PresenceChanged(user_id="u", status=PresenceStatus.ONLINE))
        await eventually(lambda: _now(handled), lambda h: "republished" in h)
        release.set()
        await asyncio.wait_for(blocked, 10)
        await bus.drain()
        assert sorted(handled) == sorted(["republished", "0", "1", "2", "3", "0", "1", "2"])
    finally:
        await bus.stop()


async def test_a_read_is_acknowledged_at_once_after_its_events_ran(
    redis: Redis, db_name: str
) -> None:
    stream = f"openlines:{db_name}:events"
    bus = RedisStreamBus(redis, stream)
    seen: list[str] = []

    async def handle(event: MessageStored) -> None:
        seen.append(_text(event))

    bus.subscribe("realtime", handle, MessageStored, key=_key)
    bus.subscribe("routing", handle, MessageStored, key=_key)
    await bus.start()
    try:
        for n in range(50):
            await bus.publish(_message_event(f"c{n % 7}", str(n)))
        await eventually(lambda: _now(seen), lambda s: len(s) == 100)
        await bus.drain()
        for name in ("realtime", "routing"):
            assert (await redis.xpending(stream, f"{stream}:{name}"))["pending"] == 0
    finally:
        await bus.stop()


async def test_a_slow_handler_holds_up_its_own_key_not_the_reads_after_it(
    redis: Redis, db_name: str
) -> None:
    stream = f"openlines:{db_name}:events"
    group = f"{stream}:routing"
    bus = RedisStreamBus(redis, stream)
    release = asyncio.Event()
    seen: list[str] = []

    async def handle(event: MessageStored) -> None:
        if event.conversation.id == "slow":
            await release.wait()
        seen.append(_text(event))

    bus.subscribe("routing", handle, MessageStored, key=_key)
    await bus.start()
    try:
        await bus.publish(_message_event("slow", "held"))
        await eventually(lambda: _pending(redis, stream, group), lambda n: n == 1)
        # Published after the slow one was read: later reads, each handled and acknowledged
        # while the slow handler still runs.
        for n in range(5):
            await bus.publish(_message_event(f"fast-{n}", str(n)))
        await eventually(lambda: _now(seen), lambda s: len(s) == 5)
        assert seen == ["0", "1", "2", "3", "4"]
        await eventually(lambda: _pending(redis, stream, group), lambda n: n == 1)
        release.set()
        await bus.drain()
        assert seen[5:] == ["held"]
        assert await _pending(redis, stream, group) == 0
    finally:
        await bus.stop()


async def _pending(redis: Redis, stream: str, group: str) -> int:
    return int((await redis.xpending(stream, group))["pending"])


async def test_a_local_subscription_is_handled_by_the_publishing_process_not_the_stream(
    redis: Redis, db_name: str
) -> None:
    stream = f"openlines:{db_name}:events"
    local: dict[str, list[str]] = {"one": [], "two": []}
    routed: list[str] = []

    def subscribe(bus: RedisStreamBus, name: str) -> None:
        async def emit(event: MessageStored) -> None:
            local[name].append(_text(event))

        async def route(event: MessageStored) -> None:
            routed.append(_text(event))

        bus.subscribe("realtime", emit, MessageStored, key=_key, local=True)
        bus.subscribe("routing", route, MessageStored, key=_key)

    one = RedisStreamBus(redis, stream, consumer="one")
    two = RedisStreamBus(redis, stream, consumer="two")
    subscribe(one, "one")
    subscribe(two, "two")
    await one.start()
    await two.start()
    try:
        for n in range(3):
            await one.publish(_message_event("c", f"from one {n}"))
        await two.publish(_message_event("c", "from two"))
        await eventually(lambda: _now(routed), lambda r: len(r) == 4)
        await one.drain()
        await two.drain()
        # Each process handled its own events, in order; the stream's group got every one once.
        assert local == {"one": ["from one 0", "from one 1", "from one 2"], "two": ["from two"]}
        assert sorted(routed) == ["from one 0", "from one 1", "from one 2", "from two"]
        groups = {g["name"].decode() for g in await redis.xinfo_groups(stream)}
        assert groups == {f"{stream}:routing"}
    finally:
        await one.stop()
        await two.stop()


# --- notices: every process hears them --------------------------------------------------------


async def test_notices_reach_every_process_and_a_lost_connection_forgets_all(
    redis: Redis, db_name: str
) -> None:
    stream = f"openlines:{db_name}:events"
    one, two = RedisStreamBus(redis, stream), RedisStreamBus(redis, stream)
    heard: dict[str, list[Any]] = {"one": [], "two": []}
    one.listen(heard["one"].append, LineWritten, NoticesLost)
    two.listen(heard["two"].append, LineWritten, NoticesLost)
    await one.start()
    await two.start()
    try:
        await eventually(lambda: _subscribers(redis, f"{stream}:notices"), lambda n: n == 2)
        await one.broadcast(LineWritten(line_id="line-1"))
        # The sender is told at once, the other process as soon as Redis delivers; each once.
        assert heard["one"] == [LineWritten(line_id="line-1")]
        await eventually(lambda: _now(heard["two"]), lambda h: len(h) == 1)
        assert heard["two"] == [LineWritten(line_id="line-1")]

        # Cut the notices' connections: a process cannot know what it missed meanwhile.
        await redis.client_kill_filter(_type="pubsub")
        await eventually(lambda: _now(heard["two"]), lambda h: NoticesLost() in h, timeout_s=10)
        assert two.stats.notices_lost >= 1

        # Once subscribed again (redis-py reconnects by itself), it hears notices again.
        async def tell_again() -> list[Any]:
            await one.broadcast(LineWritten(line_id="line-2"))
            return list(heard["two"])

        await eventually(tell_again, lambda h: LineWritten(line_id="line-2") in h)
    finally:
        await one.stop()
        await two.stop()


async def _subscribers(redis: Redis, channel: str) -> int:
    counts = await redis.pubsub_numsub(channel)
    return int(counts[0][1])


async def test_the_memory_bus_tells_its_listeners_at_once() -> None:
    bus = InMemoryBus()
    heard: list[Any] = []
    bus.listen(heard.append, ChannelWritten)
    await bus.broadcast(ChannelWritten(channel_id="ch-1"))
    await bus.broadcast(LineWritten(line_id="not-listened-for"))
    assert heard == [ChannelWritten(channel_id="ch-1")]
