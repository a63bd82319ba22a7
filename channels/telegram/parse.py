"""Pure parsing of Telegram ``Update`` objects (Bot API JSON) into what the hub stores.

No I/O here: media is described by ``MediaRef``s that the caller fetches with ``getFile`` and
stores before ingesting; everything else is decided from the update alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from hub.channels import Edit, Ignore, NewMessage, map_link
from hub.channels import Rating as PortRating
from hub.models import Inbound, Sender

CSAT_PREFIX = "csat:"

# kind of media -> (default file name, default MIME type) when Telegram names neither.
MEDIA_DEFAULTS: dict[str, tuple[str, str]] = {
    "photo": ("photo.jpg", "image/jpeg"),
    "document": ("document", "application/octet-stream"),
    "voice": ("voice.ogg", "audio/ogg"),
    "audio": ("audio.mp3", "audio/mpeg"),
    "video": ("video.mp4", "video/mp4"),
    "video_note": ("video_note.mp4", "video/mp4"),
    "sticker": ("sticker.webp", "image/webp"),
}
# MIME type -> the extension our file store recognises it by.
EXTENSIONS: dict[str, str] = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "application/pdf": ".pdf",
    "audio/ogg": ".ogg",
    "audio/mpeg": ".mp3",
    "audio/mp4": ".m4a",
    "video/mp4": ".mp4",
    "video/webm": ".webm",
    "text/plain": ".txt",
}


@dataclass(frozen=True)
class MediaRef:
    """A file attached to a Telegram message, to fetch with ``getFile``."""

    kind: str
    file_id: str
    file_name: str
    mime: str


@dataclass(frozen=True)
class Rating(PortRating):
    """A press of a rating button, answered (``answerCallbackQuery``) with its query's id."""

    callback_query_id: str


# The port's vocabulary (``hub.channels``), as far as Telegram speaks it.
Parsed = NewMessage[MediaRef] | Edit | Rating | Ignore
__all__ = ["Edit", "Ignore", "MediaRef", "NewMessage", "Parsed", "Rating", "parse"]


def external_id(chat_id: Any, message_id: Any) -> str:
    """Our dedupe key of a Telegram message: message ids are unique per chat only."""
    return f"{chat_id}:{message_id}"


def parse(channel_id: str, update: dict[str, Any]) -> Parsed:
    """One update -> what to do with it."""
    if "message" in update:
        return _message(channel_id, update["message"])
    if "edited_message" in update:
        message = update["edited_message"]
        if message.get("chat", {}).get("type") != "private":
            return _foreign_chat(message)
        return Edit(
            external_id=external_id(message["chat"]["id"], message["message_id"]),
            text=_text_of(message),
        )
    if "callback_query" in update:
        return _callback(update["callback_query"])
    kinds = sorted(k for k in update if k != "update_id")
    return Ignore(f"unsupported update {','.join(kinds) or 'empty'}")


def _foreign_chat(message: dict[str, Any]) -> Ignore:
    chat = message.get("chat", {})
    return Ignore(f"{chat.get('type', 'unknown')} chat", chat_id=str(chat.get("id")))


def _message(channel_id: str, message: dict[str, Any]) -> Parsed:
    chat = message.get("chat", {})
    if chat.get("type") != "private":
        return _foreign_chat(message)
    user = message.get("from") or {}
    name = " ".join(p for p in (user.get("first_name"), user.get("last_name")) if p) or None
    text = _text_of(message)
    phone = None
    contact = message.get("contact")
    # Only the client's own number is theirs; a forwarded card is just text.
    if contact and contact.get("user_id") in (None, user.get("id")):
        phone = contact.get("phone_number")
    source = None
    command, _, payload = text.partition(" ")
    if command == "/start" or command.startswith("/start@"):
        source = payload.strip() or None
    media = _media(message)
    if not text and not media:
        return Ignore("message without content we keep")
    reply = message.get("reply_to_message")
    return NewMessage(
        inbound=Inbound(
            channel_id=channel_id,
            chat_id=str(chat["id"]),
            external_id=external_id(chat["id"], message["message_id"]),
            sender=Sender(
                external_id=str(user.get("id", chat["id"])),
                name=name,
                phone=phone,
                username=user.get("username"),
                language=user.get("language_code"),
            ),
            text=text,
            sent_at=datetime.fromtimestamp(message["date"], UTC) if "date" in message else None,
            reply_to_external_id=(external_id(chat["id"], reply["message_id"]) if reply else None),
            source=source,
        ),
        media=media,
    )


def _text_of(message: dict[str, Any]) -> str:
    if "text" in message:
        return str(message["text"])
    if "caption" in message:
        return str(message["caption"])
    if "venue" in message:
        venue = message["venue"]
        location = venue.get("location", {})
        title = ", ".join(p for p in (venue.get("title"), venue.get("address")) if p)
        return f"{title}\n{_map_link(location)}"
    if "location" in message:
        return f"Location: {_map_link(message['location'])}"
    if "contact" in message:
        contact = message["contact"]
        name = " ".join(p for p in (contact.get("first_name"), contact.get("last_name")) if p)
        return f"Contact: {name} {contact.get('phone_number', '')}".strip()
    return ""


def _map_link(location: dict[str, Any]) -> str:
    return map_link(location.get("latitude"), location.get("longitude"))


def _media(message: dict[str, Any]) -> list[MediaRef]:
    if message.get("photo"):
        largest = max(message["photo"], key=lambda p: p.get("width", 0) * p.get("height", 0))
        return [_ref("photo", largest, None)]
    for kind in ("document", "voice", "audio", "video", "video_note", "sticker"):
        item = message.get(kind)
        if item:
            return [_ref(kind, item, item.get("file_name"))]
    return []


def _ref(kind: str, item: dict[str, Any], file_name: str | None) -> MediaRef:
    default_name, default_mime = MEDIA_DEFAULTS[kind]
    mime = item.get("mime_type") or default_mime
    if kind == "sticker" and (item.get("is_animated") or item.get("is_video")):
        mime = "video/webm" if item.get("is_video") else "application/x-tgsticker"
    name = file_name or default_name
    ext = EXTENSIONS.get(mime)
    # Our store decides the type by extension: make the name carry the one Telegram reports.
    if ext and not name.lower().endswith(ext) and not (ext == ".jpg" and name.endswith(".jpeg")):
        name = f"{name.rsplit('.', 1)[0] if '.' in name else name}{ext}"
    return MediaRef(kind=kind, file_id=str(item["file_id"]), file_name=name, mime=mime)


def _callback(query: dict[str, Any]) -> Parsed:
    data = str(query.get("data") or "")
    message = query.get("message") or {}
    chat_id = (message.get("chat") or {}).get("id") or (query.get("from") or {}).get("id")
    if not data.startswith(CSAT_PREFIX) or chat_id is None:
        return Ignore("callback we did not send")
    try:
        rating = int(data[len(CSAT_PREFIX) :])
    except ValueError:
        return Ignore("malformed rating")
    if not 1 <= rating <= 5:
        return Ignore("rating out of range")
    return Rating(chat_id=str(chat_id), rating=rating, callback_query_id=str(query["id"]))
