"""A local Bot API server speaking Telegram's wire format, for the Telegram channel's tests.

``POST /bot<token>/<method>`` with form, multipart or JSON bodies; answers
``{"ok": true, "result": ...}`` or ``{"ok": false, "error_code", "description",
"parameters"?}``; files under ``GET /file/bot<token>/<path>``. ``getUpdates`` long-polls with
Telegram's offset semantics. Failures are scripted per method (429 with ``retry_after``, 403,
or garbage: what a proxy in front of a Bot API answers when it is not one); every call is
recorded.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web
from aiohttp.test_utils import TestServer


@dataclass
class Call:
    token: str
    method: str
    params: dict[str, Any]
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    at: float = field(default_factory=time.monotonic)


@dataclass
class Bot:
    id: int
    username: str
    webhook: dict[str, Any] | None = None
    updates: list[dict[str, Any]] = field(default_factory=list)
    confirmed: int = 0  # updates below this id were confirmed by an offset


class FakeBotApi:
    def __init__(self) -> None:
        self.bots: dict[str, Bot] = {}
        self.calls: list[Call] = []
        self.files: dict[str, tuple[str, bytes]] = {}  # file_id -> (file_path, data)
        self._failures: dict[str, list[tuple[str | None, dict[str, Any]]]] = defaultdict(list)
        self._garbage: dict[str, list[tuple[int, bytes]]] = defaultdict(list)
        self._update_ids = itertools.count(100_001)
        self._message_ids = itertools.count(5_001)
        self._changed = asyncio.Condition()
        app = web.Application(client_max_size=60 << 20)
        app.router.add_post("/bot{token}/{method}", self._method)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        self._server = TestServer(app, host="127.0.0.1")

    async def start(self) -> FakeBotApi:
        await self._server.start_server()
        return self

    async def close(self) -> None:
        async with self._changed:
            self._changed.notify_all()
        await self._server.close()

    @property
    def base_url(self) -> str:
        return str(self._server.make_url("")).rstrip("/")

    # --- scripting -------------------------------------------------------------------------

    def add_bot(self, token: str, username: str = "openlines_test_bot") -> Bot:
        bot = Bot(id=int(token.split(":")[0]), username=username)
        self.bots[token] = bot
        return bot

    def fail_next(
        self,
        method: str,
        error_code: int,
        description: str,
        *,
        retry_after: int | None = None,
        times: int = 1,
        text: str | None = None,
    ) -> None:
        """The next ``times`` calls of ``method`` (with this ``text``, if given) answer with
        this error."""
        failure: dict[str, Any] = {
            "ok": False,
            "error_code": error_code,
            "description": description,
        }
        if retry_after is not None:
            failure["parameters"] = {"retry_after": retry_after}
        self._failures[method].extend([(text, failure)] * times)

    def garbage_next(
        self,
        method: str,
        *,
        times: int = 1,
        body: bytes = b"<html><body>502 Bad Gateway</body></html>",
        status: int = 200,
    ) -> None:
        """The next ``times`` calls of ``method`` answer ``body`` (not the Bot API's JSON) with
        HTTP ``status``."""
        self._garbage[method].extend([(status, body)] * times)

    def add_file(self, file_id: str, data: bytes, file_path: str) -> None:
        self.files[file_id] = (file_path, data)

    async def push_update(self, token: str, update: dict[str, Any]) -> int:
        """Queue an update for ``getUpdates``; its ``update_id``."""
        update_id = next(self._update_ids)
        async with self._changed:
            self.bots[token].updates.append({**update, "update_id": update_id})
            self._changed.notify_all()
        return update_id

    def calls_of(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    # --- the API ---------------------------------------------------------------------------

    async def _method(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        method = request.match_info["method"]
        params, files = await _read_params(request)
        call = Call(token, method, params, files)
        self.calls.append(call)
        bot = self.bots.get(token)
        if self._garbage[method]:
            status, body = self._garbage[method].pop(0)
            return web.Response(status=status, body=body, content_type="text/html")
        if bot is None:
            return _error(401, "Unauthorized")
        for index, (text, failure) in enumerate(self._failures[method]):
            if text is None or params.get("text") == text:
                del self._failures[method][index]
                return web.json_response(failure, status=failure["error_code"])
        if method == "getUpdates" and bot.webhook is not None:
            return _error(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use "
                "deleteWebhook to delete the webhook first",
            )
        if method == "getFile" and str(params.get("file_id")) not in self.files:
            return _error(400, "Bad Request: invalid file_id")
        handler = getattr(self, f"_do_{method}", None)
        if handler is None:
            return _error(404, "Not Found: method not found")
        result = await handler(bot, params, files)
        return web.json_response({"ok": True, "result": result})

    async def _do_getMe(self, bot: Bot, params: dict[str, Any], files: Any) -> Any:
        return {"id": bot.id, "is_bot": True, "first_name": "Test bot", "username": bot.username}

    async def _do_setWebhook(self, bot: Bot, params: dict[str, Any], files: Any) -> Any:
        bot.webhook = params
        return True

    async def _do_deleteWebhook(self, bot: Bot, params: dict[str, Any], files: Any) -> Any:
        bot.webhook = None
        return True

    async def _do_getWebhookInfo(self, bot: Bot, params: dict[str, Any], files: Any) -> Any:
        return {
            "url": (bot.webhook or {}).get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(bot.updates),
        }

    async def _do_getUpdates(self, bot: Bot, params: dict[str, Any], files: Any) -> Any:
        offset = int(params.get("offset") or 0)
        if offset:
            bot.confirmed = max(bot.confirmed, offset)
            bot.updates = [u for u in bot.updates if u["update_id"] >= offset]
        timeout = float(params.get("timeout") or 0)
        limit = int(params.get("limit") or 100)
        deadline = time.monotonic() + timeout
        async with self._changed:
            while not bot.updates and time.monotonic() < deadline:
                try:
                    await asyncio.wait_for(self._changed.wait(), deadline - time.monotonic())
                except TimeoutError:
                    break
        return bot.updates[:limit]

    async def _send(self, bot: Bot, params: dict[str, Any], extra: dict[str, Any]) -> Any:
        return {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": int(params["chat_id"]), "type": "private", "first_name": "Client"},
            "from": {"id": bot.id, "is_bot": True, "first_name": "Test bot"},
            **extra,
        }

    async def _do_sendMessage(self, bot: Bot, params: dict[str, Any], files: Any) -> Any:
        return await self._send(bot, params, {"text": params["text"]})

    async def _do_sendPhoto(self, bot: Bot, params: dict[str, Any], files: Any) -> Any:
        size = len(files["photo"][1]) if "photo" in files else 0
        photo = [{"file_id": "sent-photo", "file_unique_id": "sp", "width": 1, "height": 1,
                  "file_size": size}]  # fmt: skip
        return await self._send(bot, params, {"photo": photo})

    async def _do_sendDocument(self, bot: Bot, params: dict[str, Any], files: Any) -> Any:
        name = files["document"][0] if "document" in files else "file"
        document = {"file_id": "sent-doc", "file_unique_id": "sd", "file_name": name}
        return await self._send(bot, params, {"document": document})

    async def _do_sendChatAction(self, bot: Bot, params: dict[str, Any], files: Any) -> Any:
        return True

    async def _do_answerCallbackQuery(self, bot: Bot, params: dict[str, Any], files: Any) -> Any:
        return True

    async def _do_getFile(self, bot: Bot, params: dict[str, Any], files: Any) -> Any:
        file_id = str(params["file_id"])
        path, data = self.files[file_id]
        return {
            "file_id": file_id,
            "file_unique_id": f"u-{file_id}",
            "file_size": len(data),
            "file_path": path,
        }

    async def _download(self, request: web.Request) -> web.Response:
        if request.match_info["token"] not in self.bots:
            return web.Response(status=401)
        for path, data in self.files.values():
            if path == request.match_info["path"]:
                return web.Response(body=data, content_type="application/octet-stream")
        return web.Response(status=404)


def _error(code: int, description: str) -> web.Response:
    return web.json_response(
        {"ok": False, "error_code": code, "description": description}, status=code
    )


async def _read_params(request: web.Request) -> tuple[dict[str, Any], dict[str, Any]]:
    """Scalars as Telegram reads them; JSON-serialised fields (reply_markup, allowed_updates)
    decoded; uploads as (file name, bytes)."""
    params: dict[str, Any] = {}
    files: dict[str, tuple[str, bytes]] = {}
    if request.content_type == "application/json":
        params = await request.json()
        return params, files
    if request.content_type == "multipart/form-data":
        reader = await request.multipart()
        async for part in reader:
            if part.filename is not None:  # type: ignore[union-attr]
                files[part.name or ""] = (part.filename, await part.read())  # type: ignore[union-attr]
            else:
                params[part.name or ""] = await part.text()  # type: ignore[union-attr]
    else:
        params = dict(await request.post())
    for key, value in list(params.items()):
        # aiogram sends an upload as a part of its own, named by ``attach://<part>``.
        if isinstance(value, str) and value.startswith("attach://") and value[9:] in files:
            files[key] = files.pop(value[9:])
        elif isinstance(value, str) and value[:1] in ("[", "{"):
            with contextlib.suppress(orjson.JSONDecodeError):
                params[key] = orjson.loads(value)
    return params, files
