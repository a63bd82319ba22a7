"""The ``conversations`` collection: the one place conversations are read and written.

Journaled, except the seq ``$inc`` of the messages being stored (``take_seqs``, and
``flush=False``), see hub/storage/concerns.py.
Reads take a ``Where``, a typed filter, so no caller builds a MongoDB query; writes are the
conditional update ``hub.conversations.transitions`` makes every change by, plus the insert of a
new conversation and the one-time give-back of its capacity slot.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from pymongo import ASCENDING, ReturnDocument, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from hub.models import Conversation, ConversationStatus, CsatStatus, SlaKind

Doc = dict[str, Any]

# Fields a visibility check does not need (left out of ``light`` loads).
_HEAVY_FIELDS = {"last_message": 0, "csat": 0, "client_unreachable": 0}

# The seq grants a conversation keeps (``take_seqs``): the writer of one finds it again among
# them when it reads the conversation back, so this many later grants may land in between.
GRANTS_KEPT = 8


@dataclass(frozen=True)
class SeqClaim:
    """``count`` seqs of one conversation for the messages being stored, taken together with
    ``update`` (their ``last_message``, ``unread``...) if the conversation matches ``expected``."""

    conversation_id: str
    count: int
    expected: Doc
    update: Doc


@dataclass(frozen=True)
class Taken:
    """A claim's seqs, in the order of its messages, and the conversation as read back just
    after (a later writer's change may show in it already: ``rev`` tells)."""

    conversation: Conversation
    seqs: range


class SeqGrantLost(RuntimeError):
    """More than ``GRANTS_KEPT`` grants landed on a conversation between a claim's write and
    its read: its seqs were taken but nobody can tell which (they are a gap)."""


def granted_last(doc: Doc, by: str) -> int | None:
    """The last seq of the grant ``by`` in a conversation document read after it (None: not
    there). Every change of ``last_seq`` pushes its grant in the same write, so the grants
    after ``by`` are exactly what was added to ``last_seq`` since."""
    later = 0
    for grant in reversed(doc.get("seq_grants") or []):
        if grant.get("by") == by:
            return int(doc.get("last_seq", 0)) - later
        later += int(grant.get("n", 0))
    return None


class Order(Enum):
    """By id, which grows with time: the newest or the oldest first."""

    NEWEST = -1
    OLDEST = 1


@dataclass(frozen=True)
class Where:
    """Which conversations: each field given must hold, and with ``any_of`` at least one of
    those filters too. An empty ``Where()`` matches every conversation."""

    ids: Sequence[str] | None = None
    # Ids below this one (the next page of a newest-first list).
    before_id: str | None = None
    line_id: str | None = None
    line_ids: Sequence[str] | None = None
    statuses: Sequence[ConversationStatus] | None = None
    # True: not closed.
    open: bool = False
    channel_id: str | None = None
    chat_id: str | None = None
    client_ids: Sequence[str] | None = None
    assignee_ids: Sequence[str] | None = None
    participant_id: str | None = None
    offered_to: str | None = None
    created_since: datetime | None = None
    # Holding this capacity slot (an ``operator_load`` key).
    load_key: str | None = None
    csat: CsatStatus | None = None
    # True: linked to a lead, a contact or a deal.
    crm_linked: bool = False
    # True: a response-time clock of it ran out (``sla.breached`` not empty).
    sla_breached: bool = False
    # Case-insensitive, in the client's name or e-mail or the last message; or one of
    # ``mentioning`` (the conversations the word index found it in).
    text: str | None = None
    mentioning: Sequence[str] = ()
    any_of: Sequence[Where] = ()

    def query(self) -> Doc:
        """The MongoDB filter (only features SecantusDB has too)."""
        base: Doc = {}
        if self.ids is not None:
            base["_id"] = {"$in": list(self.ids)}
        if self.before_id is not None:
            base.setdefault("_id", {})["$lt"] = self.before_id
        if self.line_id is not None:
            base["line_id"] = self.line_id
        if self.line_ids is not None:
            base["line_id"] = {"$in": list(self.line_ids)}
        if self.statuses is not None:
            base["status"] = {"$in": [s.value for s in self.statuses]}
        if self.open:
            base.setdefault("status", {})["$ne"] = ConversationStatus.CLOSED.value
        if self.channel_id is not None:
            base["channel.id"] = self.channel_id
        if self.chat_id is not None:
            base["chat_id"] = self.chat_id
        if self.client_ids is not None:
            base["client.id"] = {"$in": list(self.client_ids)}
        if self.assignee_ids is not None:
            base["assignee_id"] = {"$in": list(self.assignee_ids)}
        if self.participant_id is not None:
            base["participants.user_id"] = self.participant_id
        if self.offered_to is not None:
            base["offered_to"] = self.offered_to
        if self.created_since is not None:
            base["created_at"] = {"$gte": self.created_since}
        if self.load_key is not None:
            base["load_key"] = self.load_key
        if self.csat is not None:
            base["csat.status"] = self.csat.value
        if self.sla_breached:
            base["sla.breached"] = {"$in": [kind.value for kind in SlaKind]}
        alternatives: list[list[Doc]] = []
        if self.crm_linked:
            alternatives.append(
                [{f"crm.{link}": {"$ne": None}} for link in ("lead_id", "contact_id", "deal_id")]
            )
        if self.text:
            pattern = {"$regex": re.escape(self.text), "$options": "i"}
            found: list[Doc] = [
                {"client.name": pattern},
                {"client.email": pattern},
                {"last_message.text": pattern},
            ]
            if self.mentioning:
                found.append({"_id": {"$in": list(self.mentioning)}})
            alternatives.append(found)
        if self.any_of:
            alternatives.append([where.query() for where in self.any_of])
        if not alternatives:
            return base
        parts = [{"$or": either} for either in alternatives]
        if len(parts) == 1 and not base:
            return parts[0]
        return {"$and": [base, *parts]}


def involving(user_id: str) -> tuple[Where, ...]:
    """Alternatives for ``Where.any_of``: the conversations ``user_id`` is assigned to, takes
    part in (hidden too) or is offered."""
    return (
        Where(assignee_ids=[user_id]),
        Where(participant_id=user_id),
        Where(offered_to=user_id),
    )


class ConversationStore:
    def __init__(self, collection: AsyncCollection[Doc], unflushed: AsyncCollection[Doc]) -> None:
        """``unflushed``: the same collection without a journal flush of its own."""
        self._collection = collection
        self._unflushed = unflushed

    async def ensure_indexes(self) -> None:
        await self._collection.create_index([("status", ASCENDING), ("line_id", ASCENDING)])
        await self._collection.create_index([("assignee_id", ASCENDING)])
        await self._collection.create_index([("client.id", ASCENDING)])

    # --- reading ---------------------------------------------------------------------------

    async def get(self, conversation_id: str) -> Conversation | None:
        doc = await self._collection.find_one({"_id": conversation_id})
        return Conversation.from_doc(doc) if doc else None

    async def get_open(self, conversation_id: str) -> Conversation | None:
        """The conversation unless it is closed."""
        doc = await self._collection.find_one(
            {"_id": conversation_id, "status": {"$ne": ConversationStatus.CLOSED.value}}
        )
        return Conversation.from_doc(doc) if doc else None

    async def status(self, conversation_id: str) -> ConversationStatus | None:
        doc = await self._collection.find_one({"_id": conversation_id}, {"status": 1})
        return ConversationStatus(doc["status"]) if doc else None

    async def last_seq(self, conversation_id: str) -> int:
        """The seq of the conversation's newest message (0: none, or no such conversation)."""
        doc = await self._collection.find_one({"_id": conversation_id}, {"last_seq": 1})
        return int((doc or {}).get("last_seq", 0))

    async def matching(
        self, where: Where, *, order: Order | None = None, limit: int = 0, light: bool = False
    ) -> list[Conversation]:
        """The matching conversations; ``light``: without the fields a visibility check does
        not need (``last_message``, ``csat``, ``client_unreachable``)."""
        cursor = self._collection.find(where.query(), _HEAVY_FIELDS if light else None)
        if order is not None:
            cursor = cursor.sort("_id", order.value)
        if limit:
            cursor = cursor.limit(limit)
        return [Conversation.from_doc(d) for d in await cursor.to_list()]

    async def latest(self, where: Where) -> Conversation | None:
        """The newest matching conversation."""
        found = await self.matching(where, order=Order.NEWEST, limit=1)
        return found[0] if found else None

    async def latest_of_chat(self, channel_id: str, chat_id: str) -> Conversation | None:
        """The platform chat's most recent conversation (the one its news is about)."""
        return await self.latest(Where(channel_id=channel_id, chat_id=chat_id))

    async def latest_of_chats(
        self, channel_id: str, chat_ids: Sequence[str]
    ) -> dict[str, Conversation]:
        """``latest_of_chat`` of many chats in one query (those with none are left out): a
        storm of widget connects asks for thousands of visitors at once."""
        cursor = self._collection.find(
            {**Where(channel_id=channel_id).query(), "chat_id": {"$in": list(chat_ids)}}
        ).sort("_id", Order.NEWEST.value)
        newest: dict[str, Doc] = {}
        async for doc in cursor:
            newest.setdefault(str(doc["chat_id"]), doc)
        return {chat_id: Conversation.from_doc(doc) for chat_id, doc in newest.items()}

    async def awaiting_rating(self, channel_id: str, chat_id: str) -> Conversation | None:
        """The chat's newest closed conversation that still waits for the client's rating."""
        return await self.latest(
            Where(
                channel_id=channel_id,
                chat_id=chat_id,
                statuses=[ConversationStatus.CLOSED],
                csat=CsatStatus.REQUESTED,
            )
        )

    async def ids(self, where: Where) -> list[str]:
        docs = await self._collection.find(where.query(), {"_id": 1}).to_list()
        return [str(d["_id"]) for d in docs]

    async def count(self, where: Where) -> int:
        return await self._collection.count_documents(where.query())

    async def count_by_assignee(self, where: Where) -> dict[str, int]:
        """How many matching conversations each assignee has (the unassigned not counted)."""
        docs = await self._collection.find(where.query(), {"assignee_id": 1}).to_list()
        counts: dict[str, int] = {}
        for doc in docs:
            if assignee := doc.get("assignee_id"):
                counts[assignee] = counts.get(assignee, 0) + 1
        return counts

    # --- writing ---------------------------------------------------------------------------

    async def insert(self, conversation: Conversation) -> bool:
        """Store a new conversation; False when one with its id is there already."""
        try:
            await self._collection.insert_one(conversation.to_doc())
        except DuplicateKeyError:
            return False
        return True

    async def update(
        self, conversation_id: str, expected: Doc, update: Doc, *, flush: bool = True
    ) -> Conversation | None:
        """Apply ``update`` if the conversation still matches ``expected`` (a filter on its
        fields); the conversation as it is now, or None when it did not match. Callers go
        through ``hub.conversations.transitions``, which raises ``rev`` and tells everyone;
        ``flush=False`` only where a journaled write follows (see hub/storage/concerns.py)."""
        collection = self._collection if flush else self._unflushed
        doc = await collection.find_one_and_update(
            {"_id": conversation_id, **expected}, update, return_document=ReturnDocument.AFTER
        )
        return Conversation.from_doc(doc) if doc else None

    async def take_seqs(self, claims: Sequence[SeqClaim], token: str) -> list[Taken | None]:
        """Give each claim its seqs, all in one write: one ``$inc`` of ``last_seq`` per claim
        (by its count), in order (the claims of one conversation follow each other), then one
        read of the conversations. None for a claim whose conversation is gone or no longer
        matches its ``expected``. ``token`` is unique to this call among the calls of every
        process (a process's own calls one after another).

        Race-free across processes without ``find_one_and_update`` per conversation (which
        SecantusDB runs as a scan of the whole collection: its ``findAndModify`` rewrites the
        filter as ``{_id, $and: [filter]}``, which no index serves): each ``$inc`` pushes a
        grant ``{by, n}`` in the same atomic update, the last ``GRANTS_KEPT`` kept, and a
        claim's range is read off the conversation as ``last_seq`` minus the grants after its
        own. Unflushed: the journaled insert of those messages follows (see
        hub/storage/concerns.py)."""
        if not claims:
            return []
        writes = []
        for index, claim in enumerate(claims):
            if claim.count < 1:
                raise ValueError(f"a seq range of {claim.count} messages")
            grant = {"by": f"{token}:{index}", "n": claim.count}
            writes.append(
                UpdateOne(
                    {"_id": claim.conversation_id, **claim.expected},
                    {
                        **claim.update,
                        "$inc": {**claim.update.get("$inc", {}), "last_seq": claim.count},
                        "$push": {"seq_grants": {"$each": [grant], "$slice": -GRANTS_KEPT}},
                    },
                )
            )
        written = await self._unflushed.bulk_write(writes, ordered=True)
        ids = list(dict.fromkeys(claim.conversation_id for claim in claims))
        docs = {d["_id"]: d for d in await self._collection.find({"_id": {"$in": ids}}).to_list()}
        conversations: dict[str, Conversation] = {}
        taken: list[Taken | None] = []
        for index, claim in enumerate(claims):
            doc = docs.get(claim.conversation_id)
            last = granted_last(doc, f"{token}:{index}") if doc is not None else None
            if doc is None or last is None:
                taken.append(None)
                continue
            conversation = conversations.get(claim.conversation_id)
            if conversation is None:
                conversation = conversations[claim.conversation_id] = Conversation.from_doc(doc)
            taken.append(Taken(conversation, range(last - claim.count + 1, last + 1)))
        unmatched = len(claims) - written.matched_count
        if taken.count(None) != unmatched:
            raise SeqGrantLost(
                f"{taken.count(None) - unmatched} of {len(claims)} seq grants were pushed out "
                f"by more than {GRANTS_KEPT} later ones before they were read"
            )
        return taken

    async def take_load_key(self, conversation_id: str) -> str | None:
        """Clear the conversation's capacity slot and return the key it held, exactly once
        (None: it held none, or another process took it first)."""
        before = await self._collection.find_one_and_update(
            {"_id": conversation_id, "load_key": {"$ne": None}},
            {"$set": {"load_key": None}},
            return_document=ReturnDocument.BEFORE,
        )
        return str(before["load_key"]) if before else None
