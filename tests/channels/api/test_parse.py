"""The ``api`` channel's pure parse: a posted message is the port's ``NewMessage``, with every
field the integrating system sent and no files to fetch."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from channels.api import ApiMessage, parse
from hub.channels import NewMessage
from hub.models import Sender

FIXTURES = Path(__file__).parents[2] / "fixtures" / "api"


def test_a_posted_message_is_a_new_message() -> None:
    message = ApiMessage.model_validate_json((FIXTURES / "text.json").read_bytes())
    parsed = parse("ch1", message)
    assert isinstance(parsed, NewMessage) and parsed.media == []
    inbound = parsed.inbound
    assert (inbound.channel_id, inbound.chat_id, inbound.external_id) == (
        "ch1",
        "ticket-42",
        "crm-msg-1001",
    )
    assert inbound.text == "Hello, I need help with my order"
    assert inbound.sent_at == datetime(2026, 1, 1, tzinfo=UTC)
    # What the system says about its user is passed on, but proves nothing.
    assert inbound.sender == Sender(
        external_id="user-7", name="Anna Petrova", email="anna@example.org"
    )
    assert not inbound.sender.email_verified


def test_what_is_not_posted_stays_unset() -> None:
    message = ApiMessage.model_validate(
        {"message_id": "m1", "chat_id": "c1", "sender": {"id": "u1"}, "text": "hi"}
    )
    inbound = parse("ch1", message).inbound
    assert inbound.sender == Sender(external_id="u1")
    assert inbound.sent_at is None and inbound.attachments == [] and inbound.source is None
