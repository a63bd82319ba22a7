"""The API channel ("bring your own channel"): any system posts client messages to
``/hooks/api/<channel_id>`` and receives replies as JSON POSTs to its ``webhook_url``.

Both ways are signed with the channel secret (``channels.api.signing``): a timestamp and an
HMAC of it and the raw body. Inbound, a stale timestamp, a wrong signature or a replay is a 401
and stores nothing; outbound, the receiver can check the same. The ``webhook_url`` must be a
public address (``hub.netguard``), checked when it is set and before every call.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar, Never

import aiohttp
import orjson
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, HttpUrl

from channels.api.signing import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    SeenSignatures,
    signed_headers,
    verify,
)
from hub.channels import (
    ChannelDeps,
    ChannelKindDefaults,
    ChannelSink,
    NewMessage,
    field_form,
    words,
)
from hub.errors import (
    ChannelError,
    ChannelRateLimited,
    ChannelRejected,
    PayloadTooLarge,
    Unauthorized,
    ValidationFailed,
)
from hub.http import MAX_JSON_BYTES, json_response, read_json
from hub.models import ChannelRecord, Inbound, Outbound, Receipt, Sender
from hub.netguard import ensure_public_url
from hub.settings import Settings

__all__ = ["SIGNATURE_HEADER", "TIMESTAMP_HEADER", "ApiConfig", "ApiKind"]


class ApiConfig(BaseModel):
    webhook_url: HttpUrl | None = Field(
        default=None,
        json_schema_extra=field_form(
            "Адрес для ответов",
            "Webhook URL",
            help_ru="Сюда уходят ответы операторов (POST, подписанный секретом)",
            help_en="Where the hub posts the operators' replies (signed with the secret)",
        ),
    )
    secret: str | None = Field(
        default=None,
        min_length=16,
        max_length=200,
        json_schema_extra=field_form(
            "Секрет подписи",
            "Signing secret",
            help_ru="Пусто: сервер создаст секрет и покажет единожды",
            help_en="Empty: the hub generates one and shows it once",
            generated=True,
            secret=True,
        ),
    )
    # How long one delivery may take; the outbox retries after that.
    timeout_s: float = Field(
        default=10.0,
        ge=1,
        le=60,
        json_schema_extra=field_form("Тайм-аут доставки, секунд", "Delivery timeout, s"),
    )


class ApiSender(BaseModel):
    id: str = Field(min_length=1, max_length=200)
    name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=50)


class ApiMessage(BaseModel):
    """One client message as the integrating system posts it."""

    model_config = ConfigDict(extra="forbid")

    message_id: str = Field(min_length=1, max_length=200)
    chat_id: str = Field(min_length=1, max_length=200)
    sender: ApiSender
    text: str = Field(min_length=1, max_length=4000)
    sent_at: datetime | None = None


# The port's vocabulary (``hub.channels``), as far as the API channel speaks it: a client's
# new message, with no files to fetch.
Parsed = NewMessage[Never]


def parse(channel_id: str, message: ApiMessage) -> Parsed:
    """Pure: one posted message -> the client's new message it is."""
    return NewMessage(
        inbound=Inbound(
            channel_id=channel_id,
            chat_id=message.chat_id,
            external_id=message.message_id,
            sender=Sender(
                external_id=message.sender.id,
                name=message.sender.name,
                email=message.sender.email,
                phone=message.sender.phone,
            ),
            text=message.text,
            sent_at=message.sent_at,
        )
    )


class ApiChannel:
    def __init__(self, channel: ChannelRecord, deps: ChannelDeps) -> None:
        self._config = ApiConfig.model_validate(channel.config)
        self._secret = str(channel.config["secret"])
        self._http = deps.http
        self._settings: Settings = deps.settings

    async def send(self, outbound: Outbound) -> Receipt:
        if self._config.webhook_url is None:
            raise ChannelRejected("the channel has no webhook_url to deliver to")
        url = str(self._config.webhook_url)
        try:
            # Again at every call: a URL stored before the rule, or a name that moved inside.
            await ensure_public_url(url, allow_private=self._settings.allow_private_urls)
        except ValidationFailed as exc:
            raise ChannelRejected(f"webhook_url refused: {exc.message}") from exc
        body = orjson.dumps(
            {
                "event": "message",
                "purpose": outbound.purpose,
                "message_id": outbound.message_id,
                "conversation_id": outbound.conversation_id,
                "chat_id": outbound.chat_id,
                "text": outbound.text,
                "author": outbound.author.model_dump(mode="json"),
                "direction": outbound.direction.value,
            }
        )
        # Signed at each attempt: a retry carries a fresh timestamp.
        headers = {"Content-Type": "application/json", **signed_headers(self._secret, body)}
        try:
            async with self._http.post(
                url,
                data=body,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=self._config.timeout_s),
            ) as response:
                status = response.status
                payload = await response.read()
                retry_after = response.headers.get("Retry-After")
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise ChannelError(f"webhook unreachable: {type(exc).__name__}") from exc
        if status == 429:
            raise ChannelRateLimited("webhook rate limited", retry_after_s=_seconds(retry_after))
        if 400 <= status < 500:
            raise ChannelRejected(f"webhook refused the message: HTTP {status}")
        if status >= 300:
            raise ChannelError(f"webhook failed: HTTP {status}")
        return Receipt(platform_message_id=_receipt_id(payload))


def _seconds(value: str | None) -> float:
    try:
        return max(float(value or 1), 0.0)
    except ValueError:
        return 1.0


def _receipt_id(payload: bytes) -> str | None:
    try:
        data = orjson.loads(payload) if payload else None
    except orjson.JSONDecodeError:
        return None
    if isinstance(data, dict) and data.get("id") is not None:
        return str(data["id"])
    return None


class ApiKind(ChannelKindDefaults[ApiConfig]):
    name: ClassVar[str] = "api"
    title: ClassVar[Mapping[str, str]] = words("API", "API")
    config_model: ClassVar[type[ApiConfig]] = ApiConfig
    secret_fields: ClassVar[frozenset[str]] = frozenset({"secret"})
    reveal_on_create: ClassVar[frozenset[str]] = frozenset({"secret"})
    live_queue_position: ClassVar[bool] = False

    live_csat: ClassVar[bool] = False

    def __init__(self) -> None:
        self._seen = SeenSignatures()

    async def connect(
        self,
        config: ApiConfig,
        channel_id: str,
        deps: ChannelDeps,
        previous: dict[str, Any] | None,
    ) -> dict[str, Any]:
        if config.webhook_url is not None:
            await ensure_public_url(
                str(config.webhook_url), allow_private=deps.settings.allow_private_urls
            )
        data = config.model_dump(mode="json")
        data["secret"] = data.get("secret") or secrets.token_urlsafe(32)
        return data

    def public_extras(self, channel: ChannelRecord, base_url: str) -> dict[str, Any]:
        return {"inbound_url": f"{base_url}/hooks/api/{channel.id}"}

    async def webhook(
        self, channel: ChannelRecord, request: web.Request, sink: ChannelSink, deps: ChannelDeps
    ) -> web.StreamResponse:
        window_s = deps.settings.api_signature_window_s
        if request.content_length is not None and request.content_length > MAX_JSON_BYTES:
            raise PayloadTooLarge("the body is too large")
        raw = await request.read()  # kept by aiohttp: read_json reads the same bytes
        signature = request.headers.get(SIGNATURE_HEADER, "")
        timestamp = verify(
            str(channel.config["secret"]),
            raw,
            request.headers.get(TIMESTAMP_HEADER, ""),
            signature,
            window_s,
        )
        first = await self._seen.first_use(
            f"{channel.id}:{timestamp}:{signature.removeprefix('sha256=')}",
            timestamp + window_s + 1,
            redis=deps.redis,
            prefix=f"openlines:{deps.settings.mongo_db}:api:seen",
        )
        if not first:
            raise Unauthorized(
                "this signed request was taken already; sign each request anew",
                code="replayed_request",
            )
        parsed = parse(channel.id, await read_json(request, ApiMessage))
        await sink.ingest(parsed.inbound)
        return json_response({"ok": True})

    def build(self, channel: ChannelRecord, deps: ChannelDeps) -> ApiChannel:
        return ApiChannel(channel, deps)
