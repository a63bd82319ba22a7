"""Moving a conversation between people and lines: transfer to a colleague or another line,
back to the queue, invite, join, leave, and pinning a client to their operator."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from hub.access import oversees
from hub.conversations.capacity import Capacity
from hub.conversations.posting import Notices
from hub.conversations.queries import OPEN, Queries
from hub.conversations.transitions import Transitions
from hub.errors import Conflict, Forbidden, ValidationFailed
from hub.events import (
    Assigned,
    ChangeDetail,
    ConversationChange,
    Invited,
    Joined,
    Left,
    LineChanged,
    Returned,
    Transferred,
)
from hub.models import Conversation, ConversationStatus, Role, Transfer, User, utcnow
from hub.store import Store

log = logging.getLogger("openlines.conversations")


class Moves:
    """Staff hand a conversation on, bring colleagues in, or pin a client to an operator."""

    def __init__(
        self,
        store: Store,
        transitions: Transitions,
        queries: Queries,
        notices: Notices,
        capacity: Capacity,
    ) -> None:
        self._store = store
        self._transitions = transitions
        self._queries = queries
        self._notices = notices
        self._capacity = capacity

    async def transfer_to_user(
        self, user: User, conversation_id: str, to_user_id: str
    ) -> Conversation:
        conversation, line = await self._queries.acting(user, conversation_id)
        target = await self._queries.active_user(to_user_id)
        if target.id == conversation.assignee_id:
            raise Conflict("the conversation is already theirs", code="already_assigned")
        if target.role != Role.ADMIN and target.id not in line.staff_ids():
            raise ValidationFailed("they do not work in this line", code="not_in_line")
        expires_at = utcnow() + timedelta(seconds=line.accept_timeout_s)
        previous = conversation.assignee_id
        updated = await self._transitions.apply(
            conversation.id,
            {"status": conversation.status.value, "assignee_id": previous},
            {
                "$set": {
                    "status": ConversationStatus.OFFERED.value,
                    "assignee_id": None,
                    "offered_to": [target.id],
                    "offer_expires_at": expires_at,
                    "transfer": Transfer(
                        from_user_id=user.id, to_user_id=target.id, back_to=previous, at=utcnow()
                    ).model_dump(),
                }
            },
            change=ConversationChange.TRANSFERRED,
            detail=Transferred(from_user_id=user.id, to_user_id=target.id),
            release_slot=True,
            actor_id=user.id,
            former_user_ids=[previous] if previous else [],
        )
        if updated is None:
            raise Conflict("the conversation changed meanwhile; try again", code="stale_state")
        await self._notices.note(updated, "transferred", user=user.name, to=target.name)
        return updated

    async def cancel_transfer(self, user: User, conversation_id: str) -> Conversation:
        """The sender (or a supervisor) takes back a transfer its receiver has not accepted:
        the conversation goes back to whom it was with (taking their capacity slot again), or
        to the queue when it was nobody's."""
        conversation, line = await self._queries.acting(
            user, conversation_id, assignee_or_overseer=False
        )
        pending = conversation.transfer
        if pending is None or conversation.status != ConversationStatus.OFFERED:
            raise Conflict("no transfer is waiting", code="no_transfer")
        if user.id != pending.from_user_id and not oversees(user, line):
            raise Forbidden("only who sent the transfer, or a supervisor, may cancel it")
        expected = {"status": ConversationStatus.OFFERED.value, "transfer.to": pending.to_user_id}
        back_to = await self._store.users.get(pending.back_to) if pending.back_to else None
        if back_to is None or not back_to.active:
            updated = await self._transitions.apply(
                conversation.id,
                expected,
                {
                    "$set": {
                        "status": ConversationStatus.QUEUED.value,
                        "offered_to": [],
                        "offer_expires_at": None,
                        "transfer": None,
                        "queued_at": utcnow(),
                    }
                },
                change=ConversationChange.RETURNED,
                detail=Returned(user_id=user.id),
                actor_id=user.id,
                former_user_ids=[pending.to_user_id],
            )
        else:
            slot = await self._capacity.take_slot(line, back_to.id)
            updated = await self._transitions.apply(
                conversation.id,
                expected,
                {
                    "$set": {
                        "status": ConversationStatus.ACTIVE.value,
                        "assignee_id": back_to.id,
                        "offered_to": [],
                        "offer_expires_at": None,
                        "transfer": None,
                        "load_key": slot,
                    }
                },
                change=ConversationChange.ASSIGNED,
                detail=Assigned(user_id=back_to.id),
                actor_id=user.id,
                former_user_ids=[pending.to_user_id],
            )
            if updated is None:
                await self._capacity.give_back(slot)
        if updated is None:
            raise Conflict("the transfer was taken meanwhile", code="stale_state")
        await self._notices.note(updated, "transfer_cancelled", user=user.name)
        return updated

    async def transfer_to_line(
        self, user: User, conversation_id: str, to_line_id: str
    ) -> Conversation:
        conversation, line = await self._queries.acting(user, conversation_id)
        target = await self._queries.line(to_line_id)
        if target is None:
            raise ValidationFailed("no such line", code="unknown_line")
        if target.archived:
            raise Conflict("the line is archived: it takes no conversations", code="line_archived")
        if target.id == line.id:
            raise Conflict("the conversation is already in this line", code="same_line")
        previous = conversation.assignee_id
        updated = await self._transitions.apply(
            conversation.id,
            {"status": conversation.status.value, "line_id": line.id, "assignee_id": previous},
            {
                "$set": {
                    "line_id": target.id,
                    "status": ConversationStatus.QUEUED.value,
                    "assignee_id": None,
                    "offered_to": [],
                    "offer_expires_at": None,
                    "transfer": None,
                    "offer_history": [],
                    "queued_at": utcnow(),
                }
            },
            change=ConversationChange.LINE_CHANGED,
            detail=LineChanged(from_line_id=line.id, to_line_id=target.id),
            release_slot=True,
            actor_id=user.id,
            former_user_ids=[previous] if previous else [],
            former_line_id=line.id,
        )
        if updated is None:
            raise Conflict("the conversation changed meanwhile; try again", code="stale_state")
        await self._notices.note(updated, "moved_to_line", user=user.name, line=target.name)
        return updated

    async def return_to_queue(self, user: User, conversation_id: str) -> Conversation:
        conversation, _ = await self._queries.acting(user, conversation_id)
        if conversation.status != ConversationStatus.ACTIVE or not conversation.assignee_id:
            raise Conflict("only an accepted conversation can go back", code="not_assigned")
        previous = conversation.assignee_id
        updated = await self._transitions.apply(
            conversation.id,
            {"status": ConversationStatus.ACTIVE.value, "assignee_id": previous},
            # It keeps its place: queued as of when it first arrived.
            {
                "$set": {
                    "status": ConversationStatus.QUEUED.value,
                    "assignee_id": None,
                    "queued_at": conversation.created_at,
                },
                "$addToSet": {"offer_history": previous},
            },
            change=ConversationChange.RETURNED,
            detail=Returned(user_id=previous),
            release_slot=True,
            actor_id=user.id,
            former_user_ids=[previous],
        )
        if updated is None:
            raise Conflict("the conversation changed meanwhile; try again", code="stale_state")
        await self._notices.note(updated, "returned", user=user.name)
        return updated

    async def time_answer(
        self,
        conversation_id: str,
        assignee_id: str,
        due_at: datetime | None,
        *,
        if_stopped: bool = False,
    ) -> Conversation | None:
        """Start (``due_at``) or stop (None) the answer timeout of ``assignee_id``'s accepted
        conversation; ``if_stopped``: only if no clock runs. None when it is no longer
        theirs, or the clock is already so (or running, with ``if_stopped``)."""
        expected: dict[str, Any] = {
            "status": ConversationStatus.ACTIVE.value,
            "assignee_id": assignee_id,
            "answer_due_at": None if if_stopped else {"$ne": due_at},
        }
        return await self._transitions.apply(
            conversation_id,
            expected,
            {"$set": {"answer_due_at": due_at}},
            ConversationChange.ANSWER_DUE,
        )

    async def pass_unanswered(
        self, conversation_id: str, assignee_id: str, due_at: datetime, *, to_next: bool
    ) -> Conversation | None:
        """The assignee let the answer timeout run out: the conversation goes back to the
        queue at its place, to the next operator (``to_next``: the same one is skipped) or to
        anyone. Only while it is still theirs and that very clock still runs (None otherwise),
        so a late answer, a second process or a repeated timer move nothing."""
        conversation = await self._store.conversations.get(conversation_id)
        if conversation is None:
            return None
        update: dict[str, Any] = {
            "$set": {
                "status": ConversationStatus.QUEUED.value,
                "assignee_id": None,
                "answer_due_at": None,
                "queued_at": conversation.created_at,
            }
        }
        if to_next:
            update["$addToSet"] = {"offer_history": assignee_id}
        updated = await self._transitions.apply(
            conversation_id,
            {
                "status": ConversationStatus.ACTIVE.value,
                "assignee_id": assignee_id,
                "answer_due_at": due_at,
            },
            update,
            change=ConversationChange.RETURNED,
            detail=Returned(user_id=assignee_id),
            release_slot=True,
            former_user_ids=[assignee_id],
        )
        if updated is not None:
            user = await self._store.users.get(assignee_id)
            name = user.name if user is not None else assignee_id
            note = "unanswered_next" if to_next else "unanswered_queue"
            await self._notices.note(updated, note, user=name)
        return updated

    async def invite(self, user: User, conversation_id: str, invitee_id: str) -> Conversation:
        conversation, _ = await self._queries.acting(user, conversation_id)
        invitee = await self._queries.active_user(invitee_id)
        if invitee.role == Role.MANAGER or invitee.id in conversation.staff_ids():
            raise Conflict("they are already here or cannot join", code="cannot_invite")
        return await self._add_participant(
            conversation,
            invitee.id,
            hidden=False,
            change=ConversationChange.INVITED,
            detail=Invited(user_id=invitee.id),
            actor=user,
            note=("invited", {"user": user.name, "invitee": invitee.name}),
        )

    async def join(self, user: User, conversation_id: str, *, hidden: bool) -> Conversation:
        conversation, line = await self._queries.acting(
            user, conversation_id, assignee_or_overseer=False
        )
        if not oversees(user, line):
            raise Forbidden("only supervisors of the line and admins may join")
        if user.id in conversation.staff_ids():
            raise Conflict("you are already in this conversation", code="already_joined")
        return await self._add_participant(
            conversation,
            user.id,
            hidden=hidden,
            change=ConversationChange.JOINED,
            detail=Joined(user_id=user.id, hidden=hidden),
            actor=user,
            note=("joined_silently" if hidden else "joined", {"user": user.name}),
        )

    async def take_over(self, user: User, conversation_id: str) -> Conversation:
        """A supervisor of the line (or an admin) takes an active conversation from its
        assignee and answers the client themselves; the assignee's capacity slot is given
        back, and a hidden join becomes the assignment (no slot taken: overseeing is not
        capacity)."""
        conversation, line = await self._queries.acting(
            user, conversation_id, assignee_or_overseer=False
        )
        if not oversees(user, line):
            raise Forbidden("only supervisors of the line and admins may take a conversation over")
        former = conversation.assignee_id
        if conversation.status != ConversationStatus.ACTIVE or former is None:
            raise Conflict("nobody has the conversation yet: accept it", code="not_assigned")
        if former == user.id:
            raise Conflict("the conversation is already yours", code="already_assigned")
        updated = await self._transitions.apply(
            conversation.id,
            {"status": ConversationStatus.ACTIVE.value, "assignee_id": former},
            {
                "$set": {"assignee_id": user.id, "transfer": None},
                "$pull": {"participants": {"user_id": user.id}},
            },
            change=ConversationChange.TRANSFERRED,
            detail=Transferred(from_user_id=former, to_user_id=user.id),
            release_slot=True,
            actor_id=user.id,
            former_user_ids=[former],
        )
        if updated is None:
            raise Conflict("the conversation changed meanwhile; try again", code="stale_state")
        await self._notices.note(updated, "took_over", user=user.name)
        return updated

    async def _add_participant(
        self,
        conversation: Conversation,
        user_id: str,
        *,
        hidden: bool,
        change: ConversationChange,
        detail: ChangeDetail,
        actor: User,
        note: tuple[str, dict[str, str]],
    ) -> Conversation:
        updated = await self._transitions.apply(
            conversation.id,
            {"status": {"$in": OPEN}, "participants.user_id": {"$ne": user_id}},
            {"$push": {"participants": {"user_id": user_id, "hidden": hidden}}},
            change=change,
            detail=detail,
            actor_id=actor.id,
        )
        if updated is None:
            raise Conflict("the conversation changed meanwhile; try again", code="stale_state")
        await self._notices.note(updated, note[0], **note[1])
        return updated

    async def leave(self, user: User, conversation_id: str) -> Conversation:
        conversation, _ = await self._queries.acting(
            user, conversation_id, assignee_or_overseer=False
        )
        if user.id == conversation.assignee_id:
            raise Conflict("transfer or return the conversation instead", code="assignee_leaving")
        updated = await self._transitions.apply(
            conversation.id,
            {"participants.user_id": user.id},
            {"$pull": {"participants": {"user_id": user.id}}},
            change=ConversationChange.LEFT,
            detail=Left(user_id=user.id),
            actor_id=user.id,
            former_user_ids=[user.id],
        )
        if updated is None:
            raise Conflict("you are not in this conversation", code="not_a_participant")
        await self._notices.note(updated, "left", user=user.name)
        return updated

    async def pin(self, user: User, conversation_id: str, *, pinned: bool) -> Conversation:
        """A pinned client's next conversation in this line goes to the same operator."""
        conversation, line = await self._queries.acting(user, conversation_id)
        operator_id = conversation.assignee_id
        if pinned and not operator_id:
            raise Conflict("accept the conversation before pinning it", code="not_assigned")
        if operator_id and pinned:
            await self._store.pins.pin(line.id, conversation.client.id, operator_id)
        else:
            await self._store.pins.unpin(line.id, conversation.client.id)
        updated = await self._transitions.apply(
            conversation.id,
            {},
            {"$set": {"pinned": pinned}},
            change=ConversationChange.PINNED if pinned else ConversationChange.UNPINNED,
            actor_id=user.id,
        )
        assert updated is not None
        return updated

    async def pinned_operator(self, line_id: str, client_id: str) -> str | None:
        return await self._store.pins.operator(line_id, client_id)
