"""Messages into a conversation: staff replies and whispers (``Posting``), and the system's own
texts with the once-only claims that keep them from repeating (``Notices``)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING

from hub.access import oversees
from hub.conversations.queries import Queries
from hub.conversations.transitions import Transitions
from hub.errors import Conflict, Forbidden, ValidationFailed
from hub.events import ConversationChange
from hub.files import Files
from hub.models import (
    Author,
    AuthorType,
    Conversation,
    ConversationStatus,
    Direction,
    MessagePurpose,
    SystemNote,
    User,
    utcnow,
)

if TYPE_CHECKING:  # the stream imports the transitions of this package: no cycle at run time
    from hub.stream import Appended, Stream

log = logging.getLogger("openlines.conversations")

MAX_TEXT = 4000

# Takes an offer on the user's behalf (``Offers.accept``): replying to an offer takes it.
Accept = Callable[[User, str], Awaitable[Conversation]]


# The system's notes to the staff: code -> the English text ({names} are its params). The console
# renders a note by its code in its own language (strings.json "sys.<code>"; docs/i18n.md).
SYSTEM_NOTES = {
    "took": "{user} took the conversation.",
    "took_over": "{user} took the conversation over.",
    "transferred": "{user} transferred the conversation to {to}.",
    "transfer_cancelled": "{user} cancelled the transfer.",
    "transfer_expired": "The transfer was not accepted in time; back in the queue.",
    "moved_to_line": "{user} moved the conversation to the line {line}.",
    "returned": "{user} returned the conversation to the queue.",
    "unanswered_next": "{user} did not answer the client in time; passed to the next operator.",
    "unanswered_queue": "{user} did not answer the client in time; back in the queue.",
    "invited": "{user} invited {invitee}.",
    "joined": "{user} joined the conversation.",
    "joined_silently": "{user} silently joined the conversation.",
    "left": "{user} left the conversation.",
}


def system_note(code: str, **params: str) -> tuple[str, SystemNote]:
    """The English text and the stored code + params of the note ``code``."""
    return SYSTEM_NOTES[code].format(**params), SystemNote(code=code, params=params)


def _system() -> Author:
    """The author of the system's own texts (a fresh model per message)."""
    return Author(type=AuthorType.SYSTEM, name="OpenLines")


class Notices:
    """What the system itself says, to the staff (notes) or to the client."""

    def __init__(self, stream: Stream, transitions: Transitions) -> None:
        self._stream = stream
        self._transitions = transitions

    async def note(self, conversation: Conversation, code: str, **params: str) -> None:
        """A system message for the staff only (hidden: the client never sees it): the note
        ``code`` of SYSTEM_NOTES with its ``params``."""
        text, system = system_note(code, **params)
        await self._stream.post(
            conversation, _system(), text, hidden=True, direction=Direction.SYSTEM, system=system
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
            conversation, _system(), text, direction=Direction.SYSTEM, purpose=purpose
        )

    async def claim_after_hours(
        self, conversation_id: str, until: datetime
    ) -> Conversation | None:
        """Claim the after-hours text for the closed period ending at ``until``: only the first
        claim of a period wins (None for the others), so the client hears it once."""
        now = utcnow()
        return await self._transitions.apply(
            conversation_id,
            {"$or": [{"after_hours_until": None}, {"after_hours_until": {"$lte": now}}]},
            {"$set": {"after_hours_until": until}},
            ConversationChange.AFTER_HOURS,
        )

    async def claim_queue_notice(self, conversation_id: str) -> Conversation | None:
        """Claim the one queue-position text of a platform without a live view (None: sent)."""
        return await self._transitions.apply(
            conversation_id,
            {"queue_notice_sent": {"$ne": True}},
            {"$set": {"queue_notice_sent": True}},
            ConversationChange.QUEUE_NOTICE,
        )


class Posting:
    """A staff member writes into a conversation: to the client, or hidden to colleagues."""

    def __init__(self, queries: Queries, stream: Stream, files: Files, accept: Accept) -> None:
        self._queries = queries
        self._stream = stream
        self._files = files
        self._accept = accept

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
        """Store (and, unless hidden, send) the message; validation and access come first."""
        conversation, line = await self._queries.get(user, conversation_id)
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
            conversation = await self._accept(user, conversation_id)
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
