"""Posting to an ``api`` channel's inbound hook as an integrating system does: the raw JSON body
signed with the channel secret (``X-OpenLines-Timestamp`` + ``X-OpenLines-Signature``)."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import time
from typing import Any

import orjson

from tests.support.clients import Api

# A hook refuses a (timestamp, signature) it has seen: tests that post the same body twice
# within a second (a client's retry) sign each post with a timestamp a little further back,
# never one this process already signed that body with (the clock may tick between posts).
_SIGNED: set[tuple[str, bytes, int]] = set()


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """``sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">``, as docs/api.md describes it."""
    signed = f"{timestamp}.".encode() + body
    return "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signed_headers(secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    if timestamp is None:
        now = int(time.time())
        timestamp = next(
            now - back for back in itertools.count() if (secret, body, now - back) not in _SIGNED
        )
        _SIGNED.add((secret, body, timestamp))
    return {
        "Content-Type": "application/json",
        "X-OpenLines-Timestamp": str(timestamp),
        "X-OpenLines-Signature": signature(secret, timestamp, body),
    }


async def post_api_message(
    api: Api, channel: dict[str, Any], message: dict[str, Any], *, secret: str | None = None
) -> tuple[int, Any]:
    """POST ``message`` to the channel's hook, signed with its secret (or ``secret``)."""
    body = orjson.dumps(message)
    headers = signed_headers(secret or channel["secret"], body)
    return await api.call("POST", f"/hooks/api/{channel['id']}", data=body, headers=headers)
