"""Telegram's broadcast limits, kept on our side: at most 30 messages a second per bot and one
a second per chat. Waiting here is cheaper than a 429 that pauses the whole channel."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from hub.channels import TokenBucket

BOT_MESSAGES_PER_S = 30.0
CHAT_MESSAGES_PER_S = 1.0


class SendLimiter:
    """One bucket for the bot and one per chat; ``wait(chat_id)`` before each message."""

    def __init__(
        self,
        bot_per_s: float = BOT_MESSAGES_PER_S,
        chat_per_s: float = CHAT_MESSAGES_PER_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clock = clock
        self._chat_per_s = chat_per_s
        self._bot = TokenBucket(bot_per_s, bot_per_s, clock)
        self._chats: dict[str, TokenBucket] = {}

    def delay_for(self, chat_id: str) -> float:
        """Reserve a slot for one message to ``chat_id``; seconds until it may go."""
        chat = self._chats.get(chat_id)
        if chat is None:
            if len(self._chats) > 10_000:  # forget idle chats; a full bucket is the default
                self._chats.clear()
            chat = self._chats[chat_id] = TokenBucket(self._chat_per_s, 1.0, self._clock)
        return max(self._bot.reserve(), chat.reserve())

    async def wait(self, chat_id: str) -> None:
        delay = self.delay_for(chat_id)
        if delay > 0:
            await asyncio.sleep(delay)
