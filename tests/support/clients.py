"""Clients that speak the public contract: REST (``Api``), ``/operator`` and ``/widget``."""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import aiohttp
import socketio

# How long a test waits for an event before calling it lost. Waits end as soon as the event
# comes, so this only bounds a failure; it is generous because CI machines may be loaded.
DEFAULT_TIMEOUT_S = 20.0


class ApiError(AssertionError):
    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"HTTP {status}: {body}")
        self.status = status
        self.body = body


class Api:
    """A signed-in (or anonymous) REST client of one hub."""

    def __init__(self, base_url: str, session: aiohttp.ClientSession, token: str | None = None):
        self.base_url = base_url.rstrip("/")
        self._session = session
        self.token = token
        self.user: dict[str, Any] | None = None

    async def call(
        self,
        method: str,
        path: str,
        json: Any = None,
        *,
        expect: int | None = None,
        data: Any = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        all_headers = dict(headers or {})
        if self.token:
            all_headers["Authorization"] = f"Bearer {self.token}"
        async with self._session.request(
            method, self.base_url + path, json=json, data=data, headers=all_headers
        ) as response:
            raw = await response.read()
            body: Any = None
            if raw and response.content_type == "application/json":
                body = await response.json()
            elif raw:
                body = raw.decode()
            if expect is not None and response.status != expect:
                raise ApiError(response.status, body)
            return response.status, body

    async def get(self, path: str, *, expect: int = 200) -> Any:
        return (await self.call("GET", path, expect=expect))[1]

    async def post(self, path: str, json: Any = None, *, expect: int | None = None) -> Any:
        status, body = await self.call("POST", path, json if json is not None else {})
        if expect is None:
            expect = 201 if status == 201 else 200
        if status != expect:
            raise ApiError(status, body)
        return body

    async def patch(self, path: str, json: Any, *, expect: int = 200) -> Any:
        return (await self.call("PATCH", path, json, expect=expect))[1]

    async def login(self, email: str, password: str) -> Api:
        body = await Api(self.base_url, self._session).post(
            "/api/v1/auth/login", {"email": email, "password": password}, expect=200
        )
        api = Api(self.base_url, self._session, body["token"])
        api.user = body["user"]
        return api

    # --- set-up shortcuts (admin) ----------------------------------------------------------

    async def create_user(self, role: str = "operator", name: str | None = None) -> Api:
        """Create a user and return a client signed in as them."""
        email = f"{role}-{uuid.uuid4().hex[:8]}@example.com"
        password = "correct horse battery"
        await self.post(
            "/api/v1/users",
            {
                "email": email,
                "password": password,
                "name": name or email.split("@")[0],
                "role": role,
            },
            expect=201,
        )
        return await self.login(email, password)

    async def create_line(self, **fields: Any) -> dict[str, Any]:
        body = {"name": f"Line {uuid.uuid4().hex[:6]}", **fields}
        result: dict[str, Any] = await self.post("/api/v1/lines", body, expect=201)
        return result

    async def create_channel(self, line_id: str, type_: str, config: dict[str, Any]) -> Any:
        return await self.post(
            f"/api/v1/lines/{line_id}/channels", {"type": type_, "config": config}, expect=201
        )


class Events:
    """Records every event a socket client receives; ``wait`` returns the next matching one."""

    def __init__(self) -> None:
        self.seen: dict[str, list[Any]] = defaultdict(list)
        self._changed = asyncio.Condition()

    async def record(self, event: str, data: Any) -> None:
        async with self._changed:
            self.seen[event].append(data)
            self._changed.notify_all()

    async def wait(
        self,
        event: str,
        where: Callable[[Any], bool] = lambda _: True,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> Any:
        """The first recorded ``event`` matching ``where`` (past or future)."""

        async def find() -> Any:
            async with self._changed:
                while True:
                    for data in self.seen[event]:
                        if where(data):
                            return data
                    await self._changed.wait()

        return await asyncio.wait_for(find(), timeout_s)

    async def wait_count(self, event: str, count: int) -> list[Any]:
        """Block until at least ``count`` of ``event`` were received; all of them."""
        async with self._changed:
            await self._changed.wait_for(lambda: len(self.seen[event]) >= count)
            return list(self.seen[event])

    def all(self, event: str) -> list[Any]:
        return list(self.seen[event])


class SocketClient:
    """A python-socketio client on one namespace, over websocket, recording every event."""

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace
        self.sio = socketio.AsyncClient(reconnection=False)
        self.events = Events()

        async def catch_all(event: str, data: Any = None) -> None:
            await self.events.record(event, data)

        self.sio.on("*", catch_all, namespace=namespace)

    async def connect(
        self, base_url: str, auth: dict[str, Any], headers: dict[str, str] | None = None
    ) -> SocketClient:
        await self.sio.connect(
            base_url,
            namespaces=[self.namespace],
            auth=auth,
            transports=["websocket"],
            headers=headers or {},
            wait_timeout=DEFAULT_TIMEOUT_S,
        )
        return self

    async def call(self, event: str, data: Any = None) -> Any:
        return await self.sio.call(
            event, data, namespace=self.namespace, timeout=DEFAULT_TIMEOUT_S
        )

    async def close(self) -> None:
        if self.sio.connected:
            await self.sio.disconnect()


async def operator_socket(base_url: str, token: str, *, online: bool = True) -> SocketClient:
    client = await SocketClient("/operator").connect(base_url, {"token": token})
    if online:
        ack = await client.call("status:set", {"status": "online"})
        assert ack["ok"], ack
    return client


async def visitor_socket(
    base_url: str, key: str, token: str | None = None, *, origin: str | None = None
) -> SocketClient:
    auth: dict[str, Any] = {"key": key}
    if token:
        auth["token"] = token
    client = SocketClient("/widget")
    await client.connect(base_url, auth, headers={"Origin": origin} if origin else None)
    await client.events.wait("session")
    return client


def public_texts(messages: list[dict[str, Any]]) -> list[str]:
    """The texts a client could see: no staff notes, no whispers."""
    return [m["text"] for m in messages if not m["hidden"]]


def new_msg_id() -> str:
    return uuid.uuid4().hex
