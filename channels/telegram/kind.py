"""The Telegram channel on aiogram 3: connecting a bot (``getMe`` and ``setWebhook`` or long
polling), receiving updates through the webhook or ``getUpdates``, and the sender the outbox
uses. aiogram's types stay in this package; the hub sees ``Inbound`` and ``Receipt`` only.

Every Bot API call goes through ``_PlatformSession``, which turns whatever goes wrong (an error
answer, an answer that is not the Bot API's JSON, the network) into the hub's error tree in one
place, as aiogram's own ``check_response`` does for HTTP answers. Callers see ``ChannelError``
and its kin only."""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
from collections.abc import AsyncGenerator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import aiohttp
import orjson
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
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
from aiogram.types import (
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)
from aiohttp import web
from pydantic import BaseModel, Field, ValidationError

from channels.telegram.parse import (
    CSAT_PREFIX,
    MediaRef,
    NewMessage,
    Parsed,
    Rating,
    parse,
)
from hub.channels import (
    RATING_NOT_AWAITED,
    RATING_THANKS,
    ChannelDeps,
    ChannelKindDefaults,
    ChannelSink,
    Edit,
    FileReader,
    field_form,
    keep_file,
    split_text,
    with_files,
    words,
)
from hub.errors import (
    BadRequest,
    ChannelError,
    ChannelRateLimited,
    ChannelRejected,
    Unauthorized,
    ValidationFailed,
)
from hub.models import Attachment, ChannelRecord, Outbound, Receipt
from hub.netguard import ensure_public_url
from hub.settings import Settings

from .limits import SendLimiter

if TYPE_CHECKING:
    from aiogram.methods import TelegramMethod
    from aiogram.methods.base import TelegramType

log = logging.getLogger("openlines.channels.telegram")

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ALLOWED_UPDATES = ["message", "edited_message", "callback_query"]
POLL_TIMEOUT_S = 25
MAX_TEXT = 4096
MAX_CAPTION = 1024
PHOTO_TYPES = frozenset({"image/jpeg", "image/png", "image/webp", "image/gif"})
# How much of an answer that is not the Bot API's is quoted in the error (a proxy's HTML page).
QUOTED_CHARS = 200
# getUpdates failing: wait this long, doubling up to the maximum, before asking again.
POLL_RETRY_MIN_S = 1.0
POLL_RETRY_MAX_S = 60.0
# Errors of updates that parse fails on: a pure function given untrusted input.
MALFORMED = (KeyError, TypeError, ValueError, AttributeError, OverflowError, RecursionError)
# A bot token wherever a library quotes a URL (``/bot<token>/<method>``): never shown.
_TOKEN = re.compile(r"\d{1,20}:[\w-]{20,100}")


class TelegramConfig(BaseModel):
    bot_token: str = Field(
        pattern=r"^\d{1,20}:[\w-]{20,100}$",
        max_length=130,
        json_schema_extra=field_form(
            "Токен бота",
            "Bot token",
            help_ru="Выдаёт @BotFather: 123456:ABC…",
            help_en="From @BotFather: 123456:ABC…",
            secret=True,
        ),
    )
    mode: Literal["webhook", "polling"] = Field(
        default="webhook",
        json_schema_extra=field_form(
            "Получение сообщений",
            "How messages arrive",
            enum_titles={
                "webhook": (
                    "Вебхук (Telegram вызывает сервер)",
                    "Webhook (Telegram calls the hub)",
                ),
                "polling": (
                    "Опрос (сервер спрашивает Telegram)",
                    "Polling (the hub asks Telegram)",
                ),
            },
        ),
    )
    # Any Bot API server (a self-hosted one, or a local fake in tests); unset: api.telegram.org.
    api_base: str | None = Field(
        default=None,
        pattern=r"^https?://[^\s]+$",
        max_length=300,
        json_schema_extra=field_form(
            "Адрес Bot API",
            "Bot API address",
            help_ru="Пусто: api.telegram.org",
            help_en="Empty: api.telegram.org",
        ),
    )


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
        super().__init__(api=api)
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


def csat_keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(text=str(n), callback_data=f"{CSAT_PREFIX}{n}")
                for n in range(1, 6)
            ]
        ]
    )


class TelegramSender:
    """Delivers outgoing messages of one bot, as plain text (no ``parse_mode``: a client never
    sees stray Markdown), files uploaded from our store, and CSAT prompts as buttons."""

    def __init__(self, channel: ChannelRecord, deps: ChannelDeps) -> None:
        self._bot = make_bot(channel.config, deps.http)
        self._files: FileReader | None = deps.files
        self._limiter = SendLimiter()

    async def send(self, outbound: Outbound) -> Receipt:
        chat_id = outbound.chat_id
        text = outbound.text
        first_id: int | None = None
        if outbound.purpose == "csat_request":
            await self._limiter.wait(chat_id)
            sent = await self._bot.send_message(
                chat_id=chat_id, text=text, reply_markup=csat_keyboard()
            )
            return Receipt(platform_message_id=str(sent.message_id))
        caption = text if outbound.attachments and 0 < len(text) <= MAX_CAPTION else None
        if text and caption is None:
            for part in split_text(text, MAX_TEXT):
                await self._limiter.wait(chat_id)
                sent = await self._bot.send_message(chat_id=chat_id, text=part)
                first_id = first_id or sent.message_id
        for index, attachment in enumerate(outbound.attachments):
            first_caption = caption if index == 0 else None
            message_id = await self._send_file(chat_id, attachment, first_caption)
            first_id = first_id or message_id
        return Receipt(platform_message_id=str(first_id) if first_id else None)

    async def _send_file(self, chat_id: str, attachment: Attachment, caption: str | None) -> int:
        if self._files is None:
            raise ChannelError("no file store to upload attachments from")
        data = await self._files.read(attachment.id)
        upload = BufferedInputFile(data, filename=attachment.name)
        await self._limiter.wait(chat_id)
        if attachment.mime in PHOTO_TYPES:
            sent = await self._bot.send_photo(chat_id=chat_id, photo=upload, caption=caption)
        else:
            sent = await self._bot.send_document(chat_id=chat_id, document=upload, caption=caption)
        return sent.message_id


class TelegramKind(ChannelKindDefaults[TelegramConfig]):
    name: ClassVar[str] = "telegram"
    title: ClassVar[Mapping[str, str]] = words("Telegram", "Telegram")
    config_model: ClassVar[type[TelegramConfig]] = TelegramConfig
    secret_fields: ClassVar[frozenset[str]] = frozenset({"bot_token", "webhook_secret"})
    reveal_on_create: ClassVar[frozenset[str]] = frozenset({"webhook_secret"})
    live_queue_position: ClassVar[bool] = False
    live_csat: ClassVar[bool] = False

    def __init__(self) -> None:
        # Group and channel chats we were added to: logged once each, then ignored quietly.
        self._ignored_chats: set[str] = set()

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

    def runs_in_background(self, channel: ChannelRecord) -> bool:
        return channel.config.get("mode") == "polling"

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


def webhook_url(settings: Settings, channel_id: str) -> str:
    base = (settings.public_url or "").rstrip("/")
    return f"{base}/hooks/telegram/{channel_id}"
