"""A local endpoint for outgoing CRM webhooks: answers by a script (fail N times, then 200;
or redirect elsewhere) and records every call with its raw body and signature."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer


class CrmReceiver:
    def __init__(self, status_for_attempt: Callable[[int], int]) -> None:
        self.status_for_attempt = status_for_attempt
        self.calls: dict[str, list[dict[str, Any]]] = defaultdict(list)
        # Calls that followed a redirect (answers 3xx point at ``/elsewhere``).
        self.redirected = 0
        app = web.Application()
        app.router.add_post("/crm", self._handle)
        app.router.add_post("/elsewhere", self._elsewhere)
        self._server = TestServer(app, host="127.0.0.1")

    async def start(self) -> CrmReceiver:
        await self._server.start_server()
        return self

    @property
    def url(self) -> str:
        return str(self._server.make_url("/crm"))

    async def _handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        body = await request.json()
        attempts = self.calls[body["id"]]
        attempts.append(
            {"body": body, "raw": raw, "signature": request.headers.get("X-OpenLines-Signature")}
        )
        status = self.status_for_attempt(len(attempts))
        headers = {"Location": "/elsewhere"} if 300 <= status < 400 else None
        return web.json_response({}, status=status, headers=headers)

    async def _elsewhere(self, request: web.Request) -> web.Response:
        self.redirected += 1
        return web.json_response({})

    def delivered(self, event: str) -> list[dict[str, Any]]:
        """The last call of each delivery of ``event`` (the one that succeeded, if any)."""
        return [c[-1] for c in self.calls.values() if c[-1]["body"]["event"] == event]

    async def close(self) -> None:
        await self._server.close()
