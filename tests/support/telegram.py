"""Telegram chats as the load suites drive them (group commit, crashes): numbered text updates
of many chats and senders, posted to a hub's webhook the way Telegram does."""

from __future__ import annotations

from typing import Any

import aiohttp

from tests.channels.telegram.conftest import fixture_update
from tests.support.clients import Api

FIRST_CHAT_ID = 700_000


def chat_update(chat: int, n: int, *, sender: int = 0) -> dict[str, Any]:
    """Message ``n`` of webhook sender ``sender`` in Telegram chat ``chat``, unique for each
    of the three (the same arguments make the same update, as a platform's retry does)."""
    user_id = FIRST_CHAT_ID + chat
    message_id = sender * 1_000 + n
    update = fixture_update(
        "text",
        text=f"t{chat}-{sender}-{n}",
        message_id=message_id,
        chat={"id": user_id, "first_name": f"Client {chat}", "type": "private"},
        **{"from": {"id": user_id, "is_bot": False, "first_name": f"Client {chat}"}},
    )
    update["update_id"] = chat * 1_000_000 + message_id
    return update


async def post_update(
    http: aiohttp.ClientSession, url: str, channel: dict[str, Any], update: dict[str, Any]
) -> int:
    """The status the hub at ``url`` answers to ``update`` on ``channel``'s webhook."""
    status, _ = await Api(url, http).call(
        "POST",
        f"/hooks/telegram/{channel['id']}",
        update,
        headers={"X-Telegram-Bot-Api-Secret-Token": channel["webhook_secret"]},
    )
    return status
