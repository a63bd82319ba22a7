"""The API channel ("bring your own channel"): any system posts client messages to
``/hooks/api/<channel_id>`` and receives replies as signed JSON POSTs to its ``webhook_url``.

Inbound calls carry the channel secret in ``X-OpenLines-Secret``; outbound calls are signed with
``X-OpenLines-Signature: sha256=<hex HMAC of the body>`` using the same secret.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime
from typing import Any, ClassVar

import aiohttp
import orjson
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, HttpUrl

from hub.channels import ChannelDeps, ChannelKindDefaults, ChannelSink
from hub.errors import ChannelError, ChannelRateLimited, ChannelRejected, Unauthorized
from hub.http import json_response, read_json
from hub.models import ChannelRecord, Inbound, Outbound, Receipt, Sender

SECRET_HEADER = "X-OpenLines-Secret"
SIGNATURE_HEADER = "X-OpenLines-Signature"


class ApiConfig(BaseModel):
    webhook_url: HttpUrl | None = None
    secret: str | None = Field(default=None, min_length=16, max_length=200)
    timeout_s: float = Field(default=10.0, gt=0, le=60)


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


def parse(channel_id: str, message: ApiMessage) -> Inbound:
    """Pure: one posted message -> one Inbound."""
    return Inbound(
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


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class ApiChannel:
    def __init__(self, channel: ChannelRecord, deps: ChannelDeps) -> None:
        self._config = ApiConfig.model_validate(channel.config)
        self._secret = channel.config["secret"]
        self._http = deps.http

    async def send(self, outbound: Outbound) -> Receipt:
        if self._config.webhook_url is None:
            raise ChannelRejected("the channel has no webhook_url to deliver to")
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
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(self._secret, body)}
        try:
            async with self._http.post(
                str(self._config.webhook_url),
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


class ApiKind(ChannelKindDefaults):
    name: ClassVar[str] = "api"
    config_model: ClassVar[type[BaseModel]] = ApiConfig
    secret_fields: ClassVar[frozenset[str]] = frozenset({"secret"})
    reveal_on_create: ClassVar[frozenset[str]] = frozenset({"secret"})
    live_queue_position: ClassVar[bool] = False

    live_csat: ClassVar[bool] = False

    async def connect(
        self,
        config: BaseModel,
        channel_id: str,
        deps: ChannelDeps,
        previous: dict[str, Any] | None,
    ) -> dict[str, Any]:
        data = config.model_dump(mode="json")
        data["secret"] = data.get("secret") or secrets.token_urlsafe(32)
        return data

    def public_extras(self, channel: ChannelRecord, base_url: str) -> dict[str, Any]:
        return {"inbound_url": f"{base_url}/hooks/api/{channel.id}"}

    async def webhook(
        self, channel: ChannelRecord, request: web.Request, sink: ChannelSink
    ) -> web.StreamResponse:
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), str(channel.config["secret"]).encode()):
            raise Unauthorized("wrong or missing channel secret", code="invalid_secret")
        message = await read_json(request, ApiMessage)
        await sink.ingest(parse(channel.id, message))
        return json_response({"ok": True})

    def build(self, channel: ChannelRecord, deps: ChannelDeps) -> ApiChannel:
        return ApiChannel(channel, deps)


KIND = ApiKind()
