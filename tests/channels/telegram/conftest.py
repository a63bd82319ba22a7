"""The Telegram suite: a local fake Bot API server and a hub whose channels point at it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from hub.settings import Settings
from tests.conftest import marked_settings
from tests.fakes.telegram import FakeBotApi
from tests.support.clients import Api

PUBLIC_URL = "https://hub.example.com"
TOKEN = "123456:TEST-token_abcdefghijklmnopqrstuv"
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "telegram"
CLIENT_CHAT = 111222333


@pytest.fixture
def settings(
    request: pytest.FixtureRequest, mongo_url: str, db_name: str, tmp_path: Path
) -> Settings:
    return marked_settings(request, mongo_url, db_name, tmp_path, public_url=PUBLIC_URL)


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotApi]:
    api = await FakeBotApi().start()
    api.add_bot(TOKEN)
    yield api
    await api.close()


def fixture_update(name: str, **message_changes: Any) -> dict[str, Any]:
    update: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    key = next(k for k in update if k != "update_id")
    update[key].update(message_changes)
    return update


def text_update(text: str, message_id: int, update_id: int | None = None) -> dict[str, Any]:
    update = fixture_update("text", text=text, message_id=message_id)
    update["update_id"] = update_id if update_id is not None else 700_000 + message_id
    return update


async def connect_bot(
    admin: Api, fake: FakeBotApi, line_id: str, mode: str = "webhook"
) -> dict[str, Any]:
    return await admin.create_channel(  # type: ignore[no-any-return]
        line_id, "telegram", {"bot_token": TOKEN, "mode": mode, "api_base": fake.base_url}
    )


async def post_update(admin: Api, channel: dict[str, Any], update: dict[str, Any]) -> int:
    status, _ = await Api(admin.base_url, admin._session).call(
        "POST",
        f"/hooks/telegram/{channel['id']}",
        update,
        headers={"X-Telegram-Bot-Api-Secret-Token": channel["webhook_secret"]},
    )
    return status
