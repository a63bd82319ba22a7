"""Receiving: VK's Callback API calls and the Bots Long Poll loop, each event checked, parsed
(``channels.vk.parse``, pure) and handed to the hub's sink."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections import OrderedDict
from typing import Any

import aiohttp
import orjson
from aiohttp import web

from channels.vk.client import (
    MAX_DOWNLOAD_BYTES,
    NotVkAnswer,
    VkClient,
    VkClients,
    platform_error,
    quoted,
)
from channels.vk.parse import (
    Allow,
    Deny,
    MediaRef,
    NewMessage,
    Parsed,
    Rating,
    parse,
)
from hub.channels import (
    MALFORMED,
    POLL_RETRY_MAX_S,
    POLL_RETRY_MIN_S,
    RATING_NOT_AWAITED,
    RATING_THANKS,
    ChannelDeps,
    ChannelSink,
    Edit,
    keep_file,
    with_files,
)
from hub.errors import (
    BadRequest,
    ChannelError,
    ChannelRateLimited,
    Forbidden,
)
from hub.models import Attachment, ChannelRecord

log = logging.getLogger("openlines.channels.vk")

LONGPOLL_WAIT_S = 25
# How many callback events handled lately, and users' names, each receiver remembers.
SEEN_EVENTS = 10_000


class VkReceiver:
    """What comes from VK, by Callback API or Bots Long Poll: checked, parsed (``parse``,
    pure) and handed to the sink. One per kind instance, so per app; its clients are the
    kind's (``clients``)."""

    def __init__(self, clients: VkClients) -> None:
        self._clients = clients
        self._names: OrderedDict[tuple[str, int], str | None] = OrderedDict()
        # Callback events handled lately (VK retries when our answer is slow or lost).
        self._seen: OrderedDict[tuple[str, str], None] = OrderedDict()

    def forget(self, channel_id: str) -> None:
        """Drop what is cached for a channel that goes away (names, events seen)."""
        for name_key in [k for k in self._names if k[0] == channel_id]:
            del self._names[name_key]
        for event_key in [k for k in self._seen if k[0] == channel_id]:
            del self._seen[event_key]

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
            client = self._clients.client(channel.config, deps.http)
            await self.handle(channel, parsed, sink, client)
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

    async def run(self, channel: ChannelRecord, deps: ChannelDeps, sink: ChannelSink) -> None:
        """Bots Long Poll: ``groups.getLongPollServer``, then wait on its server. ``ts`` lives
        with the channel, so a restart or another process taking over resumes there (ingest
        is idempotent besides). ``failed`` 1: new ts; 2: new key; 3: new key and ts."""
        client = self._clients.client(channel.config, deps.http)
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
                    raise ValueError(f"not a long poll answer: {quoted(body)}")
                if body.get("failed") in (None, 1) and body.get("ts") is None:
                    raise ValueError(f"a long poll answer without ts: {quoted(body)}")
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
                error = platform_error("groups.getLongPollServer", NotVkAnswer(quoted(server)), "")
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
