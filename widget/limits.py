"""How much of the hub one anonymous visitor, and one IP address, may use: messages, typing,
history and pre-chat events, uploaded files and bytes, socket connects and open sockets.

A visitor id costs nothing (connect without a token and you are a new one), so every limit per
visitor has a wider one per IP address beside it. The counters are shared through Redis when
the hub has one (``hub.ratelimit``); open sockets are counted per process, since a socket lives
in one process."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from enum import Enum
from typing import Any

from hub.errors import RateLimited
from hub.http import forwarded_address
from hub.ratelimit import RateLimiter
from hub.services import Hub

# An IP address may do this many times what one visitor may (offices and mobile carriers put
# many people behind one address). Uploads: files x5, bytes x4 (the settings' descriptions).
EVENTS_IP_FACTOR = 5
UPLOAD_FILES_IP_FACTOR = 5
UPLOAD_BYTES_IP_FACTOR = 4
# Pre-chat writes the client record: a tenth of the other events' allowance.
PRECHAT_SHARE = 10
CONNECT_WINDOW_S = 60.0


class WidgetEvent(Enum):
    """The visitor events limited by ``WIDGET_RATE_EVENTS`` (``message:send`` has its own)."""

    TYPING = "typing"
    HISTORY = "history"
    PRECHAT = "prechat"


def client_ip(environ: Mapping[str, Any], trusted_proxies: list[str]) -> str:
    """The address of a socket's client, from its WSGI-style ``environ`` (see
    ``hub.http.forwarded_address``)."""
    return forwarded_address(
        environ.get("REMOTE_ADDR"),
        environ.get("HTTP_X_REAL_IP"),
        environ.get("HTTP_X_FORWARDED_FOR"),
        trusted_proxies,
    )


class OpenSockets:
    """Widget sockets open in this process, per IP address: ``hold`` one for a socket before
    accepting it (False: that address has its fill), ``release`` it when the socket goes."""

    def __init__(self, per_ip: int) -> None:
        self._per_ip = per_ip
        self._open: Counter[str] = Counter()
        self._ip_of: dict[str, str] = {}  # socket id -> its address

    def hold(self, sid: str, ip: str) -> bool:
        if self._open[ip] >= self._per_ip:
            return False
        self._open[ip] += 1
        self._ip_of[sid] = ip
        return True

    def release(self, sid: str) -> None:
        """Idempotent: a socket's hold is given back once however often this is called."""
        ip = self._ip_of.pop(sid, None)
        if ip is None:
            return
        self._open[ip] -= 1
        if self._open[ip] <= 0:
            del self._open[ip]


class WidgetLimits:
    """Every widget limit of one hub process; each check raises ``RateLimited`` (HTTP 429, ack
    ``rate_limited``) when over, and then counts nothing more."""

    def __init__(self, hub: Hub) -> None:
        settings = hub.settings
        self._settings = settings
        prefix = f"openlines:{settings.mongo_db}:widget"

        def limiter(window_s: float, name: str) -> RateLimiter:
            return RateLimiter(window_s, redis=hub.redis, prefix=f"{prefix}-{name}")

        self._events = limiter(settings.widget_rate_window_s, "rate")
        self._connects = limiter(CONNECT_WINDOW_S, "connects")
        self._upload_files = limiter(settings.upload_rate_window_s, "upload-files")
        self._upload_bytes = limiter(settings.upload_quota_window_s, "upload-bytes")
        self.sockets = OpenSockets(settings.widget_sockets_per_ip)

    async def message(self, visitor_id: str, ip: str) -> None:
        """One ``message:send``: ``WIDGET_RATE_MESSAGES`` per visitor, ``..._IP_...`` per IP."""
        settings = self._settings
        if not await self._events.allow_all(
            [
                (f"visitor:{visitor_id}", settings.widget_rate_messages),
                (f"ip:{ip}", settings.widget_rate_ip_messages),
            ]
        ):
            raise RateLimited(
                "you are sending messages too fast; wait a few seconds",
                details={"window_s": settings.widget_rate_window_s},
            )

    async def event(self, event: WidgetEvent, visitor_id: str, ip: str) -> None:
        """One typing, history or pre-chat event of this visitor."""
        settings = self._settings
        limit = settings.widget_rate_events
        if event is WidgetEvent.PRECHAT:
            limit = max(1, limit // PRECHAT_SHARE)
        if not await self._events.allow_all(
            [
                (f"{event.value}:visitor:{visitor_id}", limit),
                (f"{event.value}:ip:{ip}", limit * EVENTS_IP_FACTOR),
            ]
        ):
            raise RateLimited(
                "too many requests; wait a few seconds",
                details={"window_s": settings.widget_rate_window_s},
            )

    async def connect(self, ip: str) -> None:
        """One socket connect from ``ip``: ``WIDGET_CONNECTS_PER_IP`` a minute."""
        if not await self._connects.allow(f"ip:{ip}", self._settings.widget_connects_per_ip):
            raise RateLimited(
                "too many connections from your address; try again in a minute",
                details={"window_s": CONNECT_WINDOW_S},
            )

    async def upload(self, visitor: str, ip: str, size_bytes: int) -> None:
        """One upload of at most ``size_bytes`` by ``visitor`` (channel and visitor id) from
        ``ip``: files per ``UPLOAD_RATE_WINDOW_S``, bytes per ``UPLOAD_QUOTA_WINDOW_S``."""
        settings = self._settings
        files, quota = settings.upload_rate_files, settings.upload_quota_bytes
        if not await self._upload_files.allow_all(
            [(f"visitor:{visitor}", files), (f"ip:{ip}", files * UPLOAD_FILES_IP_FACTOR)]
        ):
            raise RateLimited(
                "you are sending files too fast; wait a few minutes",
                details={"limit": "files", "window_s": settings.upload_rate_window_s},
            )
        if not await self._upload_bytes.allow_all(
            [(f"visitor:{visitor}", quota), (f"ip:{ip}", quota * UPLOAD_BYTES_IP_FACTOR)],
            cost=size_bytes,
        ):
            raise RateLimited(
                "you have sent too much in files for today; try again later",
                details={"limit": "bytes", "window_s": settings.upload_quota_window_s},
            )
