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
    host: str = Field(default="127.0.0.1", description="Address `openlines serve` listens on.")
    port: int = Field(
        default=8080, ge=0, le=65535, description="Port to listen on; 0: any free one."
    )
    admin_email: str | None = None
    admin_password: SecretStr | None = None
    log_level: str = "INFO"

    token_ttl_s: int = Field(
        default=7 * 24 * 3600, gt=0, le=366 * 24 * 3600, description="Bearer token lifetime."
    )
    offline_grace_s: float = Field(
        default=10.0,
        ge=0,
        le=3600,
        description="Seconds after the last socket drops before offline.",
    )
    outbox_retry_base_s: float = Field(
        default=2.0, gt=0, le=3600, description="First retry back-off."
    )
    outbox_max_attempts: int = Field(
        default=6, ge=1, le=100, description="Send attempts before failed."
    )
    outbox_poll_s: float = Field(default=1.0, gt=0, le=60, description="Outbox scan interval.")
    channel_lease_s: float = Field(
        default=15.0, gt=0, le=3600, description="How long a dead process keeps a polling channel."
    )
    presence_lease_s: float = Field(
        default=15.0,
        gt=0,
        le=3600,
        description="How long the sockets of a hub process that stopped (crashed, frozen) "
        "keep its operators online.",
    )
    capacity_repair_s: float = Field(
        default=60.0,
        gt=0,
        le=86400,
        description="How long an operator's capacity counter must disagree with their "
        "conversations, untouched, before it is put right (a process died mid-assignment).",
    )
    upload_max_bytes: int = Field(
        default=10 << 20,
        gt=0,
        le=1 << 30,
        description="Largest file a visitor may upload, in bytes.",
    )
    widget_rate_messages: int = Field(
        default=20,
        ge=1,
        le=100_000,
        description="Messages one widget visitor may send per rate window.",
    )
    widget_rate_ip_messages: int = Field(
        default=60,
        ge=1,
        le=1_000_000,
        description="Widget messages one IP address may send per rate window.",
    )
    widget_rate_window_s: float = Field(
        default=10.0, gt=0, le=3600, description="Widget rate window."
    )
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="Networks (CIDR) of reverse proxies whose X-Real-IP / X-Forwarded-For "
        "names the client, for per-IP limits; e.g. the nginx in front of the hubs.",
    )
    # --- security limits (README "Settings"; every one has a sane default) -----------------
    allow_private_urls: bool = Field(
        default=False,
        description="Let channel and webhook URLs point at private, loopback or link-local "
        "addresses (a self-hosted Bot API, tests); off, such URLs are refused (SSRF).",
    )
    metrics_token: SecretStr | None = Field(
        default=None,
        description="When set, GET /metrics needs `Authorization: Bearer <this token>` "
        "(or a client address in METRICS_ALLOWED_NETWORKS).",
    )
    metrics_allowed_networks: list[str] = Field(
        default_factory=list,
        description="Networks (CIDR) that may read /metrics without the token; set either "
        "this or METRICS_TOKEN to protect it. Both unset: /metrics is open.",
    )
    visitor_token_ttl_s: int = Field(
        default=30 * 24 * 3600,
        ge=60,
        le=366 * 24 * 3600,
        description="Lifetime of a widget visitor token; every connect gets a fresh one.",
    )
    login_max_failures: int = Field(
        default=5,
        ge=1,
        le=1000,
        description="Wrong passwords per account (and per IP, ten times as many) before "
        "sign-in is refused for a while.",
    )
    login_lockout_s: float = Field(
        default=30.0,
        gt=0,
        le=86400,
        description="The first refusal after too many wrong passwords; doubles with every "
        "further failure, up to LOGIN_LOCKOUT_MAX_S.",
    )
    login_lockout_max_s: float = Field(default=900.0, gt=0, le=86400)
    upload_rate_files: int = Field(
        default=20,
        ge=1,
        le=100_000,
        description="Files one widget visitor may upload per UPLOAD_RATE_WINDOW_S (an IP "
        "address: five times as many).",
    )
    upload_rate_window_s: float = Field(default=600.0, gt=0, le=86400)
    upload_quota_bytes: int = Field(
        default=50 << 20,
        ge=1,
        le=1 << 40,
        description="Bytes one widget visitor may upload per UPLOAD_QUOTA_WINDOW_S (an IP "
        "address: four times as much).",
    )
    upload_quota_window_s: float = Field(default=86400.0, gt=0, le=30 * 86400)
    widget_sockets_per_ip: int = Field(
        default=50,
        ge=1,
        le=100_000,
        description="Widget connections one IP address may hold open at once (per process).",
    )
    widget_connects_per_ip: int = Field(
        default=120,
        ge=1,
        le=1_000_000,
        description="Widget connections one IP address may open per minute.",
    )
    widget_rate_events: int = Field(
        default=60,
        ge=1,
        le=100_000,
        description="Typing, history and pre-chat events one widget visitor may send per "
        "WIDGET_RATE_WINDOW_S (pre-chat: a tenth of it).",
    )
    request_body_timeout_s: float = Field(
        default=60.0,
        gt=0,
        le=3600,
        description="How long a request body may take to arrive before the request is "
        "refused (408).",
    )
    request_header_timeout_s: float = Field(
        default=15.0,
        gt=0,
        le=600,
        description="How long a connection may take to send a request's headers before it is "
        "closed (slow clients).",
    )
    api_signature_window_s: int = Field(
        default=300,
        ge=1,
        le=3600,
        description="How far the timestamp of a signed `api` channel request may be from now.",
    )
    # --- crash recovery --------------------------------------------------------------------
    outbox_lease_s: float = Field(
        default=60.0,
        ge=1,
        le=3600,
        description="How long a process keeps an outgoing message it took to send; one that "
        "crashed mid-send gets it delivered by another (or its restart) after this long.",
    )
    demo: bool = Field(
        default=False,
        description="Seed the demo (admin, operator, line, widget, /demo) into an empty "
        "database at start; `make run` turns it on.",
    )

    @field_validator("trusted_proxies", "metrics_allowed_networks")
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

    @property
    def served_url(self) -> str:
        """Where people open this hub: PUBLIC_URL, else the address served (a wildcard
        address as the loopback one, which a browser on this machine can open)."""
        if self.public_url:
            return self.public_url.rstrip("/")
        wildcard = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}
        host = wildcard.get(self.host, self.host)
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"
        return f"http://{host}:{self.port}"
