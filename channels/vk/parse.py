"""Pure parsing of VK Callback API / Bots Long Poll events (API 5.199) into what the hub stores.

No I/O here: media is described by ``MediaRef``s (direct URLs) that the caller downloads and
stores before ingesting; the sender's name is looked up by the caller (``users.get``). An event
whose fields do not have VK's types raises (``TypeError``, ``ValueError``, ``KeyError``, ...):
the caller logs and drops it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from hub.channels import Allow, Deny, Edit, Ignore, map_link
from hub.channels import NewMessage as PortNewMessage
from hub.channels import Rating as PortRating
from hub.models import Inbound, Sender

CSAT_KEY = "csat"
# Peer ids from here on are group chats; a community's dialog with a person has the user's id.
CHAT_PEER_BASE = 2_000_000_000


@dataclass(frozen=True)
class MediaRef:
    """A file attached to a VK message, to download from ``url``."""

    kind: str
    url: str
    file_name: str


@dataclass(frozen=True, kw_only=True)
class NewMessage(PortNewMessage[MediaRef]):
    """A new message; ``user_id``: its author, whose name ``users.get`` tells."""

    user_id: int


@dataclass(frozen=True)
class Rating(PortRating):
    """A rating; from a callback button (``message_event``) it carries what answers the press."""

    event_id: str | None = None
    user_id: int | None = None


# The port's vocabulary (``hub.channels``), as VK speaks it.
Parsed = NewMessage | Edit | Rating | Deny | Allow | Ignore
__all__ = [
    "Allow",
    "Deny",
    "Edit",
    "Ignore",
    "MediaRef",
    "NewMessage",
    "Parsed",
    "Rating",
    "parse",
]


def external_id(peer_id: Any, message: dict[str, Any]) -> str:
    """Our dedupe key of a VK message: ``conversation_message_id`` is stable per peer (the
    global ``id`` is 0 in some contexts), the global id is the fallback."""
    return f"{peer_id}:{message.get('conversation_message_id') or message.get('id')}"


def parse(channel_id: str, event: dict[str, Any]) -> Parsed:
    """One event (``{type, object, group_id, event_id}``) -> what to do with it."""
    kind = event.get("type")
    obj = event.get("object") or {}
    if not isinstance(obj, dict):
        return Ignore(f"{kind} without an object")
    if kind == "message_new":
        return _message(channel_id, obj.get("message") or {})
    if kind == "message_edit":
        if _is_group_chat(obj):
            return Ignore("group chat")
        return Edit(external_id=external_id(obj.get("peer_id"), obj), text=_text_of(obj))
    if kind == "message_event":
        rating = _rating(obj.get("payload"))
        if rating is None or obj.get("peer_id") is None:
            return Ignore("callback we did not send")
        return Rating(
            chat_id=str(_id(obj["peer_id"])),
            rating=rating,
            event_id=str(obj.get("event_id") or ""),
            user_id=_id(obj["user_id"]) if obj.get("user_id") is not None else None,
        )
    if kind == "message_deny":
        return Deny(chat_id=str(_id(obj.get("user_id"))))
    if kind == "message_allow":
        return Allow(chat_id=str(_id(obj.get("user_id"))))
    return Ignore(f"unsupported event {kind or 'without type'}")


def _id(value: Any) -> int:
    """A VK id (user, peer): an integer, never a string or a bool."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"an id is an integer, not a {type(value).__name__}")
    return value


def _sent_at(message: dict[str, Any]) -> datetime | None:
    if "date" not in message:
        return None
    try:
        return datetime.fromtimestamp(_id(message["date"]), UTC)
    except (OverflowError, OSError) as exc:
        raise ValueError("date out of range") from exc


def _is_group_chat(message: dict[str, Any]) -> bool:
    return _id(message.get("peer_id") or 0) >= CHAT_PEER_BASE


def _message(channel_id: str, message: dict[str, Any]) -> Parsed:
    if not isinstance(message, dict):
        raise TypeError("a message is an object")
    if not message or _is_group_chat(message):
        return Ignore("group chat")
    if _id(message.get("from_id") or 0) <= 0:
        return Ignore("message from a community")
    peer_id = _id(message["peer_id"])
    rating = _rating(message.get("payload"))
    if rating is not None:
        return Rating(chat_id=str(peer_id), rating=rating)
    text = _text_of(message)
    media = _media(message)
    if not text and not media:
        return Ignore("message without content we keep")
    reply = message.get("reply_message")
    return NewMessage(
        inbound=Inbound(
            channel_id=channel_id,
            chat_id=str(peer_id),
            external_id=external_id(peer_id, message),
            sender=Sender(external_id=str(message["from_id"])),
            text=text,
            sent_at=_sent_at(message),
            reply_to_external_id=external_id(peer_id, reply) if reply else None,
        ),
        user_id=_id(message["from_id"]),
        media=media,
    )


def _text_of(message: dict[str, Any]) -> str:
    parts = [str(message.get("text") or "")]
    geo = message.get("geo")
    if geo:
        coordinates = geo.get("coordinates") or {}
        place = (geo.get("place") or {}).get("title")
        parts.append(
            "Location: "
            + (f"{place} " if place else "")
            + map_link(coordinates.get("latitude"), coordinates.get("longitude"))
        )
    for forwarded in message.get("fwd_messages") or []:
        quoted = _text_of(forwarded) or "[attachment]"
        parts.append("\n".join(f"> {line}" for line in quoted.splitlines()))
    return "\n".join(p for p in parts if p)


def _media(message: dict[str, Any]) -> list[MediaRef]:
    refs = []
    for attachment in message.get("attachments") or []:
        kind = attachment.get("type")
        item = attachment.get(kind) or {}
        if kind == "photo" and item.get("sizes"):
            largest = max(item["sizes"], key=lambda s: s.get("width", 0) * s.get("height", 0))
            refs.append(MediaRef("photo", str(largest["url"]), f"photo{item.get('id', '')}.jpg"))
        elif kind == "doc" and item.get("url"):
            title = str(item.get("title") or "document")
            ext = str(item.get("ext") or "")
            has_ext = not ext or title.lower().endswith(f".{ext.lower()}")
            name = title if has_ext else f"{title}.{ext}"
            refs.append(MediaRef("doc", str(item["url"]), name))
        elif kind == "audio_message" and (item.get("link_ogg") or item.get("link_mp3")):
            if item.get("link_ogg"):
                refs.append(MediaRef("audio_message", str(item["link_ogg"]), "voice.ogg"))
            else:
                refs.append(MediaRef("audio_message", str(item["link_mp3"]), "voice.mp3"))
        elif kind == "sticker" and item.get("images"):
            largest = max(item["images"], key=lambda s: s.get("width", 0) * s.get("height", 0))
            refs.append(MediaRef("sticker", str(largest["url"]), "sticker.png"))
    return refs


def _rating(payload: Any) -> int | None:
    """The rating a CSAT button carries: payload ``{"csat": n}`` (a JSON string in
    ``message_new``, an object in ``message_event``)."""
    if isinstance(payload, str):
        try:
            payload = json.loads(payload)
        except ValueError:
            return None
    if not isinstance(payload, dict) or CSAT_KEY not in payload:
        return None
    try:
        rating = int(payload[CSAT_KEY])
    except (TypeError, ValueError):
        return None
    return rating if 1 <= rating <= 5 else None
