"""A local HTTP endpoint standing in for a system behind an API channel's ``webhook_url``.

It answers each message id according to a script (e.g. fail twice, then succeed) and records
every call, so tests can count attempts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

# (message text, attempt number starting at 1) -> HTTP status to answer
Script = Callable[[str, int], int]


class WebhookReceiver:
    def __init__(self, script: Script) -> None:
        self.script = script
        self.calls: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.delivered: list[dict[str, Any]] = []
        app = web.Application()
        app.router.add_post("/inbox", self._handle)
        self._server = TestServer(app, host="127.0.0.1")

    async def start(self) -> WebhookReceiver:
        await self._server.start_server()
        return self

    @property
    def url(self) -> str:
        return str(self._server.make_url("/inbox"))

    async def _handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        body = await request.json()
        attempts = self.calls[body["message_id"]]
        attempts.append(
            {
                "body": body,
                "raw": raw,
                "timestamp": request.headers.get("X-OpenLines-Timestamp"),
                "signature": request.headers.get("X-OpenLines-Signature"),
            }
        )
        status = self.script(body["text"], len(attempts))
        if status < 300:
            self.delivered.append(body)
            return web.json_response({"id": f"remote-{body['message_id']}"}, status=status)
        return web.json_response({"error": "scripted failure"}, status=status)

    async def close(self) -> None:
        await self._server.close()
