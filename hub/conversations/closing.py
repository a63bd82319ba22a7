"""Closing a conversation (by staff or the system) and the ratings that may follow: the
client's (CSAT) and the supervisor's."""

from __future__ import annotations

import logging

from hub.access import oversees
from hub.conversations.queries import OPEN, Queries
from hub.conversations.transitions import Transitions
from hub.errors import Conflict, Forbidden
from hub.events import Closed, ConversationChange, CsatSubmitted, Rated
from hub.models import (
    CloseReason,
    Conversation,
    ConversationStatus,
    Csat,
    CsatStatus,
    Role,
    SupervisorRating,
    User,
    utcnow,
)
from hub.storage.threads import thread_id
from hub.store import Store

log = logging.getLogger("openlines.conversations")


class Closing:
    """Ends conversations and records (or expires) the rating asked for at the end."""

    def __init__(self, store: Store, transitions: Transitions, queries: Queries) -> None:
        self._store = store
        self._transitions = transitions
        self._queries = queries

    async def close(self, user: User, conversation_id: str) -> Conversation:
        conversation, line = await self._queries.get(user, conversation_id)
        if not (
            conversation.visible_participant(user.id)
            or (line is not None and oversees(user, line))
        ):
            raise Forbidden("only the assignee or a supervisor may close this conversation")
        return await self.close_by_system(
            conversation, actor_id=user.id, reason=CloseReason.OPERATOR
        )

    async def close_by_system(
        self,
        conversation: Conversation,
        *,
        actor_id: str | None = None,
        reason: str = CloseReason.SYSTEM,
    ) -> Conversation:
        """Close it for ``reason`` (a ``CloseReason``). The client is asked to rate it when
        the line asks for ratings, except after a spam close: nothing more goes to a spammer
        (the router sends the closing text only after an operator's close)."""
        line = await self._queries.line(conversation.line_id)
        csat = (
            Csat(status=CsatStatus.REQUESTED, requested_at=utcnow()).model_dump()
            if line is not None and line.csat.enabled and reason != CloseReason.SPAM
            else None
        )
        updated = await self._transitions.apply(
            conversation.id,
            {"status": {"$in": OPEN}},
            {
                "$set": {
                    "status": ConversationStatus.CLOSED.value,
                    "closed_at": utcnow(),
                    "offered_to": [],
                    "offer_expires_at": None,
                    "transfer": None,
                    "close_reason": str(reason),
                    "csat": csat,
                }
            },
            change=ConversationChange.CLOSED,
            detail=Closed(reason=str(reason)),
            release_slot=True,
            actor_id=actor_id,
        )
        if updated is None:
            raise Conflict("the conversation is already closed", code="conversation_closed")
        await self._store.open_threads.retire(
            thread_id(updated.channel.id, updated.chat_id), updated.id
        )
        return updated

    async def submit_csat(
        self, conversation_id: str, rating: int, comment: str | None
    ) -> Conversation:
        updated = await self._transitions.apply(
            conversation_id,
            {"status": ConversationStatus.CLOSED.value, "csat.status": CsatStatus.REQUESTED.value},
            {
                "$set": {
                    "csat": Csat(
                        status=CsatStatus.SUBMITTED,
                        rating=rating,
                        comment=comment,
                        submitted_at=utcnow(),
                    ).model_dump()
                }
            },
            change=ConversationChange.CSAT,
            detail=CsatSubmitted(rating=rating),
        )
        if updated is None:
            raise Conflict("no rating is awaited for this conversation", code="csat_not_awaited")
        return updated

    async def expire_csat(self, conversation_id: str) -> Conversation | None:
        """The client's rating window closed unanswered; None if no rating was awaited."""
        return await self._transitions.apply(
            conversation_id,
            {"csat.status": CsatStatus.REQUESTED.value},
            {"$set": {"csat.status": CsatStatus.EXPIRED.value}},
            ConversationChange.CSAT_EXPIRED,
        )

    async def rate(
        self, user: User, conversation_id: str, rating: int, comment: str | None
    ) -> Conversation:
        """A supervisor of the line (or an admin) rates the closed conversation 1 to 5; rating
        again replaces the rating (and its author)."""
        conversation, line = await self._queries.get(user, conversation_id)
        if not (user.role == Role.ADMIN or (line is not None and oversees(user, line))):
            raise Forbidden("only a supervisor of the line may rate its conversations")
        if conversation.status != ConversationStatus.CLOSED:
            raise Conflict("rate a conversation once it is closed", code="conversation_open")
        given = SupervisorRating(
            rating=rating, comment=comment or None, by_user_id=user.id, rated_at=utcnow()
        )
        updated = await self._transitions.apply(
            conversation.id,
            {"status": ConversationStatus.CLOSED.value},
            {"$set": {"rating": given.model_dump()}},
            change=ConversationChange.RATING,
            detail=Rated(rating=rating, by_user_id=user.id),
            actor_id=user.id,
        )
        if updated is None:  # closed conversations are never reopened: it was deleted
            raise Conflict("the conversation changed meanwhile; try again", code="stale_state")
        return updated
