"""Group commit: the messages that arrive while a flush is in flight are stored together.

Every message the stream appends (a client's, a staff post, a system note) goes through one
``Committer`` per process. When nothing is being written the first message starts a flush at
once (a lone message waits for nobody); the ones that arrive meanwhile queue up and form the
next batch. A batch costs, whatever its size:

- at most one ``find`` per channel, for the messages whose dedupe lookup was left to the batch;
- one unflushed ``update`` command with an ``$inc`` of ``last_seq`` per conversation, by the
  number of its messages in the batch, and one ``find`` of those conversations, which tells each
  its range (``ConversationStore.take_seqs``); the seqs handed out in arrival order;
- one unflushed ``insert_many`` of the outbox rows of the messages to deliver;
- one journaled ``insert_many`` (``ordered=False``) of the messages: one journal flush.

Each caller's future resolves only after that journaled insert returned, so an acknowledged
message is durable; the unflushed writes before it are too, since the journal is one sequential
log (``UNFLUSHED`` in hub/storage/concerns.py). A batch ends before the next one starts, so a
conversation's seqs follow the order its messages arrived in, across batches too.

Duplicates resolve to the stored message, as with one message at a time: the same platform id
twice in a batch (the later ones wait for the next batch, where they find the first), one found
by the batch's lookup (no seq taken), one that lost the unique index (a seq gap, as before).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from hub.metrics import Metrics
from hub.models import (
    AuthorType,
    Conversation,
    ConversationStatus,
    Direction,
    LastMessage,
    Message,
    MessageStatus,
    utcnow,
)
from hub.storage.conversations import SeqClaim, Taken
from hub.storage.outbox import OutboxRow
from hub.store import Store

log = logging.getLogger("openlines.commit")

# Messages per batch at most (one insert_many; SecantusDB commits up to 1,000 in one go).
MAX_BATCH = 500
# After a flush of more than one message (load), wait this long for the rest of the senders it
# just acknowledged to come back, rather than flushing the first of them alone. A lone message
# (the last batch had one, or none is in flight) starts at once.
LINGER_S = 0.001

# Gives a message the stored conversation's view of it before it is written (the stream signs
# a client's message with the name the conversation holds).
Adjust = Callable[[Message, Conversation], Message]


@dataclass(frozen=True)
class Committed:
    """Where a message ended: stored (``duplicate`` False) or found stored already.
    ``conversation`` is None only for a duplicate the batch's lookup found: no seq was taken,
    so the caller reads the conversation of ``message``."""

    message: Message
    conversation: Conversation | None
    duplicate: bool = False


@dataclass
class Pending:
    message: Message
    conversation_id: str
    # Not into a closed conversation (the ingest path: None comes back instead).
    only_open: bool
    # The dedupe lookup by platform id is left to the batch (one query for all of them).
    check_stored: bool
    adjust: Adjust | None
    future: asyncio.Future[Committed | None] = field(repr=False)

    @property
    def key(self) -> tuple[str, str]:
        return self.message.channel_id, self.message.external_id


# --- the pure parts ------------------------------------------------------------------------


def first_of_each(batch: Sequence[Pending]) -> tuple[list[Pending], list[Pending]]:
    """The batch's first message of each ``(channel_id, external_id)``, in arrival order, and
    the repeats (a retry that came in while its original was still queued)."""
    seen: set[tuple[str, str]] = set()
    firsts: list[Pending] = []
    repeats: list[Pending] = []
    for pending in batch:
        if pending.key in seen:
            repeats.append(pending)
        else:
            seen.add(pending.key)
            firsts.append(pending)
    return firsts, repeats


def runs(batch: Iterable[Pending]) -> list[list[Pending]]:
    """The batch split into what one ``$inc`` each takes the seqs of: per conversation (in the
    order they first appear), its messages in arrival order, cut where ``only_open`` changes
    (a staff note may go into a closed conversation, a client's message may not). Runs of one
    conversation are taken one after another, so their seqs follow arrival order too."""
    by_conversation: dict[str, list[list[Pending]]] = {}
    for pending in batch:
        conversation_runs = by_conversation.setdefault(pending.conversation_id, [])
        if conversation_runs and conversation_runs[-1][0].only_open == pending.only_open:
            conversation_runs[-1].append(pending)
        else:
            conversation_runs.append([pending])
    return [run for conversation_runs in by_conversation.values() for run in conversation_runs]


def seq_update(messages: Sequence[Message]) -> dict[str, Any]:
    """The conversation update that goes with the ``$inc`` of ``last_seq`` for ``messages``
    (in arrival order): what applying one message's update after another would leave.

    ``last_message`` is the last one the client or an operator wrote in public (not the line's
    automatic texts); ``unread`` goes up by each client message and back to 0 at an operator's
    public one (so it ends as the client messages after the last of those)."""
    set_: dict[str, Any] = {"updated_at": utcnow()}
    inc: dict[str, Any] = {"rev": len(messages)}
    preview = [m for m in messages if not m.hidden and m.direction != Direction.SYSTEM]
    if preview:
        set_["last_message"] = summary(preview[-1])
    unread = 0
    reset = False
    for message in messages:
        if message.direction == Direction.IN:
            unread += 1
        elif message.author.type == AuthorType.OPERATOR and not message.hidden:
            unread = 0
            reset = True
    if reset:
        set_["unread"] = unread
    elif unread:
        inc["unread"] = unread
    return {"$inc": inc, "$set": set_}


def answers(message: Message) -> bool:
    """Whether ``message`` is an operator's public one (the first sets ``first_response_at``)."""
    return message.author.type == AuthorType.OPERATOR and not message.hidden


def summary(message: Message) -> dict[str, Any]:
    """The conversation's ``last_message``, stored as its JSON (``created_at`` a string)."""
    return LastMessage(
        id=message.id,
        direction=message.direction,
        author=message.author,
        text=message.text[:200],
        created_at=message.created_at,
    ).model_dump(mode="json")


# --- the committer ---------------------------------------------------------------------------


class Committer:
    def __init__(self, store: Store, metrics: Metrics) -> None:
        self._store = store
        self._metrics = metrics
        self._queue: deque[Pending] = deque()
        self._flusher: asyncio.Task[None] | None = None
        self._last_batch = 0
        # Names this process's seq grants (with the batch's number): unique among processes.
        self._token = secrets.token_hex(6)
        self._batches = 0

    async def append(
        self,
        message: Message,
        conversation_id: str,
        *,
        only_open: bool,
        check_stored: bool = False,
        adjust: Adjust | None = None,
    ) -> Committed | None:
        """Store ``message`` as the next of the conversation, durably, with whatever else is
        being stored meanwhile; None when there is no such conversation, or with
        ``only_open`` when it is closed (nothing written). ``check_stored``: look for the
        platform id first (no seq taken for a duplicate)."""
        future: asyncio.Future[Committed | None] = asyncio.get_running_loop().create_future()
        self._queue.append(
            Pending(message, conversation_id, only_open, check_stored, adjust, future)
        )
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush_all(), name="group-commit")
        return await future

    async def _flush_all(self) -> None:
        # Nothing in flight: start now, after the messages that arrived in the same tick.
        await asyncio.sleep(LINGER_S if self._last_batch > 1 else 0)
        while self._queue:
            batch = [self._queue.popleft() for _ in range(min(len(self._queue), MAX_BATCH))]
            self._last_batch = len(batch)
            try:
                await self._flush(batch)
            except asyncio.CancelledError:
                for pending in [*batch, *self._queue]:
                    pending.future.cancel()
                self._queue.clear()
                raise
            except Exception as exc:
                # Each waiting caller fails as its own write would have (the client sends
                # again); seqs taken already are gaps, which paging tolerates.
                for pending in batch:
                    _fail(pending, exc)
                log.warning("group commit of %d messages failed: %r", len(batch), exc)

    async def _flush(self, batch: list[Pending]) -> None:
        self._metrics.commit_batch.observe(len(batch))
        firsts, repeats = first_of_each(batch)
        # The repeats go first in the next batch, where the lookup finds what the first stored.
        for pending in reversed(repeats):
            pending.check_stored = True
            self._queue.appendleft(pending)

        found = await self._stored(p for p in firsts if p.check_stored)
        to_take: list[Pending] = []
        for pending in firsts:
            existing = found.get(pending.key)
            if existing is not None:
                _resolve(pending, Committed(existing, None, duplicate=True))
            else:
                to_take.append(pending)

        placed: list[tuple[Pending, Message, Conversation]] = []
        for run, taken in await self._take_all(runs(to_take)):
            if taken is None:
                for pending in run:
                    _resolve(pending, None)
                continue
            conversation = taken.conversation
            for pending, seq in zip(run, taken.seqs, strict=True):
                message = pending.message
                if pending.adjust is not None:
                    message = pending.adjust(message, conversation)
                message = message.model_copy(
                    update={"seq": seq, "conversation_id": conversation.id}
                )
                placed.append((pending, message, conversation))
        if not placed:
            return
        placed = await self._first_responses(placed)

        now = utcnow()
        rows = [
            OutboxRow(
                id=message.id,
                channel_id=message.channel_id,
                conversation_id=message.conversation_id,
                due_at=now,
                created_at=now,
            )
            for _, message, _ in placed
            if message.status == MessageStatus.PENDING
        ]
        await self._store.outbox.enqueue_before_messages(rows)
        stored = await self._store.messages.insert_all([message for _, message, _ in placed])

        lost = [(p, m, c) for (p, m, c), ok in zip(placed, stored, strict=True) if not ok]
        originals: dict[tuple[str, str], Message] = {}
        if lost:
            # A concurrent retry of the same platform message won; its seq stands, ours is a
            # gap. Its original has its own outbox row.
            await self._store.outbox.withdraw_many(
                [m.id for _, m, _ in lost if m.status == MessageStatus.PENDING]
            )
            originals = await self._stored(p for p, _, _ in lost)
        for (pending, message, conversation), ok in zip(placed, stored, strict=True):
            if ok:
                _resolve(pending, Committed(message, conversation))
                continue
            existing = originals.get(pending.key)
            if existing is None:
                _fail(pending, RuntimeError(f"message {message.id} collided with no stored one"))
            else:
                _resolve(pending, Committed(existing, conversation, duplicate=True))

    async def _stored(self, pendings: Iterable[Pending]) -> dict[tuple[str, str], Message]:
        """The messages stored already under the platform ids of ``pendings``: one query per
        channel, on the unique index."""
        by_channel: dict[str, list[str]] = {}
        for pending in pendings:
            by_channel.setdefault(pending.message.channel_id, []).append(
                pending.message.external_id
            )
        found: dict[tuple[str, str], Message] = {}
        for channel_id, external_ids in by_channel.items():
            stored = await self._store.messages.by_external_ids(channel_id, external_ids)
            found.update({(channel_id, e): m for e, m in stored.items()})
        return found

    async def _take_all(
        self, batch_runs: list[list[Pending]]
    ) -> list[tuple[list[Pending], Taken | None]]:
        """Each run with its seqs and the conversation after its ``$inc`` (None: it is gone,
        or closed and the run is only for open ones): one write and one read for them all,
        the runs of one conversation taken in arrival order."""
        if not batch_runs:
            return []
        self._batches += 1
        claims = [
            SeqClaim(
                run[0].conversation_id,
                len(run),
                {"status": {"$ne": ConversationStatus.CLOSED.value}} if run[0].only_open else {},
                seq_update([pending.message for pending in run]),
            )
            for run in batch_runs
        ]
        taken = await self._store.conversations.take_seqs(claims, f"{self._token}:{self._batches}")
        return list(zip(batch_runs, taken, strict=True))

    async def _first_responses(
        self, placed: list[tuple[Pending, Message, Conversation]]
    ) -> list[tuple[Pending, Message, Conversation]]:
        """An operator's first public answer in a conversation stamps ``first_response_at``
        (once: conditional on it being unset), before the messages are written."""
        answered: dict[str, Conversation] = {}
        for _, message, conversation in placed:
            if (
                answers(message)
                and conversation.first_response_at is None
                and conversation.id not in answered
            ):
                answered[conversation.id] = (
                    await self._store.conversations.update(
                        conversation.id,
                        {"first_response_at": None},
                        {"$set": {"first_response_at": utcnow()}, "$inc": {"rev": 1}},
                        flush=False,
                    )
                    or conversation
                )
        if not answered:
            return placed
        return [(p, m, answered.get(c.id, c)) for p, m, c in placed]


def _resolve(pending: Pending, outcome: Committed | None) -> None:
    if not pending.future.done():  # its caller may have given up (cancelled)
        pending.future.set_result(outcome)


def _fail(pending: Pending, exc: BaseException) -> None:
    if not pending.future.done():
        pending.future.set_exception(exc)
