"""Conversations: what staff and the system do with them. Every change goes through one path
(``transitions.Transitions.apply``): a conditional update that raises ``rev`` and publishes
a typed ``ConversationChanged``."""

from hub.conversations.service import MAX_TEXT, OPEN, Conversations
from hub.conversations.transitions import Transitions

__all__ = ["MAX_TEXT", "OPEN", "Conversations", "Transitions"]
