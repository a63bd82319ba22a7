"""The router of an open line: the thin async shell around ``routing.strategies``.

It reacts to hub events and durable timers: offers waiting conversations (FIFO) to the
operators the line's distribution mode picks, moves offers on when they time out, keeps
visitors told of their queue position, and sends the line's texts (welcome, after hours, no
answer, closing, auto-close). It changes conversations only through the hub's conditional
transitions, so several processes can route the same line at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Hashable
from datetime import datetime, timedelta
from typing import Any

from hub.events import (
    ConversationChange,
    ConversationChanged,
    ConversationOpened,
    MessageStored,
    PresenceChanged,
    QueuePositionChanged,
    conversation_key,
)
from hub.hours import is_open, next_open
from hub.loops import Worker
from hub.models import (
    AuthorType,
    Conversation,
    ConversationStatus,
    CsatStatus,
    Direction,
    Line,
    MessagePurpose,
    Prefer,
    PresenceStatus,
    utcnow,
)
from hub.services import Hub
from hub.storage.conversations import Order, Where
from hub.timers import Timers
from routing.capacity import Repair, verdict
from routing.offers import Hold, after_offer, offer_deadline, pick, prefer, queue_order
from routing.staffing import Load, pending_offers, staff
from routing.strategies import Candidate

log = logging.getLogger("openlines.routing")

WAITING = [ConversationStatus.QUEUED, ConversationStatus.OFFERED]
CSAT_WINDOW = timedelta(hours=24)
OFFER, NO_ANSWER, AUTO_CLOSE, CSAT = "offer", "no_answer", "auto_close", "csat"
# A conversation held for its preferred operator (sticky routing) is routed again when the
# wait is over: a timer per conversation, its payload the line.
PREFER_WAIT = "prefer_wait"
# Changes after which the line's queue may move (someone freed up or something was queued).
_REDISPATCH = {
    ConversationChange.ASSIGNED,
    ConversationChange.CLOSED,
    ConversationChange.RETURNED,
    ConversationChange.LINE_CHANGED,
    ConversationChange.OFFER_EXPIRED,
    ConversationChange.TRANSFERRED,
    ConversationChange.BLOCKED,
    ConversationChange.UNBLOCKED,
}


def first_since_reply(event: MessageStored) -> bool:
    """Whether a client's message may be their first since an operator's public reply: the one
    that cancels the auto-close timer the reply set.

    ``unread`` counts the client's messages since that reply. The event carries the
    conversation as the message's batch left it (the group commit gives the messages of one
    conversation their seqs in one ``$inc``: ``last_seq`` is the batch's last), so the message
    is the first only if every unread one is at or after its seq. That is exact when the
    messages after it are the client's; a line's text stored among them in the same batch can
    make it true of a later one too, which costs a needless cancel, never a missed one."""
    conversation = event.conversation
    return conversation.unread <= conversation.last_seq - event.message.seq + 1


def stands_for(event: Any) -> Hashable | None:
    """What a waiting event of a conversation can be replaced by (``subscribe(coalesce=)``):
    a newer one of the same run and value handled instead does all it would (``_message``).

    The client's messages after the first since an operator's reply only ask the after-hours
    question, which the newest answers as well; an operator's replies only move the auto-close
    deadline, which the newest moves furthest; the rest need nothing. The first client message
    after a reply (``first_since_reply``) cancels a timer and is never replaced, nor is any
    other event (an opening, a change, a presence)."""
    if not isinstance(event, MessageStored):
        return None
    message = event.message
    if message.direction == Direction.IN:
        return None if first_since_reply(event) else "client"
    if message.author.type == AuthorType.OPERATOR and not message.hidden:
        return "reply"
    return "quiet"


class Router:
    def __init__(self, hub: Hub, timers: Timers) -> None:
        self._hub = hub
        self._timers = timers
        self._locks: dict[str, asyncio.Lock] = {}
        # Per line: a running dispatch loop and whether another pass was asked for meanwhile,
        # so a burst of events costs a few passes over the queue, not one per event.
        self._runners: dict[str, asyncio.Task[None]] = {}
        self._dirty: set[str] = set()
        self._told_positions: dict[str, int] = {}
        settle_s = hub.settings.capacity_repair_s
        self._repairs = Worker(
            "capacity-repair",
            lambda: self._repair_capacity(settle_s),
            interval_s=settle_s / 2,
            log=log,
        )

    async def start(self) -> None:
        await self._repairs.start()

    async def _repair_capacity(self, settle_s: float) -> bool:
        """Put right capacity counters a crash left too high (see ``routing.capacity``).

        A process that dies between taking a slot and assigning (or between freeing the
        conversation and giving the slot back) leaves a counter above the conversations
        holding its slots, and the operator short of room for good."""
        capacity = self._hub.conversations.capacity
        now = utcnow()
        repaired: set[str] = set()
        for counter in await capacity.counters_in_use():
            held = await capacity.slots_held(counter)
            match verdict(counter, held, now, settle_s):
                case Repair.CLEAR:
                    await capacity.clear_suspect(counter)
                case Repair.MARK:
                    await capacity.mark_suspect(counter, held, now)
                case Repair.FIX:
                    if await capacity.correct(counter, held):
                        repaired.add(counter.line_id)
                case Repair.KEEP:
                    pass
        for line_id in repaired:
            await self.dispatch(line_id)  # the room found may take someone waiting
        return False

    def subscribe(self) -> None:
        # One conversation's events in order, several conversations at once; a burst of
        # messages of one conversation handled once (``stands_for``).
        self._hub.bus.subscribe(
            "routing",
            self._on_event,
            ConversationOpened,
            ConversationChanged,
            PresenceChanged,
            MessageStored,
            key=conversation_key,
            coalesce=stands_for,
        )
        self._timers.on(OFFER, self._offer_expired)
        self._timers.on(NO_ANSWER, self._no_answer)
        self._timers.on(AUTO_CLOSE, self._auto_close)
        self._timers.on(CSAT, self._csat_expired)
        self._timers.on(PREFER_WAIT, self._prefer_wait_over)

    # --- events ----------------------------------------------------------------------------

    async def _on_event(self, event: Any) -> None:
        if isinstance(event, ConversationOpened):
            await self._opened(event.conversation)
        elif isinstance(event, MessageStored):
            await self._message(event)
        elif isinstance(event, ConversationChanged):
            await self._changed(event)
        elif isinstance(event, PresenceChanged) and event.status == PresenceStatus.ONLINE:
            for line_id in await self._hub.store.lines.ids_operated_by(event.user_id):
                await self.dispatch(line_id)

    async def _opened(self, conversation: Conversation) -> None:
        line = await self._hub.conversations.line(conversation.line_id)
        if line is None or conversation.assignee_id is not None or conversation.client.blocked:
            # Staff opened it to write first (from the CRM): theirs, nothing to greet or route;
            # a blocked client is told nothing and offered to nobody (docs/spam.md).
            return
        if line.messages.welcome:
            await self._hub.conversations.say(conversation, line.messages.welcome)
        if line.no_answer_after_s:
            await self._timers.set(
                NO_ANSWER,
                conversation.id,
                conversation.created_at + timedelta(seconds=line.no_answer_after_s),
            )
        await self.dispatch(line.id)

    async def _message(self, event: MessageStored) -> None:
        message, conversation = event.message, event.conversation
        if message.direction == Direction.IN:
            line = await self._hub.conversations.line(conversation.line_id)
            if first_since_reply(event) and line is not None and line.auto_close_after_s:
                # The client's first word since the operator's reply: the reply set the timer.
                # Later ones find it gone; one this misses finds the client has written
                # (``_auto_close``), so skipping them is safe, not just cheap.
                await self._timers.cancel(AUTO_CLOSE, conversation.id)
            if not conversation.client.blocked:
                await self._after_hours(conversation)
        elif (
            message.author.type == AuthorType.OPERATOR
            and not message.hidden
            and conversation.status == ConversationStatus.ACTIVE
        ):
            line = await self._hub.conversations.line(conversation.line_id)
            if line is not None and line.auto_close_after_s:
                due = utcnow() + timedelta(seconds=line.auto_close_after_s)
                await self._timers.set(AUTO_CLOSE, conversation.id, due)

    async def _after_hours(self, conversation: Conversation) -> None:
        """Tell a client writing outside working hours, once per closed period."""
        line = await self._hub.conversations.line(conversation.line_id)
        now = utcnow()
        if line is None or is_open(line.working_hours, now):
            return
        reopens = next_open(line.working_hours, now) or now + timedelta(days=365)
        claimed = await self._hub.conversations.claim_after_hours(conversation.id, reopens)
        if claimed is not None and line.messages.after_hours:
            await self._hub.conversations.say(conversation, line.messages.after_hours)

    async def _changed(self, event: ConversationChanged) -> None:
        conversation = event.conversation
        if conversation.status == ConversationStatus.OFFERED and conversation.offer_expires_at:
            await self._timers.set(
                OFFER,
                conversation.id,
                conversation.offer_expires_at,
                {"expires_at": conversation.offer_expires_at},
            )
        if conversation.status in (ConversationStatus.ACTIVE, ConversationStatus.CLOSED):
            self._told_positions.pop(conversation.id, None)
        if event.change == ConversationChange.ASSIGNED:
            await self._timers.cancel(OFFER, conversation.id)
        if event.change == ConversationChange.CLOSED:
            await self._closed(conversation)
        if event.change in _REDISPATCH:
            await self.dispatch(conversation.line_id)
            # Whoever gave a conversation away may have room in their other lines now.
            for user_id in event.former_user_ids:
                for line_id in await self._hub.store.lines.ids_operated_by(user_id):
                    if line_id != conversation.line_id:
                        await self.dispatch(line_id)

    async def _closed(self, conversation: Conversation) -> None:
        for timer in (OFFER, NO_ANSWER, AUTO_CLOSE):
            await self._timers.cancel(timer, conversation.id)
        line = await self._hub.conversations.line(conversation.line_id)
        if line is not None and conversation.close_reason == "operator" and line.messages.closing:
            await self._hub.conversations.say(conversation, line.messages.closing)
        if conversation.csat and conversation.csat.status == CsatStatus.REQUESTED:
            await self._timers.set(CSAT, conversation.id, utcnow() + CSAT_WINDOW)
            kind = self._hub.registry.get(conversation.channel.type)
            if not kind.live_csat and line is not None and line.messages.csat:
                # The channel renders this message as its rating prompt (buttons, links).
                await self._hub.conversations.say(
                    conversation, line.messages.csat, purpose=MessagePurpose.CSAT_REQUEST
                )

    # --- timers ----------------------------------------------------------------------------

    async def _offer_expired(self, conversation_id: str, payload: dict[str, Any]) -> None:
        expires_at = payload.get("expires_at")
        if not isinstance(expires_at, datetime):
            return
        updated = await self._hub.conversations.expire_offer(conversation_id, expires_at)
        if updated is not None:
            log.info("offer timed out conversation=%s line=%s", updated.id, updated.line_id)
            await self.dispatch(updated.line_id)

    async def _no_answer(self, conversation_id: str, payload: dict[str, Any]) -> None:
        conversation = await self._hub.conversations.load(conversation_id)
        if conversation.status == ConversationStatus.CLOSED or conversation.first_response_at:
            return
        line = await self._hub.conversations.line(conversation.line_id)
        if line is None or not line.messages.no_answer:
            return
        if is_open(line.working_hours, utcnow()):  # after hours the after-hours text speaks
            await self._hub.conversations.say(conversation, line.messages.no_answer)

    async def _auto_close(self, conversation_id: str, payload: dict[str, Any]) -> None:
        conversation = await self._hub.conversations.load(conversation_id)
        if conversation.status == ConversationStatus.CLOSED:
            return
        if conversation.unread:
            # The client wrote after the operator's last reply (``unread`` counts their
            # messages since it): not silent, whether or not that message cancelled us.
            log.info("auto-close skipped: the client wrote conversation=%s", conversation_id)
            return
        line = await self._hub.conversations.line(conversation.line_id)
        if line is not None and not line.auto_close_after_s:
            return  # switched off since the timer was set
        if line is not None and line.messages.auto_close:
            await self._hub.conversations.say(conversation, line.messages.auto_close)
        try:
            await self._hub.conversations.close_by_system(conversation, reason="auto")
        except Exception:
            log.info("auto-close found it closed already conversation=%s", conversation_id)
            return
        log.info("auto-closed conversation=%s after client silence", conversation_id)

    async def _csat_expired(self, conversation_id: str, payload: dict[str, Any]) -> None:
        await self._hub.conversations.expire_csat(conversation_id)

    async def _prefer_wait_over(self, conversation_id: str, payload: dict[str, Any]) -> None:
        line_id = payload.get("line_id")
        if isinstance(line_id, str):
            await self.dispatch(line_id)

    # --- dispatch --------------------------------------------------------------------------

    async def dispatch(self, line_id: str) -> None:
        """Ask for a pass over the line's queue; passes asked for while one runs coalesce."""
        self._dirty.add(line_id)
        runner = self._runners.get(line_id)
        if runner is None or runner.done():
            self._runners[line_id] = asyncio.create_task(
                self._run_dispatch(line_id), name=f"dispatch:{line_id}"
            )

    async def _run_dispatch(self, line_id: str) -> None:
        while line_id in self._dirty:
            self._dirty.discard(line_id)
            try:
                await self.dispatch_now(line_id)
            except Exception:
                log.exception("dispatch failed line=%s", line_id)

    async def stop(self) -> None:
        """Let running passes finish (they are short and leave consistent state)."""
        await self._repairs.stop()
        runners = [t for t in self._runners.values() if not t.done()]
        if runners:
            await asyncio.wait(runners, timeout=10)

    async def dispatch_now(self, line_id: str) -> None:
        """Offer the line's waiting conversations, oldest first, to whoever the mode picks."""
        lock = self._locks.setdefault(line_id, asyncio.Lock())
        async with lock:
            line = await self._hub.conversations.line(line_id)
            if line is None:
                return
            waiting = queue_order(
                c
                for c in await self._hub.store.conversations.matching(
                    Where(line_id=line.id, statuses=WAITING)
                )
                if not c.client.blocked  # offered to nobody, not in anyone's way either
            )
            candidates = await self._candidates(line, waiting)
            expires_at = offer_deadline(utcnow(), line.accept_timeout_s)
            offered_now: dict[str, Conversation] = {}
            for conversation in waiting:
                if conversation.status != ConversationStatus.QUEUED:
                    continue
                chosen = await self._choose(line, conversation, candidates)
                if isinstance(chosen, Hold):
                    # Waiting for its preferred operator: the others are served meanwhile.
                    await self._timers.set(
                        PREFER_WAIT, conversation.id, chosen.until, {"line_id": line.id}
                    )
                    continue
                if not chosen:
                    break  # FIFO: nobody jumps ahead of the oldest waiting conversation
                offered = await self._hub.conversations.offer(conversation, chosen, expires_at)
                if offered is None:
                    continue
                offered_now[offered.id] = offered
                log.info(
                    "offered conversation=%s line=%s to=%s",
                    conversation.id,
                    line.id,
                    ",".join(chosen),
                )
                candidates = after_offer(candidates, chosen, line.distribution, utcnow())
            still_waiting = [offered_now.get(c.id, c) for c in waiting]
            await self._update_positions(line, still_waiting)

    async def _choose(
        self, line: Line, conversation: Conversation, candidates: list[Candidate]
    ) -> list[str] | Hold:
        pinned = await self._hub.conversations.pinned_operator(line.id, conversation.client.id)
        if pinned is None and line.routing.prefer is not None:
            sticky = prefer(
                await self._preferred(line, conversation),
                candidates,
                max_active=line.max_active_per_operator,
                offer_history=conversation.offer_history,
                queued_at=conversation.queued_at or conversation.created_at,
                wait_s=line.routing.prefer_wait_s,
                now=utcnow(),
            )
            if sticky is not None:
                return sticky
        return pick(
            line.distribution,
            candidates,
            max_active=line.max_active_per_operator,
            offer_history=conversation.offer_history,
            pinned=pinned,
        )

    async def _preferred(self, line: Line, conversation: Conversation) -> str | None:
        """Sticky routing's person for a returning client: the responsible of their CRM
        contact or open deal, or the operator who last served them in this line."""
        if line.routing.prefer == Prefer.CRM_RESPONSIBLE:
            owners = self._hub.owners
            return await owners.responsible_for(conversation.client.id) if owners else None
        earlier = await self._hub.store.conversations.matching(
            Where(line_id=line.id, client_ids=[conversation.client.id]),
            order=Order.NEWEST,
            limit=5,
        )
        return next(
            (c.assignee_id for c in earlier if c.id != conversation.id and c.assignee_id), None
        )

    async def _candidates(self, line: Line, waiting: list[Conversation]) -> list[Candidate]:
        online = set(await self._hub.presence.available(line.operators))
        loads = {
            c.user_id: Load(active=c.active, last_routed_at=c.last_routed_at)
            for c in await self._hub.store.operator_load.of_line(line.id)
        }
        return staff(line.operators, online, loads, pending_offers(waiting, line.distribution))

    async def _update_positions(self, line: Line, waiting: list[Conversation]) -> None:
        """Tell each waiting client their place (``waiting`` is sorted oldest first).

        Positions are not stored: they follow from the queue order. Live channels (the
        widget) hear each change; this process remembers what it last told, so an unchanged
        place is not repeated (another process may repeat it once, which is harmless).
        Platforms without a live view get one text, when the client first waits. A closed line
        tells no places: its clients hear that it is closed, and their places once it opens."""
        if not is_open(line.working_hours, utcnow()):
            return
        for position, conversation in enumerate(waiting, start=1):
            kind = self._hub.registry.get(conversation.channel.type)
            if kind.live_queue_position:
                if self._told_positions.get(conversation.id) != position:
                    self._told_positions[conversation.id] = position
                    await self._hub.bus.publish(
                        QueuePositionChanged(conversation=conversation, position=position)
                    )
            elif conversation.status == ConversationStatus.QUEUED and line.messages.queued:
                claimed = await self._hub.conversations.claim_queue_notice(conversation.id)
                if claimed is not None:
                    text = line.messages.queued.replace("{position}", str(position))
                    await self._hub.conversations.say(conversation, text)
