"""Acceptance 8: every supported update type, parsed from JSON shaped like the Bot API docs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aiogram.types import Update

from channels.telegram.parse import Edit, Ignore, NewMessage, Rating, parse

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "telegram"
CHAT = "111222333"


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    return data


def new_message(name: str) -> NewMessage:
    parsed = parse("ch1", load(name))
    assert isinstance(parsed, NewMessage), parsed
    return parsed


@pytest.mark.parametrize("name", sorted(p.stem for p in FIXTURES.glob("*.json")))
def test_fixtures_are_valid_bot_api_updates(name: str) -> None:
    # aiogram's own models (built from the Bot API docs) accept every fixture.
    Update.model_validate(load(name))


def test_text() -> None:
    parsed = new_message("text")
    inbound = parsed.inbound
    assert inbound.chat_id == CHAT and inbound.external_id == f"{CHAT}:1"
    assert inbound.text == "Hello, I need help with my order"
    assert inbound.sender.external_id == CHAT
    assert inbound.sender.name == "Anna Petrova"
    assert inbound.sender.username == "anna_p" and inbound.sender.language == "ru"
    assert inbound.sent_at is not None and inbound.sent_at.year == 2026
    assert parsed.media == [] and inbound.source is None


def test_start_payload_is_the_source() -> None:
    assert new_message("start_payload").inbound.source == "promo_spring"
    plain = new_message("start_plain").inbound
    assert plain.source is None and plain.text == "/start"


def test_photo_takes_the_largest_size_and_the_caption() -> None:
    parsed = new_message("photo")
    assert parsed.inbound.text == "Here is the damaged box"
    [ref] = parsed.media
    assert (ref.kind, ref.file_id, ref.mime, ref.file_name) == (
        "photo",
        "AgAD-large",
        "image/jpeg",
        "photo.jpg",
    )


@pytest.mark.parametrize(
    ("name", "kind", "file_id", "mime", "file_name"),
    [
        ("document", "document", "BQAD-doc", "application/pdf", "invoice.pdf"),
        ("voice", "voice", "AwAD-voice", "audio/ogg", "voice.ogg"),
        ("audio", "audio", "CQAD-audio", "audio/mpeg", "song.mp3"),
        ("video", "video", "BAAD-video", "video/mp4", "video.mp4"),
        ("video_note", "video_note", "DQAD-note", "video/mp4", "video_note.mp4"),
        ("sticker", "sticker", "CAAD-sticker", "image/webp", "sticker.webp"),
    ],
)
def test_media(name: str, kind: str, file_id: str, mime: str, file_name: str) -> None:
    parsed = new_message(name)
    [ref] = parsed.media
    assert (ref.kind, ref.file_id, ref.mime, ref.file_name) == (kind, file_id, mime, file_name)


def test_video_caption_is_the_text() -> None:
    assert new_message("video").inbound.text == "video caption"


def test_location_and_venue_are_text_with_a_map_link() -> None:
    location = new_message("location").inbound.text
    assert "mlat=55.751244&mlon=37.618423" in location and location.startswith("Location:")
    venue = new_message("venue").inbound.text
    assert venue.startswith("Hermitage, Palace Square 2\n")
    assert "openstreetmap.org/?mlat=59.9386&mlon=30.3141" in venue


def test_own_contact_sets_the_phone() -> None:
    inbound = new_message("contact").inbound
    assert inbound.sender.phone == "+79991234567"
    assert inbound.text == "Contact: Anna Petrova +79991234567"


def test_someone_elses_contact_is_only_text() -> None:
    update = load("contact")
    update["message"]["contact"]["user_id"] = 999
    inbound = parse("ch1", update)
    assert isinstance(inbound, NewMessage) and inbound.inbound.sender.phone is None


def test_edited_message() -> None:
    assert parse("ch1", load("edited_message")) == Edit(
        external_id=f"{CHAT}:1", text="Hello, I need help with order #42"
    )


def test_reply_keeps_the_quoted_message() -> None:
    assert new_message("reply").inbound.reply_to_external_id == f"{CHAT}:5001"


def test_csat_callback() -> None:
    assert parse("ch1", load("callback_csat")) == Rating(
        chat_id=CHAT, rating=4, callback_query_id="4382bfdwdsb323b2d9"
    )


@pytest.mark.parametrize("data", ["csat:9", "csat:x", "other:1", ""])
def test_foreign_or_bad_callbacks_are_ignored(data: str) -> None:
    update = load("callback_csat")
    update["callback_query"]["data"] = data
    assert isinstance(parse("ch1", update), Ignore)


def test_group_and_channel_chats_are_ignored() -> None:
    group = parse("ch1", load("group_message"))
    assert isinstance(group, Ignore) and group.chat_id == "-1001234567890"
    assert isinstance(parse("ch1", load("channel_post")), Ignore)


def test_a_message_with_nothing_we_keep_is_ignored() -> None:
    update = load("text")
    del update["message"]["text"]
    update["message"]["dice"] = {"emoji": "🎲", "value": 3}
    assert isinstance(parse("ch1", update), Ignore)
