"""The Telegram channel (aiogram 3): a bot's private chats as conversations of a line."""

from channels.telegram.kind import TelegramConfig, TelegramKind, TelegramSender
from channels.telegram.parse import parse

__all__ = ["TelegramConfig", "TelegramKind", "TelegramSender", "parse"]
