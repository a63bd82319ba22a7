"""Background receivers run in exactly one process, and move when that process dies."""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

from pydantic import BaseModel
from pymongo import AsyncMongoClient

from hub.channels import ChannelDeps, ChannelRegistry, ChannelSink
from hub.models import ChannelRecord
from hub.runners import ChannelRunners
from hub.store import Store
from tests.support.waiting import eventually


class _Config(BaseModel):
    pass


class PollingKind:
    """A channel type whose receiver just records that it runs, and where."""

    name: ClassVar[str] = "polling-test"
    config_model: ClassVar[type[BaseModel]] = _Config
    secret_fields: ClassVar[frozenset[str]] = frozenset()
    reveal_on_create: ClassVar[frozenset[str]] = frozenset()
    live_queue_position: ClassVar[bool] = False
    live_csat: ClassVar[bool] = False

    def __init__(self) -> None:
        self.runs: list[str] = []

    def runs_in_background(self, channel: ChannelRecord) -> bool:
        return True

    async def run(self, channel: ChannelRecord, deps: ChannelDeps, sink: ChannelSink) -> None:
        self.runs.append(str(deps))
        await asyncio.Event().wait()

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(name)


async def test_one_receiver_per_channel_and_takeover(mongo_url: str, db_name: str) -> None:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url, tz_aware=True)
    store = Store(client, db_name)
    channel = ChannelRecord(type="polling-test", line_id="l1", config={})
    await store.channels.insert(channel)
    kind = PollingKind()
    registry = ChannelRegistry()
    registry.add(kind)  # type: ignore[arg-type]  # a partial kind: only what runners use

    def runners(node: str) -> ChannelRunners:
        return ChannelRunners(
            store,
            registry,
            lambda: node,  # type: ignore[arg-type,return-value]
            lambda _: None,  # type: ignore[arg-type,return-value]
            lease_s=1.0,
            tick_s=0.2,
        )

    first, second = runners("first"), runners("second")
    await first.start()
    await eventually(lambda: _ready(first), lambda ids: ids == [channel.id])
    await second.start()
    await asyncio.sleep(1.5)  # several ticks and a lease period: the second must not start
    assert second.running() == [] and kind.runs == ["first"]

    # The first process dies without a word (no release): the second takes over.
    await first._worker.stop()
    for _, task in first._running.values():
        task.cancel()
    await eventually(lambda: _ready(second), lambda ids: ids == [channel.id], timeout_s=5)
    assert kind.runs == ["first", "second"]

    # Deactivated: it stops receiving.
    await store.channels.update(channel, config=None, active=False)
    second.poke()
    await eventually(lambda: _ready(second), lambda ids: ids == [], timeout_s=5)
    await second.stop()
    await client.close()


async def _ready(runners: ChannelRunners) -> list[str]:
    return runners.running()
