"""Reading conversations as staff see them: one load, the access check every read shares, the
inbox search and message pages. Nothing here changes a conversation."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hub.access import ensure_may_see, may_see, oversees
from hub.errors import Conflict, Forbidden, NotFound, ValidationFailed
from hub.models import Conversation, ConversationStatus, Line, Message, Role, User
from hub.search import Snippet, query_words, snippet
from hub.storage.conversations import Order, Where, involving
from hub.storage.words import WordHit
from hub.store import Store

if TYPE_CHECKING:  # the stream imports the transitions of this package: no cycle at run time
    from hub.stream import Stream

log = logging.getLogger("openlines.conversations")

# The statuses of a conversation still being handled (anything but closed).
OPEN = [
    ConversationStatus.QUEUED.value,
    ConversationStatus.OFFERED.value,
    ConversationStatus.ACTIVE.value,
]


# Messages read per query word: a word in more messages than this finds only some of them.
WORD_HITS = 5000


@dataclass(frozen=True)
class Match:
    """Where a conversation matched a search: the newest message with the words, around them."""

    message_id: str
    seq: int
    hidden: bool
    snippet: Snippet


@dataclass(frozen=True)
class SearchPage:
    conversations: list[Conversation]
    next_cursor: str | None
    # Conversation id -> the message it was found by (not for those found by the client's
    # name, e-mail or last message alone).
    matches: dict[str, Match]


class Queries:
    """Loads conversations and answers who may see them; shared by every other part."""

    def __init__(self, store: Store, stream: Stream) -> None:
        self._store = store
        self._stream = stream

    async def load(self, conversation_id: str) -> Conversation:
        """The conversation, with no access check (for the system's own callers)."""
        conversation = await self._store.conversations.get(conversation_id)
        if conversation is None:
            raise NotFound("no such conversation")
        return conversation

    async def line(self, line_id: str) -> Line | None:
        """The line, or None once it is deleted (its conversations outlive it)."""
        return await self._store.lines.get(line_id)

    async def get(self, user: User, conversation_id: str) -> tuple[Conversation, Line | None]:
        """The conversation and its line, 404 to a user who may not see it."""
        conversation = await self.load(conversation_id)
        line = await self.line(conversation.line_id)
        ensure_may_see(user, conversation, line)
        return conversation, line

    async def acting(
        self, user: User, conversation_id: str, *, assignee_or_overseer: bool = True
    ) -> tuple[Conversation, Line]:
        """The open conversation ``user`` acts on, and its line; refuses what they may not do."""
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

    async def active_user(self, user_id: str) -> User:
        """A colleague named in a request (transfer, invite): must exist and be active."""
        user = await self._store.users.get(user_id)
        if user is None or not user.active:
            raise ValidationFailed("no such active user", code="unknown_user")
        return user

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
        sla_breached: bool = False,
    ) -> SearchPage:
        """A page of the conversations ``user`` may see, newest first, and the next cursor.
        ``q`` finds the client's name or e-mail, or words written in the conversation (by
        prefix, see hub/search.py); each conversation found by its words comes with the
        newest message that has them, as a snippet."""
        staff: tuple[Where, ...] = ()
        if user.role != Role.ADMIN:
            staff = (
                *involving(user.id),
                Where(line_ids=await self._store.lines.ids_of_member(user.id)),
            )
            if user.role == Role.MANAGER:
                staff += (Where(crm_linked=True),)
        hits = await self._word_hits(q) if q else {}
        where = Where(
            statuses=None if status is None else [status],
            line_id=line_id or None,
            assignee_ids=None if not assignee else [user.id if assignee == "me" else assignee],
            before_id=cursor or None,
            text=q or None,
            mentioning=list(hits),
            sla_breached=sla_breached,
            any_of=staff,
        )
        found = await self._store.conversations.matching(
            where, order=Order.NEWEST, limit=limit * 3 + 10
        )
        line_cache: dict[str, Line | None] = {}
        result: list[Conversation] = []
        for conversation in found:
            if conversation.line_id not in line_cache:
                line_cache[conversation.line_id] = await self.line(conversation.line_id)
            if may_see(user, conversation, line_cache[conversation.line_id]):
                result.append(conversation)
            if len(result) == limit:
                break
        next_cursor = result[-1].id if len(result) == limit else None
        matches: dict[str, Match] = {}
        for conversation in result:
            hit = hits.get(conversation.id)
            message = await self._store.messages.get(hit.message_id) if hit else None
            if message is not None and q:
                matches[conversation.id] = Match(
                    message_id=message.id,
                    seq=message.seq,
                    hidden=message.hidden,
                    snippet=snippet(message.text, query_words(q)),
                )
        return SearchPage(result, next_cursor, matches)

    async def _word_hits(self, q: str) -> dict[str, WordHit]:
        """Conversation id -> its newest message with a word starting with each of the
        query's words."""
        prefixes = query_words(q)
        if not prefixes:
            return {}
        by_message: dict[str, WordHit] | None = None
        for prefix in prefixes:
            found = {
                hit.message_id: hit
                for hit in await self._store.words.starting_with(prefix, WORD_HITS)
            }
            by_message = (
                found
                if by_message is None
                else {k: v for k, v in by_message.items() if k in found}
            )
        newest: dict[str, WordHit] = {}
        for hit in (by_message or {}).values():
            known = newest.get(hit.conversation_id)
            if known is None or hit.seq > known.seq:
                newest[hit.conversation_id] = hit
        return newest

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
