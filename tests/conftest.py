"""Shared fixtures: one real MongoDB wire server (embedded SecantusDB) per test session and a
fresh database per test; a hub app served over real HTTP; signed-in API clients."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import argon2.profiles
import pytest
import redis
from aiohttp import web
from aiohttp.test_utils import TestServer
from argon2 import PasswordHasher
from pymongo import MongoClient

from hub.app import create_app
from hub.embedded import EmbeddedMongo
from hub.settings import Settings
from tests.support.clients import Api
from tests.support.processes import ServeProcess

REDIS_URL = "redis://127.0.0.1:6379/0"
ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "admin password 1"


@pytest.fixture(scope="session")
def mongo_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = EmbeddedMongo(tmp_path_factory.mktemp("mongo"))
    server.start()
    yield server.url
    server.stop()


@pytest.fixture
def db_name(mongo_url: str) -> Iterator[str]:
    name = f"t_{uuid.uuid4().hex[:12]}"
    yield name
    client: MongoClient[dict[str, Any]] = MongoClient(mongo_url)
    client.drop_database(name)
    client.close()
    # Processes run with Redis keep their bus stream and Socket.IO channel under this name.
    cache = redis.Redis.from_url(REDIS_URL)
    keys = list(cache.scan_iter(f"openlines:{name}:*"))
    if keys:
        cache.delete(*keys)
    cache.close()


def make_settings(mongo_url: str, db_name: str, data_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "mongo_url": mongo_url,
        "mongo_db": db_name,
        "data_dir": data_dir,
        "secret_key": "test-secret-key-for-visitor-tokens",
        "admin_email": ADMIN_EMAIL,
        "admin_password": ADMIN_PASSWORD,
        "offline_grace_s": 0.5,
        "outbox_retry_base_s": 0.2,
        "outbox_poll_s": 0.2,
        # The fakes of Telegram, VK, mail servers and webhook receivers listen on loopback.
        "allow_private_urls": True,
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def settings_env(settings: Settings) -> dict[str, str]:
    """The same settings as environment variables, for ``openlines serve`` processes."""
    env = {}
    for name, value in settings.model_dump().items():
        if value is None:
            continue
        if hasattr(value, "get_secret_value"):
            value = value.get_secret_value()
        env[f"OPENLINES_{name.upper()}"] = str(value)
    return env


Spawn = Callable[..., Awaitable[ServeProcess]]


@pytest.fixture
async def spawn(tmp_path: Path) -> AsyncIterator[Spawn]:
    """Start ``openlines serve`` processes that are stopped at teardown whatever happens."""
    started: list[ServeProcess] = []

    async def start(env: dict[str, str], name: str = "serve") -> ServeProcess:
        process = ServeProcess(env, tmp_path / f"{name}-{len(started)}.log")
        started.append(process)
        return await process.start()

    yield start
    for process in started:
        await process.stop()


def marked_settings(
    request: pytest.FixtureRequest, mongo_url: str, db_name: str, tmp_path: Path, **defaults: Any
) -> Settings:
    """``make_settings`` with a suite's ``defaults``, overridden by the test's (or module's)
    ``@pytest.mark.settings(name=value, ...)``."""
    marker = request.node.get_closest_marker("settings")
    values = {**defaults, **(marker.kwargs if marker else {})}
    return make_settings(mongo_url, db_name, tmp_path / "data", **values)


@pytest.fixture
def settings(
    mongo_url: str, db_name: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Settings:
    """The test's settings; ``@pytest.mark.settings(name=value, ...)`` overrides some."""
    return marked_settings(request, mongo_url, db_name, tmp_path)


@pytest.fixture
async def hub_app(settings: Settings) -> AsyncIterator[web.Application]:
    app = await create_app(settings)
    yield app


@pytest.fixture
async def server(hub_app: web.Application) -> AsyncIterator[TestServer]:
    test_server = TestServer(hub_app, host="127.0.0.1")
    # Open websockets must not hold a test's teardown for aiohttp's default 60 s.
    await test_server.start_server(shutdown_timeout=5)
    yield test_server
    await test_server.close()


@pytest.fixture
def base_url(server: TestServer) -> str:
    return str(server.make_url("")).rstrip("/")


@pytest.fixture
async def served(settings: Settings, spawn: Spawn) -> str:
    """A real ``openlines serve`` process with the test's settings; its URL."""
    return (await spawn(settings_env(settings), name="hub")).url


def hub_for(request: pytest.FixtureRequest) -> str:
    """The browser suites' ``base_url``: a browser test drives a real ``openlines serve``
    process (``served``), as a user meets it; the others the app in this process."""
    if "browser" in request.fixturenames:
        return str(request.getfixturevalue("served"))
    server: TestServer = request.getfixturevalue("server")
    return str(server.make_url("")).rstrip("/")


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def anon(base_url: str, http: aiohttp.ClientSession) -> Api:
    return Api(base_url, http)


@pytest.fixture
async def admin(anon: Api) -> Api:
    return await anon.login(ADMIN_EMAIL, ADMIN_PASSWORD)


@pytest.fixture(autouse=True, scope="session")
def _cheap_password_hashing() -> Iterator[None]:
    """Hubs built in the test process hash staff passwords with argon2's ``CHEAPEST`` profile
    (argon2-cffi's profile for tests) instead of its default (~0.13 s and 64 MiB on all cores
    per hash or check). Nearly every test bootstraps an admin and signs in, many create and
    sign in operators: at the default cost that was a fifth of the suite's CPU, and a check
    on one worker stalled the other. ``openlines serve`` processes keep the real cost."""
    import hub.auth

    cheap = PasswordHasher.from_parameters(argon2.profiles.CHEAPEST)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(hub.auth, "_hasher", cheap)
        # Unknown emails are checked against this hash: as cheap, so they take as long.
        patch.setattr(hub.auth, "_DUMMY_HASH", cheap.hash("not a real password"))
        yield


@pytest.fixture(autouse=True, scope="session")
def _patient_browser_assertions() -> None:
    """Browser assertions wait up to 15 s instead of 5: CI machines have 2 busy cores."""
    from playwright.async_api import expect

    expect.set_options(timeout=15_000)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that start ``openlines serve`` processes (a browser test gets one through
    ``base_url``, see ``hub_for``) run as ``processes``: after the rest, two
    at a time (``make test``), so their start-ups (seconds of CPU each) do not starve the
    parallel part's browsers and sockets. Those that measure time are marked ``serial`` where
    they are written and run alone, last: on two busy cores they would miss their bounds."""
    for item in items:
        names = getattr(item, "fixturenames", ())
        if "spawn" in names or ("browser" in names and "base_url" in names):
            item.add_marker(pytest.mark.processes)
