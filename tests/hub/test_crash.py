"""The crash suite: ``kill -9`` of the hub, and of its embedded database, under widget and
Telegram load, then a plain restart with no hand work.

After the restart every acknowledged message is stored exactly once; what was not acknowledged
is sent again the way a client or platform would (the widget resends its ``client_msg_id``,
Telegram the same update) and is stored once too; every operator reply ends ``sent`` or
``failed``. Each scenario prints its figures (acked / stored / duplicated / lost / replies).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import signal
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.channels.telegram.conftest import PUBLIC_URL, TOKEN, connect_bot
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Spawn, make_settings, settings_env
from tests.fakes.telegram import FakeBotApi
from tests.support.clients import Api, SocketClient, new_msg_id, visitor_socket
from tests.support.processes import ServeProcess, wait_gone
from tests.support.telegram import chat_update, post_update
from tests.support.waiting import eventually
from tests.support.world import LineWorld, make_line

VISITORS = 4
CHATS = 4
# Killed once this many inbound messages were acknowledged: a few hundred over the suite.
KILL_AFTER_ACKED = 150
# A reply the dead process had taken to send comes back after this lease, not the default 60 s.
OUTBOX_LEASE_S = 5.0


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotApi]:
    api = await FakeBotApi().start()
    api.add_bot(TOKEN)
    yield api
    await api.close()


@dataclass
class Sent:
    """One message a client, a platform or an operator sent, and whether the hub said yes."""

    text: str
    resend: Callable[[ServeProcess], Awaitable[None]]
    acked: bool = False


@dataclass
class Load:
    """Widget visitors, Telegram chats and an operator's replies, each sending one message
    after the other until it is cancelled (or the hub stops answering)."""

    hub: ServeProcess
    http: aiohttp.ClientSession
    admin: Api
    world: LineWorld
    telegram: dict[str, Any]
    chats: list[str]  # the Telegram conversations the operator answers
    visitors: list[tuple[SocketClient, str]] = field(default_factory=list)  # socket, token
    inbound: list[Sent] = field(default_factory=list)
    replies: list[Sent] = field(default_factory=list)
    enough: asyncio.Event = field(default_factory=asyncio.Event)

    def acked(self) -> int:
        return sum(sent.acked for sent in self.inbound)

    def _note(self, sent: Sent, ok: bool) -> bool:
        sent.acked = ok
        if self.acked() >= KILL_AFTER_ACKED:
            self.enough.set()
        return ok

    async def visitor(self, index: int) -> None:
        socket, token = self.visitors[index]
        for n in itertools.count(1):
            text, msg_id = f"w{index}-{n}", new_msg_id()

            async def resend(hub: ServeProcess, text: str = text, msg_id: str = msg_id) -> None:
                again = await visitor_socket(hub.url, self.world.key, token)
                ack = await again.call("message:send", {"text": text, "client_msg_id": msg_id})
                assert ack["ok"], ack
                await again.close()

            sent = Sent(text, resend)
            self.inbound.append(sent)
            ack = await socket.call("message:send", {"text": text, "client_msg_id": msg_id})
            if not self._note(sent, bool(ack.get("ok"))):
                return

    async def chat(self, index: int) -> None:
        # Message 1 opened the conversation before the load started.
        for n in itertools.count(2):
            update = chat_update(index, n)

            async def resend(hub: ServeProcess, update: dict[str, Any] = update) -> None:
                assert await post_update(self.http, hub.url, self.telegram, update) == 200

            sent = Sent(update["message"]["text"], resend)
            self.inbound.append(sent)
            status = await post_update(self.http, self.hub.url, self.telegram, update)
            if not self._note(sent, status == 200):
                return

    async def operator(self) -> None:
        for n in itertools.count(1):
            conversation_id = self.chats[n % len(self.chats)]
            body = {"text": f"r{n}", "client_msg_id": new_msg_id()}
            path = f"/api/v1/conversations/{conversation_id}/messages"

            async def resend(hub: ServeProcess, path: str = path, body: Any = body) -> None:
                await Api(hub.url, self.http, self.admin.token).post(path, body)

            sent = Sent(body["text"], resend)
            self.replies.append(sent)
            status, _ = await self.admin.call("POST", path, body)
            sent.acked = status in {200, 201}
            if not sent.acked:
                return


async def prepared_load(hub: ServeProcess, http: aiohttp.ClientSession, fake: FakeBotApi) -> Load:
    admin = await Api(hub.url, http).login(ADMIN_EMAIL, ADMIN_PASSWORD)
    world = await make_line(admin)
    telegram = await connect_bot(admin, fake, world.line["id"])
    for chat in range(CHATS):
        assert await post_update(http, hub.url, telegram, chat_update(chat, 1)) == 200
    chats = [c["id"] for c in await all_conversations(admin)]
    for conversation_id in chats:
        await admin.post(f"/api/v1/conversations/{conversation_id}/accept", expect=200)
    load = Load(hub, http, admin, world, telegram, chats)
    for _ in range(VISITORS):
        socket = await visitor_socket(hub.url, world.key)
        load.visitors.append((socket, (await socket.events.wait("session"))["token"]))
    return load


async def all_conversations(api: Api) -> list[dict[str, Any]]:
    return (await api.get("/api/v1/conversations?limit=200"))["conversations"]  # type: ignore[no-any-return]


async def all_messages(api: Api) -> list[dict[str, Any]]:
    """Every message of every conversation, page by page (pages are ``seq`` ranges)."""
    messages: list[dict[str, Any]] = []
    for conversation in await all_conversations(api):
        after = 0
        while True:
            path = f"/api/v1/conversations/{conversation['id']}/messages?after={after}&limit=200"
            page = (await api.get(path))["messages"]
            if not page:
                break
            messages += page
            after = page[-1]["seq"]
    return messages


def hub_env(data_dir: Path) -> dict[str, str]:
    """The embedded default (no MongoDB URL), with limits the bounded load stays under."""
    settings = make_settings(
        None,
        "openlines",
        data_dir,
        public_url=PUBLIC_URL,
        outbox_lease_s=OUTBOX_LEASE_S,
        widget_rate_messages=10_000,
        widget_rate_ip_messages=100_000,
    )
    return settings_env(settings)


async def crash_and_restart(
    crash: Callable[[ServeProcess], Awaitable[None]],
    scenario: str,
    tmp_path: Path,
    spawn: Spawn,
    fake: FakeBotApi,
    capsys: pytest.CaptureFixture[str],
) -> None:
    env = hub_env(tmp_path / "data")
    first = await spawn(env, "before")
    async with aiohttp.ClientSession() as http:
        load = await prepared_load(first, http, fake)
        senders = [
            *(asyncio.create_task(load.visitor(v)) for v in range(VISITORS)),
            *(asyncio.create_task(load.chat(c)) for c in range(CHATS)),
            asyncio.create_task(load.operator()),
        ]
        await asyncio.wait_for(load.enough.wait(), 60)
        await crash(first)
        # Whatever had no answer by now has none: the client or platform will send it again.
        for task in senders:
            task.cancel()
        for task in senders:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for socket, _ in load.visitors:
            await socket.close()

        second = await spawn(env, "after")  # a plain restart: nobody cleaned anything up
        admin = Api(second.url, http, load.admin.token)
        unacked = [s for s in load.inbound + load.replies if not s.acked]
        for sent in unacked:
            await sent.resend(second)

        stored = Counter(m["text"] for m in await all_messages(admin) if m["direction"] == "in")
        acked = [s for s in load.inbound if s.acked]
        lost = [s.text for s in acked if stored[s.text] == 0]
        duplicated = [text for text, count in stored.items() if count > 1]
        not_once = [s.text for s in load.inbound if stored[s.text] != 1]

        async def replies() -> list[dict[str, Any]]:
            return [m for m in await all_messages(admin) if m["author"]["type"] == "operator"]

        final = await eventually(
            replies,
            lambda rs: all(r["status"] in {"sent", "failed"} for r in rs),
            timeout_s=OUTBOX_LEASE_S + 25,
            interval_s=0.5,
        )
        statuses = Counter(r["status"] for r in final)
        reply_counts = Counter(r["text"] for r in final)
        with capsys.disabled():
            print(  # noqa: T201 -- the suite's figures belong in the CI log
                f"\ncrash ({scenario}): acked={len(acked)} unacked={len(unacked)} "
                f"stored={sum(stored.values())} duplicated={len(duplicated)} lost={len(lost)} "
                f"replies sent={statuses['sent']} failed={statuses['failed']}"
            )
        assert not lost and not duplicated and not not_once, (lost, duplicated, not_once)
        assert all(reply_counts[s.text] == 1 for s in load.replies), reply_counts
        await second.stop()


async def test_kill_9_of_the_hub_takes_its_database_along_and_a_restart_loses_nothing(
    tmp_path: Path, spawn: Spawn, fake: FakeBotApi, capsys: pytest.CaptureFixture[str]
) -> None:
    async def kill_the_hub(hub: ServeProcess) -> None:
        database = hub.embedded_mongo_pid()
        await hub.kill()
        # Nobody stops it: the embedded database notices its hub is gone and stops.
        await wait_gone(database, timeout_s=30)

    await crash_and_restart(kill_the_hub, "kill -9 hub", tmp_path, spawn, fake, capsys)


async def test_kill_9_of_the_database_stops_the_hub_and_a_restart_loses_nothing(
    tmp_path: Path, spawn: Spawn, fake: FakeBotApi, capsys: pytest.CaptureFixture[str]
) -> None:
    async def kill_the_database(hub: ServeProcess) -> None:
        os.kill(hub.embedded_mongo_pid(), signal.SIGKILL)
        # Without its database the hub stops by itself, and says it failed.
        assert await hub.stop_when_exited(timeout_s=30) != 0

    await crash_and_restart(kill_the_database, "kill -9 database", tmp_path, spawn, fake, capsys)
