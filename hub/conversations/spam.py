"""Spam and blocked clients (Bitrix24's "spam", Chatwoot's "block contact").

Marking a conversation spam closes it without the closing text or the rating request and
counts it on the client. Blocking a client stops their conversations from being offered to
anyone: a conversation opened while they are blocked carries ``client.blocked`` from the
start (the stream copies the client into it), so the router only reads that flag; their
messages are still stored, once, and the line's supervisors and admins see the conversation
waiting. Unblocking offers their waiting conversations as normal, in the order they arrived.
See docs/spam.md.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from hub.access import oversees
from hub.conversations.closing import Closing
from hub.conversations.queries import OPEN, Queries
from hub.conversations.transitions import Transitions
from hub.errors import Conflict, Forbidden, NotFound
from hub.events import ConversationChange
from hub.models import (
    Client,
    CloseReason,
    Conversation,
    ConversationStatus,
    Line,
    Role,
    User,
    utcnow,
)
from hub.storage.conversations import Where
from hub.store import Store

log = logging.getLogger("openlines.conversations")


def may_block(user: User, seen: Sequence[tuple[Conversation, Line | None]]) -> bool:
    """Admins, and supervisors of a line of one of the client's conversations they see
    (``seen``, from ``Queries.of_client``), may block or unblock the client: blocking is a
    decision about a person across lines, so operators leave it to them (docs/spam.md)."""
    return user.role == Role.ADMIN or any(
        line is not None and oversees(user, line) for _, line in seen
    )


class Spam:
    """Marks conversations spam and blocks or unblocks their clients."""

    def __init__(
        self, store: Store, transitions: Transitions, queries: Queries, closing: Closing
    ) -> None:
        self._store = store
        self._transitions = transitions
        self._queries = queries
        self._closing = closing

    async def mark(self, user: User, conversation_id: str) -> Conversation:
        """Close the conversation as spam and count it on the client. Staff of its line (and
        whoever takes part in it, and admins) may, on the conversations they see."""
        conversation, line = await self._queries.get(user, conversation_id)
        if conversation.status == ConversationStatus.CLOSED:
            raise Conflict("the conversation is closed", code="conversation_closed")
        if not (
            user.role == Role.ADMIN
            or user.id in conversation.staff_ids()
            or (line is not None and user.id in line.staff_ids())
        ):
            raise Forbidden("only the line's staff may mark its conversations spam")
        closed = await self._closing.close_by_system(
            conversation, actor_id=user.id, reason=CloseReason.SPAM
        )
        await self._store.clients.mark_spam(closed.client.id, utcnow())
        log.info("marked spam conversation=%s client=%s", closed.id, closed.client.id)
        return closed

    async def block(self, user: User, client_id: str) -> Client:
        """Block the client: their open conversations stop being offered (a pending offer
        is withdrawn, one an operator has already accepted stays theirs) and new ones are
        offered to nobody."""
        await self._ensure_may_block(user, client_id)
        client = await self._store.clients.set_blocked(
            client_id, True, by_user_id=user.id, at=utcnow()
        )
        if client is None:
            raise NotFound("no such client")
        for conversation_id in await self._open_conversations(client_id):
            withdrawn = await self._transitions.apply(
                conversation_id,
                {"status": ConversationStatus.OFFERED.value, "transfer": None},
                {
                    "$set": {
                        "client.blocked": True,
                        "status": ConversationStatus.QUEUED.value,
                        "offered_to": [],
                        "offer_expires_at": None,
                    }
                },
                change=ConversationChange.BLOCKED,
                actor_id=user.id,
            )
            if withdrawn is None:
                await self._flag(conversation_id, blocked=True, actor_id=user.id)
        log.info("blocked client=%s by=%s", client_id, user.id)
        return client

    async def unblock(self, user: User, client_id: str) -> Client:
        """Unblock the client: their waiting conversations are offered as normal, each in
        its place by when it was queued (they did wait)."""
        await self._ensure_may_block(user, client_id)
        client = await self._store.clients.set_blocked(
            client_id, False, by_user_id=user.id, at=utcnow()
        )
        if client is None:
            raise NotFound("no such client")
        for conversation_id in await self._open_conversations(client_id):
            await self._flag(conversation_id, blocked=False, actor_id=user.id)
        log.info("unblocked client=%s by=%s", client_id, user.id)
        return client

    async def _flag(self, conversation_id: str, *, blocked: bool, actor_id: str) -> None:
        """Set ``client.blocked`` on an open conversation unless it holds it already."""
        await self._transitions.apply(
            conversation_id,
            {"status": {"$in": OPEN}, "client.blocked": {"$ne": blocked}},
            {"$set": {"client.blocked": blocked}},
            change=ConversationChange.BLOCKED if blocked else ConversationChange.UNBLOCKED,
            actor_id=actor_id,
        )

    async def _open_conversations(self, client_id: str) -> list[str]:
        return await self._store.conversations.ids(Where(client_ids=[client_id], open=True))

    async def _ensure_may_block(self, user: User, client_id: str) -> None:
        """Admins, and supervisors of a line where the client wrote (a conversation of theirs
        the supervisor sees); 404 to staff who see none of the client's conversations."""
        if user.role == Role.ADMIN:
            if await self._store.clients.get(client_id) is None:
                raise NotFound("no such client")
            return
        seen = await self._queries.of_client(user, client_id)
        if not seen:
            raise NotFound("no such client")
        if not may_block(user, seen):
            raise Forbidden("only supervisors and admins may block a client")
