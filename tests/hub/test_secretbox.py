"""Secrets at rest: sealed with a key from the secret key, readable only with it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from pymongo import AsyncMongoClient

from hub.app import create_app
from hub.appkeys import HUB
from hub.secretbox import PREFIX, SecretBox, SecretBoxError
from hub.settings import Settings
from tests.support.api_channel import post_api_message
from tests.support.clients import Api


def test_a_sealed_value_opens_with_the_same_key_only() -> None:
    box = SecretBox(b"key one")
    sealed = box.seal("123456:bot-token")
    assert sealed.startswith(PREFIX) and "bot-token" not in sealed
    assert box.open(sealed) == "123456:bot-token"
    assert box.seal("123456:bot-token") != sealed  # a fresh nonce every time
    assert box.seal(sealed) == sealed  # sealing twice changes nothing
    with pytest.raises(SecretBoxError):
        SecretBox(b"key two").open(sealed)
    with pytest.raises(SecretBoxError):
        box.open(sealed[:-4] + "AAAA")


def test_fields_are_sealed_and_values_in_clear_read_as_they_are() -> None:
    box = SecretBox(b"k")
    config = {"bot_token": "t", "mode": "webhook", "empty": ""}
    sealed = box.seal_fields(config, {"bot_token", "empty", "missing"})
    assert sealed["mode"] == "webhook" and sealed["empty"] == ""
    assert SecretBox.sealed(sealed["bot_token"])
    assert box.open_fields(sealed, {"bot_token"}) == config
    assert box.open_fields(config, {"bot_token"}) == config  # stored before encryption


async def test_channel_secrets_are_sealed_in_the_database(
    admin: Api, hub_app: web.Application, settings: Settings
) -> None:
    line = await admin.create_line()
    created = await admin.create_channel(line["id"], "api", {"secret": "s" * 24})
    raw = await _raw_channel(settings, created["id"])
    assert SecretBox.sealed(raw["config"]["secret"]) and "s" * 24 not in str(raw)
    # The hub itself reads it in clear: a signed post with the secret is accepted.
    message = {"message_id": "m1", "chat_id": "c1", "sender": {"id": "u1"}, "text": "hi"}
    status, body = await post_api_message(admin, created, message)
    assert status == 200, body
    # A patch keeps it sealed.
    await admin.patch(f"/api/v1/channels/{created['id']}", {"config": {"timeout_s": 5}})
    raw = await _raw_channel(settings, created["id"])
    assert SecretBox.sealed(raw["config"]["secret"])


async def test_secrets_stored_in_clear_are_sealed_at_start(
    mongo_url: str, db_name: str, tmp_path: Path, settings: Settings
) -> None:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url)
    await client[db_name]["channels"].insert_one(
        {"_id": "old", "type": "api", "line_id": "l", "config": {"secret": "c" * 24}}
    )
    app = await create_app(settings)
    async with TestServer(app, host="127.0.0.1"):
        raw = await _raw_channel(settings, "old")
        assert SecretBox.sealed(raw["config"]["secret"])
        record = await app[HUB].store.channels.get("old")
        assert record is not None and record.config["secret"] == "c" * 24
    await client.close()


async def _raw_channel(settings: Settings, channel_id: str) -> dict[str, Any]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(settings.mongo_url)
    doc = await client[settings.mongo_db]["channels"].find_one({"_id": channel_id})
    await client.close()
    assert doc is not None
    return doc


async def test_crm_webhook_secrets_are_sealed_in_the_database(
    admin: Api, settings: Settings
) -> None:
    created = await admin.post(
        "/api/v1/webhooks", {"url": "https://hooks.example.com/crm", "secret": "w" * 32}
    )
    assert created["secret"] == "w" * 32  # shown once, in clear
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(settings.mongo_url)
    raw = await client[settings.mongo_db]["crm_webhooks"].find_one({"_id": created["id"]})
    await client.close()
    assert raw is not None and SecretBox.sealed(raw["secret"]) and "w" * 32 not in str(raw)
