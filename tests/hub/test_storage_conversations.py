"""The conversation-side repositories: typed filters, conditional updates that one writer
wins, the capacity slot given back once, counters taken up to a limit, pins, threads and
messages stored once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta

import pytest

from hub.models import (
    Author,
    AuthorType,
    ChannelRef,
    ClientInfo,
    Conversation,
    ConversationStatus,
    Direction,
    Message,
    utcnow,
)
from hub.storage.conversations import Order, Where, involving
from hub.store import Store
from tests.support.store import fresh_store


@pytest.fixture
async def store(mongo_url: str, db_name: str) -> AsyncIterator[Store]:
    async with fresh_store(mongo_url, db_name) as store:
        yield store


def _conversation(conversation_id: str, **fields: object) -> Conversation:
    return Conversation.model_validate(
        {
            "id": conversation_id,
            "line_id": "l1",
            "channel": ChannelRef(id="ch", type="widget"),
            "chat_id": f"chat-{conversation_id}",
            "client": ClientInfo(id=f"client-{conversation_id}"),
            **fields,
        }
    )


# --- Where: the filter it stands for (pure) -------------------------------------------------


def test_an_empty_where_matches_everything() -> None:
    assert Where().query() == {}


def test_fields_combine_into_one_filter() -> None:
    where = Where(line_id="l1", statuses=[ConversationStatus.QUEUED], open=True, before_id="c9")
    assert where.query() == {
        "_id": {"$lt": "c9"},
        "line_id": "l1",
        "status": {"$in": ["queued"], "$ne": "closed"},
    }


def test_alternatives_are_all_required() -> None:
    where = Where(line_id="l1", text="a.b", any_of=involving("u1"))
    query = where.query()
    assert query["$and"][0] == {"line_id": "l1"}
    text, staff = query["$and"][1]["$or"], query["$and"][2]["$or"]
    assert {"client.name": {"$regex": r"a\.b", "$options": "i"}} in text  # escaped, not a regex
    assert staff == [
        {"assignee_id": {"$in": ["u1"]}},
        {"participants.user_id": "u1"},
        {"offered_to": "u1"},
    ]


def test_only_alternatives_need_no_and() -> None:
    assert Where(any_of=(Where(ids=["a"]), Where(client_ids=["k"]))).query() == {
        "$or": [{"_id": {"$in": ["a"]}}, {"client.id": {"$in": ["k"]}}]
    }


# --- the repositories against the server ----------------------------------------------------


async def test_matching_orders_limits_and_counts(store: Store) -> None:
    conversations = store.conversations
    for cid, status, assignee in (
        ("c1", ConversationStatus.ACTIVE, "u1"),
        ("c2", ConversationStatus.ACTIVE, "u1"),
        ("c3", ConversationStatus.ACTIVE, "u2"),
        ("c4", ConversationStatus.CLOSED, "u1"),
    ):
        assert await conversations.insert(_conversation(cid, status=status, assignee_id=assignee))
    assert not await conversations.insert(_conversation("c1"))  # there already
    newest = await conversations.matching(Where(open=True), order=Order.NEWEST, limit=2)
    assert [c.id for c in newest] == ["c3", "c2"]
    assert await conversations.count(Where(assignee_ids=["u1"], open=True)) == 2
    assert await conversations.count_by_assignee(Where(open=True)) == {"u1": 2, "u2": 1}
    assert await conversations.get_open("c4") is None
    assert await conversations.status("c4") == ConversationStatus.CLOSED
    light = await conversations.matching(Where(ids=["c1"]), light=True)
    assert light[0].id == "c1" and light[0].last_message is None


async def test_an_update_applies_only_to_the_expected_state(store: Store) -> None:
    conversations = store.conversations
    await conversations.insert(_conversation("c1"))
    queued = {"status": ConversationStatus.QUEUED.value}
    won = await conversations.update("c1", queued, {"$set": {"status": "active"}})
    assert won is not None and won.status == ConversationStatus.ACTIVE
    assert await conversations.update("c1", queued, {"$set": {"status": "offered"}}) is None
    got = await conversations.get("c1")
    assert got is not None and got.status == ConversationStatus.ACTIVE


async def test_a_slot_is_given_back_once(store: Store) -> None:
    await store.conversations.insert(_conversation("c1", load_key="l1:u1"))
    assert await store.conversations.take_load_key("c1") == "l1:u1"
    assert await store.conversations.take_load_key("c1") is None


async def test_counters_are_taken_up_to_the_limit(store: Store) -> None:
    load = store.operator_load
    assert await load.take("l1", "u1", 2)
    assert await load.take("l1", "u1", 2)
    assert not await load.take("l1", "u1", 2)
    await load.give_back("l1:u1")
    assert await load.take("l1", "u1", 2)
    assert await load.take("l1", "u1", None)  # no limit
    (counter,) = await load.of_line("l1")
    assert (counter.user_id, counter.active, counter.v) == ("u1", 3, 5)
    assert counter.last_routed_at is not None
    stale = replace(counter, v=4)  # read before the last take
    assert not await load.correct(stale, 1)
    assert await load.correct(counter, 1)
    assert [c.active for c in await load.in_use()] == [1]


async def test_pins_and_threads(store: Store) -> None:
    await store.pins.pin("l1", "k1", "u1")
    assert await store.pins.operator("l1", "k1") == "u1"
    await store.pins.unpin("l1", "k1")
    assert await store.pins.operator("l1", "k1") is None
    threads = store.open_threads
    assert await threads.claim("ch:chat", "c1") == "c1"
    assert await threads.claim("ch:chat", "c2") == "c1"  # the chat has one open already
    await threads.retire("ch:chat", "other")  # not its conversation: stays
    assert await threads.claim("ch:chat", "c3") == "c1"
    await threads.retire("ch:chat", "c1")
    assert await threads.claim("ch:chat", "c4") == "c4"


def _client_message(text: str) -> Message:
    """The client's first message of conversation c1 (platform id p-1)."""
    return Message(
        conversation_id="c1",
        seq=1,
        channel_id="ch",
        external_id="p-1",
        direction=Direction.IN,
        author=Author(type=AuthorType.CLIENT, id="k1"),
        text=text,
        created_at=utcnow() - timedelta(seconds=1),
    )


async def test_a_message_is_stored_once(store: Store) -> None:
    message = _client_message("hello")
    assert await store.messages.insert(message)
    again = message.model_copy(update={"id": "other", "seq": 2})
    assert not await store.messages.insert(again)  # same platform id
    found = await store.messages.by_external_id("ch", "p-1")
    assert found is not None and found.id == message.id
    edited = await store.messages.edit_text("ch", "p-1", "hello!")
    assert edited is not None and edited.text == "hello!" and edited.edited
    page = await store.messages.seq_range("c1", above=0, below=5, include_hidden=False)
    assert [m.seq for m in page] == [1]


async def test_the_index_follows_an_edit(store: Store) -> None:
    from hub.events import InMemoryBus
    from hub.indexer import SearchIndexer

    indexer = SearchIndexer(store, InMemoryBus())
    message = _client_message("apple pie")
    assert await store.messages.insert(message)
    await indexer.catch_up()
    assert [h.message_id for h in await store.words.starting_with("app", 10)] == [message.id]
    assert await store.messages.to_index(10) == []
    await store.messages.edit_text("ch", "p-1", "banana split")
    await indexer.catch_up()
    assert await store.words.starting_with("app", 10) == []
    assert [h.seq for h in await store.words.starting_with("ban", 10)] == [1]
