"""Auto-close after client silence costs nothing while the client talks: the timer is touched
only by the first client message after a reply, and one left set never closes a conversation
whose client wrote since (a cancel lost between processes, or to coalescing). Client messages
stored together (group commit) cancel it as one stored alone does."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from aiohttp import web

from hub.appkeys import HUB
from hub.models import Inbound, Sender, utcnow
from routing.router import AUTO_CLOSE
from tests.routing.test_router import online_operators
from tests.support.clients import Api, SocketClient, new_msg_id
from tests.support.waiting import eventually
from tests.support.world import LineWorld, make_line, visitor_says


async def test_a_client_who_wrote_after_the_reply_is_not_auto_closed(
    base_url: str, admin: Api, hub_app: web.Application
) -> None:
    hub = hub_app[HUB]
    _, visitor, operator, cid = await _answered(
        base_url, admin, hub_app, auto_close_after_s=1, messages={"auto_close": "Bye."}
    )
    ack = await visitor.call(
        "message:send", {"text": "Yes, one more", "client_msg_id": new_msg_id()}
    )
    assert ack["ok"]
    await eventually(lambda: hub.store.timers.get(AUTO_CLOSE, cid), lambda t: t is None)

    # A timer that outlived the client's message (its cancel went missing) fires, and leaves
    # the conversation open: the client is waiting for an answer, not silent.
    await hub.timers.set(AUTO_CLOSE, cid, utcnow() - timedelta(seconds=1))
    await eventually(lambda: hub.store.timers.get(AUTO_CLOSE, cid), lambda t: t is None)
    conversation = await admin.get(f"/api/v1/conversations/{cid}")
    assert conversation["status"] == "active"

    # Once the operator answers again and the client stays silent, it closes as before.
    await operator.call("message:send", {"conversation_id": cid, "text": "Done?"})
    await visitor.events.wait("conversation:closed", timeout_s=10)
    closed = await admin.get(f"/api/v1/conversations/{cid}")
    assert closed["close_reason"] == "auto"
    await visitor.close()
    await operator.close()


async def test_a_talking_client_reads_no_line_after_the_first(
    base_url: str, admin: Api, hub_app: web.Application
) -> None:
    hub = hub_app[HUB]
    world = await make_line(admin)
    visitor, _ = await visitor_says(base_url, world.key, "first")
    await hub.bus.drain()
    reads = hub.store.lines.reads
    for n in range(10):
        ack = await visitor.call("message:send", {"text": f"m{n}", "client_msg_id": new_msg_id()})
        assert ack["ok"]
    await hub.bus.drain()
    assert hub.store.lines.reads == reads
    await visitor.close()


async def test_client_messages_stored_in_one_batch_after_the_reply_cancel_the_timer(
    base_url: str, admin: Api, hub_app: web.Application
) -> None:
    hub = hub_app[HUB]
    world, visitor, operator, cid = await _answered(
        base_url, admin, hub_app, auto_close_after_s=3600
    )

    # Three messages of the visitor at once: the group commit stores them in one batch, so
    # each one's event carries the conversation as the batch left it (three unread).
    conversation = await hub.store.conversations.get(cid)
    channel = await hub.stream.channel(world.widget["id"])
    assert conversation is not None and channel is not None
    sender = Sender(external_id=conversation.chat_id)
    stored = await asyncio.gather(
        *(
            hub.stream.ingest(
                Inbound(
                    channel_id=channel.id,
                    chat_id=conversation.chat_id,
                    external_id=f"cmid:{conversation.chat_id}:{new_msg_id()}",
                    sender=sender,
                    text=f"and {n}",
                ),
                channel,
            )
            for n in range(3)
        )
    )
    assert {s.conversation.last_seq for s in stored} == {max(s.message.seq for s in stored)}
    assert {s.conversation.unread for s in stored} == {3}

    await hub.bus.drain()
    assert await hub.store.timers.get(AUTO_CLOSE, cid) is None
    await visitor.close()
    await operator.close()


async def _answered(
    base_url: str, admin: Api, hub_app: web.Application, **line: Any
) -> tuple[LineWorld, SocketClient, SocketClient, str]:
    """A visitor's conversation on a new line, accepted and answered by its operator: the
    reply has set the auto-close timer."""
    hub = hub_app[HUB]
    world = await make_line(admin, **line)
    (operator,) = await online_operators(base_url, world)
    visitor, message = await visitor_says(base_url, world.key, "question")
    cid = message["conversation_id"]
    await operator.events.wait("conversation:offered")
    assert (await operator.call("conversation:accept", {"id": cid}))["ok"]
    await operator.call("message:send", {"conversation_id": cid, "text": "Anything else?"})
    await eventually(lambda: hub.store.timers.get(AUTO_CLOSE, cid), lambda t: t is not None)
    return world, visitor, operator, cid
