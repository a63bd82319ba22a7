"""Acceptance 7: every supported event type, parsed from JSON shaped like VK's Callback API
docs (API 5.199)."""

from __future__ import annotations

import pytest

from channels.vk.parse import Allow, Deny, Edit, Ignore, NewMessage, Rating, parse
from tests.channels.vk.conftest import CDN, USER_ID, fixture_event

CHAT = str(USER_ID)


def new_message(name: str) -> NewMessage:
    parsed = parse("ch1", fixture_event(name))
    assert isinstance(parsed, NewMessage), parsed
    return parsed


def test_text() -> None:
    parsed = new_message("text")
    inbound = parsed.inbound
    assert inbound.chat_id == CHAT and inbound.external_id == f"{CHAT}:1"
    assert inbound.text == "Здравствуйте, где мой заказ?"
    assert inbound.sender.external_id == CHAT and parsed.user_id == USER_ID
    assert inbound.sent_at is not None and inbound.sent_at.year == 2026
    assert parsed.media == []


def test_photo_takes_the_largest_size_and_the_text() -> None:
    parsed = new_message("photo")
    assert parsed.inbound.text == "Коробка повреждена"
    [ref] = parsed.media
    assert (ref.kind, ref.url, ref.file_name) == (
        "photo",
        CDN + "photo_w.jpg",
        "photo457239017.jpg",
    )


@pytest.mark.parametrize(
    ("name", "kind", "url", "file_name"),
    [
        ("doc", "doc", "invoice.pdf", "invoice.pdf"),
        ("audio_message", "audio_message", "voice.ogg", "voice.ogg"),
        ("sticker", "sticker", "sticker_512.png", "sticker.png"),
    ],
)
def test_files(name: str, kind: str, url: str, file_name: str) -> None:
    [ref] = new_message(name).media
    assert (ref.kind, ref.url, ref.file_name) == (kind, CDN + url, file_name)


def test_forwarded_messages_are_quoted() -> None:
    text = new_message("forwarded").inbound.text
    assert text == "Вот что мне ответили\n> Заказ отправлен\n> Трек: RA123"


def test_geo_is_a_map_link() -> None:
    text = new_message("geo").inbound.text
    assert text.startswith("Location: Москва, Россия https://www.openstreetmap.org/")
    assert "mlat=55.751244&mlon=37.618423" in text


def test_reply_points_at_the_quoted_message() -> None:
    assert new_message("reply").inbound.reply_to_external_id == f"{CHAT}:3"


def test_edit() -> None:
    assert parse("ch1", fixture_event("message_edit")) == Edit(
        external_id=f"{CHAT}:1", text="Здравствуйте, где мой заказ №42?"
    )


def test_ratings_from_a_callback_button_and_a_text_button_payload() -> None:
    assert parse("ch1", fixture_event("message_event_csat")) == Rating(
        chat_id=CHAT, rating=5, event_id="3159dc190b1f", user_id=USER_ID
    )
    assert parse("ch1", fixture_event("payload_csat")) == Rating(chat_id=CHAT, rating=4)


def test_deny_allow_and_what_we_ignore() -> None:
    assert parse("ch1", fixture_event("message_deny")) == Deny(chat_id=CHAT)
    assert parse("ch1", fixture_event("message_allow")) == Allow(chat_id=CHAT)
    for name in ("group_chat", "confirmation"):
        assert isinstance(parse("ch1", fixture_event(name)), Ignore), name
    assert isinstance(parse("ch1", {"type": "wall_post_new", "object": {}}), Ignore)
    bad = fixture_event("message_event_csat")
    bad["object"]["payload"] = {"csat": 9}
    assert isinstance(parse("ch1", bad), Ignore)
