"""Generated payloads for every Socket.IO event of ``/widget`` and ``/operator`` (issue 13):
wrong types, missing and extra fields, huge strings, nested junk, payloads that are no object
at all, extra arguments. Every event answers with an ack of the contract's shape, a bad payload
with ``{"ok": false, "error": {"code", "message"}}``; the hub logs no ERROR; and the connection
keeps working. A second test fails when the server registers an event this suite does not
fuzz."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

import operators_ui.namespace as operator_ns
import widget.lifecycle
import widget.namespace
from hub.app import SIO
from hub.realtime import OPERATOR_NS, WIDGET_NS
from tests.support.clients import Api, SocketClient, operator_socket, visitor_socket
from tests.support.world import make_line

# The payload model of every event a client may send, by namespace: what the fuzzer shapes
# its payloads after, and what tells a bad payload from a good one.
EVENT_MODELS: dict[str, dict[str, type[BaseModel]]] = {
    WIDGET_NS: {
        "message:send": widget.namespace.SendIn,
        "history": widget.namespace.HistoryIn,
        "prechat": widget.namespace.PrechatIn,
        "typing": widget.namespace.TypingIn,
        "csat:submit": widget.lifecycle.CsatIn,
    },
    OPERATOR_NS: {
        "status:set": operator_ns.StatusIn,
        "message:send": operator_ns.SendIn,
        "typing": operator_ns.TypingIn,
        "conversation:accept": operator_ns.ConversationIdIn,
        "conversation:close": operator_ns.ConversationIdIn,
        "conversation:leave": operator_ns.ConversationIdIn,
        "conversation:take_over": operator_ns.ConversationIdIn,
        "conversation:transfer_cancel": operator_ns.ConversationIdIn,
        "conversation:return": operator_ns.ConversationIdIn,
        "conversation:transfer": operator_ns.TransferEvent,
        "conversation:invite": operator_ns.InviteEvent,
        "conversation:join": operator_ns.JoinEvent,
        "conversation:pin": operator_ns.PinEvent,
    },
}
# Socket.IO's own events: the server calls them, a client cannot send them.
LIFECYCLE_EVENTS = frozenset({"connect", "disconnect"})
# The error codes of a payload that does not fit its model (hub/sockets.py, hub/validation.py).
BAD_PAYLOAD_CODES = frozenset({"validation_failed", "invalid_body", "invalid_payload"})

# Bounds: CI runs this on two busy cores.
EXAMPLES_PER_EVENT = 50
ACK_TIMEOUT_S = 20.0
# Rate limits answer a fast client with `rate_limited` before its payload is looked at: lifted,
# so that every generated payload is judged on what it is.
UNLIMITED = {
    "widget_rate_messages": 100_000,
    "widget_rate_ip_messages": 1_000_000,
    "widget_rate_events": 100_000,
}

# --- payloads ----------------------------------------------------------------------------------

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
)
junk = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=10,
)
# Far past every field's limit, still well inside Engine.IO's 1 MB frame.
huge_strings = st.sampled_from([10_000, 100_000, 300_000]).map(lambda n: "ж" * (n // 2))


def nested(depth: int) -> Any:
    value: Any = "bottom"
    for level in range(depth):
        value = [value] if level % 2 else {"x": value}
    return value


deep_junk = st.integers(min_value=20, max_value=200).map(nested)
not_objects = scalars | st.lists(junk, max_size=5) | huge_strings | deep_junk


def payloads(model: type[BaseModel], plausible: dict[str, st.SearchStrategy[Any]]) -> Any:
    """Objects shaped like ``model``: each field plausible or junk or huge, some left out, some
    unknown ones added; and now and then no object at all."""
    fields = {
        name: st.one_of(plausible.get(name, junk), junk, huge_strings, deep_junk)
        for name in model.model_fields
    }
    shaped = st.fixed_dictionaries({}, optional=fields).flatmap(
        lambda known: st.dictionaries(st.text(max_size=12), junk, max_size=3).map(
            lambda extra: {**extra, **known}
        )
    )
    return st.one_of(shaped, shaped, shaped, not_objects)


def arguments(model: type[BaseModel], plausible: dict[str, st.SearchStrategy[Any]]) -> Any:
    """An event's arguments: its payload, sometimes followed by more."""
    return st.tuples(payloads(model, plausible), st.lists(junk, max_size=2)).map(
        lambda args: (args[0], *args[1])
    )


def fits(model: type[BaseModel], args: tuple[Any, ...]) -> bool:
    """Whether the hub must take these arguments as a payload (then it may still refuse it for
    what it asks, never for its shape). No payload is an empty one."""
    payload = args[0] if args[0] is not None else {}
    if len(args) > 1 or not isinstance(payload, dict):
        return False
    try:
        model.model_validate(payload)
    except ValidationError:
        return False
    return True


def check_ack(ack: Any, model: type[BaseModel], args: tuple[Any, ...]) -> None:
    assert isinstance(ack, dict) and isinstance(ack.get("ok"), bool), ack
    if ack["ok"]:
        assert fits(model, args), f"a bad payload was taken: {ack}"
        return
    error = ack.get("error")
    assert isinstance(error, dict), ack
    assert isinstance(error.get("code"), str) and isinstance(error.get("message"), str), ack
    assert error["code"] != "internal_error", ack
    if not fits(model, args):
        assert error["code"] in BAD_PAYLOAD_CODES, ack


# --- the run -----------------------------------------------------------------------------------


def fuzz_event(
    call: Callable[[str, tuple[Any, ...]], Any],
    event: str,
    model: type[BaseModel],
    plausible: dict[str, st.SearchStrategy[Any]],
    usable: Callable[[], None],
) -> None:
    """Send ``EXAMPLES_PER_EVENT`` generated argument lists as ``event`` (blocking: run it in a
    thread while the hub and the socket client live on the test's event loop)."""

    @settings(
        max_examples=EXAMPLES_PER_EVENT,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        # Huge and deep payloads are the point, and the hub answers each over a real socket.
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
        ],
    )
    @given(args=arguments(model, plausible))
    def run(args: tuple[Any, ...]) -> None:
        check_ack(call(event, args), model, args)
        usable()

    run()


def blocking(client: SocketClient, loop: asyncio.AbstractEventLoop) -> Callable[..., Any]:
    """``client.sio.call`` for a worker thread."""

    def call(event: str, args: tuple[Any, ...]) -> Any:
        future = asyncio.run_coroutine_threadsafe(
            client.sio.call(event, args, namespace=client.namespace, timeout=ACK_TIMEOUT_S),
            loop,
        )
        return future.result(ACK_TIMEOUT_S + 5)

    return call


def ids_of(values: list[str]) -> st.SearchStrategy[Any]:
    return st.sampled_from(values) | st.text(max_size=20)


@pytest.mark.settings(**UNLIMITED)
@pytest.mark.timeout(300)
async def test_every_event_answers_every_payload(
    base_url: str, admin: Api, caplog: pytest.LogCaptureFixture
) -> None:
    world = await make_line(admin)
    operator = world.operators[0]
    assert operator.user and admin.user
    visitor = await visitor_socket(base_url, world.key)
    first = await visitor.call("message:send", {"text": "hello", "client_msg_id": "first"})
    assert first["ok"], first
    conversation_id = first["message"]["conversation_id"]
    staff = await operator_socket(base_url, admin.token or "")
    loop = asyncio.get_running_loop()
    texts = st.text(max_size=50) | huge_strings
    flags = st.booleans()
    plausible: dict[str, dict[str, st.SearchStrategy[Any]]] = {
        WIDGET_NS: {
            "text": texts,
            "client_msg_id": st.text(min_size=1, max_size=40),
            "attachments": st.lists(st.text(max_size=30), max_size=12),
            "before_seq": st.integers(min_value=-5, max_value=10**12),
            "limit": st.integers(min_value=-5, max_value=500),
            "name": texts,
            "email": st.sampled_from(["client@example.com", "not an address"]) | texts,
            "phone": st.sampled_from(["+7 900 000-00-00", "12"]) | texts,
            "on": flags,
            "rating": st.integers(min_value=-1, max_value=7),
            "comment": texts,
        },
        OPERATOR_NS: {
            "status": st.sampled_from(["online", "away", "offline", "busy"]),
            "conversation_id": ids_of([conversation_id]),
            "id": ids_of([conversation_id]),
            "text": texts,
            "hidden": flags,
            "client_msg_id": st.text(min_size=1, max_size=40) | st.none(),
            "attachments": st.lists(st.text(max_size=30), max_size=12),
            "on": flags,
            "pinned": flags,
            "to_user_id": ids_of([operator.user["id"], admin.user["id"]]),
            "user_id": ids_of([operator.user["id"], admin.user["id"]]),
            "to_line_id": ids_of([world.line["id"]]),
        },
    }
    clients = {WIDGET_NS: visitor, OPERATOR_NS: staff}
    # A call that must succeed on a working connection.
    probes = {
        WIDGET_NS: ("history", ({},)),
        OPERATOR_NS: ("status:set", ({"status": "online"},)),
    }
    caplog.clear()
    try:
        for namespace, models in EVENT_MODELS.items():
            call = blocking(clients[namespace], loop)
            probe_event, probe_args = probes[namespace]

            def usable(
                call: Callable[..., Any] = call,
                event: str = probe_event,
                args: tuple[Any, ...] = probe_args,
            ) -> None:
                ack = call(event, args)
                assert isinstance(ack, dict) and ack.get("ok") is True, ack

            for event, model in models.items():
                await asyncio.to_thread(
                    fuzz_event, call, event, model, plausible[namespace], usable
                )
    finally:
        await visitor.close()
        await staff.close()
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [f"{r.name}: {r.getMessage()}" for r in errors]


async def test_every_event_is_fuzzed(server: Any, hub_app: Any) -> None:
    """Each event the server handles on ``/widget`` and ``/operator`` is in ``EVENT_MODELS``."""
    handlers = hub_app[SIO].handlers
    for namespace, models in EVENT_MODELS.items():
        registered = set(handlers.get(namespace, {})) - LIFECYCLE_EVENTS
        assert registered == set(models), f"{namespace}: fuzz these events too"
