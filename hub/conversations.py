"""What staff do with conversations, behind one set of access checks shared by REST and
Socket.IO. Every state change is one conditional ``find_one_and_update`` (expected old state in
the filter), so two processes can never both win the same transition."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from pymongo import ReturnDocument

from hub.auth import ensure_may_see, may_see, oversees
from hub.errors import Conflict, Forbidden, NotFound, ValidationFailed
from hub.events import ConversationChanged, EventBus
from hub.models import (
    Author,
    AuthorType,
    Conversation,
    ConversationStatus,
    Line,
    Message,
    Role,
    User,
    utcnow,
)
from hub.store import Store
from hub.stream import Appended, Stream

OPEN = [
    ConversationStatus.QUEUED.value,
    ConversationStatus.OFFERED.value,
    ConversationStatus.ACTIVE.value,
]
MAX_TEXT = 4000


class Conversations:
    def __init__(self, store: Store, stream: Stream, bus: EventBus) -> None:
        self._store = store
        self._stream = stream
        self._bus = bus

    # --- reading ---------------------------------------------------------------------------

    async def load(self, conversation_id: str) -> Conversation:
        doc = await self._store.conversations.find_one({"_id": conversation_id})
        if doc is None:
            raise NotFound("no such conversation")
        return Conversation.from_doc(doc)

    async def line(self, line_id: str) -> Line | None:
        doc = await self._store.lines.find_one({"_id": line_id})
        return Line.from_doc(doc) if doc else None

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
            lines = await self._store.lines.find(
                {"$or": [{"operators": user.id}, {"supervisors": user.id}]}
            ).to_list()
            visible_lines = [d["_id"] for d in lines]
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
        self, user: User, conversation_id: str, *, after: int, limit: int
    ) -> list[Message]:
        conversation, _ = await self.get(user, conversation_id)
        return await self._stream.page(conversation, after=after, limit=limit, include_hidden=True)

    # --- acting ----------------------------------------------------------------------------

    async def post(
        self,
        user: User,
        conversation_id: str,
        text: str,
        *,
        hidden: bool,
        client_msg_id: str | None,
    ) -> Appended:
        conversation, line = await self.get(user, conversation_id)
        text = text.strip()
        if not text:
            raise ValidationFailed("the message is empty", code="empty_message")
        if len(text) > MAX_TEXT:
            raise ValidationFailed(
                f"the message is longer than {MAX_TEXT} characters", code="message_too_long"
            )
        if conversation.status == ConversationStatus.CLOSED:
            raise Conflict("the conversation is closed", code="conversation_closed")
        if not hidden and not conversation.visible_participant(user.id):
            raise Forbidden(
                "accept or join the conversation to write to the client", code="not_a_participant"
            )
        if hidden and not (
            user.id in conversation.staff_ids() or (line is not None and oversees(user, line))
        ):
            raise Forbidden(
                "only people in the conversation may whisper", code="not_a_participant"
            )
        author = Author(type=AuthorType.OPERATOR, id=user.id, name=user.name)
        return await self._stream.post(
            conversation, author, text, hidden=hidden, client_msg_id=client_msg_id
        )

    async def accept(self, user: User, conversation_id: str) -> Conversation:
        _, line = await self.get(user, conversation_id)
        allowed = user.role == Role.ADMIN or (
            line is not None and (user.id in line.operators or user.id in line.supervisors)
        )
        if not allowed:
            raise Forbidden("you are not an operator of this line")
        now = utcnow()
        updated = await self.transition(
            conversation_id,
            {
                "status": {
                    "$in": [ConversationStatus.QUEUED.value, ConversationStatus.OFFERED.value]
                }
            },
            {
                "$set": {
                    "status": ConversationStatus.ACTIVE.value,
                    "assignee_id": user.id,
                    "offered_to": [],
                    "offer_expires_at": None,
                    "queued_at": None,
                    "accepted_at": now,
                }
            },
            change="assigned",
            actor_id=user.id,
        )
        if updated is None:
            raise Conflict("someone else has taken this conversation", code="already_taken")
        return updated

    async def close(self, user: User, conversation_id: str) -> Conversation:
        conversation, line = await self.get(user, conversation_id)
        if not (
            conversation.visible_participant(user.id)
            or (line is not None and oversees(user, line))
        ):
            raise Forbidden("only the assignee or a supervisor may close this conversation")
        return await self.close_by_system(conversation, actor_id=user.id)

    async def close_by_system(
        self, conversation: Conversation, *, actor_id: str | None = None
    ) -> Conversation:
        updated = await self.transition(
            conversation.id,
            {"status": {"$in": OPEN}},
            {
                "$set": {
                    "status": ConversationStatus.CLOSED.value,
                    "closed_at": utcnow(),
                    "offered_to": [],
                    "offer_expires_at": None,
                }
            },
            change="closed",
            actor_id=actor_id,
        )
        if updated is None:
            raise Conflict("the conversation is already closed", code="conversation_closed")
        await self._store.open_threads.delete_one(
            {"_id": f"{updated.channel.id}:{updated.chat_id}", "conversation_id": updated.id}
        )
        return updated

    async def offer(
        self, conversation_id: str, user_ids: list[str], expires_at: datetime | None
    ) -> Conversation | None:
        """Offer a waiting conversation; None when it is no longer waiting."""
        return await self.transition(
            conversation_id,
            {
                "status": {
                    "$in": [ConversationStatus.QUEUED.value, ConversationStatus.OFFERED.value]
                }
            },
            {
                "$set": {
                    "status": ConversationStatus.OFFERED.value,
                    "offered_to": user_ids,
                    "offer_expires_at": expires_at,
                }
            },
            change="offered",
        )

    async def transition(
        self,
        conversation_id: str,
        expected: dict[str, Any],
        update: dict[str, Any],
        *,
        change: str,
        actor_id: str | None = None,
    ) -> Conversation | None:
        """Apply ``update`` only if the conversation still matches ``expected``; publish it."""
        update.setdefault("$set", {})["updated_at"] = utcnow()
        doc = await self._store.conversations.find_one_and_update(
            {"_id": conversation_id, **expected}, update, return_document=ReturnDocument.AFTER
        )
        if doc is None:
            return None
        conversation = Conversation.from_doc(doc)
        await self._bus.publish(
            ConversationChanged(conversation=conversation, change=change, actor_id=actor_id)
        )
        return conversation
