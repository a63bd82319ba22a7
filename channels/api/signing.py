"""Signed requests of the ``api`` channel, both ways: ``X-OpenLines-Timestamp: <unix seconds>``
and ``X-OpenLines-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>">`` keyed with
the channel secret. A receiver checks the signature, that the timestamp is near its clock, and
that it has not seen the pair before: a request captured on the way cannot be played again."""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Callable

from redis.asyncio import Redis

from hub.errors import Unauthorized

TIMESTAMP_HEADER = "X-OpenLines-Timestamp"
SIGNATURE_HEADER = "X-OpenLines-Signature"
_TIMESTAMP = re.compile(r"\d{1,12}")
# The in-process memory of signatures is swept of expired ones every so many new ones.
_SWEEP_EVERY = 1_000


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-OpenLines-Signature`` value for ``body`` sent at ``timestamp``."""
    signed = f"{timestamp}.".encode() + body
    return "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signed_headers(secret: str, body: bytes, now_s: float | None = None) -> dict[str, str]:
    """The headers of an outgoing call carrying ``body``, signed now."""
    timestamp = int(time.time() if now_s is None else now_s)
    return {TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: sign(secret, timestamp, body)}


def verify(
    secret: str, body: bytes, timestamp_header: str, signature_header: str, window_s: float
) -> int:
    """The request's timestamp if ``signature_header`` signs it and ``body`` with ``secret``
    and it lies within ``window_s`` of now; else ``Unauthorized`` (never saying more than
    which of the two failed)."""
    if not _TIMESTAMP.fullmatch(timestamp_header):
        raise Unauthorized("wrong or missing signature", code="invalid_secret")
    timestamp = int(timestamp_header)
    expected = sign(secret, timestamp, body)
    if not hmac.compare_digest(signature_header.encode(), expected.encode()):
        raise Unauthorized("wrong or missing signature", code="invalid_secret")
    if abs(time.time() - timestamp) > window_s:
        raise Unauthorized(
            f"the timestamp is more than {window_s:.0f} s from now; sign each request when "
            "sending it (and check the sender's clock)",
            code="stale_timestamp",
        )
    return timestamp


class SeenSignatures:
    """Signatures taken lately, each remembered until its timestamp leaves the window: in
    Redis when the hub has one (every process refuses what another took), else here."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._local: dict[str, float] = {}  # key -> when it may be forgotten
        self._added = 0

    async def first_use(
        self, key: str, forget_at_s: float, *, redis: Redis | None, prefix: str
    ) -> bool:
        """Remember ``key`` until ``forget_at_s`` (unix seconds); False if it was already
        remembered (a replay)."""
        ttl_ms = max(1000, int((forget_at_s - self._clock()) * 1000))
        if redis is not None:
            return bool(await redis.set(f"{prefix}:{key}", b"1", nx=True, px=ttl_ms))
        now = self._clock()
        if self._local.get(key, 0.0) > now:
            return False
        self._local[key] = now + ttl_ms / 1000
        self._added += 1
        if self._added % _SWEEP_EVERY == 0:
            self._local = {k: until for k, until in self._local.items() if until > now}
        return True
