"""Everything the CRM reads from or writes to the hub, behind typed methods: the one module of
``crm_bridge`` that knows the hub's services and repositories (``hub.conversations``,
``hub.stream``, ``hub.store.*``), so a change on the hub's side changes nothing else in the
CRM."""

from __future__ import annotations

from hub.events import ConversationChange
from hub.models import (
    Author,
    ChannelRecord,
    Client,
    Conversation,
    ConversationStatus,
    Line,
    User,
)
from hub.services import Hub
from hub.storage.conversations import Order, Where, involving
from hub.stream import Appended


class HubView:
    def __init__(self, hub: Hub) -> None:
        self._hub = hub

    # --- lines, clients, channels, users --------------------------------------------------

    async def line(self, line_id: str) -> Line | None:
        return await self._hub.conversations.line(line_id)

    async def lines_of(self, user: User) -> list[Line]:
        """The lines ``user`` operates or supervises."""
        return await self._hub.store.lines.of_member(user.id)

    async def client(self, client_id: str) -> Client | None:
        return await self._hub.store.clients.get(client_id)

    async def channel(self, channel_id: str) -> ChannelRecord | None:
        return await self._hub.store.channels.get(channel_id)

    async def blocklist(self, line_id: str) -> list[str]:
        """Addresses and ``@domains`` on the blocklists of the line's (email) channels."""
        return await self._hub.store.channels.blocklist(line_id)

    async def users_exist(self, user_ids: list[str]) -> bool:
        """Whether every one of ``user_ids`` is a user."""
        wanted = set(user_ids)
        return await self._hub.store.users.count_of(wanted) == len(wanted)

    # --- conversations --------------------------------------------------------------------

    async def conversation(self, conversation_id: str) -> Conversation:
        """The conversation (``NotFound`` when there is none)."""
        return await self._hub.conversations.load(conversation_id)

    async def conversations(self, conversation_ids: list[str]) -> list[Conversation]:
        """The conversations of ``conversation_ids`` that exist, without their heavy fields
        (enough for an access check)."""
        return await self._hub.store.conversations.matching(
            Where(ids=conversation_ids), light=True
        )

    async def may_concern(self, user: User, lines: list[Line], limit: int) -> list[Conversation]:
        """Every conversation ``hub.access.may_see`` could admit for ``user`` (a superset; the
        rule itself decides), without heavy fields: at most ``limit``."""
        supervised = [line.id for line in lines if user.id in line.supervisors]
        operated = [line.id for line in lines if user.id in line.operators]
        return await self._hub.store.conversations.matching(
            Where(
                any_of=(
                    *involving(user.id),
                    Where(line_ids=supervised),
                    Where(
                        line_ids=operated,
                        statuses=[ConversationStatus.QUEUED, ConversationStatus.OFFERED],
                    ),
                )
            ),
            light=True,
            limit=limit,
        )

    async def of_clients(
        self, client_ids: list[str], *, channel_id: str | None, limit: int
    ) -> list[Conversation]:
        """The conversations of ``client_ids`` (on ``channel_id`` when given), newest first."""
        return await self._hub.store.conversations.matching(
            Where(client_ids=client_ids, channel_id=channel_id or None),
            order=Order.NEWEST,
            limit=limit,
        )

    async def of_record(
        self, conversation_ids: list[str], client_ids: list[str], limit: int
    ) -> list[Conversation]:
        """The conversations of ``conversation_ids`` or of ``client_ids``, oldest first."""
        where = Where(ids=conversation_ids)
        if client_ids:
            where = Where(any_of=(where, Where(client_ids=client_ids)))
        return await self._hub.store.conversations.matching(where, order=Order.OLDEST, limit=limit)

    async def open_of_client(self, client_id: str) -> list[Conversation]:
        """The client's conversations that are not closed."""
        return await self._hub.store.conversations.matching(
            Where(client_ids=[client_id], open=True)
        )

    async def link_crm(
        self,
        conversation_id: str,
        *,
        lead_id: str | None = None,
        contact_id: str | None = None,
        deal_id: str | None = None,
        actor_id: str | None = None,
    ) -> Conversation | None:
        """Point the conversation at CRM records (the ones given) through the hub's change
        path: ``rev`` is raised and ``ConversationChanged("crm_linked")`` published, so the
        console hears it. None when nothing is given."""
        changes = {
            f"crm.{name}": value
            for name, value in (
                ("lead_id", lead_id),
                ("contact_id", contact_id),
                ("deal_id", deal_id),
            )
            if value is not None
        }
        if not changes:
            return None
        return await self._hub.conversations.transition(
            conversation_id,
            {},
            {"$set": changes},
            change=ConversationChange.CRM_LINKED,
            actor_id=actor_id,
        )

    # --- writing to clients ---------------------------------------------------------------

    async def post(self, conversation: Conversation, author: Author, text: str) -> Appended:
        """A staff message into the conversation, delivered through the outbox."""
        return await self._hub.stream.post(conversation, author, text)

    async def open_outbound(
        self, channel: ChannelRecord, chat_id: str, client: Client, writer: User
    ) -> tuple[Conversation, bool]:
        """The open conversation of the chat, opened now when there is none (``True``):
        then ``writer``'s own (assigned to them, offered to nobody)."""
        return await self._hub.stream.open_outbound(
            channel, chat_id, client, assignee_id=writer.id
        )
