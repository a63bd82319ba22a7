"""What staff do with conversations, behind one set of access checks shared by REST and
Socket.IO. Every state change goes through ``Transitions.apply``: one conditional
``find_one_and_update`` (expected old state in the filter), so two processes can never both
win the same transition, ``rev`` raised and a typed event published."""

from __future__ import annotations

import contextlib
import logging
import re
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from pymongo.errors import DuplicateKeyError

from hub.access import ensure_may_see, may_see, oversees
from hub.conversations.transitions import GIVE_BACK, Transitions
from hub.errors import Conflict, Forbidden, NotFound, ValidationFailed
from hub.events import (
    Assigned,
    ChangeDetail,
    Closed,
    ConversationChange,
    CsatSubmitted,
    EventBus,
    Invited,
    Joined,
    Left,
    LineChanged,
    Offered,
    OfferExpired,
    Returned,
    Transferred,
)
from hub.files import Files
from hub.models import (
    Author,
    AuthorType,
    Conversation,
    ConversationStatus,
    Csat,
    CsatStatus,
    Direction,
    Line,
    Message,
    MessagePurpose,
    Role,
    Transfer,
    User,
    utcnow,
)
from hub.store import Store

if TYPE_CHECKING:  # the stream imports the transitions of this package: no cycle at run time
    from hub.stream import Appended, Stream

log = logging.getLogger("openlines.conversations")

OPEN = [
    ConversationStatus.QUEUED.value,
    ConversationStatus.OFFERED.value,
    ConversationStatus.ACTIVE.value,
]
MAX_TEXT = 4000


class Conversations:
    def __init__(self, store: Store, stream: Stream, bus: EventBus, files: Files) -> None:
        self._store = store
        self._files = files
        self._stream = stream
        self._bus = bus
        self.transitions = Transitions(store, bus)

    # --- reading ---------------------------------------------------------------------------

    async def load(self, conversation_id: str) -> Conversation:
        doc = await self._store.conversations.find_one({"_id": conversation_id})
        if doc is None:
            raise NotFound("no such conversation")
        return Conversation.from_doc(doc)

    async def line(self, line_id: str) -> Line | None:
        return await self._store.lines.get(line_id)

    async def get(self, user: User, conversation_id: str) -> tuple[Conversation, Line | None]:
        conversation = await self.load(conversation_id)
        line = await self.line(conversation.line_id)
        ensure_may_see(user, conversation, line)
        return conversation, line

    async def search(
        self,
        user: User,
        *,
        status: ConversationStatus | None,
        line_id: str | None,
        assignee: str | None,
        q: str | None,
        limit: int,
        cursor: str | None,
    ) -> tuple[list[Conversation], str | None]:
        query: dict[str, Any] = {}
        if status is not None:
            query["status"] = status.value
        if line_id:
            query["line_id"] = line_id
        if assignee:
            query["assignee_id"] = user.id if assignee == "me" else assignee
        if cursor:
            query["_id"] = {"$lt": cursor}
        if q:
            pattern = {"$regex": re.escape(q), "$options": "i"}
            query["$or"] = [
                {"client.name": pattern},
                {"client.email": pattern},
                {"last_message.text": pattern},
            ]
        if user.role != Role.ADMIN:
            visible_lines = await self._store.lines.ids_of_member(user.id)
            staff = [
                {"assignee_id": user.id},
                {"participants.user_id": user.id},
                {"offered_to": user.id},
                {"line_id": {"$in": visible_lines}},
            ]
            if user.role == Role.MANAGER:
                staff += [
                    {"crm.lead_id": {"$ne": None}},
                    {"crm.contact_id": {"$ne": None}},
                    {"crm.deal_id": {"$ne": None}},
                ]
            query = {"$and": [query, {"$or": staff}]}
        docs = (
            await self._store.conversations.find(query)
            .sort("_id", -1)
            .limit(limit * 3 + 10)
            .to_list()
        )
        line_cache: dict[str, Line | None] = {}
        result: list[Conversation] = []
        for doc in docs:
            conversation = Conversation.from_doc(doc)
            if conversation.line_id not in line_cache:
                line_cache[conversation.line_id] = await self.line(conversation.line_id)
            if may_see(user, conversation, line_cache[conversation.line_id]):
                result.append(conversation)
            if len(result) == limit:
                break
        next_cursor = result[-1].id if len(result) == limit else None
        return result, next_cursor

    async def messages(
        self,
        user: User,
        conversation_id: str,
        *,
        after: int,
        limit: int,
        before: int | None = None,
    ) -> list[Message]:
        """A page by seq: after ``after`` (reading forward) or before ``before`` (scrolling up)."""
        conversation, _ = await self.get(user, conversation_id)
        return await self._stream.page(
            conversation, after=after, before=before, limit=limit, include_hidden=True
        )

    # --- acting ----------------------------------------------------------------------------

    async def post(
        self,
        user: User,
        conversation_id: str,
        text: str,
        *,
        hidden: bool,
        client_msg_id: str | None,
        attachment_ids: list[str] | None = None,
    ) -> Appended:
        conversation, line = await self.get(user, conversation_id)
        text = text.strip()
        attachments = await self._files.staff_uploads(attachment_ids or [], user_id=user.id)
        if not text and not attachments:
            raise ValidationFailed("the message is empty", code="empty_message")
        if len(text) > MAX_TEXT:
            raise ValidationFailed(
                f"the message is longer than {MAX_TEXT} characters", code="message_too_long"
            )
        if conversation.status == ConversationStatus.CLOSED:
            raise Conflict("the conversation is closed", code="conversation_closed")
        if (
            not hidden
            and conversation.status == ConversationStatus.OFFERED
            and user.id in conversation.offered_to
        ):
            # Replying to an offer takes it, as in Bitrix24.
            conversation = await self.accept(user, conversation_id)
        if not hidden and not conversation.visible_participant(user.id):
            raise Forbidden(
                "accept or join the conversation to write to the client",
                code="not_a_participant",
            )
        if hidden and not (
            user.id in conversation.staff_ids() or (line is not None and oversees(user, line))
        ):
            raise Forbidden(
                "only people in the conversation may whisper", code="not_a_participant"
            )
        author = Author(type=AuthorType.OPERATOR, id=user.id, name=user.name)
        return await self._stream.post(
            conversation,
            author,
            text,
            hidden=hidden,
            client_msg_id=client_msg_id,
            attachments=attachments,
        )

    async def note(self, conversation: Conversation, text: str) -> None:
        """A system message for the staff only (hidden: the client never sees it)."""
        await self._stream.post(
            conversation,
            Author(type=AuthorType.SYSTEM, name="OpenLines"),
            text,
            hidden=True,
            direction=Direction.SYSTEM,
        )

    async def say(
        self,
        conversation: Conversation,
        text: str,
        *,
        purpose: MessagePurpose = MessagePurpose.TEXT,
    ) -> None:
        """A system message to the client (delivered on the conversation's channel)."""
        await self._stream.post(
            conversation,
            Author(type=AuthorType.SYSTEM, name="OpenLines"),
            text,
            direction=Direction.SYSTEM,
            purpose=purpose,
        )

    # --- assignment and capacity -----------------------------------------------------------

    async def accept(self, user: User, conversation_id: str) -> Conversation:
        """Take an offer, or a queued conversation of one's line. An offer to someone else
        is theirs until it times out; supervisors and admins may still take it over."""
        conversation = await self.load(conversation_id)
        line = await self.line(conversation.line_id)
        if line is None:
            raise Conflict("the conversation's line is gone", code="line_gone")
        in_line = user.role == Role.ADMIN or user.id in line.staff_ids()
        if not in_line and user.id not in conversation.offered_to:
            ensure_may_see(user, conversation, line)  # 404 to strangers
            raise Forbidden("you are not an operator of this line")
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
        load_key = await self._take_slot(line, user.id)
        now = utcnow()
        updated = await self.transition(
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
            change=ConversationChange.ASSIGNED,
            detail=Assigned(user_id=user.id),
            actor_id=actor_id,
        )
        if updated is None:
            await self._store.operator_load.update_one({"_id": load_key}, GIVE_BACK)
            raise Conflict("someone else has taken this conversation", code="already_taken")
        await self.note(updated, f"{user.name} took the conversation.")
        return updated

    async def _take_slot(self, line: Line, user_id: str) -> str:
        load_key = f"{line.id}:{user_id}"
        limit: dict[str, Any] = (
            {"active": {"$lt": line.max_active_per_operator}}
            if line.max_active_per_operator
            else {}
        )
        take = {"$inc": {"active": 1, "v": 1}, "$set": {"last_routed_at": utcnow()}}
        taken = await self._store.operator_load.find_one_and_update(
            {"_id": load_key, **limit}, take
        )
        if taken is None:
            # No counter yet (their first conversation here) or a full one: make sure it exists
            # (a no-op when it does, or when an offer made it meanwhile), then try once more.
            with contextlib.suppress(DuplicateKeyError):
                await self._store.operator_load.insert_one(
                    {
                        "_id": load_key,
                        "line_id": line.id,
                        "user_id": user_id,
                        "active": 0,
                        "v": 0,
                        "last_routed_at": None,
                    }
                )
            taken = await self._store.operator_load.find_one_and_update(
                {"_id": load_key, **limit}, take
            )
        if taken is None:
            raise Conflict(
                f"you already have {line.max_active_per_operator} active conversations "
                "in this line",
                code="capacity_reached",
            )
        return load_key

    async def release_slot(self, conversation_id: str) -> None:
        """Give back the capacity slot a conversation holds, exactly once."""
        await self.transitions.release_slot(conversation_id)

    async def repair_capacity(self, settle_s: float) -> list[str]:
        """Put right capacity counters a crash left too high, and return their lines.

        A process that dies between taking a slot and assigning (or between freeing the
        conversation and giving the slot back) leaves ``active`` above the number of
        conversations holding the slot, and the operator short of room for good. A counter
        that disagrees is only marked on the first look; it is set to the truth when, ``settle_s``
        later, neither it nor that number has moved (``v`` counts every take and give-back, so
        a take still in flight, which lasts milliseconds, can never be mistaken for a leak)."""
        now = utcnow()
        repaired: list[str] = []
        for doc in await self._store.operator_load.find({"active": {"$gt": 0}}).to_list():
            held = await self._store.conversations.count_documents({"load_key": doc["_id"]})
            unchanged = {"_id": doc["_id"], "active": doc["active"], "v": doc.get("v")}
            suspect = doc.get("suspect")
            if doc["active"] <= held:
                if suspect is not None:
                    await self._store.operator_load.update_one(
                        unchanged, {"$unset": {"suspect": ""}}
                    )
                continue
            seen = {"v": doc.get("v"), "held": held}
            if suspect is None or {k: suspect.get(k) for k in seen} != seen:
                await self._store.operator_load.update_one(
                    unchanged, {"$set": {"suspect": {**seen, "at": now}}}
                )
            elif now - suspect["at"] >= timedelta(seconds=settle_s):
                result = await self._store.operator_load.update_one(
                    unchanged,
                    {"$set": {"active": held}, "$inc": {"v": 1}, "$unset": {"suspect": ""}},
                )
                if result.modified_count:
                    log.warning(
                        "capacity counter repaired slot=%s from=%s to=%s",
                        doc["_id"],
                        doc["active"],
                        held,
                    )
                    repaired.append(doc["line_id"])
        return repaired

    async def offer(
        self,
        conversation: Conversation,
        user_ids: list[str],
        expires_at: datetime | None,
    ) -> Conversation | None:
        """Offer a queued conversation; None when it is no longer waiting as it was."""
        updated = await self.transition(
            conversation.id,
            {"status": ConversationStatus.QUEUED.value, "line_id": conversation.line_id},
            {
                "$set": {
                    "status": ConversationStatus.OFFERED.value,
                    "offered_to": user_ids,
                    "offer_expires_at": expires_at,
                }
            },
            change=ConversationChange.OFFERED,
            detail=Offered(user_ids=user_ids, expires_at=expires_at),
        )
        if updated is not None and len(user_ids) == 1:
            # Rotation order for the single-operator modes (all_at_once does not rotate).
            (user_id,) = user_ids
            await self._store.operator_load.update_one(
                {"_id": f"{conversation.line_id}:{user_id}"},
                {
                    "$set": {"last_routed_at": utcnow()},
                    "$setOnInsert": {
                        "line_id": conversation.line_id,
                        "user_id": user_id,
                        "active": 0,
                    },
                },
                upsert=True,
            )
        return updated

    async def expire_offer(
        self, conversation_id: str, expires_at: datetime
    ) -> Conversation | None:
        """The offer that ends at ``expires_at`` ran out: back to the line's queue."""
        conversation = await self.load(conversation_id)
        if (
            conversation.status != ConversationStatus.OFFERED
            or conversation.offer_expires_at != expires_at
        ):
            return None
        was_transfer = conversation.transfer is not None
        updated = await self.transition(
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
            change=ConversationChange.OFFER_EXPIRED,
            detail=OfferExpired(user_ids=conversation.offered_to),
            former_user_ids=conversation.offered_to,
        )
        if updated is not None and was_transfer:
            await self.note(updated, "The transfer was not accepted in time; back in the queue.")
        return updated

    # --- staff actions ---------------------------------------------------------------------

    async def _acting(
        self, user: User, conversation_id: str, *, assignee_or_overseer: bool = True
    ) -> tuple[Conversation, Line]:
        conversation, line = await self.get(user, conversation_id)
        if line is None:
            raise Conflict("the conversation's line is gone", code="line_gone")
        if conversation.status == ConversationStatus.CLOSED:
            raise Conflict("the conversation is closed", code="conversation_closed")
        if assignee_or_overseer and not (
            user.id == conversation.assignee_id or oversees(user, line)
        ):
            raise Forbidden("only the assignee or a supervisor may do this")
        return conversation, line

    async def _user(self, user_id: str) -> User:
        user = await self._store.users.get(user_id)
        if user is None or not user.active:
            raise ValidationFailed("no such active user", code="unknown_user")
        return user

    async def transfer_to_user(
        self, user: User, conversation_id: str, to_user_id: str
    ) -> Conversation:
        conversation, line = await self._acting(user, conversation_id)
        target = await self._user(to_user_id)
        if target.id == conversation.assignee_id:
            raise Conflict("the conversation is already theirs", code="already_assigned")
        if target.role != Role.ADMIN and target.id not in line.staff_ids():
            raise ValidationFailed("they do not work in this line", code="not_in_line")
        expires_at = utcnow() + timedelta(seconds=line.accept_timeout_s)
        previous = conversation.assignee_id
        updated = await self.transition(
            conversation.id,
            {"status": conversation.status.value, "assignee_id": previous},
            {
                "$set": {
                    "status": ConversationStatus.OFFERED.value,
                    "assignee_id": None,
                    "offered_to": [target.id],
                    "offer_expires_at": expires_at,
                    "transfer": Transfer(from_user_id=user.id, to_user_id=target.id).model_dump(),
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
        await self.note(updated, f"{user.name} transferred the conversation to {target.name}.")
        return updated

    async def transfer_to_line(
        self, user: User, conversation_id: str, to_line_id: str
    ) -> Conversation:
        conversation, line = await self._acting(user, conversation_id)
        target = await self.line(to_line_id)
        if target is None:
            raise ValidationFailed("no such line", code="unknown_line")
        if target.id == line.id:
            raise Conflict("the conversation is already in this line", code="same_line")
        previous = conversation.assignee_id
        updated = await self.transition(
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
        await self.note(updated, f"{user.name} moved the conversation to the line {target.name}.")
        return updated

    async def return_to_queue(self, user: User, conversation_id: str) -> Conversation:
        conversation, _ = await self._acting(user, conversation_id)
        if conversation.status != ConversationStatus.ACTIVE or not conversation.assignee_id:
            raise Conflict("only an accepted conversation can go back", code="not_assigned")
        previous = conversation.assignee_id
        updated = await self.transition(
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
        await self.note(updated, f"{user.name} returned the conversation to the queue.")
        return updated

    async def invite(self, user: User, conversation_id: str, invitee_id: str) -> Conversation:
        conversation, _ = await self._acting(user, conversation_id)
        invitee = await self._user(invitee_id)
        if invitee.role == Role.MANAGER or invitee.id in conversation.staff_ids():
            raise Conflict("they are already here or cannot join", code="cannot_invite")
        return await self._add_participant(
            conversation,
            invitee.id,
            hidden=False,
            change=ConversationChange.INVITED,
            detail=Invited(user_id=invitee.id),
            actor=user,
            note=f"{user.name} invited {invitee.name}.",
        )

    async def join(self, user: User, conversation_id: str, *, hidden: bool) -> Conversation:
        conversation, line = await self._acting(user, conversation_id, assignee_or_overseer=False)
        if not oversees(user, line):
            raise Forbidden("only supervisors of the line and admins may join")
        if user.id in conversation.staff_ids():
            raise Conflict("you are already in this conversation", code="already_joined")
        how = "silently joined" if hidden else "joined"
        return await self._add_participant(
            conversation,
            user.id,
            hidden=hidden,
            change=ConversationChange.JOINED,
            detail=Joined(user_id=user.id, hidden=hidden),
            actor=user,
            note=f"{user.name} {how} the conversation.",
        )

    async def _add_participant(
        self,
        conversation: Conversation,
        user_id: str,
        *,
        hidden: bool,
        change: ConversationChange,
        detail: ChangeDetail,
        actor: User,
        note: str,
    ) -> Conversation:
        updated = await self.transition(
            conversation.id,
            {"status": {"$in": OPEN}, "participants.user_id": {"$ne": user_id}},
            {"$push": {"participants": {"user_id": user_id, "hidden": hidden}}},
            change=change,
            detail=detail,
            actor_id=actor.id,
        )
        if updated is None:
            raise Conflict("the conversation changed meanwhile; try again", code="stale_state")
        await self.note(updated, note)
        return updated

    async def leave(self, user: User, conversation_id: str) -> Conversation:
        conversation, _ = await self._acting(user, conversation_id, assignee_or_overseer=False)
        if user.id == conversation.assignee_id:
            raise Conflict("transfer or return the conversation instead", code="assignee_leaving")
        updated = await self.transition(
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
        await self.note(updated, f"{user.name} left the conversation.")
        return updated

    async def pin(self, user: User, conversation_id: str, *, pinned: bool) -> Conversation:
        """A pinned client's next conversation in this line goes to the same operator."""
        conversation, line = await self._acting(user, conversation_id)
        operator_id = conversation.assignee_id
        if pinned and not operator_id:
            raise Conflict("accept the conversation before pinning it", code="not_assigned")
        pin_id = f"{line.id}:{conversation.client.id}"
        if pinned:
            await self._store.pins.update_one(
                {"_id": pin_id}, {"$set": {"user_id": operator_id, "at": utcnow()}}, upsert=True
            )
        else:
            await self._store.pins.delete_one({"_id": pin_id})
        updated = await self.transition(
            conversation.id,
            {},
            {"$set": {"pinned": pinned}},
            change=ConversationChange.PINNED if pinned else ConversationChange.UNPINNED,
            actor_id=user.id,
        )
        assert updated is not None
        return updated

    async def pinned_operator(self, line_id: str, client_id: str) -> str | None:
        doc = await self._store.pins.find_one({"_id": f"{line_id}:{client_id}"})
        return doc["user_id"] if doc else None

    # --- closing ---------------------------------------------------------------------------

    async def close(self, user: User, conversation_id: str) -> Conversation:
        conversation, line = await self.get(user, conversation_id)
        if not (
            conversation.visible_participant(user.id)
            or (line is not None and oversees(user, line))
        ):
            raise Forbidden("only the assignee or a supervisor may close this conversation")
        return await self.close_by_system(conversation, actor_id=user.id, reason="operator")

    async def close_by_system(
        self, conversation: Conversation, *, actor_id: str | None = None, reason: str = "system"
    ) -> Conversation:
        line = await self.line(conversation.line_id)
        csat = (
            Csat(status=CsatStatus.REQUESTED, requested_at=utcnow()).model_dump()
            if line is not None and line.csat.enabled
            else None
        )
        updated = await self.transition(
            conversation.id,
            {"status": {"$in": OPEN}},
            {
                "$set": {
                    "status": ConversationStatus.CLOSED.value,
                    "closed_at": utcnow(),
                    "offered_to": [],
                    "offer_expires_at": None,
                    "transfer": None,
                    "close_reason": reason,
                    "csat": csat,
                }
            },
            change=ConversationChange.CLOSED,
            detail=Closed(reason=reason),
            release_slot=True,
            actor_id=actor_id,
        )
        if updated is None:
            raise Conflict("the conversation is already closed", code="conversation_closed")
        await self._store.open_threads.delete_one(
            {"_id": f"{updated.channel.id}:{updated.chat_id}", "conversation_id": updated.id}
        )
        return updated

    async def submit_csat(
        self, conversation_id: str, rating: int, comment: str | None
    ) -> Conversation:
        updated = await self.transition(
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
        return await self.transitions.apply(
            conversation_id,
            {"csat.status": CsatStatus.REQUESTED.value},
            {"$set": {"csat.status": CsatStatus.EXPIRED.value}},
            ConversationChange.CSAT_EXPIRED,
        )

    async def claim_after_hours(
        self, conversation_id: str, until: datetime
    ) -> Conversation | None:
        """Claim the after-hours text for the closed period ending at ``until``: only the first
        claim of a period wins (None for the others), so the client hears it once."""
        now = utcnow()
        return await self.transitions.apply(
            conversation_id,
            {"$or": [{"after_hours_until": None}, {"after_hours_until": {"$lte": now}}]},
            {"$set": {"after_hours_until": until}},
            ConversationChange.AFTER_HOURS,
        )

    async def claim_queue_notice(self, conversation_id: str) -> Conversation | None:
        """Claim the one queue-position text of a platform without a live view (None: sent)."""
        return await self.transitions.apply(
            conversation_id,
            {"queue_notice_sent": {"$ne": True}},
            {"$set": {"queue_notice_sent": True}},
            ConversationChange.QUEUE_NOTICE,
        )

    async def transition(
        self,
        conversation_id: str,
        expected: dict[str, Any],
        update: dict[str, Any],
        *,
        change: ConversationChange,
        detail: ChangeDetail | None = None,
        actor_id: str | None = None,
        former_user_ids: list[str] | None = None,
        former_line_id: str | None = None,
        release_slot: bool = False,
    ) -> Conversation | None:
        """``Transitions.apply`` (kept here for the packages that reach it through the hub)."""
        return await self.transitions.apply(
            conversation_id,
            expected,
            update,
            change,
            detail=detail,
            actor_id=actor_id,
            former_user_ids=former_user_ids,
            former_line_id=former_line_id,
            release_slot=release_slot,
        )
