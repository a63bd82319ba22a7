"""Every conversation change goes through one path: applying it raises ``rev`` by exactly one,
publishes ``ConversationChanged`` with the typed change, and the console hears
``conversation:updated`` with the new ``rev``.

Each case brings a conversation into the state where its change applies (through REST and the
sockets where the contract offers it, else the hub operation), lets the hub settle, then applies
the change once and checks what everyone heard of it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from aiohttp import web

from crm_bridge import CRM
from hub.appkeys import HUB
from hub.events import ConversationChange, ConversationChanged, _Event
from hub.models import SlaKind, utcnow
from hub.services import Hub
from hub.sink import HubSink
from tests.support.clients import Api, SocketClient, operator_socket
from tests.support.world import make_line, visitor_says


@dataclass
class Ctx:
    """One line with two operators (offline, so the router offers nothing by itself), a
    second line, a visitor who wrote, and an admin console listening."""

    app: web.Application
    hub: Hub
    admin: Api
    operators: list[Api]
    line_id: str
    other_line_id: str
    conversation_id: str
    visitor: SocketClient
    console: SocketClient
    published: list[ConversationChanged] = field(default_factory=list)

    def op_id(self, index: int) -> str:
        return ctx_user_id(self.operators[index])

    async def settle(self) -> None:
        """Wait until every subscriber handled everything, including what handlers published."""
        while True:
            published = self.hub.bus.stats.published
            await self.hub.bus.drain()
            if self.hub.bus.stats.published == published:
                return

    async def rev(self) -> int:
        return (await self.hub.conversations.load(self.conversation_id)).rev

    def post(self, index: int, action: str, body: Any = None) -> Awaitable[Any]:
        path = f"/api/v1/conversations/{self.conversation_id}/{action}"
        return self.operators[index].post(path, body)

    async def sink(self) -> tuple[HubSink, str]:
        conversation = await self.hub.conversations.load(self.conversation_id)
        channel = await self.hub.store.channels.get(conversation.channel.id)
        assert channel is not None
        return HubSink(self.hub, channel), conversation.chat_id


def ctx_user_id(api: Api) -> str:
    assert api.user is not None
    return str(api.user["id"])


Step = Callable[[Ctx], Awaitable[Any]]


async def _nothing(ctx: Ctx) -> None:
    return None


async def _offer(ctx: Ctx) -> None:
    conversation = await ctx.hub.conversations.load(ctx.conversation_id)
    expires_at = utcnow() + timedelta(minutes=10)
    assert await ctx.hub.conversations.offer(conversation, [ctx.op_id(0)], expires_at)


async def _expire(ctx: Ctx) -> None:
    conversation = await ctx.hub.conversations.load(ctx.conversation_id)
    assert conversation.offer_expires_at is not None
    assert await ctx.hub.conversations.expire_offer(
        ctx.conversation_id, conversation.offer_expires_at
    )


async def _accept(ctx: Ctx) -> None:
    await ctx.post(0, "accept")


async def _join(ctx: Ctx) -> None:
    await _accept(ctx)
    await ctx.admin.post(f"/api/v1/conversations/{ctx.conversation_id}/join", {"hidden": True})


async def _leave(ctx: Ctx) -> None:
    await ctx.admin.post(f"/api/v1/conversations/{ctx.conversation_id}/leave")


async def _pin(ctx: Ctx) -> None:
    await ctx.post(0, "pin")


async def _accept_and_pin(ctx: Ctx) -> None:
    await _accept(ctx)
    await _pin(ctx)


async def _close(ctx: Ctx) -> None:
    await ctx.post(0, "close")


async def _accept_and_close(ctx: Ctx) -> None:
    await _accept(ctx)
    await _close(ctx)


async def _rate(ctx: Ctx) -> None:
    ack = await ctx.visitor.call("csat:submit", {"rating": 5})
    assert ack["ok"], ack


async def _expire_csat(ctx: Ctx) -> None:
    assert await ctx.hub.conversations.expire_csat(ctx.conversation_id)


async def _link_crm(ctx: Ctx) -> None:
    assert await ctx.app[CRM].linking.link(ctx.conversation_id, lead_id="lead-1")


async def _rename(ctx: Ctx) -> None:
    ack = await ctx.visitor.call("prechat", {"name": "Renamed Visitor"})
    assert ack["ok"], ack


async def _unreachable(ctx: Ctx) -> None:
    sink, chat_id = await ctx.sink()
    await sink.unreachable(chat_id, "blocked the bot")


async def _reachable(ctx: Ctx) -> None:
    sink, chat_id = await ctx.sink()
    await sink.reachable(chat_id)


async def _after_hours(ctx: Ctx) -> None:
    until = utcnow() + timedelta(hours=1)
    assert await ctx.hub.conversations.claim_after_hours(ctx.conversation_id, until)


async def _queue_notice(ctx: Ctx) -> None:
    assert await ctx.hub.conversations.claim_queue_notice(ctx.conversation_id)


SLA_DUE = utcnow() + timedelta(hours=1)


async def _start_clock(ctx: Ctx) -> None:
    due = {SlaKind.FIRST_ANSWER: SLA_DUE}
    assert await ctx.hub.conversations.sla.start(ctx.conversation_id, due, if_stopped=True)


async def _breach(ctx: Ctx) -> None:
    sla = ctx.hub.conversations.sla
    assert await sla.breach(ctx.conversation_id, SlaKind.FIRST_ANSWER, SLA_DUE)


async def _time_answer(ctx: Ctx) -> None:
    assert await ctx.hub.conversations.time_answer(ctx.conversation_id, ctx.op_id(0), SLA_DUE)


# change -> (bring the conversation to where it applies, apply it)
CASES: dict[ConversationChange, tuple[Step, Step]] = {
    ConversationChange.OFFERED: (_nothing, _offer),
    ConversationChange.OFFER_EXPIRED: (_offer, _expire),
    ConversationChange.ASSIGNED: (_nothing, _accept),
    ConversationChange.TRANSFERRED: (
        _accept,
        lambda ctx: ctx.post(0, "transfer", {"to_user_id": ctx.op_id(1)}),
    ),
    ConversationChange.LINE_CHANGED: (
        _accept,
        lambda ctx: ctx.post(0, "transfer", {"to_line_id": ctx.other_line_id}),
    ),
    ConversationChange.RETURNED: (_accept, lambda ctx: ctx.post(0, "return")),
    ConversationChange.INVITED: (
        _accept,
        lambda ctx: ctx.post(0, "invite", {"user_id": ctx.op_id(1)}),
    ),
    ConversationChange.JOINED: (
        _accept,
        lambda ctx: ctx.admin.post(
            f"/api/v1/conversations/{ctx.conversation_id}/join", {"hidden": True}
        ),
    ),
    ConversationChange.LEFT: (_join, _leave),
    ConversationChange.PINNED: (_accept, _pin),
    ConversationChange.UNPINNED: (_accept_and_pin, lambda ctx: ctx.post(0, "unpin")),
    ConversationChange.CLOSED: (_accept, _close),
    ConversationChange.CSAT: (_accept_and_close, _rate),
    ConversationChange.CSAT_EXPIRED: (_accept_and_close, _expire_csat),
    ConversationChange.CRM_LINKED: (_nothing, _link_crm),
    ConversationChange.CLIENT: (_nothing, _rename),
    ConversationChange.CLIENT_UNREACHABLE: (_nothing, _unreachable),
    ConversationChange.CLIENT_REACHABLE: (_unreachable, _reachable),
    ConversationChange.AFTER_HOURS: (_nothing, _after_hours),
    ConversationChange.QUEUE_NOTICE: (_nothing, _queue_notice),
    ConversationChange.SLA: (_nothing, _start_clock),
    ConversationChange.SLA_BREACHED: (_start_clock, _breach),
    ConversationChange.ANSWER_DUE: (_accept, _time_answer),
}


def test_every_change_has_a_case() -> None:
    assert list(CASES) == list(ConversationChange)


@pytest.fixture
async def ctx(
    hub_app: web.Application, base_url: str, admin: Api, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Ctx]:
    hub = hub_app[HUB]
    world = await make_line(admin, operators=2, csat={"enabled": True})
    other = await admin.create_line(operators=[ctx_user_id(world.operators[0])])
    assert admin.token
    console = await operator_socket(base_url, admin.token, online=False)
    visitor, message = await visitor_says(base_url, world.key, "hello")
    context = Ctx(
        app=hub_app,
        hub=hub,
        admin=admin,
        operators=world.operators,
        line_id=world.line["id"],
        other_line_id=other["id"],
        conversation_id=message["conversation_id"],
        visitor=visitor,
        console=console,
    )
    publish = hub.bus.publish

    async def recording(event: _Event) -> None:
        if isinstance(event, ConversationChanged):
            context.published.append(event)
        await publish(event)

    monkeypatch.setattr(hub.bus, "publish", recording)
    yield context
    await visitor.close()
    await console.close()


@pytest.mark.parametrize("change", list(CASES), ids=str)
async def test_a_change_raises_rev_by_one_and_everyone_hears_it(
    ctx: Ctx, change: ConversationChange
) -> None:
    prepare, apply = CASES[change]
    await prepare(ctx)
    await ctx.settle()
    before = await ctx.rev()
    ctx.published.clear()

    await apply(ctx)

    ours = [
        e for e in ctx.published if e.conversation.id == ctx.conversation_id and e.change == change
    ]
    assert len(ours) == 1, [e.change for e in ctx.published]
    event = ours[0]
    assert isinstance(event.change, ConversationChange)
    assert event.detail is None or event.detail.change == change
    # The change itself raised rev by exactly one: it is the first write after ``before``.
    assert event.conversation.rev == before + 1
    assert ctx.published[0] is event
    # The console may have heard the same change before (a CRM rule links a new conversation
    # at once): this one is the copy newer than ``before``.
    heard = await ctx.console.events.wait(
        "conversation:updated",
        lambda d: (
            d["conversation"]["id"] == ctx.conversation_id
            and d["change"] == change.value
            and d["conversation"]["rev"] > before
        ),
    )
    assert heard["conversation"]["rev"] == before + 1
