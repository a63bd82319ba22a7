"""Sending: the outbox's ``Channel`` for one bot (plain text, files from our store, CSAT
prompts as buttons), paced by ``SendLimiter``."""

from __future__ import annotations

from aiogram.types import (
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
)

from channels.telegram.client import make_bot
from channels.telegram.limits import SendLimiter
from channels.telegram.parse import CSAT_PREFIX
from hub.channels import (
    ChannelDeps,
    FileReader,
    split_text,
)
from hub.errors import ChannelError
from hub.models import Attachment, ChannelRecord, Outbound, Receipt

MAX_TEXT = 4096
MAX_CAPTION = 1024
PHOTO_TYPES = frozenset({"image/jpeg", "image/png", "image/webp", "image/gif"})


def csat_keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(text=str(n), callback_data=f"{CSAT_PREFIX}{n}")
                for n in range(1, 6)
            ]
        ]
    )


class TelegramSender:
    """Delivers outgoing messages of one bot, as plain text (no ``parse_mode``: a client never
    sees stray Markdown), files uploaded from our store, and CSAT prompts as buttons."""

    def __init__(self, channel: ChannelRecord, deps: ChannelDeps) -> None:
        self._bot = make_bot(channel.config, deps.http)
        self._files: FileReader | None = deps.files
        self._limiter = SendLimiter()

    async def send(self, outbound: Outbound) -> Receipt:
        chat_id = outbound.chat_id
        text = outbound.text
        first_id: int | None = None
        if outbound.purpose == "csat_request":
            await self._limiter.wait(chat_id)
            sent = await self._bot.send_message(
                chat_id=chat_id, text=text, reply_markup=csat_keyboard()
            )
            return Receipt(platform_message_id=str(sent.message_id))
        caption = text if outbound.attachments and 0 < len(text) <= MAX_CAPTION else None
        if text and caption is None:
            for part in split_text(text, MAX_TEXT):
                await self._limiter.wait(chat_id)
                sent = await self._bot.send_message(chat_id=chat_id, text=part)
                first_id = first_id or sent.message_id
        for index, attachment in enumerate(outbound.attachments):
            first_caption = caption if index == 0 else None
            message_id = await self._send_file(chat_id, attachment, first_caption)
            first_id = first_id or message_id
        return Receipt(platform_message_id=str(first_id) if first_id else None)

    async def _send_file(self, chat_id: str, attachment: Attachment, caption: str | None) -> int:
        if self._files is None:
            raise ChannelError("no file store to upload attachments from")
        data = await self._files.read(attachment.id)
        upload = BufferedInputFile(data, filename=attachment.name)
        await self._limiter.wait(chat_id)
        if attachment.mime in PHOTO_TYPES:
            sent = await self._bot.send_photo(chat_id=chat_id, photo=upload, caption=caption)
        else:
            sent = await self._bot.send_document(chat_id=chat_id, document=upload, caption=caption)
        return sent.message_id
