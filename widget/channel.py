"""The widget as a channel: replies are delivered by emitting to the visitor's room."""

from __future__ import annotations

import hashlib
import hmac
import html
import secrets
from collections.abc import Mapping
from typing import Any, ClassVar, Literal
from urllib.parse import urlsplit

from aiohttp import web
from pydantic import BaseModel, Field, field_validator

from hub.channels import (
    ChannelDeps,
    ChannelKindDefaults,
    ChannelSink,
    Emitter,
    field_form,
    words,
)
from hub.errors import NotFound
from hub.models import ChannelRecord, Outbound, Receipt
from hub.realtime import WIDGET_NS, visitor_room

PRECHAT_FIELDS = ("name", "email", "phone")
PrechatField = Literal["name", "email", "phone"]


class WidgetConfig(BaseModel):
    title: str = Field(
        default="Chat with us",
        min_length=1,
        max_length=100,
        json_schema_extra=field_form("Заголовок окна", "Window title"),
    )
    color: str = Field(
        default="#2f6fed",
        pattern=r"^#[0-9a-fA-F]{6}$",
        json_schema_extra=field_form("Цвет", "Colour", help_ru="#RRGGBB", help_en="#RRGGBB"),
    )
    allowed_origins: list[str] = Field(
        default_factory=list,
        max_length=50,
        json_schema_extra=field_form(
            "Разрешённые сайты",
            "Allowed origins",
            help_ru="Например https://example.com; пусто — любой сайт",
            help_en="Like https://example.com; empty: any site",
        ),
    )
    prechat_fields: list[PrechatField] = Field(
        default_factory=list,
        max_length=len(PRECHAT_FIELDS),
        json_schema_extra=field_form(
            "Поля анкеты",
            "Pre-chat fields",
            enum_titles={
                "name": ("Имя", "Name"),
                "email": ("Эл. почта", "E-mail"),
                "phone": ("Телефон", "Phone"),
            },
        ),
    )
    agreement_text: str | None = Field(
        default=None,
        max_length=2000,
        json_schema_extra=field_form("Текст соглашения", "Agreement text", multiline=True),
    )
    greeting: str | None = Field(
        default=None,
        max_length=500,
        json_schema_extra=field_form("Приветствие", "Greeting", multiline=True),
    )
    # "auto" follows the visitor's browser; the widget ships Russian and English.
    language: Literal["auto", "en", "ru"] = Field(
        default="auto",
        json_schema_extra=field_form(
            "Язык",
            "Language",
            enum_titles={
                "auto": ("Как в браузере", "As the browser"),
                "en": ("Английский", "English"),
                "ru": ("Русский", "Russian"),
            },
        ),
    )
    # Identity verification: the site's backend signs the visitor's user id with this (see
    # ``identity_hash``). Generated at creation and shown once; PATCH a new value to renew it.
    identity_secret: str | None = Field(
        default=None,
        min_length=32,
        max_length=200,
        pattern=r"^[\x21-\x7e]+$",  # printable ASCII: the same bytes in every backend language
        json_schema_extra=field_form(
            "Секрет проверки личности",
            "Identity secret",
            help_ru="Пусто: сервер создаст секрет и покажет единожды",
            help_en="Empty: the hub generates one and shows it once",
            generated=True,
            once=True,
            secret=True,
        ),
    )

    @field_validator("prechat_fields", mode="before")
    @classmethod
    def _known_fields(cls, value: Any) -> Any:
        # Before the type check, so that an unknown field is named the way it always was.
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            unknown = sorted(set(value) - set(PRECHAT_FIELDS))
            if unknown:
                raise ValueError(f"unknown pre-chat fields {unknown}; use {list(PRECHAT_FIELDS)}")
        return value

    @field_validator("prechat_fields")
    @classmethod
    def _unique_fields(cls, value: list[PrechatField]) -> list[PrechatField]:
        return list(dict.fromkeys(value))

    @field_validator("allowed_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        for origin in value:
            if not origin.startswith(("http://", "https://")) or origin.count("/") != 2:
                raise ValueError(f"{origin!r} is not an origin like https://example.com")
        return [o.rstrip("/") for o in value]


def origin_allowed(config: dict[str, Any], origin: str | None, host: str | None) -> bool:
    """Whether a page of ``origin`` may use the widget (``allowed_origins`` empty: any).

    A browser sends no ``Origin`` on a same-origin GET (the socket's first polling request
    from the hub's own ``/demo``): such a request comes from the hub's own address, the
    ``Host`` it asked, which is allowed when an allowed origin names that host."""
    allowed: list[str] = config.get("allowed_origins") or []
    if not allowed:
        return True
    if origin:
        return origin.rstrip("/") in allowed
    return bool(host) and any(urlsplit(o).netloc.lower() == str(host).lower() for o in allowed)


def identity_hash(secret: str, identity: str) -> str:
    """What the site's backend computes for a signed-in visitor: hex HMAC-SHA256 of the
    identity (their user id or e-mail) keyed with the channel's ``identity_secret``."""
    return hmac.new(secret.encode(), identity.encode(), hashlib.sha256).hexdigest()


def identity_proven(config: dict[str, Any], identity: str, given_hash: str | None) -> bool:
    """Whether ``given_hash`` proves ``identity`` for a widget channel's ``config`` (compared
    in constant time; a channel without an ``identity_secret`` proves nobody)."""
    secret = config.get("identity_secret")
    if not secret or not given_hash or not given_hash.isascii():
        return False
    expected = identity_hash(str(secret), identity)
    return hmac.compare_digest(expected.encode(), given_hash.lower().encode())


class WidgetChannel:
    def __init__(self, emitter: Emitter) -> None:
        self._emitter = emitter

    async def send(self, outbound: Outbound) -> Receipt:
        message = {
            "id": outbound.message_id,
            "conversation_id": outbound.conversation_id,
            "seq": outbound.seq,
            "direction": outbound.direction.value,
            "author": outbound.author.model_dump(mode="json"),
            "text": outbound.text,
            "attachments": [a.model_dump(mode="json") for a in outbound.attachments],
            "hidden": False,
            "status": "sent",
            "created_at": outbound.created_at.isoformat().replace("+00:00", "Z"),
        }
        await self._emitter.emit(
            "message:new",
            {"message": message},
            room=visitor_room(outbound.chat_id),
            namespace=WIDGET_NS,
        )
        return Receipt(platform_message_id=outbound.message_id)


class WidgetKind(ChannelKindDefaults[WidgetConfig]):
    name: ClassVar[str] = "widget"
    title: ClassVar[Mapping[str, str]] = words("Виджет на сайте", "Website widget")
    config_model: ClassVar[type[WidgetConfig]] = WidgetConfig
    secret_fields: ClassVar[frozenset[str]] = frozenset({"identity_secret"})
    reveal_on_create: ClassVar[frozenset[str]] = frozenset({"identity_secret"})
    live_queue_position: ClassVar[bool] = True

    live_csat: ClassVar[bool] = True

    async def connect(
        self,
        config: WidgetConfig,
        channel_id: str,
        deps: ChannelDeps,
        previous: dict[str, Any] | None,
    ) -> dict[str, Any]:
        data = config.model_dump(mode="json")
        # The key is in every site's embed snippet: it never changes.
        data["key"] = (previous or {}).get("key") or secrets.token_urlsafe(16)
        if previous is None:
            # Generated only here, where the creation response shows it once.
            data["identity_secret"] = data.get("identity_secret") or secrets.token_urlsafe(32)
        else:
            # A PATCH sets the new value it carries, else (omitted or null) keeps the stored
            # one; a channel made before identity verification has none until one is set.
            data["identity_secret"] = data.get("identity_secret") or previous.get(
                "identity_secret"
            )
        return data

    async def typing(
        self, channel: ChannelRecord, chat_id: str, on: bool, author_name: str, deps: ChannelDeps
    ) -> None:
        await deps.emitter.emit(
            "typing",
            {"on": on, "author": {"type": "operator", "name": author_name}},
            room=visitor_room(chat_id),
            namespace=WIDGET_NS,
        )

    def public_extras(self, channel: ChannelRecord, base_url: str) -> dict[str, Any]:
        key = str(channel.config["key"])
        embed = (
            f'<script async src="{html.escape(base_url)}/widget/loader.js" '
            f'data-openlines-key="{html.escape(key)}"></script>'
        )
        return {"key": key, "embed": embed}

    async def webhook(
        self, channel: ChannelRecord, request: web.Request, sink: ChannelSink, deps: ChannelDeps
    ) -> web.StreamResponse:
        raise NotFound("the widget talks over Socket.IO, not webhooks")

    def build(self, channel: ChannelRecord, deps: ChannelDeps) -> WidgetChannel:
        return WidgetChannel(deps.emitter)
