"""The VK channel's configuration, as ``POST /lines/<id>/channels`` takes it."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, model_validator

from channels.vk.parse import CHAT_PEER_BASE
from hub.channels import field_form


class VkConfig(BaseModel):
    # A community's id; peer ids from 2e9 on are group chats, so no community has one there.
    group_id: int = Field(
        gt=0,
        lt=CHAT_PEER_BASE,
        strict=True,
        json_schema_extra=field_form("ID сообщества", "Community id"),
    )
    access_token: str = Field(
        min_length=8,
        max_length=500,
        json_schema_extra=field_form(
            "Ключ доступа сообщества",
            "Community access token",
            help_ru="Управление сообществом → раздел API",
            help_en="Community management → API usage",
            secret=True,
        ),
    )
    confirmation_code: str = Field(
        default="",
        max_length=100,
        json_schema_extra=field_form(
            "Строка подтверждения",
            "Confirmation code",
            help_ru="Для Callback API: строка, которую должен вернуть сервер",
            help_en="For the Callback API: the string the server must return",
        ),
    )
    secret: str = Field(
        default="",
        max_length=100,
        json_schema_extra=field_form(
            "Секретный ключ",
            "Secret key",
            help_ru="Для Callback API",
            help_en="For the Callback API",
            secret=True,
        ),
    )
    mode: Literal["callback", "longpoll"] = Field(
        default="callback",
        json_schema_extra=field_form(
            "Получение сообщений",
            "How messages arrive",
            enum_titles={
                "callback": (
                    "Callback API (VK вызывает сервер)",
                    "Callback API (VK calls the hub)",
                ),
                "longpoll": ("Long Poll (сервер спрашивает VK)", "Long Poll (the hub asks VK)"),
            },
        ),
    )
    # Any VK API server (a local fake in tests); unset: api.vk.ru.
    api_base: str | None = Field(
        default=None,
        pattern=r"^https?://[^\s]+$",
        max_length=300,
        json_schema_extra=field_form(
            "Адрес VK API",
            "VK API address",
            help_ru="Пусто: api.vk.ru",
            help_en="Empty: api.vk.ru",
        ),
    )

    @model_validator(mode="after")
    def _callback_needs_its_codes(self) -> VkConfig:
        if self.mode == "callback" and not (self.confirmation_code and self.secret):
            raise ValueError("callback mode needs confirmation_code and secret")
        return self
