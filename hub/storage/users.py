"""The ``users`` collection (staff accounts) and the ``sessions`` collection (bearer tokens,
stored by hash): the one place they are read and written."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from hub.errors import Conflict
from hub.models import PresenceStatus, Role, User

Doc = dict[str, Any]


def _email_taken() -> Conflict:
    return Conflict("a user with this email exists", code="email_taken")


class UserStore:
    """Staff accounts. Emails are unique (an index), so two admins creating the same account
    at once get one account and one ``email_taken``."""

    def __init__(self, collection: AsyncCollection[Doc]) -> None:
        self._collection = collection

    async def ensure_indexes(self) -> None:
        await self._collection.create_index([("email", ASCENDING)], unique=True)

    async def get(self, user_id: str) -> User | None:
        doc = await self._collection.find_one({"_id": user_id})
        return User.from_doc(doc) if doc else None

    async def by_email(self, email: str) -> User | None:
        """``email`` as typed at sign-in: matched trimmed and lower-cased, as stored."""
        doc = await self._collection.find_one({"email": email.strip().lower()})
        return User.from_doc(doc) if doc else None

    async def all(self) -> list[User]:
        """Every account, oldest first."""
        docs = await self._collection.find({}).sort("_id", 1).to_list()
        return [User.from_doc(d) for d in docs]

    async def many(self, user_ids: Iterable[str]) -> dict[str, User]:
        """The accounts among ``user_ids`` that exist, by id."""
        docs = await self._collection.find({"_id": {"$in": list(user_ids)}}).to_list()
        return {d["_id"]: User.from_doc(d) for d in docs}

    async def count_of(self, user_ids: Iterable[str]) -> int:
        """How many of ``user_ids`` exist."""
        return await self._collection.count_documents({"_id": {"$in": list(user_ids)}})

    async def any(self, *, role: Role | None = None) -> bool:
        """Whether any account (of ``role``) exists: the bootstraps seed only an empty hub."""
        query: Doc = {} if role is None else {"role": role.value}
        return bool(await self._collection.count_documents(query, limit=1))

    async def insert(self, user: User) -> None:
        """Raises ``Conflict(email_taken)`` when the email is someone's already."""
        try:
            await self._collection.insert_one(user.to_doc())
        except DuplicateKeyError:
            raise _email_taken() from None

    async def update(self, user_id: str, changes: UserChanges) -> User | None:
        """Apply an admin's changes; None if there is no such user. The resulting account is
        validated as a whole before it is written, so a stored account always loads."""
        current = await self.get(user_id)
        if current is None:
            return None
        values = changes.model_dump(exclude_none=True)
        # Validated whole: a patch the model would refuse never reaches the database.
        User.model_validate(
            {**current.model_dump(), "password_hash": current.password_hash, **values}
        )
        try:
            doc = await self._collection.find_one_and_update(
                {"_id": user_id}, {"$set": values}, return_document=ReturnDocument.AFTER
            )
        except DuplicateKeyError:
            raise _email_taken() from None
        return User.from_doc(doc) if doc else None

    async def remember_status(self, user_id: str, status: PresenceStatus) -> None:
        """The status an operator chose, kept for their next sign-in."""
        await self._collection.update_one(
            {"_id": user_id}, {"$set": {"status_preference": status.value}}
        )


class UserChanges(BaseModel):
    """What an admin may change of an account (None: unchanged); the email lower-cased and the
    password already hashed by the caller."""

    model_config = ConfigDict(extra="forbid")

    email: str | None = None
    name: str | None = None
    role: Role | None = None
    active: bool | None = None
    password_hash: str | None = None

    def empty(self) -> bool:
        return not self.model_dump(exclude_none=True)


class Session(BaseModel):
    """One bearer token, by the hash of the token (the token itself is never stored)."""

    token_hash: str
    user_id: str
    created_at: datetime
    expires_at: datetime


class SessionStore:
    """Bearer tokens: looked up by hash, revoked one by one or all of a user's at once."""

    def __init__(self, collection: AsyncCollection[Doc]) -> None:
        self._collection = collection

    async def ensure_indexes(self) -> None:
        await self._collection.create_index([("user_id", ASCENDING)])

    async def insert(self, session: Session) -> None:
        doc = session.model_dump(exclude={"token_hash"})
        await self._collection.insert_one({"_id": session.token_hash, **doc})

    async def get(self, token_hash: str) -> Session | None:
        doc = await self._collection.find_one({"_id": token_hash})
        if doc is None:
            return None
        data = dict(doc)
        return Session(token_hash=data.pop("_id"), **data)

    async def delete(self, token_hash: str) -> None:
        await self._collection.delete_one({"_id": token_hash})

    async def delete_of_user(self, user_id: str) -> None:
        await self._collection.delete_many({"user_id": user_id})
