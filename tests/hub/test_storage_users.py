"""The users and sessions repositories: unique emails, whole-record validation of changes,
sessions by token hash."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from hub.errors import Conflict
from hub.models import PresenceStatus, Role, User, utcnow
from hub.storage.users import Session, UserChanges
from hub.store import Store
from tests.support.store import fresh_store


@pytest.fixture
async def store(mongo_url: str, db_name: str) -> AsyncIterator[Store]:
    async with fresh_store(mongo_url, db_name) as store:
        yield store


def _user(email: str, role: Role = Role.OPERATOR) -> User:
    return User(email=email, name=email.split("@")[0], role=role, password_hash="h")


async def test_emails_are_unique_and_found_as_typed(store: Store) -> None:
    ann = _user("ann@example.com")
    await store.users.insert(ann)
    with pytest.raises(Conflict) as taken:
        await store.users.insert(_user("ann@example.com"))
    assert taken.value.code == "email_taken"
    found = await store.users.by_email("  Ann@Example.com ")
    assert found is not None and found.id == ann.id and found.password_hash == "h"
    assert await store.users.by_email("bob@example.com") is None


async def test_lookups(store: Store) -> None:
    assert not await store.users.any()
    ann, bob = _user("ann@example.com"), _user("bob@example.com", Role.ADMIN)
    await store.users.insert(ann)
    assert await store.users.any() and not await store.users.any(role=Role.ADMIN)
    await store.users.insert(bob)
    assert await store.users.any(role=Role.ADMIN)
    assert [u.id for u in await store.users.all()] == [ann.id, bob.id]
    assert set(await store.users.many([ann.id, "nobody"])) == {ann.id}
    assert await store.users.count_of([ann.id, bob.id, "nobody"]) == 2
    await store.users.remember_status(ann.id, PresenceStatus.AWAY)
    again = await store.users.get(ann.id)
    assert again is not None and again.status_preference == PresenceStatus.AWAY


async def test_update_keeps_emails_unique(store: Store) -> None:
    ann, bob = _user("ann@example.com"), _user("bob@example.com")
    await store.users.insert(ann)
    await store.users.insert(bob)
    changed = await store.users.update(ann.id, UserChanges(name="Ann", role=Role.SUPERVISOR))
    assert changed is not None and (changed.name, changed.role) == ("Ann", Role.SUPERVISOR)
    assert changed.email == "ann@example.com"
    with pytest.raises(Conflict):
        await store.users.update(ann.id, UserChanges(email="bob@example.com"))
    stored = await store.users.get(ann.id)
    assert stored is not None and stored.role == Role.SUPERVISOR
    assert await store.users.update("nobody", UserChanges(name="x")) is None


async def test_sessions_by_hash(store: Store) -> None:
    now = utcnow()
    for token_hash, user_id in (("t1", "u1"), ("t2", "u1"), ("t3", "u2")):
        await store.sessions.insert(
            Session(
                token_hash=token_hash,
                user_id=user_id,
                created_at=now,
                expires_at=now + timedelta(hours=1),
            )
        )
    session = await store.sessions.get("t1")
    assert session is not None and session.user_id == "u1" and session.expires_at > now
    await store.sessions.delete("t1")
    assert await store.sessions.get("t1") is None
    await store.sessions.delete_of_user("u1")
    assert await store.sessions.get("t2") is None
    assert await store.sessions.get("t3") is not None
