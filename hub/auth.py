"""Who is calling: staff passwords (argon2), revocable bearer tokens and signed visitor tokens.
What a caller may then see and do is ``hub.access``."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import secrets
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from hub.errors import Unauthorized
from hub.models import User, utcnow
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
        doc = await self._store.users.find_one({"email": email.strip().lower()})
        if doc is None:
            await verify_password(_DUMMY_HASH, password)
            raise Unauthorized("wrong email or password", code="invalid_credentials")
        user = User.from_doc(doc)
        if not user.active or not await verify_password(user.password_hash, password):
            raise Unauthorized("wrong email or password", code="invalid_credentials")
        token = secrets.token_urlsafe(32)
        now = utcnow()
        await self._store.sessions.insert_one(
            {
                "_id": _token_id(token),
                "user_id": user.id,
                "created_at": now,
                "expires_at": now + self._ttl,
            }
        )
        return token, user

    async def authenticate(self, token: object) -> User:
        """The user a bearer token belongs to. ``token`` is whatever the client sent (a socket's
        ``auth`` may hold any JSON): anything but a live token of an active user is a 401."""
        if not token:
            raise Unauthorized("sign in first", code="unauthenticated")
        if not isinstance(token, str) or len(token) > 200:
            raise Unauthorized("the token is invalid or expired", code="invalid_token")
        session = await self._store.sessions.find_one({"_id": _token_id(token)})
        if session is None or session["expires_at"] <= utcnow():
            raise Unauthorized("the token is invalid or expired", code="invalid_token")
        doc = await self._store.users.find_one({"_id": session["user_id"]})
        if doc is None or not doc.get("active", True):
            raise Unauthorized("the account is disabled", code="invalid_token")
        return User.from_doc(doc)

    async def revoke(self, token: str) -> None:
        await self._store.sessions.delete_one({"_id": _token_id(token)})

    async def revoke_user(self, user_id: str) -> None:
        await self._store.sessions.delete_many({"user_id": user_id})


class VisitorTokens:
    """``<scope>.<value>.<hmac>`` tokens signed with the secret key. The scope is a widget
    channel id for visitor tokens (a browser resumes its visitor identity) or ``csat`` for
    rating links (the value is then a conversation id)."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def _sign(self, payload: str) -> str:
        digest = hmac.new(self._key, payload.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def issue(self, channel_id: str, visitor_id: str) -> str:
        payload = f"{channel_id}.{visitor_id}"
        return f"{payload}.{self._sign(payload)}"

    def csat_link(self, public_url: str | None, conversation_id: str, rating: int) -> str:
        """The signed ``/csat/<token>?rating=N`` link that records a rating (see hub/api/csat)."""
        token = self.issue("csat", conversation_id)
        return f"{(public_url or '').rstrip('/')}/csat/{token}?rating={rating}"

    def verify(self, token: str, channel_id: str) -> str | None:
        """The visitor id if the token is ours and for this channel, else None."""
        parts = token.split(".")
        if len(parts) != 3 or parts[0] != channel_id:
            return None
        payload = f"{parts[0]}.{parts[1]}"
        if not hmac.compare_digest(self._sign(payload), parts[2]):
            return None
        return parts[1]
