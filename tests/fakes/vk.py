"""A local VK API server speaking VK's wire format, for the VK channel's tests.

``GET|POST /method/<name>`` (form or query parameters, ``access_token`` and ``v`` among them)
answers ``{"response": ...}`` or ``{"error": {"error_code", "error_msg", "request_params"}}``;
a Bots Long Poll server under ``/lp/<group_id>``; upload servers; downloadable files under
``/files/<name>``. Errors are scripted per method (VK errors, or garbage: a body that is not
JSON, or JSON of another shape); every call is recorded.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float = field(default_factory=time.monotonic)


@dataclass
class Community:
    id: int
    name: str
    events: list[dict[str, Any]] = field(default_factory=list)
    key: str = "lp-key-1"


class FakeVkApi:
    def __init__(self) -> None:
        self.tokens: dict[str, Community] = {}
        self.users: dict[int, tuple[str, str]] = {}
        self.calls: list[Call] = []
        self.files: dict[str, bytes] = {}
        self.uploads: list[tuple[str, str, bytes]] = []  # (kind, file name, bytes)
        self.sent_by_random_id: dict[tuple[int, int], int] = {}
        self.longpoll_failures: list[dict[str, Any]] = []
        self.waiting_polls: list[tuple[str, str]] = []  # (key, ts) of long polls held now
        self._failures: dict[str, list[tuple[str | None, dict[str, Any]]]] = defaultdict(list)
        self._stalls: dict[str, list[str | None]] = defaultdict(list)
        self._garbage: dict[str, list[tuple[str | None, bytes | Any]]] = defaultdict(list)
        self.abandoned: list[str] = []  # held calls whose caller hung up
        self._closing = False
        self._message_ids = itertools.count(7_001)
        self._upload_ids = itertools.count(457_239_001)
        self._changed = asyncio.Condition()
        app = web.Application(client_max_size=60 << 20)
        app.router.add_route("*", "/method/{method}", self._method)
        app.router.add_get("/lp/{group_id}", self._longpoll)
        app.router.add_post("/upload/{kind}", self._upload)
        app.router.add_get("/files/{name}", self._download)
        self._server = TestServer(app, host="127.0.0.1")

    async def start(self) -> FakeVkApi:
        # Held calls end when the fake closes; the timeout only bounds a bug in that.
        await self._server.start_server(shutdown_timeout=2)
        return self

    async def close(self) -> None:
        """Stop at once: waiting long polls answer, held calls end."""
        async with self._changed:
            self._closing = True
            self._changed.notify_all()
        await self._server.close()

    @property
    def base_url(self) -> str:
        return str(self._server.make_url("")).rstrip("/")

    # --- scripting -------------------------------------------------------------------------

    def add_community(self, token: str, group_id: int, name: str = "OpenLines Shop") -> Community:
        community = Community(id=group_id, name=name)
        self.tokens[token] = community
        return community

    def add_user(self, user_id: int, first_name: str, last_name: str) -> None:
        self.users[user_id] = (first_name, last_name)

    def add_file(self, name: str, data: bytes) -> str:
        """Serve ``data``; its download URL."""
        self.files[name] = data
        return f"{self.base_url}/files/{name}"

    def fail_next(
        self,
        method: str,
        error_code: int,
        error_msg: str,
        *,
        times: int = 1,
        text: str | None = None,
    ) -> None:
        """The next ``times`` calls of ``method`` (with this ``message``, if given) answer
        with this VK error."""
        error = {"error_code": error_code, "error_msg": error_msg}
        self._failures[method].extend([(text, error)] * times)

    def garbage_next(
        self,
        method: str,
        *,
        times: int = 1,
        body: bytes | Any = b"<html>502 Bad Gateway</html>",
        text: str | None = None,
    ) -> None:
        """The next ``times`` calls of ``method`` (with this ``message``, if given) answer
        ``body``: bytes as they are (not JSON), anything else as JSON (``{"response": "oops"}``:
        JSON, but not what VK answers)."""
        self._garbage[method].extend([(text, body)] * times)

    def stall_next(self, method: str, *, times: int = 1, text: str | None = None) -> None:
        """The next ``times`` calls of ``method`` (with this ``message``, if given) get no
        answer: VK hanging. They end when the caller gives up or the fake closes."""
        self._stalls[method].extend([text] * times)

    async def push_event(self, token: str, event: dict[str, Any]) -> None:
        """Queue an event for the Long Poll server."""
        async with self._changed:
            self.tokens[token].events.append(event)
            self._changed.notify_all()

    def calls_of(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    # --- the API ---------------------------------------------------------------------------

    async def _method(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params: dict[str, Any] = dict(request.query)
        if request.method == "POST":
            params.update(await request.post())
        self.calls.append(Call(method, params))
        request_params = [
            {"key": k, "value": str(v)} for k, v in params.items() if k != "access_token"
        ]
        for index, (text, body) in enumerate(self._garbage[method]):
            if text is None or params.get("message") == text:
                del self._garbage[method][index]
                if isinstance(body, bytes):
                    return web.Response(body=body, content_type="text/html")
                return web.json_response(body)
        community = self.tokens.get(str(params.get("access_token")))
        if community is None:
            return _error(
                5, "User authorization failed: invalid access_token (4).", request_params
            )
        stall = next(
            (i for i, t in enumerate(self._stalls[method]) if t in (None, params.get("message"))),
            None,
        )
        if stall is not None:
            del self._stalls[method][stall]
            try:
                async with self._changed:
                    await self._changed.wait_for(lambda: self._closing)
            except asyncio.CancelledError:  # the client closed the connection
                self.abandoned.append(method)
                raise
            return web.Response(status=503)
        for index, (text, failure) in enumerate(self._failures[method]):
            if text is None or params.get("message") == text:
                del self._failures[method][index]
                return _error(failure["error_code"], failure["error_msg"], request_params)
        handler = getattr(self, "_do_" + method.replace(".", "_"), None)
        if handler is None:
            return _error(3, "Unknown method passed", request_params)
        return web.json_response({"response": handler(community, params)})

    def _do_groups_getById(self, community: Community, params: dict[str, Any]) -> Any:
        group = {"id": community.id, "name": community.name, "screen_name": f"club{community.id}"}
        return {"groups": [group], "profiles": []}

    def _do_users_get(self, community: Community, params: dict[str, Any]) -> Any:
        users = []
        for user_id in str(params.get("user_ids", "")).split(","):
            first, last = self.users.get(int(user_id), ("DELETED", ""))
            users.append({"id": int(user_id), "first_name": first, "last_name": last})
        return users

    def _do_messages_send(self, community: Community, params: dict[str, Any]) -> Any:
        key = (int(params["peer_id"]), int(params["random_id"]))
        if key not in self.sent_by_random_id:  # VK sends a random_id once per peer
            self.sent_by_random_id[key] = next(self._message_ids)
        return self.sent_by_random_id[key]

    def _do_messages_setActivity(self, community: Community, params: dict[str, Any]) -> Any:
        return 1

    def _do_messages_sendMessageEventAnswer(
        self, community: Community, params: dict[str, Any]
    ) -> Any:
        return 1

    def _do_groups_getLongPollServer(self, community: Community, params: dict[str, Any]) -> Any:
        return {
            "key": community.key,
            "server": f"{self.base_url}/lp/{community.id}",
            "ts": str(len(community.events)),
        }

    def _do_photos_getMessagesUploadServer(self, community: Community, params: Any) -> Any:
        return {"upload_url": f"{self.base_url}/upload/photo", "album_id": -3, "group_id": 0}

    def _do_docs_getMessagesUploadServer(self, community: Community, params: Any) -> Any:
        return {"upload_url": f"{self.base_url}/upload/doc"}

    def _do_photos_saveMessagesPhoto(self, community: Community, params: Any) -> Any:
        return [{"id": int(params["photo"]), "owner_id": -community.id, "sizes": []}]

    def _do_docs_save(self, community: Community, params: Any) -> Any:
        doc = {"id": int(params["file"]), "owner_id": -community.id, "title": params.get("title")}
        return {"type": "doc", "doc": doc}

    async def _upload(self, request: web.Request) -> web.Response:
        kind = request.match_info["kind"]
        form = await request.post()
        [part] = [v for v in form.values() if isinstance(v, web.FileField)]
        upload_id = next(self._upload_ids)
        self.uploads.append((kind, part.filename, part.file.read()))
        if kind == "photo":
            return web.json_response({"server": 1, "photo": str(upload_id), "hash": "h"})
        return web.json_response({"file": str(upload_id)})

    async def _longpoll(self, request: web.Request) -> web.Response:
        community = next(
            c for c in self.tokens.values() if str(c.id) == request.match_info["group_id"]
        )
        self.calls.append(Call("longpoll", dict(request.query)))
        if self.longpoll_failures:
            return web.json_response(self.longpoll_failures.pop(0))
        if request.query.get("key") != community.key:
            return web.json_response({"failed": 2})
        ts = int(request.query.get("ts", "0"))
        deadline = time.monotonic() + float(request.query.get("wait", "25"))
        poll = (request.query["key"], str(ts))
        async with self._changed:
            while (
                len(community.events) <= ts and time.monotonic() < deadline and not self._closing
            ):
                self.waiting_polls.append(poll)
                try:
                    await asyncio.wait_for(self._changed.wait(), deadline - time.monotonic())
                except TimeoutError:
                    break
                finally:
                    self.waiting_polls.remove(poll)
        return web.json_response(
            {"ts": str(len(community.events)), "updates": community.events[ts:]}
        )

    async def _download(self, request: web.Request) -> web.Response:
        data = self.files.get(request.match_info["name"])
        if data is None:
            return web.Response(status=404)
        return web.Response(body=data, content_type="application/octet-stream")


def _error(code: int, message: str, request_params: list[dict[str, str]]) -> web.Response:
    return web.json_response(
        {"error": {"error_code": code, "error_msg": message, "request_params": request_params}}
    )
