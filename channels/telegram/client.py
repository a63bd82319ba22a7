"""The Bot API client: aiogram's ``Bot`` on the hub's shared HTTP session, every failure mapped
to the hub's error tree in one place (``platform_error``), as aiogram's own ``check_response``
does for HTTP answers. Callers see ``ChannelError`` and its kin only."""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING, Any

import aiohttp
import orjson
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.base import BaseSession
from aiogram.client.telegram import PRODUCTION, TelegramAPIServer
from aiogram.exceptions import (
    AiogramError,
    ClientDecodeError,
    TelegramAPIError,
    TelegramBadRequest,
    TelegramConflictError,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramUnauthorizedError,
)

from channels.telegram.config import TelegramConfig
from hub.errors import (
    ChannelError,
    ChannelRateLimited,
    ChannelRejected,
)

if TYPE_CHECKING:
    from aiogram.methods import TelegramMethod
    from aiogram.methods.base import TelegramType

ALLOWED_UPDATES = ["message", "edited_message", "callback_query"]
# How much of an answer that is not the Bot API's is quoted in the error (a proxy's HTML page).
QUOTED_CHARS = 200
# A bot token wherever a library quotes a URL (``/bot<token>/<method>``): never shown.
_TOKEN = re.compile(r"\d{1,20}:[\w-]{20,100}")


def _scrub(text: str) -> str:
    return _TOKEN.sub("<token>", text)


def _quote(data: Any) -> str:
    text = data if isinstance(data, str) else orjson.dumps(data, default=str).decode()
    text = " ".join(text.split())
    return repr(text if len(text) <= QUOTED_CHARS else text[:QUOTED_CHARS] + "…")


def platform_error(action: str, exc: Exception) -> ChannelError:
    """One failed Bot API call as the hub's error tree (what the outbox knows how to treat)."""
    if isinstance(exc, TelegramRetryAfter):
        return ChannelRateLimited(
            f"Telegram {action}: {exc.message}", retry_after_s=float(exc.retry_after)
        )
    if isinstance(exc, TelegramForbiddenError):  # the client blocked the bot
        return ChannelRejected(f"Telegram {action}: {exc.message}", unreachable=True)
    if isinstance(
        exc,
        TelegramBadRequest
        | TelegramUnauthorizedError
        | TelegramNotFound
        | TelegramConflictError
        | TelegramEntityTooLarge
        | TelegramMigrateToChat,
    ):  # the same call would fail again
        return ChannelRejected(f"Telegram refused {action}: {_scrub(exc.message)}")
    if isinstance(exc, ClientDecodeError):
        return ChannelError(
            f"Telegram {action} failed: not the Bot API's answer: {_scrub(_quote(exc.data))}"
        )
    if isinstance(exc, TelegramAPIError):  # 5xx, or the network (aiogram wraps aiohttp's)
        return ChannelError(f"Telegram {action} failed: {_scrub(exc.message)}")
    if isinstance(exc, aiohttp.ClientResponseError):  # a file download (its URL has the token)
        return ChannelError(f"Telegram {action} failed: HTTP {exc.status}")
    return ChannelError(
        f"Telegram unreachable ({action}): {type(exc).__name__}: {_scrub(str(exc))}"
    )


# Everything a Bot API call may raise besides the hub's errors.
_PLATFORM_FAILURES = (AiogramError, aiohttp.ClientError, OSError, TimeoutError, ValueError)


class _PlatformSession(AiohttpSession):
    """aiogram's transport with every failure mapped by ``platform_error``."""

    async def make_request(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        timeout: int | None = None,  # noqa: ASYNC109 -- aiogram's signature
    ) -> TelegramType:
        try:
            return await super().make_request(bot, method, timeout)
        except _PLATFORM_FAILURES as exc:
            raise platform_error(method.__api_method__, exc) from exc

    async def stream_content(
        self,
        url: str,
        headers: dict[str, Any] | None = None,
        timeout: int = 30,  # noqa: ASYNC109 -- aiogram's signature
        chunk_size: int = 65536,
        raise_for_status: bool = True,
    ) -> AsyncGenerator[bytes, None]:
        try:
            async for chunk in super().stream_content(
                url, headers, timeout, chunk_size, raise_for_status
            ):
                yield chunk
        except _PLATFORM_FAILURES as exc:
            raise platform_error("the file download", exc) from exc


class _SharedSession(_PlatformSession):
    """aiogram's transport on the hub's own HTTP session, so bots own no connections to close
    (and every name resolves to public addresses only, see ``hub.netguard``)."""

    def __init__(self, http: aiohttp.ClientSession, api: TelegramAPIServer) -> None:
        # Not ``AiohttpSession.__init__``: it builds an SSL context (the CA bundle read and
        # parsed, tens of ms of CPU) for connections of its own, and this session opens none.
        # A bot is made per webhook update, so that was most of the hub's CPU under webhooks.
        BaseSession.__init__(self, api=api)
        self._session = http
        self._proxy = None
        self._should_reset_connector = False
        self._shared = http

    async def create_session(self) -> aiohttp.ClientSession:
        return self._shared

    async def close(self) -> None:
        return None


def _api(api_base: str | None) -> TelegramAPIServer:
    return TelegramAPIServer.from_base(api_base.rstrip("/")) if api_base else PRODUCTION


def make_bot(config: dict[str, Any] | TelegramConfig, http: aiohttp.ClientSession) -> Bot:
    if isinstance(config, TelegramConfig):
        token, api_base = config.bot_token, config.api_base
    else:
        token, api_base = str(config["bot_token"]), config.get("api_base")
    return Bot(token, session=_SharedSession(http, _api(api_base)))
