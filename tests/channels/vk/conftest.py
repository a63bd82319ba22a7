"""The VK suite: a local fake VK API server and a hub whose channels point at it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from hub.settings import Settings
from tests.conftest import marked_settings
from tests.fakes.vk import FakeVkApi
from tests.support.clients import Api

T = TypeVar("T")

PUBLIC_URL = "https://hub.example.com"
TOKEN = "vk1.a.community-token-for-tests"
GROUP_ID = 218000111
USER_ID = 123456789
SECRET = "s3cr3t-callback"
CONFIRMATION = "a1b2c3d4"
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "vk"
CDN = "https://sun9-74.userapi.com/impg/"


@pytest.fixture
def settings(
    request: pytest.FixtureRequest, mongo_url: str, db_name: str, tmp_path: Path
) -> Settings:
    return marked_settings(request, mongo_url, db_name, tmp_path, public_url=PUBLIC_URL)


@pytest.fixture
async def fake() -> AsyncIterator[FakeVkApi]:
    api = await FakeVkApi().start()
    api.add_community(TOKEN, GROUP_ID)
    api.add_user(USER_ID, "Анна", "Петрова")
    yield api
    await api.close()


def fixture_event(name: str, fake: FakeVkApi | None = None) -> dict[str, Any]:
    """A fixture; with ``fake``, its file URLs point at the fake's downloads."""
    raw = (FIXTURES / f"{name}.json").read_text()
    if fake is not None:
        raw = raw.replace(CDN, f"{fake.base_url}/files/")
    event: dict[str, Any] = json.loads(raw)
    return event


def text_event(text: str, cmid: int, event_id: str | None = None) -> dict[str, Any]:
    event = fixture_event("text")
    event["event_id"] = event_id or f"evt-{cmid}"
    event["object"]["message"].update(text=text, conversation_message_id=cmid)
    return event


async def connect_community(
    admin: Api, fake: FakeVkApi, line_id: str, mode: str = "callback"
) -> dict[str, Any]:
    config = {
        "group_id": GROUP_ID,
        "access_token": TOKEN,
        "confirmation_code": CONFIRMATION,
        "secret": SECRET,
        "mode": mode,
        "api_base": fake.base_url,
    }
    return await admin.create_channel(line_id, "vk", config)  # type: ignore[no-any-return]


async def post_event(
    admin: Api, channel: dict[str, Any], event: dict[str, Any]
) -> tuple[int, Any]:
    async with admin._session.post(
        f"{admin.base_url}/hooks/vk/{channel['id']}", json=event
    ) as response:
        return response.status, await response.text()


async def now(value: T) -> T:
    """``value`` as an awaitable: an ``eventually`` probe of the fake's in-memory state."""
    return value
