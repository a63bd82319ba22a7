"""Offers waiting conversations to the available operators of their line.

This is the foundation's minimal router: every available operator (online, a line member,
under capacity) is offered each waiting conversation, FIFO; the first ``accept`` wins through
the conversation's conditional update. Re-run whenever a conversation opens or closes and
whenever an operator comes online.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

from hub.events import ConversationChanged, ConversationOpened, PresenceChanged
from hub.models import Conversation, ConversationStatus, Line, PresenceStatus, utcnow
from hub.services import Hub

log = logging.getLogger("openlines.routing")


class Router:
    def __init__(self, hub: Hub) -> None:
        self._hub = hub
        self._locks: dict[str, asyncio.Lock] = {}

    def subscribe(self) -> None:
        self._hub.bus.subscribe(
            "routing", self._on_event, ConversationOpened, ConversationChanged, PresenceChanged
        )

    async def _on_event(self, event: Any) -> None:
        frees_or_adds_work = isinstance(event, ConversationOpened) or (
            isinstance(event, ConversationChanged) and event.change in ("closed", "assigned")
        )
        if frees_or_adds_work:
            await self.dispatch(event.conversation.line_id)
        elif isinstance(event, PresenceChanged) and event.status == PresenceStatus.ONLINE:
            lines = await self._hub.store.lines.find({"operators": event.user_id}).to_list()
            for doc in lines:
                await self.dispatch(doc["_id"])

    async def dispatch(self, line_id: str) -> None:
        """Offer the line's waiting conversations to whoever can take them now."""
        lock = self._locks.setdefault(line_id, asyncio.Lock())
        async with lock:
            doc = await self._hub.store.lines.find_one({"_id": line_id})
            if doc is None:
                return
            line = Line.from_doc(doc)
            available = await self._with_capacity(
                line, await self._hub.presence.available(line.operators)
            )
            waiting = await self._hub.store.conversations.find(
                {
                    "line_id": line.id,
                    "status": {
                        "$in": [ConversationStatus.QUEUED.value, ConversationStatus.OFFERED.value]
                    },
                }
            ).to_list()
            waiting.sort(key=lambda d: (d.get("queued_at") or d["created_at"], d["_id"]))
            expires_at = utcnow() + timedelta(seconds=line.accept_timeout_s)
            for waiting_doc in waiting:
                conversation = Conversation.from_doc(waiting_doc)
                if not available:
                    break
                if sorted(conversation.offered_to) == sorted(available):
                    continue
                await self._hub.conversations.offer(conversation.id, available, expires_at)
                log.info(
                    "offered conversation=%s line=%s to=%s",
                    conversation.id,
                    line.id,
                    ",".join(available),
                )

    async def _with_capacity(self, line: Line, candidates: list[str]) -> list[str]:
        if not line.max_active_per_operator or not candidates:
            return candidates
        active = await self._hub.store.conversations.find(
            {"assignee_id": {"$in": candidates}, "status": ConversationStatus.ACTIVE.value},
            {"assignee_id": 1},
        ).to_list()
        load: dict[str, int] = {}
        for doc in active:
            load[doc["assignee_id"]] = load.get(doc["assignee_id"], 0) + 1
        return [uid for uid in candidates if load.get(uid, 0) < line.max_active_per_operator]
