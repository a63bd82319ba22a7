"""The Telegram channel (aiogram 3): a bot's private chats as conversations of a line."""

from channels.telegram.config import TelegramConfig
from channels.telegram.kind import TelegramKind
from channels.telegram.parse import parse
from channels.telegram.send import TelegramSender

__all__ = ["TelegramConfig", "TelegramKind", "TelegramSender", "parse"]
