"""Offers and assignment: a queued conversation offered to operators, the offer running out,
and an operator taking it (accepting an offer, or being assigned), a capacity slot first."""

from __future__ import annotations

import logging
from datetime import datetime

from hub.access import ensure_may_see, oversees
from hub.conversations.capacity import Capacity
from hub.conversations.posting import Notices
from hub.conversations.queries import Queries
from hub.conversations.transitions import Transitions
from hub.errors import Conflict, Forbidden
from hub.events import Assigned, ConversationChange, Offered, OfferExpired
from hub.models import Conversation, ConversationStatus, Line, Role, User, utcnow

log = logging.getLogger("openlines.conversations")


class Offers:
    """Moves a conversation from waiting to someone's: offer, expiry, accept, assign."""

    def __init__(
        self,
        transitions: Transitions,
        queries: Queries,
        capacity: Capacity,
        notices: Notices,
    ) -> None:
        self._transitions = transitions
        self._queries = queries
        self._capacity = capacity
        self._notices = notices

    async def offer(
        self,
        conversation: Conversation,
        user_ids: list[str],
        expires_at: datetime | None,
    ) -> Conversation | None:
        """Offer a queued conversation; None when it is no longer waiting as it was (or its
        client was blocked meanwhile: a blocked client's are offered to nobody)."""
        updated = await self._transitions.apply(
            conversation.id,
            {
                "status": ConversationStatus.QUEUED.value,
                "line_id": conversation.line_id,
                "client.blocked": {"$ne": True},
            },
            {
                "$set": {
                    "status": ConversationStatus.OFFERED.value,
                    "offered_to": user_ids,
                    "offer_expires_at": expires_at,
                }
            },
            ConversationChange.OFFERED,
            detail=Offered(user_ids=user_ids, expires_at=expires_at),
        )
        if updated is not None and len(user_ids) == 1:
            # Rotation order for the single-operator modes (all_at_once does not rotate).
            (user_id,) = user_ids
            await self._capacity.mark_routed(conversation.line_id, user_id)
        return updated

    async def expire_offer(
        self, conversation_id: str, expires_at: datetime
    ) -> Conversation | None:
        """The offer that ends at ``expires_at`` ran out: back to the line's queue."""
        conversation = await self._queries.load(conversation_id)
        if (
            conversation.status != ConversationStatus.OFFERED
            or conversation.offer_expires_at != expires_at
        ):
            return None
        was_transfer = conversation.transfer is not None
        updated = await self._transitions.apply(
            conversation_id,
            {"status": ConversationStatus.OFFERED.value, "offer_expires_at": expires_at},
            {
                "$set": {
                    "status": ConversationStatus.QUEUED.value,
                    "offered_to": [],
                    "offer_expires_at": None,
                    "transfer": None,
                },
                "$addToSet": {"offer_history": {"$each": conversation.offered_to}},
            },
            ConversationChange.OFFER_EXPIRED,
            detail=OfferExpired(user_ids=conversation.offered_to),
            former_user_ids=conversation.offered_to,
        )
        if updated is not None and was_transfer:
            await self._notices.note(updated, "transfer_expired")
        return updated

    async def accept(self, user: User, conversation_id: str) -> Conversation:
        """Take an offer, or a queued conversation of one's line. An offer to someone else
        is theirs until it times out; supervisors and admins may still take it over."""
        conversation = await self._queries.load(conversation_id)
        line = await self._queries.line(conversation.line_id)
        if line is None:
            raise Conflict("the conversation's line is gone", code="line_gone")
        in_line = user.role == Role.ADMIN or user.id in line.staff_ids()
        if not in_line and user.id not in conversation.offered_to:
            ensure_may_see(user, conversation, line)  # 404 to strangers
            raise Forbidden("you are not an operator of this line")
        if conversation.client.blocked and not oversees(user, line):
            # A blocked client's conversation waits for nobody: the line's operators do not
            # even see it (docs/spam.md); its supervisors may still take it up.
            ensure_may_see(user, conversation, line)
        if conversation.status not in (ConversationStatus.QUEUED, ConversationStatus.OFFERED):
            raise Conflict("someone else has taken this conversation", code="already_taken")
        if (
            conversation.status == ConversationStatus.OFFERED
            and user.id not in conversation.offered_to
            and not oversees(user, line)
        ):
            raise Conflict("this conversation is offered to a colleague", code="offered_to_other")
        return await self.assign(conversation, line, user, actor_id=user.id)

    async def assign(
        self, conversation: Conversation, line: Line, user: User, *, actor_id: str | None
    ) -> Conversation:
        """Take a capacity slot, then claim the conversation; both conditional, so neither
        two accepts nor two processes can assign it twice or exceed the line's capacity."""
        if conversation.status not in (ConversationStatus.QUEUED, ConversationStatus.OFFERED):
            raise Conflict("someone else has taken this conversation", code="already_taken")
        load_key = await self._capacity.take_slot(line, user.id)
        now = utcnow()
        updated = await self._transitions.apply(
            conversation.id,
            {
                "status": {
                    "$in": [ConversationStatus.QUEUED.value, ConversationStatus.OFFERED.value]
                },
                "line_id": line.id,
            },
            {
                "$set": {
                    "status": ConversationStatus.ACTIVE.value,
                    "assignee_id": user.id,
                    "offered_to": [],
                    "offer_expires_at": None,
                    "queued_at": None,
                    "transfer": None,
                    "load_key": load_key,
                    "accepted_at": now,
                },
                "$pull": {"participants": {"user_id": user.id}},
            },
            ConversationChange.ASSIGNED,
            detail=Assigned(user_id=user.id),
            actor_id=actor_id,
        )
        if updated is None:
            await self._capacity.give_back(load_key)
            raise Conflict("someone else has taken this conversation", code="already_taken")
        await self._notices.note(updated, "took", user=user.name)
        return updated
