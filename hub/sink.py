"""The hub side of ``hub.channels.ChannelSink``: one per channel, shared by its webhook
handler and its background runner."""

from __future__ import annotations

import logging

from hub.errors import Conflict
from hub.events import ClientUnreachableSet, ConversationChange
from hub.models import (
    Attachment,
    ChannelRecord,
    ClientUnreachable,
    Inbound,
    Message,
    utcnow,
)
from hub.services import SinkServices

log = logging.getLogger("openlines.channels")


class HubSink:
    def __init__(self, hub: SinkServices, channel: ChannelRecord) -> None:
        self._hub = hub
        self._channel = channel

    async def ingest(self, inbound: Inbound) -> Message:
        result = await self._hub.stream.ingest(inbound, self._channel)
        if result.conversation.client_unreachable is not None and not result.duplicate:
            # They wrote: whatever stopped us writing to them (a blocked bot) is over.
            await self._clear_unreachable(result.conversation.id)
        return result.message

    async def edit(self, external_id: str, text: str) -> Message | None:
        return await self._hub.stream.edit(self._channel.id, external_id, text)

    async def csat(self, chat_id: str, rating: int, comment: str | None = None) -> bool:
        awaiting = await self._hub.store.conversations.awaiting_rating(self._channel.id, chat_id)
        if awaiting is None:
            return False
        try:
            await self._hub.conversations.submit_csat(awaiting.id, rating, comment)
        except Conflict:
            return False
        return True

    async def unreachable(self, chat_id: str, reason: str) -> None:
        log.info(
            "client unreachable channel=%s chat=%s reason=%s", self._channel.id, chat_id, reason
        )
        conversation_id = await self._latest(chat_id)
        if conversation_id is not None:
            await self._hub.conversations.transition(
                conversation_id,
                {},
                {
                    "$set": {
                        "client_unreachable": ClientUnreachable(
                            reason=reason, at=utcnow()
                        ).model_dump()
                    }
                },
                change=ConversationChange.CLIENT_UNREACHABLE,
                detail=ClientUnreachableSet(reason=reason),
            )

    async def reachable(self, chat_id: str) -> None:
        conversation_id = await self._latest(chat_id)
        if conversation_id is not None:
            await self._clear_unreachable(conversation_id)

    async def _clear_unreachable(self, conversation_id: str) -> None:
        cleared = await self._hub.conversations.transition(
            conversation_id,
            {"client_unreachable": {"$ne": None}},
            {"$set": {"client_unreachable": None}},
            change=ConversationChange.CLIENT_REACHABLE,
        )
        if cleared is not None:
            log.info("client reachable again conversation=%s", conversation_id)

    async def _latest(self, chat_id: str) -> str | None:
        """The chat's most recent conversation (the one a platform's news is about)."""
        latest = await self._hub.store.conversations.latest_of_chat(self._channel.id, chat_id)
        return latest.id if latest else None

    async def save_file(self, name: str, data: bytes) -> Attachment:
        owner = {"kind": "channel", "channel_id": self._channel.id}
        # Platform media (voice, audio, video) is accepted on top of the upload allow-list.
        stored = await self._hub.files.save(name, data, owner, media=True)
        return stored.attachment()

    async def save_original(self, name: str, data: bytes, mime: str) -> Attachment:
        owner = {"kind": "channel", "channel_id": self._channel.id}
        stored = await self._hub.files.keep(name, data, mime, owner)
        return stored.attachment()

    async def read_file(self, attachment_id: str) -> bytes:
        return await self._hub.files.read(attachment_id)

    def csat_link(self, conversation_id: str, rating: int) -> str:
        return self._hub.visitor_tokens.csat_link(
            self._hub.settings.public_url, conversation_id, rating
        )

    async def position(self) -> str | None:
        return await self._hub.store.channels.receiver_position(self._channel.id)

    async def save_position(self, value: str) -> None:
        await self._hub.store.channels.save_receiver_position(self._channel.id, value)
