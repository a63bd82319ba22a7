"""The outbox repository: due rows in order, claims that only one process wins, finishing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from hub.models import MessageStatus, utcnow
from hub.storage.outbox import OutboxRow
from hub.store import Store
from tests.support.store import fresh_store


@pytest.fixture
async def store(mongo_url: str, db_name: str) -> AsyncIterator[Store]:
    async with fresh_store(mongo_url, db_name) as store:
        yield store


def _row(row_id: str, due_s: float) -> OutboxRow:
    now = utcnow()
    return OutboxRow(
        id=row_id,
        channel_id="ch",
        conversation_id="c",
        due_at=now + timedelta(seconds=due_s),
        created_at=now,
    )


async def test_due_rows_are_claimed_once(store: Store) -> None:
    outbox = store.outbox
    for row in (_row("b", -1), _row("a", -2), _row("later", 60)):
        await outbox.enqueue(row)
    assert await outbox.pending_count() == 3
    now = utcnow()
    due = await outbox.due(now, 50)
    assert [r.id for r in due] == ["a", "b"]  # oldest due first
    lease = now + timedelta(seconds=30)
    claimed = await outbox.claim(due[0], lease)
    assert claimed is not None and claimed.due_at > now
    assert await outbox.claim(due[0], lease) is None  # another process was first
    assert [r.id for r in await outbox.due(now, 50)] == ["b"]
    await outbox.release("a", now)  # due again now: after b, which was due before
    assert [r.id for r in await outbox.due(utcnow(), 50)] == ["b", "a"]


async def test_retry_finish_and_withdraw(store: Store) -> None:
    outbox = store.outbox
    await outbox.enqueue(_row("a", 0))
    await outbox.enqueue(_row("b", 0))
    later = utcnow() + timedelta(seconds=5)
    await outbox.retry_at("a", attempts=2, reason="busy", due_at=later)
    row = await outbox.get("a")
    assert row is not None and (row.attempts, row.last_error) == (2, "busy")
    await outbox.finish("a", MessageStatus.SENT, None, utcnow())
    row = await outbox.get("a")
    assert row is not None and row.status == MessageStatus.SENT and row.finished_at
    assert await outbox.pending_count() == 1
    await outbox.withdraw("b")
    assert await outbox.get("b") is None
