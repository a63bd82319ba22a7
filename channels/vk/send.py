"""Sending: the outbox's ``Channel`` for one community (text in pieces, files uploaded,
CSAT prompts as a keyboard), on the kind's ``VkClient``."""

from __future__ import annotations

import hashlib
from typing import Any

from vk_api.keyboard import VkKeyboard

from channels.vk.client import (
    CSAT_PROMPT,
    MAX_TEXT,
    PHOTO_TYPES,
    VkClient,
)
from channels.vk.parse import CSAT_KEY
from hub.channels import (
    FileReader,
    split_text,
)
from hub.errors import ChannelError
from hub.models import Attachment, Outbound, Receipt


def random_id(key: str) -> int:
    """VK's idempotency key of a send, derived from our message id: a retried send carries
    the same one, and VK delivers it once. A positive int32."""
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "big") & 0x7FFFFFFF or 1


def csat_keyboard() -> str:
    keyboard = VkKeyboard(inline=True)
    for n in range(1, 6):
        keyboard.add_callback_button(str(n), payload={CSAT_KEY: n})
    return str(keyboard.get_keyboard())


class VkSender:
    """Delivers outgoing messages of one community as plain text, files uploaded from our
    store, and CSAT prompts as an inline keyboard of callback buttons."""

    def __init__(self, client: VkClient, files: FileReader | None) -> None:
        self._client = client
        self._files = files

    async def send(self, outbound: Outbound) -> Receipt:
        peer_id = int(outbound.chat_id)
        text = outbound.text
        extra: dict[str, Any] = {}
        if outbound.purpose == "csat_request":
            extra["keyboard"] = csat_keyboard()
            text = text or CSAT_PROMPT  # VK sends no keyboard without a message
        elif outbound.attachments:
            # Uploaded again on a retry; the random_id still lets VK deliver the message once.
            extra["attachment"] = ",".join(
                [await self._upload(peer_id, a) for a in outbound.attachments]
            )
        first_id: str | None = None
        for index, part in enumerate(split_text(text, MAX_TEXT)):
            if not part and "attachment" not in extra:
                continue
            key = outbound.message_id if index == 0 else f"{outbound.message_id}:{index}"
            sent = await self._client.call(
                "messages.send",
                returns=int,
                peer_id=peer_id,
                random_id=random_id(key),
                message=part,
                **(extra if index == 0 else {}),
            )
            first_id = first_id or str(sent)
        return Receipt(platform_message_id=first_id)

    async def _upload(self, peer_id: int, attachment: Attachment) -> str:
        if self._files is None:
            raise ChannelError("no file store to upload attachments from")
        data = await self._files.read(attachment.id)
        if attachment.mime in PHOTO_TYPES:
            return await self._client.upload_photo(data, attachment.name, peer_id)
        return await self._client.upload_doc(data, attachment.name, peer_id)
