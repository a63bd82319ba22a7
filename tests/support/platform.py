"""What the platform-channel suites (Telegram, VK) share: sample files with real magic bytes,
and reading a conversation back through REST."""

from __future__ import annotations

from typing import Any

from tests.support.clients import Api

JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 300
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100
PDF = b"%PDF-1.4\n" + b"x" * 200
OGG = b"OggS\x00\x02" + b"\x00" * 200


async def thread_of(api: Api, conversation_id: str) -> list[dict[str, Any]]:
    body = await api.get(f"/api/v1/conversations/{conversation_id}/messages")
    return body["messages"]  # type: ignore[no-any-return]


async def all_conversations(api: Api) -> list[dict[str, Any]]:
    return (await api.get("/api/v1/conversations"))["conversations"]  # type: ignore[no-any-return]


async def replies(api: Api, conversation_id: str) -> dict[str, dict[str, Any]]:
    """The operators' messages of a conversation by their text (with delivery status)."""
    return {
        m["text"]: m
        for m in await thread_of(api, conversation_id)
        if m["author"]["type"] == "operator"
    }
