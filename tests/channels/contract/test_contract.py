"""The channel contract: every channel kind — widget, api, telegram, vk, email — through the
same cases (issue 14, item 5). How each kind delivers, rate-limits and receives lives in its
provider (``providers.py``); a behaviour a platform does not have is recorded as not applicable,
with the provider's reason, never skipped to green.

Nothing here sleeps: the hub's state is read back through REST until it holds (the outbox
and the platforms have no event a test could wait on), and absence (a duplicate not stored,
a hidden message not sent) is checked after a later message has gone all the way through.
"""

from __future__ import annotations

import uuid
from typing import Any, get_args, get_origin

import pytest

from hub.channels import Parsed
from tests.channels.contract.providers import (
    FIXTURES,
    NOT_APPLICABLE,
    PROVIDERS,
    Behaviour,
    ParseCase,
    Provider,
    conversations_of,
)
from tests.support.clients import Api
from tests.support.platform import thread_of
from tests.support.waiting import eventually

# The outbox's due times are stored in MongoDB with millisecond precision.
CLOCK_SLACK_S = 0.005
# The words of the port's vocabulary, as classes (``NewMessage[Any]`` is ``NewMessage``).
PORT_WORDS = tuple(get_origin(word) or word for word in get_args(Parsed))


def _attribute(value: Any, path: str) -> Any:
    for name in path.split("."):
        value = getattr(value, name)
    return value


@pytest.mark.parametrize(
    ("kind", "case"),
    [(kind, case) for kind in PROVIDERS for case in kind.parse_cases],
    ids=[f"{kind.kind}-{case.fixture}" for kind in PROVIDERS for case in kind.parse_cases],
)
def test_fixtures_parse_to_the_expected_inbound(kind: type[Provider], case: ParseCase) -> None:
    parsed = kind.parse((FIXTURES / kind.kind / case.fixture).read_bytes())
    assert isinstance(parsed, case.yields), parsed
    got = {path: _attribute(parsed, path) for path in case.expected}
    assert got == dict(case.expected)


@pytest.mark.parametrize("kind", PROVIDERS, ids=[p.kind for p in PROVIDERS])
def test_every_kind_has_fixtures_and_reasons_for_what_it_lacks(kind: type[Provider]) -> None:
    """A new channel brings payloads of its own; what it declares absent says why."""
    assert kind.parse_cases, f"{kind.kind}: no parse cases"
    for case in kind.parse_cases:
        assert (FIXTURES / kind.kind / case.fixture).is_file(), case
    for behaviour, reason in kind.not_applicable.items():
        assert isinstance(behaviour, Behaviour) and len(reason) > 20, (behaviour, reason)


_PAYLOADS = [
    (kind, path.name) for kind in PROVIDERS for path in sorted((FIXTURES / kind.kind).iterdir())
]


@pytest.mark.parametrize(
    ("kind", "fixture"), _PAYLOADS, ids=[f"{kind.kind}-{name}" for kind, name in _PAYLOADS]
)
def test_every_payload_of_a_kind_parses(kind: type[Provider], fixture: str) -> None:
    """Pure, and total over the kind's real payloads: none makes its parse raise. A platform's
    parse yields a word of the port's one vocabulary (``hub.channels.Parsed``), no type of
    its own; the widget is the hub's own socket, whose events are validated models."""
    parsed = kind.parse((FIXTURES / kind.kind / fixture).read_bytes())
    assert parsed is not None
    if kind.kind != "widget":
        assert isinstance(parsed, PORT_WORDS), parsed


def _not_applicable(provider: Provider, behaviour: Behaviour, record_property: Any) -> bool:
    """Whether the provider's platform lacks ``behaviour``: recorded in the report with the
    reason (``record_property``), and the case has nothing to check for this kind."""
    reason = provider.not_applicable.get(behaviour)
    if reason is None:
        return False
    record_property(NOT_APPLICABLE, f"{provider.kind}: {behaviour.value}: {reason}")
    return True


async def _conversation(provider: Provider, admin: Api) -> str:
    [conversation] = await eventually(
        lambda: conversations_of(provider, admin), lambda found: len(found) == 1
    )
    return str(conversation["id"])


async def _has(admin: Api, conversation_id: str, text: str) -> list[dict[str, Any]]:
    """The thread once a message with ``text`` is in it."""
    return await eventually(
        lambda: thread_of(admin, conversation_id),
        lambda thread: any(m["text"] == text for m in thread),
    )


async def _accepted_conversation(provider: Provider, admin: Api) -> str:
    await provider.client_says("hello there", "first")
    conversation_id = await _conversation(provider, admin)
    await _has(admin, conversation_id, "hello there")
    await admin.post(f"/api/v1/conversations/{conversation_id}/accept", expect=200)
    return conversation_id


async def _reply(admin: Api, conversation_id: str, text: str, **fields: Any) -> dict[str, Any]:
    path = f"/api/v1/conversations/{conversation_id}/messages"
    body: dict[str, Any] = {"text": text, **fields}
    message: dict[str, Any] = await admin.post(path, body, expect=201)
    return message


async def _settled(admin: Api, conversation_id: str, message_id: str) -> dict[str, Any]:
    """The message once its delivery ended (``sent`` or ``failed``)."""
    thread = await eventually(
        lambda: thread_of(admin, conversation_id),
        lambda t: any(m["id"] == message_id and m["status"] in ("sent", "failed") for m in t),
    )
    return next(m for m in thread if m["id"] == message_id)


async def test_a_reply_is_delivered_and_ends_sent(provider: Provider, admin: Api) -> None:
    conversation_id = await _accepted_conversation(provider, admin)
    text = f"reply {uuid.uuid4().hex[:8]}"
    reply = await _reply(admin, conversation_id, text)
    settled = await _settled(admin, conversation_id, reply["id"])
    assert settled["status"] == "sent", settled
    assert provider.received().count(text) == 1, provider.received()


async def test_a_platform_rate_limit_is_retried_after_its_delay(
    provider: Provider, admin: Api, record_property: Any
) -> None:
    if _not_applicable(provider, Behaviour.RATE_LIMIT, record_property):
        return
    conversation_id = await _accepted_conversation(provider, admin)
    text = f"limited {uuid.uuid4().hex[:8]}"
    delay_s = provider.rate_limit_next(text)
    reply = await _reply(admin, conversation_id, text)
    settled = await _settled(admin, conversation_id, reply["id"])
    assert settled["status"] == "sent", settled
    attempts = provider.attempts(text)
    assert len(attempts) == 2, attempts
    assert attempts[1] - attempts[0] >= delay_s - CLOCK_SLACK_S, (attempts, delay_s)


async def test_a_bad_payload_gets_a_4xx_and_stores_nothing(
    provider: Provider, admin: Api, record_property: Any
) -> None:
    if _not_applicable(provider, Behaviour.REJECTS_BAD_PAYLOAD, record_property):
        return
    rejection = await provider.send_bad()
    assert 400 <= rejection.status < 500, rejection
    assert rejection.code, rejection
    # A good message after it goes through: by then the bad one would have been stored too.
    await provider.client_says("after the bad one", "good")
    conversation_id = await _conversation(provider, admin)
    thread = await _has(admin, conversation_id, "after the bad one")
    assert [m["text"] for m in thread if m["direction"] == "in"] == ["after the bad one"]


async def test_the_same_delivery_twice_is_stored_once(provider: Provider, admin: Api) -> None:
    await provider.client_says("only once", "twice")
    await provider.client_says("only once", "twice")
    await provider.client_says("and then this", "later")
    conversation_id = await _conversation(provider, admin)
    thread = await _has(admin, conversation_id, "and then this")
    texts = [m["text"] for m in thread if m["direction"] == "in"]
    assert texts == ["only once", "and then this"], texts


async def test_hidden_messages_never_go_out(provider: Provider, admin: Api) -> None:
    """A staff note, a supervisor's silent join (its system note) and whisper: the thread
    holds them hidden, and the platform never gets any of them."""
    conversation_id = await _accepted_conversation(provider, admin)
    note = f"staff only {uuid.uuid4().hex[:8]}"
    assert (await _reply(admin, conversation_id, note, hidden=True))["hidden"] is True
    supervisor = provider.supervisor
    await supervisor.post(f"/api/v1/conversations/{conversation_id}/join", {"hidden": True})
    whisper = f"whisper {uuid.uuid4().hex[:8]}"
    assert (await _reply(supervisor, conversation_id, whisper, hidden=True))["hidden"] is True
    # Everything the hub would send goes out in order: once this one is sent, the hidden
    # ones would have been, too.
    public = f"public {uuid.uuid4().hex[:8]}"
    reply = await _reply(admin, conversation_id, public)
    assert (await _settled(admin, conversation_id, reply["id"]))["status"] == "sent"
    assert public in provider.received()
    hidden = [m["text"] for m in await thread_of(admin, conversation_id) if m["hidden"]]
    assert note in hidden and whisper in hidden and len(hidden) >= 3, hidden  # + the join's
    leaked = [text for text in provider.received() for h in hidden if h in text]
    assert leaked == [], leaked
