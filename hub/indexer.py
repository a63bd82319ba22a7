"""The search indexer: writes the words of each new or edited message into the word index
(``hub/storage/words.py``), off the ingest path.

A message is stored with ``search_indexed: false``; this worker picks such messages up in
batches, writes their words and marks them indexed. A crash in between leaves them unmarked,
so they are indexed again (the writes are idempotent), and any number of hub processes may run
it at once. Woken by every stored or edited message; looks every ``INTERVAL_S`` anyway.
"""

from __future__ import annotations

import logging

from hub.events import EventBus, MessageStored, MessageUpdated
from hub.loops import Worker
from hub.models import Direction
from hub.search import words
from hub.storage.words import WordHit
from hub.store import Store

log = logging.getLogger("openlines.search")

BATCH = 200
INTERVAL_S = 2.0
# Done once per database: messages stored before the index existed are queued for it.
_BACKFILL = "search_index_backfill"


class SearchIndexer:
    def __init__(self, store: Store, bus: EventBus) -> None:
        self._store = store
        self._worker = Worker("search index", self._step, interval_s=INTERVAL_S, log=log)

        async def wake(_: MessageStored | MessageUpdated) -> None:
            self._worker.wake()

        bus.subscribe("search index", wake, MessageStored, MessageUpdated)

    async def start(self) -> None:
        mark = await self._store.meta.get(_BACKFILL)
        if mark is None or mark.state != "done":
            queued = await self._store.messages.mark_unindexed_from_before_search()
            if queued:
                log.info("search index: %s earlier messages to index", queued)
            if mark is not None or await self._store.meta.claim(_BACKFILL):
                await self._store.meta.done(_BACKFILL, line_id=None, channel_id=None)
        await self._worker.start()

    async def stop(self) -> None:
        await self._worker.stop()

    async def catch_up(self) -> None:
        """Index everything waiting now (the worker does it by itself; for tools and tests)."""
        while await self._step():
            pass
        await self._step()

    async def _step(self) -> bool:
        """Index one batch; True when a full one was found (more may wait)."""
        batch = await self._store.messages.to_index(BATCH)
        await self._store.words.replace(
            [
                (
                    WordHit(conversation_id=m.conversation_id, message_id=m.id, seq=m.seq),
                    # The line's automatic texts are nobody's words.
                    [] if m.direction == Direction.SYSTEM else words(m.text),
                )
                for m in batch
            ]
        )
        await self._store.messages.mark_indexed(batch)
        return len(batch) == BATCH
