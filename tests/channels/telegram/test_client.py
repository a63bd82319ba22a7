"""The Bot API transport on the hub's own HTTP session."""

from __future__ import annotations

import ssl
from typing import Any

import aiohttp
import pytest

from channels.telegram.client import make_bot
from tests.channels.telegram.conftest import TOKEN
from tests.fakes.telegram import FakeBotApi


async def test_a_bot_on_the_hubs_session_builds_no_ssl_context_and_still_calls_the_api(
    fake: FakeBotApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bot is made for every webhook update; aiogram's own session read and parsed the CA
    bundle for each (an SSL context for connections it never opened): most of the hub's CPU
    under webhook load."""
    async with aiohttp.ClientSession() as http:

        def refuse(*args: Any, **kwargs: Any) -> ssl.SSLContext:
            raise AssertionError("a bot built an SSL context")

        monkeypatch.setattr(ssl, "create_default_context", refuse)
        bot = make_bot({"bot_token": TOKEN, "api_base": fake.base_url}, http)
        assert await bot.session.create_session() is http
        assert (await bot.get_me()).is_bot
