"""The presence repository: sockets per operator, process beats, the conditional offline."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from hub.models import PresenceStatus, utcnow
from hub.store import Store
from tests.support.store import fresh_store


@pytest.fixture
async def store(mongo_url: str, db_name: str) -> AsyncIterator[Store]:
    async with fresh_store(mongo_url, db_name) as store:
        yield store


async def test_sockets_and_status(store: Store) -> None:
    presence = store.presence
    await presence.add_socket("ann", "p1|a")
    await presence.add_socket("ann", "p1|a")  # once only
    await presence.add_socket("bob", "p1|b", first_seen=False)  # unknown: no row made
    record = await presence.get("ann")
    assert record is not None and record.sockets == ["p1|a"]
    assert record.status == PresenceStatus.OFFLINE  # until the operator chooses
    assert await presence.get("bob") is None
    await presence.set_status("ann", PresenceStatus.ONLINE)
    assert not await presence.offline_if_no_sockets("ann")  # a socket is open
    assert [r.user_id for r in await presence.with_sockets()] == ["ann"]
    await presence.remove_sockets("ann", ["p1|a"])
    assert await presence.offline_if_no_sockets("ann")
    assert not await presence.offline_if_no_sockets("ann")  # already offline: said once
    assert [r.status for r in await presence.of_users(["ann", "bob"])] == [PresenceStatus.OFFLINE]


async def test_sockets_of_a_process_leave_everyone(store: Store) -> None:
    presence = store.presence
    for user, entry in (("ann", "p1|a"), ("ann", "p2|a"), ("bob", "p1|b")):
        await presence.add_socket(user, entry)
    await presence.remove_sockets_of_everyone(["p1|a", "p1|b"])
    by_user = {r.user_id: r.sockets for r in await presence.of_users(["ann", "bob"])}
    assert by_user == {"ann": ["p2|a"], "bob": []}


async def test_process_beats(store: Store) -> None:
    presence, now = store.presence, utcnow()
    assert await presence.beat("p1", now - timedelta(seconds=60))  # new
    assert await presence.beat("p2", now - timedelta(seconds=60))
    assert not await presence.beat("p2", now)  # seen before
    assert await presence.processes_seen_after(now - timedelta(seconds=10)) == {"p2"}
    await presence.forget_processes_silent_since(now - timedelta(seconds=10))
    assert await presence.beat("p1", now)  # swept: new again
    await presence.forget_process("p1")
    assert await presence.processes_seen_after(now - timedelta(seconds=10)) == {"p2"}
