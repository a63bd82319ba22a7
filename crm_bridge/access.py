"""Who may read, edit and write from a CRM record: the CRM's side of the one access rule.

Which conversations a CRM path shows or writes to is decided by ``hub.access.may_see``: a
contact spanning several lines shows each caller only the conversations they may see, and
writes only into those. A record is readable by whoever may see one of its conversations."""

from __future__ import annotations

from collections.abc import Iterable

from crm_bridge.hub_view import HubView
from hub.access import may_see
from hub.errors import Forbidden
from hub.models import Conversation, Doc, Line, Role, User

READERS = (Role.ADMIN, Role.MANAGER, Role.SUPERVISOR)
EDITORS = (Role.ADMIN, Role.MANAGER)
MAX_VISIBLE_CONVERSATIONS = 5000
# How many of a record's conversations an access check or a write looks through.
MAX_CHECKED_CONVERSATIONS = 1000


class Access:
    def __init__(self, hub: HubView) -> None:
        self._hub = hub

    async def ensure_may_read(self, user: User, record: Doc) -> None:
        if user.role in READERS:
            return
        if not await self._sees_any(user, conversation_ids(record)):
            raise Forbidden("this CRM record belongs to conversations you cannot see")

    async def ensure_may_edit(self, user: User, record: Doc) -> None:
        """Managers and admins edit everything; operators the records of their chats."""
        if user.role in EDITORS:
            return
        if user.role == Role.OPERATOR and await self._sees_any(user, conversation_ids(record)):
            return
        raise Forbidden("your role may not change this CRM record")

    async def _sees_any(self, user: User, ids: list[str]) -> bool:
        if not ids:
            return False
        conversations = await self._hub.conversations(ids[:MAX_CHECKED_CONVERSATIONS])
        return bool(await self.visible(user, conversations, first_only=True))

    async def visible(
        self, user: User, conversations: Iterable[Conversation], *, first_only: bool = False
    ) -> list[Conversation]:
        """The ``conversations`` that ``user`` may see (the one rule, per line)."""
        lines: dict[str, Line | None] = {}
        seen: list[Conversation] = []
        for conversation in conversations:
            if conversation.line_id not in lines:
                lines[conversation.line_id] = await self._hub.line(conversation.line_id)
            if may_see(user, conversation, lines[conversation.line_id]):
                seen.append(conversation)
                if first_only:
                    break
        return seen

    async def visible_conversation_ids(self, user: User) -> list[str] | None:
        """The conversations whose records ``user`` may read (None: every record)."""
        if user.role in READERS:
            return None
        candidates = await self._hub.may_concern(
            user, await self._hub.lines_of(user), MAX_VISIBLE_CONVERSATIONS
        )
        return [c.id for c in await self.visible(user, candidates)]


def ensure_may_write(actor: User, conversation: Conversation) -> Conversation:
    """Managers and admins write to the client of any conversation they may see; operators
    only into one they are visibly in (``POST /conversations/<id>/messages`` asks the same),
    never past the queue's accept."""
    if actor.role not in EDITORS and not conversation.visible_participant(actor.id):
        raise Forbidden(
            "accept or join the conversation to write to the client", code="not_a_participant"
        )
    return conversation


def conversation_ids(record: Doc) -> list[str]:
    """The conversations a record belongs to (none for a company)."""
    ids: list[str] = list(getattr(record, "conversation_ids", []) or [])
    return ids
