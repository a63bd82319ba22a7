"""The one access rule: who may see and act on a conversation. Every path to a conversation
asks it — REST, sockets, the CRM, files, search, reports and exports — so no path can show more
than the conversation itself would."""

from __future__ import annotations

from hub.errors import NotFound
from hub.models import Conversation, Line, Role, User


def oversees(user: User, line: Line) -> bool:
    """Admins oversee every line; supervisors the lines that list them."""
    return user.role == Role.ADMIN or user.id in line.supervisors


def may_see(user: User, conversation: Conversation, line: Line | None) -> bool:
    if user.role == Role.ADMIN:
        return True
    if line is not None and user.id in line.supervisors:
        return True
    if user.id in conversation.watcher_ids() or user.id in conversation.offered_to:
        return True
    if user.role == Role.MANAGER and any(conversation.crm.model_dump().values()):
        return True
    # Line operators see the line's queue (so they can pick from it), not colleagues' chats,
    # and not a blocked client's waiting conversation (offered to nobody: docs/spam.md).
    return (
        line is not None
        and user.id in line.operators
        and conversation.status.value in ("queued", "offered")
        and not conversation.client.blocked
    )


def ensure_may_see(user: User, conversation: Conversation, line: Line | None) -> None:
    # 404, not 403: an operator learns nothing about conversations that are not theirs.
    if not may_see(user, conversation, line):
        raise NotFound("no such conversation")
