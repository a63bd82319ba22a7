"""Group commit (hub/commit.py): messages stored together keep every promise of one at a time.

Fifty senders at once, widget visitors and Telegram chats through their public contracts: every
acknowledged message is stored exactly once, each conversation holds each sender's messages in
the order they were sent, with dense seqs, and the hub did store them in batches. A ``kill -9``
while they are sending loses no acknowledged message. The pure parts (grouping, seqs, the
conversation update of a batch) are checked on their own.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import re
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from hub.commit import Pending, first_of_each, runs, seq_update
from hub.models import Author, AuthorType, Direction, Message, MessageStatus
from hub.storage.conversations import granted_last
from tests.channels.telegram.conftest import PUBLIC_URL, TOKEN, connect_bot
from tests.conftest import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    REDIS_URL,
    Spawn,
    make_settings,
    settings_env,
)
from tests.fakes.telegram import FakeBotApi
from tests.support.api_channel import post_api_message
from tests.support.clients import Api, SocketClient, new_msg_id, visitor_socket
from tests.support.processes import ServeProcess, wait_gone
from tests.support.telegram import chat_update, post_update
from tests.support.world import make_line, visitor_says

VISITORS = 34
CHATS = 4
SENDERS_PER_CHAT = 4  # 34 widget visitors + 4 chats x 4 concurrent webhook senders = 50
MESSAGES_EACH = 5
RATES = {"widget_rate_messages": 100_000, "widget_rate_ip_messages": 1_000_000}


# --- the pure parts ----------------------------------------------------------------------------


def message(
    n: int,
    *,
    direction: Direction = Direction.IN,
    author: AuthorType = AuthorType.CLIENT,
    hidden: bool = False,
) -> Message:
    return Message(
        id=f"m{n}",
        conversation_id="",
        seq=0,
        channel_id="ch",
        external_id=f"e{n}",
        direction=direction,
        author=Author(type=author, id="a", name="A"),
        text=f"text {n}",
        hidden=hidden,
        status=MessageStatus.DELIVERED,
    )


def pending(
    n: int, conversation_id: str, *, only_open: bool = True, external_id: str | None = None
) -> Pending:
    m = message(n)
    if external_id is not None:
        m = m.model_copy(update={"external_id": external_id})
    return Pending(m, conversation_id, only_open, False, None, asyncio.Future())


async def test_a_batch_keeps_the_first_of_each_platform_id_and_sets_the_repeats_aside() -> None:
    batch = [pending(1, "c1"), pending(2, "c1", external_id="e1"), pending(3, "c2")]
    firsts, repeats = first_of_each(batch)
    assert [p.message.id for p in firsts] == ["m1", "m3"]
    assert [p.message.id for p in repeats] == ["m2"]


async def test_runs_are_per_conversation_in_arrival_order_cut_where_only_open_changes() -> None:
    batch = [
        pending(1, "c1"),
        pending(2, "c2"),
        pending(3, "c1"),
        pending(4, "c1", only_open=False),
        pending(5, "c1"),
        pending(6, "c2"),
    ]
    assert [[p.message.id for p in run] for run in runs(batch)] == [
        ["m1", "m3"],
        ["m4"],
        ["m5"],
        ["m2", "m6"],
    ]


def test_a_grant_is_found_under_the_grants_that_came_after_it() -> None:
    grants = [{"by": "a:1:0", "n": 2}, {"by": "b:7:0", "n": 3}, {"by": "a:2:0", "n": 1}]
    doc = {"last_seq": 9, "seq_grants": grants}
    assert granted_last(doc, "a:2:0") == 9
    assert granted_last(doc, "b:7:0") == 8  # seqs 6-8: a:2:0 took 9 after it
    assert granted_last(doc, "a:1:0") == 5
    assert granted_last(doc, "c:1:0") is None  # not matched, or pushed out of the list
    assert granted_last({"last_seq": 4}, "a:1:0") is None


def test_the_batch_update_is_what_one_message_after_the_other_would_leave() -> None:
    inbound = [message(1), message(2), message(3)]
    update = seq_update(inbound)
    assert update["$inc"] == {"rev": 3, "unread": 3}
    assert update["$set"]["last_message"]["id"] == "m3"
    assert "unread" not in update["$set"]

    operator = {"direction": Direction.OUT, "author": AuthorType.OPERATOR}
    mixed = [message(1), message(2, **operator), message(3), message(4, hidden=True, **operator)]
    update = seq_update(mixed)
    # The operator's public answer read everything before it; the hidden note is no answer.
    assert update["$set"]["unread"] == 1 and "unread" not in update["$inc"]
    assert update["$set"]["last_message"]["id"] == "m3"

    system = message(5, direction=Direction.SYSTEM, author=AuthorType.SYSTEM)
    update = seq_update([system])
    assert "last_message" not in update["$set"] and "unread" not in update["$inc"]


# --- through the public contract ---------------------------------------------------------------


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotApi]:
    api = await FakeBotApi().start()
    api.add_bot(TOKEN)
    yield api
    await api.close()


async def all_messages(api: Api) -> list[dict[str, Any]]:
    """Every message of every conversation, page by page (pages are ``seq`` ranges)."""
    conversations = (await api.get("/api/v1/conversations?limit=200"))["conversations"]
    messages: list[dict[str, Any]] = []
    for conversation in conversations:
        after = 0
        while True:
            path = f"/api/v1/conversations/{conversation['id']}/messages?after={after}&limit=200"
            page = (await api.get(path))["messages"]
            if not page:
                break
            messages += page
            after = page[-1]["seq"]
    return messages


async def batch_figures(api: Api) -> tuple[float, float]:
    """(group commits, messages they stored) from the process's ``/metrics``."""
    _, text = await api.call("GET", "/metrics")
    count = re.search(r"^openlines_commit_batch_messages_count (\S+)$", text, re.M)
    total = re.search(r"^openlines_commit_batch_messages_sum (\S+)$", text, re.M)
    assert count and total, text
    return float(count.group(1)), float(total.group(1))


@dataclass
class Sent:
    sender: str
    text: str
    resend: Callable[[str], Awaitable[None]]
    acked: bool = False


@dataclass
class Senders:
    """Widget visitors and Telegram webhook senders, each sending one message after the other
    (the next once the previous was answered), all of them at once."""

    url: str
    http: aiohttp.ClientSession
    key: str
    telegram: Any
    visitors: list[tuple[SocketClient, str]] = field(default_factory=list)
    sent: list[Sent] = field(default_factory=list)
    enough: asyncio.Event = field(default_factory=asyncio.Event)
    stop_after_acked: int = 0

    def _note(self, sent: Sent, ok: bool) -> bool:
        sent.acked = ok
        if self.stop_after_acked and sum(s.acked for s in self.sent) >= self.stop_after_acked:
            self.enough.set()
        return ok

    async def visitor(self, index: int, messages: int | None) -> None:
        socket, token = self.visitors[index]
        for n in itertools.count(1) if messages is None else range(1, messages + 1):
            text, msg_id = f"w{index}-{n}", new_msg_id()

            async def resend(url: str, text: str = text, msg_id: str = msg_id) -> None:
                again = await visitor_socket(url, self.key, token)
                ack = await again.call("message:send", {"text": text, "client_msg_id": msg_id})
                assert ack["ok"], ack
                await again.close()

            sent = Sent(f"w{index}", text, resend)
            self.sent.append(sent)
            ack = await socket.call("message:send", {"text": text, "client_msg_id": msg_id})
            if not self._note(sent, bool(ack.get("ok"))):
                return

    async def webhook(self, chat: int, sender: int, messages: int | None) -> None:
        for n in itertools.count(1) if messages is None else range(1, messages + 1):
            update = chat_update(chat, n, sender=sender)

            async def resend(url: str, update: Any = update) -> None:
                assert await post_update(self.http, url, self.telegram, update) == 200

            sent = Sent(f"t{chat}-{sender}", update["message"]["text"], resend)
            self.sent.append(sent)
            status = await post_update(self.http, self.url, self.telegram, update)
            if not self._note(sent, status == 200):
                return

    def all_at_once(self, messages: int | None) -> list[asyncio.Task[None]]:
        return [
            *(asyncio.create_task(self.visitor(v, messages)) for v in range(len(self.visitors))),
            *(
                asyncio.create_task(self.webhook(chat, sender, messages))
                for chat in range(CHATS)
                for sender in range(SENDERS_PER_CHAT)
            ),
        ]


async def senders_of(url: str, http: aiohttp.ClientSession, fake: FakeBotApi) -> Senders:
    admin = await Api(url, http).login(ADMIN_EMAIL, ADMIN_PASSWORD)
    world = await make_line(admin)
    telegram = await connect_bot(admin, fake, world.line["id"])
    senders = Senders(url, http, world.key, telegram)
    for _ in range(VISITORS):
        socket = await visitor_socket(url, world.key)
        senders.visitors.append((socket, (await socket.events.wait("session"))["token"]))
    return senders


def check_stored(sent: list[Sent], messages: list[dict[str, Any]]) -> None:
    """Exactly once (and no client message nobody sent), each sender's order within its
    conversation, dense seqs."""
    stored = Counter(m["text"] for m in messages)
    not_once = [s.text for s in sent if stored[s.text] != 1]
    assert not not_once, not_once
    texts = {s.text for s in sent}
    unsent = [m["text"] for m in messages if m["direction"] == "in" and m["text"] not in texts]
    assert not unsent, unsent

    by_conversation: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for m in messages:
        by_conversation[m["conversation_id"]].append(m)
    order = {s.text: i for i, s in enumerate(sent)}
    sender_of = {s.text: s.sender for s in sent}
    for conversation_id, conversation in by_conversation.items():
        seqs = sorted(m["seq"] for m in conversation)
        assert seqs == list(range(1, len(seqs) + 1)), (conversation_id, seqs)
        by_sender: dict[str, list[int]] = defaultdict(list)
        for m in sorted(conversation, key=lambda m: m["seq"]):
            if m["text"] in sender_of:
                by_sender[sender_of[m["text"]]].append(order[m["text"]])
        for sender, sent_order in by_sender.items():
            assert sent_order == sorted(sent_order), (conversation_id, sender)


@pytest.mark.settings(public_url=PUBLIC_URL, **RATES)
async def test_fifty_concurrent_senders_are_stored_once_in_order_with_dense_seqs_in_batches(
    base_url: str, fake: FakeBotApi
) -> None:
    async with aiohttp.ClientSession() as http:
        senders = await senders_of(base_url, http, fake)
        admin = await Api(base_url, http).login(ADMIN_EMAIL, ADMIN_PASSWORD)
        commits_before, stored_before = await batch_figures(admin)

        await asyncio.gather(*senders.all_at_once(MESSAGES_EACH))

        assert all(s.acked for s in senders.sent), [s.text for s in senders.sent if not s.acked]
        assert len(senders.sent) == (VISITORS + CHATS * SENDERS_PER_CHAT) * MESSAGES_EACH
        commits, stored = await batch_figures(admin)
        # Every message went through the group commit (the line's own texts too), and fewer
        # commits stored them.
        assert stored - stored_before >= len(senders.sent)
        assert commits - commits_before < len(senders.sent), (commits, stored)
        check_stored(senders.sent, await all_messages(admin))
        for socket, _ in senders.visitors:
            await socket.close()


def posted(message_id: str, text: str) -> dict[str, Any]:
    return {
        "message_id": message_id,
        "chat_id": "chat-1",
        "sender": {"id": "user-1", "name": "Ann"},
        "text": text,
    }


async def test_concurrent_retries_of_a_platform_message_are_stored_once_with_no_seq_gap(
    admin: Api,
) -> None:
    world = await make_line(admin)
    channel = await admin.create_channel(world.line["id"], "api", {})
    status, body = await post_api_message(admin, channel, posted("a", "A"))
    assert status == 200, body  # the chat is remembered now: its dedupe goes with the batch
    sends = [posted(m, m.upper()) for m in ("b", "c", "b", "d", "c", "b", "c", "d")]
    results = await asyncio.gather(*(post_api_message(admin, channel, p) for p in sends))
    assert all(status == 200 for status, _ in results), results

    (conversation,) = (await admin.get(f"/api/v1/conversations?line_id={world.line['id']}"))[
        "conversations"
    ]
    messages = await all_messages(admin)
    assert sorted(m["text"] for m in messages if m["direction"] == "in") == ["A", "B", "C", "D"]
    seqs = sorted(m["seq"] for m in messages)
    assert seqs == list(range(1, len(seqs) + 1))
    assert conversation["unread"] == 4


async def test_concurrent_repeats_of_a_staff_reply_are_one_message(
    base_url: str, admin: Api
) -> None:
    world = await make_line(admin)
    visitor, first = await visitor_says(base_url, world.key, "hello")
    conversation_id = first["conversation_id"]
    await admin.post(f"/api/v1/conversations/{conversation_id}/accept", expect=200)
    path = f"/api/v1/conversations/{conversation_id}/messages"
    body = {"text": "once", "client_msg_id": new_msg_id()}
    answers = await asyncio.gather(*(admin.call("POST", path, body) for _ in range(6)))
    assert sorted(status for status, _ in answers) == [200] * 5 + [201], answers
    assert len({answer["id"] for _, answer in answers}) == 1

    messages = (await admin.get(path))["messages"]
    assert [m["text"] for m in messages if m["author"]["type"] == "operator"] == ["once"]
    seqs = [m["seq"] for m in messages]
    assert seqs == list(range(1, len(seqs) + 1))
    (row,) = [m for m in messages if m["text"] == "once"]
    assert row["status"] in {"pending", "sent"}  # its one outbox row delivers it
    await visitor.close()


async def test_two_processes_writing_into_the_same_conversations_keep_them_dense_and_in_order(
    mongo_url: str, db_name: str, tmp_path: Path, spawn: Spawn, fake: FakeBotApi
) -> None:
    """Each process takes seqs for its batches in one write; the ranges it reads back are its
    own even while the other process takes seqs of the same conversations."""
    env = settings_env(
        make_settings(
            mongo_url,
            db_name,
            tmp_path / "data",
            public_url=PUBLIC_URL,
            redis_url=REDIS_URL,
            **RATES,
        )
    )
    nodes = [await spawn(env, "a"), await spawn(env, "b")]
    async with aiohttp.ClientSession() as http:
        admin = await Api(nodes[0].url, http).login(ADMIN_EMAIL, ADMIN_PASSWORD)
        world = await make_line(admin)
        telegram = await connect_bot(admin, fake, world.line["id"])
        sent: list[Sent] = []

        async def again(url: str) -> None:
            raise AssertionError(f"nothing is sent again ({url})")

        for chat in range(CHATS):
            update = chat_update(chat, 1)
            assert await post_update(http, nodes[0].url, telegram, update) == 200
            sent.append(Sent("opener", update["message"]["text"], again))
        conversations = (await admin.get("/api/v1/conversations?limit=200"))["conversations"]
        assert len(conversations) == CHATS
        for conversation in conversations:
            await admin.post(f"/api/v1/conversations/{conversation['id']}/accept", expect=200)

        async def client(chat: int, sender: int) -> None:
            url = nodes[sender % 2].url  # the chat's senders alternate between the processes
            for n in range(1, MESSAGES_EACH + 1):
                update = chat_update(chat, n, sender=sender)
                sent.append(Sent(f"t{chat}-{sender}", update["message"]["text"], again))
                assert await post_update(http, url, telegram, update) == 200

        async def operator(node: int) -> None:
            api = Api(nodes[node].url, http, admin.token)
            for n in range(MESSAGES_EACH * 2):
                conversation_id = conversations[n % CHATS]["id"]
                body = {"text": f"r{node}-{n}", "client_msg_id": new_msg_id()}
                sent.append(Sent(f"r{node}", body["text"], again))
                await api.post(f"/api/v1/conversations/{conversation_id}/messages", body)

        await asyncio.gather(
            *(client(chat, sender) for chat in range(CHATS) for sender in range(1, 5)),
            operator(0),
            operator(1),
        )
        messages = await all_messages(admin)
        check_stored(sent, messages)
        per_conversation = Counter(m["conversation_id"] for m in messages)
        for conversation in conversations:
            stored = await admin.get(f"/api/v1/conversations/{conversation['id']}")
            assert stored["last_seq"] == per_conversation[stored["id"]]


# --- a crash mid-batch ------------------------------------------------------------------------

KILL_AFTER_ACKED = 200


def hub_env(data_dir: Path) -> dict[str, str]:
    return settings_env(make_settings(None, "openlines", data_dir, public_url=PUBLIC_URL, **RATES))


async def test_kill_9_while_fifty_senders_write_loses_no_acknowledged_message(
    tmp_path: Path, spawn: Spawn, fake: FakeBotApi, capsys: pytest.CaptureFixture[str]
) -> None:
    env = hub_env(tmp_path / "data")
    first: ServeProcess = await spawn(env, "before")
    async with aiohttp.ClientSession() as http:
        senders = await senders_of(first.url, http, fake)
        senders.stop_after_acked = KILL_AFTER_ACKED
        tasks = senders.all_at_once(None)
        await asyncio.wait_for(senders.enough.wait(), 120)
        admin = await Api(first.url, http).login(ADMIN_EMAIL, ADMIN_PASSWORD)
        commits, stored = await batch_figures(admin)
        database = first.embedded_mongo_pid()
        await first.kill()  # with the senders still going: batches in flight
        await wait_gone(database, timeout_s=30)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for socket, _ in senders.visitors:
            with contextlib.suppress(Exception):
                await socket.close()

        second = await spawn(env, "after")
        unacked = [s for s in senders.sent if not s.acked]
        for sent in unacked:
            await sent.resend(second.url)
        admin = await Api(second.url, http).login(ADMIN_EMAIL, ADMIN_PASSWORD)
        messages = await all_messages(admin)
        counts = Counter(m["text"] for m in messages if m["direction"] == "in")
        acked = [s for s in senders.sent if s.acked]
        lost = [s.text for s in acked if counts[s.text] == 0]
        duplicated = [text for text, count in counts.items() if count > 1]
        with capsys.disabled():
            print(  # noqa: T201 -- the suite's figures belong in the CI log
                f"\ngroup commit crash: acked={len(acked)} unacked={len(unacked)} "
                f"stored={sum(counts.values())} lost={len(lost)} duplicated={len(duplicated)} "
                f"commits before the kill={commits:.0f} for {stored:.0f} messages"
            )
        assert commits < stored  # the load was stored in batches when it was killed
        assert not lost and not duplicated, (lost, duplicated)
        assert all(counts[s.text] == 1 for s in senders.sent)
        await second.stop()
