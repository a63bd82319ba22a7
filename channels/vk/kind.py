"""The VK channel on vk-api, as the hub's ``ChannelKind``: connecting a community
(``groups.getById``) and receiving its events through the Callback API webhook or Bots Long
Poll. The roles live beside it: ``config``, ``parse`` (pure), ``client`` (vk-api on the hub's
HTTP session, failures mapped), ``send``. vk-api's types stay in this package; the hub sees
``Inbound`` and ``Receipt`` only."""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import logging
import secrets
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any, ClassVar

import aiohttp
import orjson
import vk_api
from aiohttp import web

from channels.vk.client import (
    CALLS_PER_S,
    LONGPOLL_WAIT_S,
    MALFORMED,
    MAX_DOWNLOAD_BYTES,
    POLL_RETRY_MAX_S,
    POLL_RETRY_MIN_S,
    SEEN_EVENTS,
    WORKER_THREADS,
    NotVkAnswer,
    VkClient,
    _quote,
    platform_error,
)
from channels.vk.config import VkConfig
from channels.vk.parse import (
    Allow,
    Deny,
    MediaRef,
    NewMessage,
    Parsed,
    Rating,
    parse,
)
from channels.vk.send import VkSender
from channels.vk.send import random_id as random_id  # the tests' name for it
from hub.channels import (
    RATING_NOT_AWAITED,
    RATING_THANKS,
    ChannelDeps,
    ChannelKindDefaults,
    ChannelSink,
    Edit,
    TokenBucket,
    keep_file,
    with_files,
    words,
)
from hub.errors import (
    BadRequest,
    ChannelError,
    ChannelRateLimited,
    ChannelRejected,
    Forbidden,
    ValidationFailed,
)
from hub.models import Attachment, ChannelRecord
from hub.netguard import ensure_public_url

log = logging.getLogger("openlines.channels.vk")


class VkKind(ChannelKindDefaults[VkConfig]):
    name: ClassVar[str] = "vk"
    title: ClassVar[Mapping[str, str]] = words("ВКонтакте", "VK")
    config_model: ClassVar[type[VkConfig]] = VkConfig
    secret_fields: ClassVar[frozenset[str]] = frozenset({"access_token", "secret"})
    reveal_on_create: ClassVar[frozenset[str]] = frozenset()
    live_queue_position: ClassVar[bool] = False
    live_csat: ClassVar[bool] = False

    def __init__(self) -> None:
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        # One call budget per community token (its sha256: no token kept as a key).
        self._limiters: dict[str, TokenBucket] = {}
        self._names: OrderedDict[tuple[str, int], str | None] = OrderedDict()
        # Callback events handled lately (VK retries when our answer is slow or lost).
        self._seen: OrderedDict[tuple[str, str], None] = OrderedDict()

    def client(
        self, config: Mapping[str, Any] | VkConfig, http: aiohttp.ClientSession
    ) -> VkClient:
        """A client of the community ``config`` names, on ``http``."""
        if isinstance(config, VkConfig):
            token, api_base = config.access_token, config.api_base
        else:
            token, api_base = str(config["access_token"]), config.get("api_base")
        key = hashlib.sha256(f"{api_base}|{token}".encode()).hexdigest()
        limiter = self._limiters.get(key)
        if limiter is None:
            limiter = self._limiters[key] = TokenBucket(CALLS_PER_S, 1.0)
        if self._executor is None:
            self._executor = concurrent.futures.ThreadPoolExecutor(
                WORKER_THREADS, thread_name_prefix="openlines-vk"
            )
        return VkClient(token, api_base, http, limiter, self._executor)

    async def close(self) -> None:
        """Stop the worker threads. The app is stopping: its senders and receivers are done,
        so no call waits in them (one still running is cancelled by its transport)."""
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)

    # --- connecting ------------------------------------------------------------------------

    async def connect(
        self,
        config: VkConfig,
        channel_id: str,
        deps: ChannelDeps,
        previous: dict[str, Any] | None,
    ) -> dict[str, Any]:
        if config.api_base:
            # vk-api's requests go over the hub's guarded session, but a literal address in
            # the URL meets no resolver: checked here.
            await ensure_public_url(
                config.api_base, allow_private=deps.settings.allow_private_urls
            )
        # Other failures (VK unreachable, not VK at all) are ``ChannelError``s: the API answers
        # them 422 with their words.
        try:
            found = await self.client(config, deps.http).call(
                "groups.getById", returns=(dict, list), group_id=config.group_id
            )
        except ChannelRejected as exc:
            cause = exc.__cause__
            words = cause.error.get("error_msg") if isinstance(cause, vk_api.ApiError) else None
            raise ValidationFailed(
                f"VK refused the access token: {words or exc.message}", code="vk_refused"
            ) from exc
        groups = found.get("groups") if isinstance(found, dict) else found
        if not isinstance(groups, list):
            raise platform_error("groups.getById", NotVkAnswer(_quote(found)), config.access_token)
        group = next(
            (g for g in groups if isinstance(g, dict) and g.get("id") == config.group_id), None
        )
        if group is None:
            raise ValidationFailed(
                f"the token does not belong to community {config.group_id}", code="vk_refused"
            )
        data = config.model_dump(mode="json")
        data["group_name"] = group.get("name")
        return data

    async def disconnect(self, channel: ChannelRecord, deps: ChannelDeps) -> None:
        # Nothing to undo at VK (the callback server is the admin's); forget what we cached.
        # The poller, if any, is cancelled by the runners once the channel is gone.
        for name_key in [k for k in self._names if k[0] == channel.id]:
            del self._names[name_key]
        for event_key in [k for k in self._seen if k[0] == channel.id]:
            del self._seen[event_key]

    def public_extras(self, channel: ChannelRecord, base_url: str) -> dict[str, Any]:
        extras: dict[str, Any] = {"group_name": channel.config.get("group_name")}
        if channel.config.get("mode") == "callback":
            extras["webhook_url"] = f"{base_url}/hooks/vk/{channel.id}"
        return extras

    def build(self, channel: ChannelRecord, deps: ChannelDeps) -> VkSender:
        return VkSender(self.client(channel.config, deps.http), deps.files)

    async def typing(
        self, channel: ChannelRecord, chat_id: str, on: bool, author_name: str, deps: ChannelDeps
    ) -> None:
        if not on:  # VK's activity ends by itself after about 10 s or with the next message
            return
        try:
            await self.client(channel.config, deps.http).call(
                "messages.setActivity",
                peer_id=int(chat_id),
                type="typing",
                group_id=channel.config.get("group_id"),
            )
        except ChannelError as exc:
            log.info("setActivity failed channel=%s: %s", channel.id, exc)

    # --- receiving -------------------------------------------------------------------------

    async def webhook(
        self, channel: ChannelRecord, request: web.Request, sink: ChannelSink, deps: ChannelDeps
    ) -> web.StreamResponse:
        try:
            event = orjson.loads(await request.read())
        except orjson.JSONDecodeError:
            raise BadRequest("the body is not JSON", code="invalid_json") from None
        if not isinstance(event, dict):
            raise BadRequest("an event is a JSON object", code="invalid_json")
        if event.get("type") == "confirmation":
            if str(event.get("group_id")) != str(channel.config.get("group_id")):
                raise Forbidden("not this channel's community", code="wrong_group")
            return web.Response(text=str(channel.config.get("confirmation_code") or ""))
        given = str(event.get("secret") or "")
        expected = str(channel.config.get("secret") or "")
        if not expected or not secrets.compare_digest(given.encode(), expected.encode()):
            raise Forbidden("wrong or missing secret", code="invalid_secret")
        seen_key = (channel.id, str(event.get("event_id") or ""))
        if seen_key[1] and seen_key in self._seen:
            return web.Response(text="ok")
        # The secret matched, so VK sent this: an event we cannot read is acknowledged and
        # logged, since an error answer makes VK send it again, and VK switches off a callback
        # server that fails several times in a row.
        parsed = self._parse(channel, event)
        if parsed is None:
            pass
        elif self._needs_api(channel, parsed):
            # The hub's HTTP session for the few events that call VK (a new client's name,
            # files, a button press): shared connections, public addresses only.
            await self.handle(channel, parsed, sink, self.client(channel.config, deps.http))
        else:
            await self.handle(channel, parsed, sink, None)
        if seen_key[1]:
            self._seen[seen_key] = None
            while len(self._seen) > SEEN_EVENTS:
                self._seen.popitem(last=False)
        return web.Response(text="ok")

    def _parse(self, channel: ChannelRecord, event: dict[str, Any]) -> Parsed | None:
        """``parse``; None (logged, without its content) when the event is malformed."""
        try:
            return parse(channel.id, event)
        except MALFORMED as exc:
            log.warning(
                "ignoring a malformed event channel=%s type=%.40s event_id=%.80s error=%s",
                channel.id,
                event.get("type"),
                event.get("event_id"),
                type(exc).__name__,
            )
            return None

    def _needs_api(self, channel: ChannelRecord, parsed: Parsed) -> bool:
        if isinstance(parsed, Rating):
            return bool(parsed.event_id)
        if isinstance(parsed, NewMessage):
            return bool(parsed.media) or (channel.id, parsed.user_id) not in self._names
        return False

    def runs_in_background(self, channel: ChannelRecord) -> bool:
        return channel.config.get("mode") == "longpoll"

    async def run(self, channel: ChannelRecord, deps: ChannelDeps, sink: ChannelSink) -> None:
        """Bots Long Poll: ``groups.getLongPollServer``, then wait on its server. ``ts`` lives
        with the channel, so a restart or another process taking over resumes there (ingest
        is idempotent besides). ``failed`` 1: new ts; 2: new key; 3: new key and ts."""
        client = self.client(channel.config, deps.http)
        server = await self._longpoll_server(channel, client)
        ts = await sink.position() or server["ts"]
        log.info("long poll channel=%s ts=%s", channel.id, ts)
        timeout = aiohttp.ClientTimeout(total=LONGPOLL_WAIT_S + 10)
        retry_s = POLL_RETRY_MIN_S
        while True:
            params: dict[str, str | int] = {
                "act": "a_check",
                "key": server["key"],
                "ts": ts,
                "wait": LONGPOLL_WAIT_S,
            }
            try:
                async with deps.http.get(server["server"], params=params, timeout=timeout) as r:
                    r.raise_for_status()
                    body = await r.json(content_type=None)
                if not isinstance(body, dict) or not isinstance(body.get("updates", []), list):
                    raise ValueError(f"not a long poll answer: {_quote(body)}")
                if body.get("failed") in (None, 1) and body.get("ts") is None:
                    raise ValueError(f"a long poll answer without ts: {_quote(body)}")
            except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
                log.warning(
                    "long poll failed channel=%s retry_in_s=%.0f: %s", channel.id, retry_s, exc
                )
                await asyncio.sleep(retry_s)
                retry_s = min(retry_s * 2, POLL_RETRY_MAX_S)
                continue
            retry_s = POLL_RETRY_MIN_S
            failed = body.get("failed")
            if failed == 1:
                ts = str(body["ts"])
            elif failed in (2, 3):
                server = await self._longpoll_server(channel, client)
                if failed == 3:
                    ts = server["ts"]
            else:
                for update in body.get("updates") or []:
                    parsed = self._parse(channel, update) if isinstance(update, dict) else None
                    if parsed is not None:
                        await self.handle(channel, parsed, sink, client)
                ts = str(body["ts"])
            await sink.save_position(ts)

    async def _longpoll_server(self, channel: ChannelRecord, client: VkClient) -> dict[str, str]:
        """``{key, server, ts}`` of the community's Long Poll server; VK failing, retried with
        back-off (a line each time, no traceback) until it answers."""
        retry_s = POLL_RETRY_MIN_S
        while True:
            try:
                server = await client.call(
                    "groups.getLongPollServer",
                    returns=dict,
                    group_id=channel.config.get("group_id"),
                )
                if all(server.get(k) not in (None, "") for k in ("key", "server", "ts")):
                    return {k: str(server[k]) for k in ("key", "server", "ts")}
                error = platform_error("groups.getLongPollServer", NotVkAnswer(_quote(server)), "")
            except ChannelRateLimited as exc:
                await asyncio.sleep(exc.retry_after_s)
                continue
            except ChannelError as exc:
                error = exc
            log.warning(
                "long poll server failed channel=%s retry_in_s=%.0f: %s",
                channel.id,
                retry_s,
                error,
            )
            await asyncio.sleep(retry_s)
            retry_s = min(retry_s * 2, POLL_RETRY_MAX_S)

    async def handle(
        self, channel: ChannelRecord, parsed: Parsed, sink: ChannelSink, client: VkClient | None
    ) -> None:
        """Hand one parsed event to the hub. Platform failures raise, so VK (or the poller)
        delivers the event again. ``client`` may be None when ``_needs_api`` says so."""
        if isinstance(parsed, NewMessage):
            inbound = parsed.inbound
            name = await self._name(channel, client, parsed.user_id)
            if parsed.media:
                assert client is not None
                kept = [await _fetch(client, ref, sink) for ref in parsed.media]
                inbound = with_files(inbound, kept)
            sender = inbound.sender.model_copy(update={"name": name})
            await sink.ingest(inbound.model_copy(update={"sender": sender}))
        elif isinstance(parsed, Edit):
            await sink.edit(parsed.external_id, parsed.text)
        elif isinstance(parsed, Rating):
            stored = await sink.csat(parsed.chat_id, parsed.rating)
            if parsed.event_id and client is not None:
                await self._answer_press(channel, client, parsed, stored)
        elif isinstance(parsed, Deny):
            await sink.unreachable(parsed.chat_id, "the user denied messages from the community")
        elif isinstance(parsed, Allow):
            await sink.reachable(parsed.chat_id)
        else:
            log.debug("ignoring %s channel=%s", parsed.reason, channel.id)

    async def _answer_press(
        self, channel: ChannelRecord, client: VkClient, rating: Rating, stored: bool
    ) -> None:
        """Tell the client their button press counted (a snackbar); VK shows a spinner until
        a callback button is answered."""
        try:
            await client.call(
                "messages.sendMessageEventAnswer",
                event_id=rating.event_id,
                user_id=rating.user_id,
                peer_id=int(rating.chat_id),
                event_data=orjson.dumps(
                    {
                        "type": "show_snackbar",
                        "text": RATING_THANKS if stored else RATING_NOT_AWAITED,
                    }
                ).decode(),
            )
        except ChannelError as exc:
            log.info("sendMessageEventAnswer failed channel=%s: %s", channel.id, exc)

    async def _name(
        self, channel: ChannelRecord, client: VkClient | None, user_id: int
    ) -> str | None:
        """The user's name from ``users.get``, cached; unknown (None) if VK will not say."""
        key = (channel.id, user_id)
        if key in self._names:
            return self._names[key]
        assert client is not None
        try:
            users = await client.call("users.get", returns=list, user_ids=user_id)
        except ChannelError as exc:
            log.info("users.get failed channel=%s user=%s: %s", channel.id, user_id, exc)
            return None
        user = users[0] if users and isinstance(users[0], dict) else {}
        parts = (user.get("first_name"), user.get("last_name"))
        name = " ".join(p for p in parts if isinstance(p, str) and p) or None
        self._names[key] = name
        while len(self._names) > SEEN_EVENTS:
            self._names.popitem(last=False)
        return name


async def _fetch(client: VkClient, ref: MediaRef, sink: ChannelSink) -> Attachment | str:
    """Download one file and store it (or a note on why not). A file VK no longer serves
    becomes a note; network failures raise, so the event comes again."""
    try:
        data = await client.download(ref.url)
    except aiohttp.ClientResponseError as exc:
        if 400 <= exc.status < 500:
            return f"[{ref.kind} {ref.file_name} not kept: VK answered {exc.status}]"
        raise ChannelError(f"VK file download failed: {exc.status}") from exc
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise ChannelError(f"VK file download failed: {type(exc).__name__}") from exc
    if data is None:
        return f"[{ref.kind} {ref.file_name} not kept: larger than {MAX_DOWNLOAD_BYTES} bytes]"
    return await keep_file(sink, ref.kind, ref.file_name, data)
