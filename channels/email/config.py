"""The e-mail channel's configuration, as ``POST /lines/<id>/channels`` takes it."""

from __future__ import annotations

from pydantic import BaseModel, Field, field_validator

from hub.channels import field_form


class EmailConfig(BaseModel):
    imap_host: str = Field(
        min_length=1, max_length=255, json_schema_extra=field_form("Сервер IMAP", "IMAP server")
    )
    imap_port: int = Field(
        default=993, ge=1, le=65535, json_schema_extra=field_form("Порт IMAP", "IMAP port")
    )
    # True: implicit TLS (993). False: plain IMAP (a local or test server).
    imap_tls: bool = Field(
        default=True,
        json_schema_extra=field_form(
            "IMAP через TLS",
            "IMAP over TLS",
            help_ru="Выключите только для локального или тестового сервера",
            help_en="Off only for a local or test server",
        ),
    )
    smtp_host: str = Field(
        min_length=1, max_length=255, json_schema_extra=field_form("Сервер SMTP", "SMTP server")
    )
    smtp_port: int = Field(
        default=465, ge=1, le=65535, json_schema_extra=field_form("Порт SMTP", "SMTP port")
    )
    # True: implicit TLS (465). False: STARTTLS when the server offers it, else plain.
    smtp_tls: bool = Field(
        default=True,
        json_schema_extra=field_form(
            "SMTP через TLS",
            "SMTP over TLS",
            help_ru="Выключено: STARTTLS, если сервер предлагает",
            help_en="Off: STARTTLS when the server offers it",
        ),
    )
    username: str = Field(
        min_length=1, max_length=320, json_schema_extra=field_form("Логин", "Username")
    )
    password: str = Field(
        min_length=1,
        max_length=1000,
        json_schema_extra=field_form("Пароль", "Password", secret=True),
    )
    # The support address clients write to; replies go out from it.
    address: str = Field(
        pattern=r"^[^@\s+]+@[^@\s]+$",
        max_length=320,
        json_schema_extra=field_form(
            "Адрес поддержки",
            "Support address",
            help_ru="Адрес, куда пишут клиенты и откуда уходят ответы",
            help_en="Clients write to it; replies go out from it",
        ),
    )
    # Senders whose mail is dropped: "spam@example.com" or a whole "@example.com".
    blocklist: list[str] = Field(
        default_factory=list,
        max_length=1000,
        json_schema_extra=field_form(
            "Чёрный список",
            "Blocklist",
            help_ru="Адреса или домены (@example.com), чьи письма отбрасываются",
            help_en="Addresses or domains (@example.com) whose mail is dropped",
        ),
    )
    # On first connect, also import the mail of the last N days (default: new mail only).
    fetch_since_days: int | None = Field(
        default=None,
        ge=1,
        le=365,
        json_schema_extra=field_form(
            "Загрузить почту за дней",
            "Import mail of the last days",
            help_ru="При первом подключении; пусто — только новые письма",
            help_en="On first connect; empty: new mail only",
        ),
    )
    # Mark ingested mail \Seen in the mailbox.
    mark_seen: bool = Field(
        default=True,
        json_schema_extra=field_form("Отмечать прочитанным", "Mark as read"),
    )

    @field_validator("address")
    @classmethod
    def _lower_address(cls, value: str) -> str:
        return value.lower()

    @field_validator("blocklist")
    @classmethod
    def _valid_entries(cls, value: list[str]) -> list[str]:
        for entry in value:
            if len(entry) > 320:  # the longest address SMTP carries
                raise ValueError("a blocklist entry is at most 320 characters")
            if "@" not in entry or " " in entry:
                raise ValueError(f"{entry!r} is neither an address nor an @domain")
        return [entry.lower() for entry in value]

    def mailbox_key(self) -> str:
        """Names the mailbox: a change means the old UIDs mean nothing."""
        return f"{self.imap_host}:{self.imap_port}:{self.username}"

    def reply_address(self, token: str) -> str:
        """``support+<token>@example.com``: replies to it name their thread."""
        local, domain = self.address.split("@", 1)
        return f"{local}+{token}@{domain}"

    def token_of(self, recipient: str) -> str | None:
        """The thread token in a recipient address of ours, if it carries one."""
        local, _, domain = recipient.lower().partition("@")
        own_local, own_domain = self.address.split("@", 1)
        if domain != own_domain or not local.startswith(own_local + "+"):
            return None
        return local[len(own_local) + 1 :] or None
