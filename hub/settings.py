"""Settings from the environment (prefix ``OPENLINES_``), built once by the CLI and passed down."""

from __future__ import annotations

import ipaddress
import secrets
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything an OpenLines process is configured with. See README "Settings"."""

    model_config = SettingsConfigDict(env_prefix="OPENLINES_", extra="ignore")

    mongo_url: str | None = Field(
        default=None, description="MongoDB URL; unset starts the embedded SecantusDB."
    )
    mongo_db: str = Field(default="openlines", description="Database name.")
    redis_url: str | None = Field(
        default=None, description="Redis URL; unset runs as one process with in-memory bus."
    )
    data_dir: Path = Field(default=Path("./.openlines"))
    secret_key: SecretStr | None = Field(
        default=None, description="Signs visitor tokens; unset: generated once in DATA_DIR."
    )
    public_url: str | None = Field(
        default=None, description="External base URL, used in webhook URLs and embed snippets."
    )
    admin_email: str | None = None
    admin_password: SecretStr | None = None
    log_level: str = "INFO"

    token_ttl_s: int = Field(default=7 * 24 * 3600, gt=0, description="Bearer token lifetime.")
    offline_grace_s: float = Field(
        default=10.0, ge=0, description="Seconds after the last socket drops before offline."
    )
    outbox_retry_base_s: float = Field(default=2.0, gt=0, description="First retry back-off.")
    outbox_max_attempts: int = Field(default=6, ge=1, description="Send attempts before failed.")
    outbox_poll_s: float = Field(default=1.0, gt=0, description="Outbox scan interval.")
    channel_lease_s: float = Field(
        default=15.0, gt=0, description="How long a dead process keeps a polling channel."
    )
    presence_lease_s: float = Field(
        default=15.0,
        gt=0,
        description="How long the sockets of a hub process that stopped (crashed, frozen) "
        "keep its operators online.",
    )
    capacity_repair_s: float = Field(
        default=60.0,
        gt=0,
        description="How long an operator's capacity counter must disagree with their "
        "conversations, untouched, before it is put right (a process died mid-assignment).",
    )
    upload_max_bytes: int = Field(
        default=10 << 20, gt=0, description="Largest file a visitor may upload, in bytes."
    )
    widget_rate_messages: int = Field(
        default=20, ge=1, description="Messages one widget visitor may send per rate window."
    )
    widget_rate_ip_messages: int = Field(
        default=60, ge=1, description="Widget messages one IP address may send per rate window."
    )
    widget_rate_window_s: float = Field(default=10.0, gt=0, description="Widget rate window.")
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="Networks (CIDR) of reverse proxies whose X-Real-IP / X-Forwarded-For "
        "names the client, for per-IP limits; e.g. the nginx in front of the hubs.",
    )
    demo: bool = Field(
        default=False,
        description="Seed the demo (admin, operator, line, widget, /demo) into an empty "
        "database at start; `make run` turns it on.",
    )

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for network in value:
            ipaddress.ip_network(network, strict=False)  # ValueError names the bad one
        return value

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        upper = value.upper()
        if upper not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return upper

    def resolved_secret_key(self) -> bytes:
        """The signing key: the setting, or one generated once and kept in DATA_DIR."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value().encode()
        path = self.data_dir / "secret_key"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            path.touch(mode=0o600)
            path.write_text(secrets.token_urlsafe(48))
        return path.read_text().strip().encode()
