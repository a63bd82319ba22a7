"""Writing to a contact from the CRM: continue the newest conversation of the contact's own
clients that the writer may see, or open a new one on a closed one's channel."""

from __future__ import annotations

from crm_bridge.access import EDITORS, MAX_CHECKED_CONVERSATIONS, Access, ensure_may_write
from crm_bridge.hub_view import HubView
from crm_bridge.linking import Linking
from crm_bridge.models import Contact, Entity, ref
from crm_bridge.records import Records
from crm_bridge.timeline import Timeline
from hub.access import may_see, oversees
from hub.errors import Conflict
from hub.models import Author, AuthorType, Conversation, ConversationStatus, User
from hub.stream import Appended


class Contacting:
    def __init__(
        self,
        hub: HubView,
        access: Access,
        records: Records,
        linking: Linking,
        timeline: Timeline,
    ) -> None:
        self._hub = hub
        self._access = access
        self._records = records
        self._linking = linking
        self._timeline = timeline

    async def write(
        self, contact: Contact, text: str, channel_id: str | None, actor: User
    ) -> Appended:
        """Continue the newest conversation of the contact's own clients that ``actor`` may
        see (on ``channel_id`` when given), or open a new one on a closed one's channel;
        delivered through the outbox.

        Only the contact's clients (joined by their channel identity, a proven address, or
        the conversion of the lead they made): an address typed into a form never makes its
        typist a recipient. Nothing ``actor`` may write into: ``409 no_channel``, as if the
        contact had no conversation there. An operator writes only where they are in the
        conversation, as in the conversation itself: one waiting in the queue is theirs to
        accept first (``403 not_a_participant``)."""
        candidates = await self._hub.of_clients(
            contact.client_ids, channel_id=channel_id, limit=MAX_CHECKED_CONVERSATIONS
        )
        conversation: Conversation | None = None
        for last in await self._access.visible(actor, candidates):
            if last.status != ConversationStatus.CLOSED:
                conversation = ensure_may_write(actor, last)
                break
            conversation = await self._reopen(last, contact, actor)
            if conversation is not None:
                break
        if conversation is None:
            raise Conflict(
                "the contact has no conversation on that channel to write to",
                code="no_channel",
            )
        author = Author(type=AuthorType.OPERATOR, id=actor.id, name=actor.name)
        appended = await self._hub.post(conversation, author, text)
        await self._timeline.add(
            "message_sent",
            [ref(Entity.CONTACTS, contact.id)],
            text=text[:200],
            conversation_id=conversation.id,
            actor_id=actor.id,
        )
        return appended

    async def _reopen(
        self, last: Conversation, contact: Contact, actor: User
    ) -> Conversation | None:
        """The open conversation of ``last``'s chat, opened now when there is none; None when
        ``actor`` may not write there (an operator on a line they do not work in, a chat whose
        open conversation is not theirs to see)."""
        channel = await self._hub.channel(last.channel.id)
        client = await self._hub.client(last.client.id)
        if channel is None or client is None:
            raise Conflict("the client's channel is gone", code="channel_gone")
        line = await self._hub.line(channel.line_id)
        if actor.role not in EDITORS and (
            line is None or not (actor.id in line.operators or oversees(actor, line))
        ):
            return None
        conversation, opened = await self._hub.open_outbound(channel, last.chat_id, client, actor)
        if not opened:
            # The chat went on meanwhile, maybe in a conversation moved to another line.
            if conversation.line_id != channel.line_id:
                line = await self._hub.line(conversation.line_id)
            if not may_see(actor, conversation, line):
                return None
            ensure_may_write(actor, conversation)
        if not conversation.crm.contact_id:
            conversation = (
                await self._linking.link(conversation.id, contact_id=contact.id, actor_id=actor.id)
                or conversation
            )
        await self._records.update(
            Entity.CONTACTS, contact.id, {}, add={"conversation_ids": [conversation.id]}
        )
        return conversation
