"""Receiving: Telegram's webhook calls and the ``getUpdates`` poller, each update checked,
parsed (``channels.telegram.parse``, pure) and handed to the hub's sink."""

from __future__ import annotations

import asyncio
import logging
import secrets

import orjson
from aiogram import Bot
from aiogram.types import Update
from aiohttp import web
from pydantic import ValidationError

from channels.telegram.client import ALLOWED_UPDATES, make_bot
from channels.telegram.parse import (
    MediaRef,
    NewMessage,
    Parsed,
    Rating,
    parse,
)
from hub.channels import (
    MALFORMED,
    POLL_RETRY_MAX_S,
    POLL_RETRY_MIN_S,
    RATING_NOT_AWAITED,
    RATING_THANKS,
    ChannelDeps,
    ChannelSink,
    Edit,
    keep_file,
    with_files,
)
from hub.errors import (
    BadRequest,
    ChannelError,
    ChannelRateLimited,
    Unauthorized,
)
from hub.models import Attachment, ChannelRecord

log = logging.getLogger("openlines.channels.telegram")

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
POLL_TIMEOUT_S = 25


class TelegramReceiver:
    """What comes from Telegram, by webhook or ``getUpdates``: checked, parsed (``parse``, pure)
    and handed to the sink. One per kind instance, so per app."""

    def __init__(self) -> None:
        # Group and channel chats we were added to: logged once each, then ignored quietly.
        self._ignored_chats: set[str] = set()

    async def webhook(
        self, channel: ChannelRecord, request: web.Request, sink: ChannelSink, deps: ChannelDeps
    ) -> web.StreamResponse:
        given = request.headers.get(SECRET_HEADER, "")
        expected = str(channel.config.get("webhook_secret") or "")
        if not expected or not secrets.compare_digest(given.encode(), expected.encode()):
            raise Unauthorized("wrong or missing secret token", code="invalid_secret")
        try:
            body = orjson.loads(await request.read())
        except orjson.JSONDecodeError:
            raise BadRequest("the body is not JSON", code="invalid_json") from None
        update_id = body.get("update_id") if isinstance(body, dict) else None
        if not isinstance(update_id, int) or isinstance(update_id, bool):
            raise BadRequest(
                "an update is a JSON object with an integer update_id", code="invalid_update"
            )
        # The secret matched, so Telegram sent this: an update we cannot read is answered 200
        # and logged, since an error answer only makes Telegram deliver it again and again.
        try:
            update = Update.model_validate(body)
        except ValidationError as exc:
            self._malformed(channel, update_id, exc)
            return web.json_response({})
        parsed = self._parse(channel, update)
        if parsed is not None:
            # The hub's HTTP session: shared connections, public addresses only.
            bot = make_bot(channel.config, deps.http)
            await self.handle(channel, parsed, sink, bot)
        return web.json_response({})

    def _parse(self, channel: ChannelRecord, update: Update) -> Parsed | None:
        """``parse`` of an update aiogram has type-checked; None (logged) if it still fails."""
        raw = update.model_dump(mode="json", by_alias=True, exclude_none=True)
        try:
            return parse(channel.id, raw)
        except MALFORMED as exc:
            self._malformed(channel, update.update_id, exc)
            return None

    def _malformed(self, channel: ChannelRecord, update_id: int, exc: Exception) -> None:
        # Where it is wrong, never what it holds (a client's words, or anything at all).
        if isinstance(exc, ValidationError):
            where = ", ".join(
                ".".join(str(p) for p in e["loc"]) for e in exc.errors(include_input=False)[:5]
            )
        else:
            where = type(exc).__name__
        log.warning(
            "ignoring a malformed update channel=%s update_id=%s at=%s",
            channel.id,
            update_id,
            where,
        )

    async def run(self, channel: ChannelRecord, deps: ChannelDeps, sink: ChannelSink) -> None:
        """Long-poll ``getUpdates``; the offset lives with the channel, so a restart or another
        process taking over resumes where this one stopped (ingest is idempotent besides)."""
        bot = make_bot(channel.config, deps.http)
        stored = await sink.position()
        offset = int(stored) if stored else None
        log.info("polling channel=%s offset=%s", channel.id, offset)
        retry_s = POLL_RETRY_MIN_S
        while True:
            try:
                updates = await bot.get_updates(
                    offset=offset,
                    timeout=POLL_TIMEOUT_S,
                    allowed_updates=ALLOWED_UPDATES,
                    request_timeout=POLL_TIMEOUT_S + 10,
                )
            except ChannelRateLimited as exc:
                await asyncio.sleep(exc.retry_after_s)
                continue
            except ChannelError as exc:  # down, answering garbage, or refusing (409, 401)
                log.warning(
                    "getUpdates failed channel=%s retry_in_s=%.0f: %s", channel.id, retry_s, exc
                )
                await asyncio.sleep(retry_s)
                retry_s = min(retry_s * 2, POLL_RETRY_MAX_S)
                continue
            retry_s = POLL_RETRY_MIN_S
            for update in updates:
                parsed = self._parse(channel, update)
                if parsed is not None:
                    await self.handle(channel, parsed, sink, bot)
                offset = update.update_id + 1
                await sink.save_position(str(offset))

    async def handle(
        self, channel: ChannelRecord, parsed: Parsed, sink: ChannelSink, bot: Bot | None
    ) -> None:
        """Hand one parsed update to the hub."""
        if isinstance(parsed, NewMessage):
            inbound = parsed.inbound
            if parsed.media:
                assert bot is not None
                inbound = with_files(inbound, [await _fetch(bot, r, sink) for r in parsed.media])
            await sink.ingest(inbound)
        elif isinstance(parsed, Edit):
            await sink.edit(parsed.external_id, parsed.text)
        elif isinstance(parsed, Rating):
            assert bot is not None
            stored = await sink.csat(parsed.chat_id, parsed.rating)
            answer = RATING_THANKS if stored else RATING_NOT_AWAITED
            try:
                await bot.answer_callback_query(parsed.callback_query_id, text=answer)
            except ChannelError as exc:
                log.info("answerCallbackQuery failed channel=%s: %s", channel.id, exc)
        elif parsed.chat_id is not None and parsed.chat_id not in self._ignored_chats:
            self._ignored_chats.add(parsed.chat_id)
            log.info("ignoring %s channel=%s chat=%s", parsed.reason, channel.id, parsed.chat_id)


async def _fetch(bot: Bot, ref: MediaRef, sink: ChannelSink) -> Attachment | str:
    """Download one file and store it (or a note on why not). Network and API failures raise
    (``ChannelError``), so Telegram (or the poller) delivers the update again."""
    file = await bot.get_file(ref.file_id)
    if not file.file_path:
        return f"[{ref.kind} not kept: Telegram gave no file path]"
    buffer = await bot.download_file(file.file_path)
    assert buffer is not None
    return await keep_file(sink, ref.kind, ref.file_name, buffer.read())
