"""The Telegram channel on aiogram 3, as the hub's ``ChannelKind``: connecting a bot
(``getMe`` and ``setWebhook`` or long polling) and undoing it. The roles live beside it:
``config``, ``parse`` (pure), ``client`` (the Bot API, failures mapped), ``send``, ``receive``.
aiogram's types stay in this package; the hub sees ``Inbound`` and ``Receipt`` only."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from typing import Any, ClassVar

from aiogram.exceptions import TelegramAPIError
from aiohttp import web

from channels.telegram.client import ALLOWED_UPDATES, make_bot
from channels.telegram.config import TelegramConfig
from channels.telegram.receive import TelegramReceiver
from channels.telegram.send import TelegramSender
from hub.channels import (
    ChannelDeps,
    ChannelKindDefaults,
    ChannelSink,
    words,
)
from hub.errors import (
    ChannelError,
    ChannelRejected,
    ValidationFailed,
)
from hub.models import ChannelRecord
from hub.netguard import ensure_public_url
from hub.settings import Settings

log = logging.getLogger("openlines.channels.telegram")


class TelegramKind(ChannelKindDefaults[TelegramConfig]):
    name: ClassVar[str] = "telegram"
    title: ClassVar[Mapping[str, str]] = words("Telegram", "Telegram")
    config_model: ClassVar[type[TelegramConfig]] = TelegramConfig
    secret_fields: ClassVar[frozenset[str]] = frozenset({"bot_token", "webhook_secret"})
    reveal_on_create: ClassVar[frozenset[str]] = frozenset({"webhook_secret"})
    live_queue_position: ClassVar[bool] = False
    live_csat: ClassVar[bool] = False

    def __init__(self) -> None:
        self._receiver = TelegramReceiver()

    # --- connecting ------------------------------------------------------------------------

    async def connect(
        self,
        config: TelegramConfig,
        channel_id: str,
        deps: ChannelDeps,
        previous: dict[str, Any] | None,
    ) -> dict[str, Any]:
        if config.api_base:
            await ensure_public_url(
                config.api_base, allow_private=deps.settings.allow_private_urls
            )
        if config.mode == "webhook" and not deps.settings.public_url:
            raise ValidationFailed(
                "webhook mode needs OPENLINES_PUBLIC_URL (where Telegram can reach the hub); "
                "or use mode polling",
                code="public_url_missing",
            )
        bot = make_bot(config, deps.http)
        # Other failures (Telegram unreachable, not a Bot API) are ``ChannelError``s: the API
        # answers them 422 with their words.
        try:
            me = await bot.get_me()
        except ChannelRejected as exc:
            cause = exc.__cause__
            words = cause.message if isinstance(cause, TelegramAPIError) else exc.message
            raise ValidationFailed(
                f"Telegram refused the bot token: {words}", code="telegram_refused"
            ) from exc
        # Generated once and kept: switching modes back and forth keeps the revealed secret.
        secret = (previous or {}).get("webhook_secret") or secrets.token_urlsafe(32)
        if previous and previous.get("bot_token") not in (None, config.bot_token):
            await self._delete_webhook(previous, deps)  # the old bot stops calling us
        if config.mode == "webhook":
            await bot.set_webhook(
                url=webhook_url(deps.settings, channel_id),
                secret_token=secret,
                allowed_updates=ALLOWED_UPDATES,
            )
        else:
            await bot.delete_webhook()
        data = config.model_dump(mode="json")
        data.update(bot_username=me.username, bot_id=me.id, webhook_secret=secret)
        return data

    async def disconnect(self, channel: ChannelRecord, deps: ChannelDeps) -> None:
        await self._delete_webhook(channel.config, deps)

    async def _delete_webhook(self, config: dict[str, Any], deps: ChannelDeps) -> None:
        try:
            await make_bot(config, deps.http).delete_webhook()
        except ChannelError as exc:
            # The bot may be revoked already; the channel goes away regardless.
            log.warning("deleteWebhook failed bot=%s: %s", config.get("bot_username"), exc)

    def public_extras(self, channel: ChannelRecord, base_url: str) -> dict[str, Any]:
        extras: dict[str, Any] = {"bot_username": channel.config.get("bot_username")}
        if channel.config.get("mode") == "webhook":
            # Webhook mode exists only with OPENLINES_PUBLIC_URL, which base_url then is.
            extras["webhook_url"] = f"{base_url}/hooks/telegram/{channel.id}"
        return extras

    def build(self, channel: ChannelRecord, deps: ChannelDeps) -> TelegramSender:
        return TelegramSender(channel, deps)

    async def typing(
        self, channel: ChannelRecord, chat_id: str, on: bool, author_name: str, deps: ChannelDeps
    ) -> None:
        if not on:  # Telegram's action ends by itself after 5 s or with the next message
            return
        try:
            await make_bot(channel.config, deps.http).send_chat_action(
                chat_id=chat_id, action="typing"
            )
        except ChannelError as exc:
            log.info("sendChatAction failed channel=%s: %s", channel.id, exc)

    # --- receiving -------------------------------------------------------------------------

    async def webhook(
        self, channel: ChannelRecord, request: web.Request, sink: ChannelSink, deps: ChannelDeps
    ) -> web.StreamResponse:
        return await self._receiver.webhook(channel, request, sink, deps)

    def runs_in_background(self, channel: ChannelRecord) -> bool:
        return channel.config.get("mode") == "polling"

    async def run(self, channel: ChannelRecord, deps: ChannelDeps, sink: ChannelSink) -> None:
        await self._receiver.run(channel, deps, sink)


def webhook_url(settings: Settings, channel_id: str) -> str:
    base = (settings.public_url or "").rstrip("/")
    return f"{base}/hooks/telegram/{channel_id}"
