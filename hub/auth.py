"""Who is calling: staff passwords (argon2), revocable bearer tokens and signed visitor tokens.
What a caller may then see and do is ``hub.access``."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from hub.errors import Unauthorized
from hub.models import User, utcnow
from hub.storage.users import Session
from hub.store import Store

_hasher = PasswordHasher()
# Verified against when the email is unknown, so timing does not tell which emails exist.
_DUMMY_HASH = _hasher.hash("not a real password")


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


async def verify_password(password_hash: str, password: str) -> bool:
    def check() -> bool:
        try:
            return _hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(check)


def _token_id(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Sessions:
    """Bearer tokens, stored by hash so a database leak reveals none; revocable; expiring."""

    def __init__(self, store: Store, ttl_s: int) -> None:
        self._store = store
        self._ttl = timedelta(seconds=ttl_s)

    async def login(self, email: str, password: str) -> tuple[str, User]:
        user = await self._store.users.by_email(email)
        if user is None:
            await verify_password(_DUMMY_HASH, password)
            raise Unauthorized("wrong email or password", code="invalid_credentials")
        if not user.active or not await verify_password(user.password_hash, password):
            raise Unauthorized("wrong email or password", code="invalid_credentials")
        token = secrets.token_urlsafe(32)
        now = utcnow()
        await self._store.sessions.insert(
            Session(
                token_hash=_token_id(token),
                user_id=user.id,
                created_at=now,
                expires_at=now + self._ttl,
            )
        )
        return token, user

    async def authenticate(self, token: object) -> User:
        """The user a bearer token belongs to. ``token`` is whatever the client sent (a socket's
        ``auth`` may hold any JSON): anything but a live token of an active user is a 401."""
        if not token:
            raise Unauthorized("sign in first", code="unauthenticated")
        if not isinstance(token, str) or len(token) > 200:
            raise Unauthorized("the token is invalid or expired", code="invalid_token")
        session = await self._store.sessions.get(_token_id(token))
        if session is None or session.expires_at <= utcnow():
            raise Unauthorized("the token is invalid or expired", code="invalid_token")
        user = await self._store.users.get(session.user_id)
        if user is None or not user.active:
            raise Unauthorized("the account is disabled", code="invalid_token")
        return user

    async def revoke(self, token: str) -> None:
        await self._store.sessions.delete(_token_id(token))

    async def revoke_user(self, user_id: str) -> None:
        await self._store.sessions.delete_of_user(user_id)


# Visitor ids of identified visitors start with this; anonymous ones are ObjectIds.
IDENTIFIED_PREFIX = "id-"


class VisitorTokens:
    """``<scope>.<value>.<issued>.<hmac>`` tokens signed with the secret key; ``issued`` is the
    Unix time (base 36) they were made, and they are refused ``ttl_s`` later. The scope is a
    widget channel id for visitor tokens (a browser resumes its visitor identity; every connect
    hands out a fresh one) or ``csat`` for rating links (the value is then a conversation id).
    Tokens of the older three-part form, which never expired, are refused."""

    # Clocks of hub processes may differ a little: a token "from the future" within this is fine.
    _CLOCK_SKEW_S = 300

    def __init__(
        self,
        key: bytes,
        *,
        ttl_s: int = 30 * 24 * 3600,  # the app passes VISITOR_TOKEN_TTL_S
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._key = key
        self.ttl_s = ttl_s
        self._clock = clock

    def _sign(self, payload: str) -> bytes:
        digest = hmac.new(self._key, payload.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=")

    def issue(self, scope: str, value: str) -> str:
        issued = _base36(int(self._clock()))
        payload = f"{scope}.{value}.{issued}"
        return f"{payload}.{self._sign(payload).decode()}"

    def csat_link(self, public_url: str | None, conversation_id: str, rating: int) -> str:
        """The signed ``/csat/<token>?rating=N`` link that records a rating (see hub/api/csat);
        it works for ``ttl_s`` like every token of this signer."""
        token = self.issue("csat", conversation_id)
        return f"{(public_url or '').rstrip('/')}/csat/{token}?rating={rating}"

    def verify(self, token: str, scope: str) -> str | None:
        """The value if the token is ours, for this scope and not expired, else None. Any
        string is fine here (the token comes from anyone: a header, a URL, a socket)."""
        if not token.isascii():
            return None  # ours are ASCII; compare_digest refuses other strings with TypeError
        parts = token.split(".")
        if len(parts) != 4 or parts[0] != scope:
            return None
        payload = ".".join(parts[:3])
        if not hmac.compare_digest(self._sign(payload), parts[3].encode()):
            return None
        try:
            issued = int(parts[2], 36)
        except ValueError:
            return None
        age_s = self._clock() - issued
        if age_s > self.ttl_s or age_s < -self._CLOCK_SKEW_S:
            return None
        return parts[1]

    def identified_visitor(self, channel_id: str, identity: str) -> str:
        """The stable visitor id of a person the site vouched for (identity verification): the
        same on every device, and not the identity itself (visitor ids are shown around)."""
        digest = hmac.new(self._key, f"identity:{channel_id}:{identity}".encode(), hashlib.sha256)
        return IDENTIFIED_PREFIX + digest.hexdigest()[:32]


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if number == 0:
            return out
