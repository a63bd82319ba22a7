"""A blocked Telegram client (issue 17, acceptance 7): their new message is stored once (a
webhook retry included), nobody is offered it and the bot says nothing back; unblocked, it is
offered as normal (docs/spam.md)."""

from __future__ import annotations

from aiohttp import web

from hub.appkeys import HUB
from tests.channels.telegram.conftest import connect_bot, post_update, text_update
from tests.fakes.telegram import FakeBotApi
from tests.hub.test_spam import messages_of, settle, supervised_line
from tests.routing.test_router import offer_for
from tests.support.clients import Api, operator_socket
from tests.support.world import visitor_says


async def test_a_blocked_telegram_client_is_stored_once_and_offered_to_nobody(
    fake: FakeBotApi, admin: Api, base_url: str, hub_app: web.Application
) -> None:
    hub = hub_app[HUB]
    world, supervisor = await supervised_line(admin)
    operator = world.operators[0]
    channel = await connect_bot(admin, fake, world.line["id"])
    socket = await operator_socket(base_url, operator.token or "")
    assert await post_update(admin, channel, text_update("Hello", 30)) == 200
    offer = await socket.events.wait("conversation:offered")
    first = offer["conversation"]
    path = f"/api/v1/conversations/{first['id']}"
    await operator.post(f"{path}/accept", expect=200)
    await operator.post(f"{path}/close", expect=200)
    await supervisor.post(f"/api/v1/clients/{first['client']['id']}/block", expect=200)
    await settle(hub)
    sent_before = len(fake.calls_of("sendMessage"))

    update = text_update("Buy followers cheap", 31)
    assert await post_update(admin, channel, update) == 200
    assert await post_update(admin, channel, update) == 200  # Telegram retries the webhook
    # A widget client writing afterwards is offered: the router passed the blocked one by.
    visitor, later = await visitor_says(base_url, world.key, "my turn")
    await offer_for([socket], later["conversation_id"])
    await settle(hub)

    listed = await supervisor.get("/api/v1/conversations?status=queued")
    (blocked,) = [c for c in listed["conversations"] if c["channel"]["id"] == channel["id"]]
    assert blocked["client"]["blocked"] is True and blocked["offered_to"] == []
    assert [m["text"] for m in await messages_of(admin, blocked["id"])] == ["Buy followers cheap"]
    assert len(fake.calls_of("sendMessage")) == sent_before  # no welcome, no queue text
    status, _ = await operator.call("GET", f"/api/v1/conversations/{blocked['id']}")
    assert status == 404

    await supervisor.post(f"/api/v1/clients/{first['client']['id']}/unblock", expect=200)
    await offer_for([socket], blocked["id"])
    await visitor.close()
    await socket.close()
