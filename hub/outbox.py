"""Delivery of outgoing messages: durable rows, one sender per channel, retries with
exponential back-off, platform rate limits honoured, every row ending ``sent`` or ``failed``.

Rows are claimed with a lease (a conditional update of ``due_at``), so several hub processes
share the work and a crash mid-send only delays a message until the lease runs out. Whatever a
sender raises is one failed attempt: adapters map their platform's failures to the hub's error
tree (``ChannelRateLimited``, ``ChannelRejected``, ``ChannelError``), and anything else they let
escape (a bug, a library error nobody mapped) is retried like a ``ChannelError``, so no row is
left to its lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from hub.channels import Channel, ChannelDeps, ChannelRegistry
from hub.errors import ChannelError, ChannelRateLimited, ChannelRejected, NotFound
from hub.events import EventBus, MessageUpdated
from hub.loops import Worker
from hub.metrics import Metrics
from hub.models import (
    ChannelRecord,
    Conversation,
    Message,
    MessageStatus,
    Outbound,
    utcnow,
)
from hub.settings import Settings
from hub.storage.outbox import OutboxRow
from hub.store import Store

log = logging.getLogger("openlines.outbox")

# A row whose message is not stored this long after the row was: its process died in between.
ORPHAN_AFTER = timedelta(seconds=30)
CLAIM_BATCH = 50
# A failure reason is shown to operators and kept on the row: the platform's words, bounded.
MAX_REASON_CHARS = 500


class Outbox:
    def __init__(
        self,
        store: Store,
        bus: EventBus,
        registry: ChannelRegistry,
        deps_factory: Callable[[], ChannelDeps],
        settings: Settings,
        metrics: Metrics,
        on_unreachable: Callable[[ChannelRecord, str, str], Awaitable[None]] | None = None,
    ) -> None:
        self._store = store
        self._bus = bus
        self._registry = registry
        self._deps_factory = deps_factory
        self._settings = settings
        self._metrics = metrics
        self._on_unreachable = on_unreachable
        self._worker = Worker("outbox", self._scan, interval_s=settings.outbox_poll_s, log=log)
        self._senders: dict[str, asyncio.Task[None]] = {}
        self._queues: dict[str, asyncio.Queue[OutboxRow]] = {}
        self._adapters: dict[str, tuple[Any, Channel]] = {}
        self._paused_until: dict[str, float] = {}

    def notify(self) -> None:
        """A new row was written: look now instead of at the next poll."""
        self._worker.wake()

    async def start(self) -> None:
        await self._worker.start()

    async def stop(self) -> None:
        await self._worker.stop()
        tasks = list(self._senders.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        # Rows claimed but not sent go back to the pool at once instead of after the lease.
        for queue in self._queues.values():
            while not queue.empty():
                row = queue.get_nowait()
                await self._store.outbox.release(row.id, utcnow())

    async def _scan(self) -> bool:
        await self._claim_due()
        self._metrics.outbox_pending.set(await self._store.outbox.pending_count())
        return False

    async def _claim_due(self) -> None:
        now = utcnow()
        lease_until = now + timedelta(seconds=self._settings.outbox_lease_s)
        for row in await self._store.outbox.due(now, CLAIM_BATCH):
            claimed = await self._store.outbox.claim(row, lease_until)
            if claimed is not None:
                self._queue_for(claimed.channel_id).put_nowait(claimed)

    def _queue_for(self, channel_id: str) -> asyncio.Queue[OutboxRow]:
        queue = self._queues.get(channel_id)
        if queue is None:
            queue = self._queues[channel_id] = asyncio.Queue()
        task = self._senders.get(channel_id)
        if task is None or task.done():
            self._senders[channel_id] = asyncio.create_task(
                self._sender(channel_id, queue), name=f"outbox:{channel_id}"
            )
        return queue

    async def _sender(self, channel_id: str, queue: asyncio.Queue[OutboxRow]) -> None:
        """Sends one channel's rows in order; a rate limit pauses the whole channel."""
        while True:
            row = await queue.get()
            loop = asyncio.get_running_loop()
            pause = self._paused_until.get(channel_id, 0.0) - loop.time()
            if pause > 0:
                await asyncio.sleep(pause)
            try:
                await self._deliver(row)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox delivery crashed message=%s channel=%s", row.id, channel_id)

    async def _deliver(self, row: OutboxRow) -> None:
        message = await self._store.messages.get(row.id)
        if message is None:
            if utcnow() - row.created_at < ORPHAN_AFTER:
                # The row is written before its message: that write may still be on its way.
                await self._retry_at(row, row.attempts, 0.5, "message not stored yet")
                return
            # The process died between the outbox row and the message write: nothing to send.
            await self._store.outbox.delete(row.id)
            return
        if message.status != MessageStatus.PENDING:
            # Delivered (or given up) by a process that died before it finished the row.
            failed = message.status == MessageStatus.FAILED
            row_status = MessageStatus.FAILED if failed else MessageStatus.SENT
            await self._finish_row(row, row_status, message.status_reason)
            return
        channel = await self._store.channels.get(row.channel_id)
        conversation = await self._store.conversations.get(message.conversation_id)
        if channel is None or conversation is None:
            await self._finish(row, message, MessageStatus.FAILED, "channel removed")
            return
        outbound = Outbound(
            message_id=message.id,
            conversation_id=conversation.id,
            seq=message.seq,
            chat_id=conversation.chat_id,
            text=message.text,
            attachments=message.attachments,
            author=message.author,
            direction=message.direction,
            purpose=message.purpose,
            created_at=message.created_at,
        )
        attempts = row.attempts + 1
        try:
            receipt = await self._adapter(channel).send(outbound)
        except asyncio.CancelledError:
            raise
        except ChannelRateLimited as exc:
            loop = asyncio.get_running_loop()
            self._paused_until[channel.id] = loop.time() + exc.retry_after_s
            await self._retry_at(row, attempts - 1, exc.retry_after_s, self._reason(exc, channel))
            log.warning("rate limited channel=%s retry_after_s=%s", channel.id, exc.retry_after_s)
            return
        except ChannelRejected as exc:
            reason = self._reason(exc, channel)
            # The conversation says "unreachable" before the reply says "failed": whoever sees
            # the failure (the console, a test) then finds its cause already recorded.
            if exc.unreachable and self._on_unreachable is not None:
                await self._on_unreachable(channel, conversation.chat_id, reason)
            await self._finish(row, message, MessageStatus.FAILED, reason, channel, conversation)
            return
        except Exception as exc:  # whatever a sender raises is a failed attempt
            reason = self._reason(exc, channel)
            if not isinstance(exc, ChannelError | OSError | TimeoutError):
                # Not mapped by the adapter: worth a line, but a line, not a traceback a try.
                log.warning(
                    "sender raised %s message=%s channel=%s attempt=%s: %s",
                    type(exc).__name__,
                    message.id,
                    channel.id,
                    attempts,
                    reason,
                )
            if attempts >= self._settings.outbox_max_attempts:
                await self._finish(
                    row,
                    message,
                    MessageStatus.FAILED,
                    f"gave up after {attempts} attempts: {reason}",
                    channel,
                    conversation,
                )
            else:
                delay = self._settings.outbox_retry_base_s * 2 ** (attempts - 1)
                await self._retry_at(row, attempts, delay, reason)
                log.info(
                    "send failed message=%s channel=%s attempt=%s retry_in_s=%.1f reason=%s",
                    message.id,
                    channel.id,
                    attempts,
                    delay,
                    reason,
                )
            return
        await self._finish(
            row,
            message,
            MessageStatus.SENT,
            None,
            channel,
            conversation,
            platform_message_id=receipt.platform_message_id,
        )

    def _reason(self, exc: BaseException, channel: ChannelRecord) -> str:
        """Why a send failed, fit for operators and logs: bounded, and without the channel's
        secrets (a library's message may quote a URL that carries a token)."""
        reason = str(exc) or type(exc).__name__
        try:
            secret_fields = self._registry.get(channel.type).secret_fields
        except NotFound:
            secret_fields = frozenset()
        for field in secret_fields:
            value = channel.config.get(field)
            if isinstance(value, str) and value:
                reason = reason.replace(value, "***")
        if len(reason) > MAX_REASON_CHARS:
            reason = reason[: MAX_REASON_CHARS - 1] + "…"
        return reason

    async def _finish_row(self, row: OutboxRow, status: MessageStatus, reason: str | None) -> None:
        await self._store.outbox.finish(row.id, status, reason, utcnow())

    def _adapter(self, channel: ChannelRecord) -> Channel:
        cached = self._adapters.get(channel.id)
        version = (channel.config, channel.active)
        if cached is None or cached[0] != version:
            adapter = self._registry.get(channel.type).build(channel, self._deps_factory())
            self._adapters[channel.id] = cached = (version, adapter)
        return cached[1]

    async def _retry_at(self, row: OutboxRow, attempts: int, delay_s: float, reason: str) -> None:
        await self._store.outbox.retry_at(
            row.id,
            attempts=attempts,
            reason=reason,
            due_at=utcnow() + timedelta(seconds=delay_s),
        )
        self._wake_later(delay_s)

    def _wake_later(self, delay_s: float) -> None:
        loop = asyncio.get_running_loop()
        loop.call_later(delay_s, self._worker.wake)

    async def _finish(
        self,
        row: OutboxRow,
        message: Message,
        status: MessageStatus,
        reason: str | None,
        channel: ChannelRecord | None = None,
        conversation: Conversation | None = None,
        *,
        platform_message_id: str | None = None,
    ) -> None:
        # The platform has the message already: a lost write here would send it again once the
        # lease runs out, so a dropped connection is retried (both writes are idempotent). The
        # message first: if the process dies before the row is finished too, the row's next
        # claim finds the message done and only finishes the row (see ``_deliver``); the other
        # way round the message stayed pending for ever.
        updated = await self._store.messages.set_status(
            message.id, status, reason, platform_message_id=platform_message_id
        )
        await self._finish_row(row, status, reason)
        channel_type = channel.type if channel else "unknown"
        self._metrics.messages_out.labels(channel_type, status.value).inc()
        if status == MessageStatus.FAILED:
            log.warning("delivery failed message=%s reason=%s", message.id, reason)
        if updated is not None and conversation is not None:
            await self._bus.publish(MessageUpdated(message=updated, conversation=conversation))
