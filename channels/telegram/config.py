"""The Telegram channel's configuration, as ``POST /lines/<id>/channels`` takes it."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from hub.channels import field_form


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
