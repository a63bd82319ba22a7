"""The VK channel on vk-api: connecting a community (``groups.getById``), receiving its events
through the Callback API webhook or Bots Long Poll, and the sender the outbox uses. vk-api's
types stay in this package; the hub sees ``Inbound`` and ``Receipt`` only.

vk-api is synchronous (requests): every API call goes through ``asyncio.to_thread`` on a
``requests.Session`` that rebases vk-api's hard-coded ``https://api.vk.ru/method/`` onto
``api_base``. The long-poll wait itself is a plain GET made with aiohttp: ``VkBotLongPoll``
builds its own session and would hold a pool thread for up to ``wait + 10`` s per poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import logging
import secrets
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any, ClassVar, Literal

import aiohttp
import orjson
import requests
import vk_api
from aiohttp import web
from jconfig.memory import MemoryConfig  # type: ignore[import-untyped]  # vk-api's, untyped
from pydantic import BaseModel, Field, model_validator
from vk_api.keyboard import VkKeyboard
from vk_api.upload import VkUpload

from channels.vk.parse import CSAT_KEY, Deny, Edit, MediaRef, NewMessage, Parsed, Rating, parse
from hub.channels import ChannelDeps, ChannelKindDefaults, ChannelSink, FileReader
from hub.errors import (
    BadRequest,
    ChannelError,
    ChannelRateLimited,
    ChannelRejected,
    Forbidden,
    HubError,
    ValidationFailed,
)
from hub.models import Attachment, ChannelRecord, Outbound, Receipt

log = logging.getLogger("openlines.channels.vk")

API_VERSION = "5.199"
VK_METHOD_BASE = "https://api.vk.ru/method/"
REQUEST_TIMEOUT_S = 30.0
# Community tokens may make 20 calls a second; vk-api spaces calls on one instance by this.
CALLS_PER_S = 20.0
LONGPOLL_WAIT_S = 25
MAX_TEXT = 4096
PHOTO_TYPES = frozenset({"image/jpeg", "image/png", "image/gif"})
RATE_LIMIT_CODES = frozenset({6, 9})  # too many requests per second; flood control
UNREACHABLE_CODES = frozenset({901, 902})  # the user denied messages / privacy settings
REFUSED_CODES = frozenset({7})  # no permission (community messages off, token scope)
RATE_LIMIT_PAUSE_S = 1.0
SEEN_EVENTS = 10_000
THANKS, NOT_RATABLE = "Thank you for your rating!", "This chat cannot be rated now."


class VkConfig(BaseModel):
    group_id: int = Field(gt=0)
    access_token: str = Field(min_length=8, max_length=500)
    confirmation_code: str = Field(default="", max_length=100)
    secret: str = Field(default="", max_length=100)
    mode: Literal["callback", "longpoll"] = "callback"
    # Any VK API server (a local fake in tests); unset: api.vk.ru.
    api_base: str | None = Field(default=None, pattern=r"^https?://[^\s]+$", max_length=300)

    @model_validator(mode="after")
    def _callback_needs_its_codes(self) -> VkConfig:
        if self.mode == "callback" and not (self.confirmation_code and self.secret):
            raise ValueError("callback mode needs confirmation_code and secret")
        return self


class _RebasedSession(requests.Session):
    """vk-api's transport: its hard-coded method URL moved onto ``api_base``, and a timeout."""

    def __init__(self, api_base: str | None) -> None:
        super().__init__()
        self._base = api_base.rstrip("/") + "/method/" if api_base else None

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]  # narrower url: vk-api passes str
        if self._base and url.startswith(VK_METHOD_BASE):
            url = self._base + url[len(VK_METHOD_BASE) :]
        kwargs.setdefault("timeout", REQUEST_TIMEOUT_S)
        return super().request(method, url, *args, **kwargs)


class VkClient:
    """One community token on vk-api, called off the event loop."""

    def __init__(self, access_token: str, api_base: str | None) -> None:
        self._session = vk_api.VkApi(
            token=access_token,
            api_version=API_VERSION,
            session=_RebasedSession(api_base),
            config=MemoryConfig,  # never read or write ./vk_config.v2.json
        )
        self._session.RPS_DELAY = 1 / CALLS_PER_S
        # vk-api would sleep and retry error 6 inside the thread; the outbox backs off instead.
        self._session.error_handlers.pop(vk_api.vk_api.TOO_MANY_RPS_CODE, None)
        self._upload = VkUpload(self._session)

    @classmethod
    def of(cls, config: dict[str, Any] | VkConfig) -> VkClient:
        if isinstance(config, VkConfig):
            return cls(config.access_token, config.api_base)
        return cls(str(config["access_token"]), config.get("api_base"))

    async def call(self, method: str, **params: Any) -> Any:
        return await asyncio.to_thread(self._session.method, method, params)

    async def download(self, url: str) -> bytes:
        def get() -> bytes:
            response = self._session.http.get(url)
            response.raise_for_status()
            return bytes(response.content)

        return await asyncio.to_thread(get)

    async def upload_photo(self, data: bytes, name: str, peer_id: int) -> str:
        photos = await asyncio.to_thread(
            self._upload.photo_messages, _named(data, name), peer_id=peer_id
        )
        photo = photos[0]
        return f"photo{photo['owner_id']}_{photo['id']}"

    async def upload_doc(self, data: bytes, name: str, peer_id: int) -> str:
        saved = await asyncio.to_thread(
            self._upload.document_message, _named(data, name), title=name, peer_id=peer_id
        )
        doc = saved["doc"]
        return f"doc{doc['owner_id']}_{doc['id']}"


def _named(data: bytes, name: str) -> io.BytesIO:
    buffer = io.BytesIO(data)
    buffer.name = name  # vk-api names the upload part by the file object's name
    return buffer


@contextlib.contextmanager
def platform_errors(action: str) -> Iterator[None]:
    """vk-api's exceptions as the hub's error tree (what the outbox knows how to treat)."""
    try:
        yield
    except vk_api.ApiError as exc:
        message = f"VK {action}: [{exc.code}] {exc.error.get('error_msg', '')}"
        if exc.code in RATE_LIMIT_CODES:
            raise ChannelRateLimited(message, retry_after_s=RATE_LIMIT_PAUSE_S) from exc
        if exc.code in UNREACHABLE_CODES:
            raise ChannelRejected(message, unreachable=True) from exc
        if exc.code in REFUSED_CODES:
            raise ChannelRejected(message) from exc
        raise ChannelError(message) from exc  # 10 (internal) and the rest: retried
    except (vk_api.VkApiError, requests.RequestException, ValueError) as exc:
        raise ChannelError(f"VK {action} failed: {type(exc).__name__}: {exc}") from exc


def random_id(key: str) -> int:
    """VK's idempotency key of a send, derived from our message id: a retried send carries
    the same one, and VK delivers it once. A positive int32."""
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "big") & 0x7FFFFFFF or 1


def csat_keyboard() -> str:
    keyboard = VkKeyboard(inline=True)
    for n in range(1, 6):
        keyboard.add_callback_button(str(n), payload={CSAT_KEY: n})
    return str(keyboard.get_keyboard())


def chunks(text: str, size: int = MAX_TEXT) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


class VkSender:
    """Delivers outgoing messages of one community as plain text, files uploaded from our
    store, and CSAT prompts as an inline keyboard of callback buttons."""

    def __init__(self, channel: ChannelRecord, deps: ChannelDeps) -> None:
        self._client = VkClient.of(channel.config)
        self._files: FileReader | None = deps.files

    async def send(self, outbound: Outbound) -> Receipt:
        peer_id = int(outbound.chat_id)
        extra: dict[str, Any] = {}
        if outbound.purpose == "csat_request":
            extra["keyboard"] = csat_keyboard()
        elif outbound.attachments:
            extra["attachment"] = ",".join(
                [await self._upload(peer_id, a) for a in outbound.attachments]
            )
        first_id: str | None = None
        for index, part in enumerate(chunks(outbound.text)):
            if not part and "attachment" not in extra:
                continue
            key = outbound.message_id if index == 0 else f"{outbound.message_id}:{index}"
            with platform_errors("messages.send"):
                sent = await self._client.call(
                    "messages.send",
                    peer_id=peer_id,
                    random_id=random_id(key),
                    message=part,
                    **(extra if index == 0 else {}),
                )
            first_id = first_id or str(sent)
        return Receipt(platform_message_id=first_id)

    async def _upload(self, peer_id: int, attachment: Attachment) -> str:
        if self._files is None:
            raise ChannelError("no file store to upload attachments from")
        data = await self._files.read(attachment.id)
        with platform_errors("the upload"):
            if attachment.mime in PHOTO_TYPES:
                return await self._client.upload_photo(data, attachment.name, peer_id)
            return await self._client.upload_doc(data, attachment.name, peer_id)


class VkKind(ChannelKindDefaults):
    name: ClassVar[str] = "vk"
    config_model: ClassVar[type[BaseModel]] = VkConfig
    secret_fields: ClassVar[frozenset[str]] = frozenset({"access_token", "secret"})
    reveal_on_create: ClassVar[frozenset[str]] = frozenset()
    live_queue_position: ClassVar[bool] = False
    live_csat: ClassVar[bool] = False

    def __init__(self) -> None:
        self._clients: dict[str, tuple[Any, VkClient]] = {}
        self._names: OrderedDict[tuple[str, int], str | None] = OrderedDict()
        # Callback events handled lately (VK retries when our answer is slow or lost).
        self._seen: OrderedDict[tuple[str, str], None] = OrderedDict()

    def _client(self, channel: ChannelRecord) -> VkClient:
        version = (channel.config.get("access_token"), channel.config.get("api_base"))
        cached = self._clients.get(channel.id)
        if cached is None or cached[0] != version:
            self._clients[channel.id] = cached = (version, VkClient.of(channel.config))
        return cached[1]

    # --- connecting ------------------------------------------------------------------------

    async def connect(
        self,
        config: BaseModel,
        channel_id: str,
        deps: ChannelDeps,
        previous: dict[str, Any] | None,
    ) -> dict[str, Any]:
        assert isinstance(config, VkConfig)
        try:
            found = await VkClient.of(config).call("groups.getById", group_id=config.group_id)
        except vk_api.ApiError as exc:
            raise ValidationFailed(
                f"VK refused the access token: {exc.error.get('error_msg', exc)}",
                code="vk_refused",
            ) from exc
        except (vk_api.VkApiError, requests.RequestException, ValueError) as exc:
            raise ChannelError(f"VK unreachable: {exc}") from exc
        groups = found.get("groups", []) if isinstance(found, dict) else found
        group = next((g for g in groups if g.get("id") == config.group_id), None)
        if group is None:
            raise ValidationFailed(
                f"the token does not belong to community {config.group_id}", code="vk_refused"
            )
        data = config.model_dump(mode="json")
        data["group_name"] = group.get("name")
        return data

    def public_extras(self, channel: ChannelRecord, base_url: str) -> dict[str, Any]:
        extras: dict[str, Any] = {"group_name": channel.config.get("group_name")}
        if channel.config.get("mode") == "callback":
            extras["webhook_url"] = f"{base_url}/hooks/vk/{channel.id}"
        return extras

    def build(self, channel: ChannelRecord, deps: ChannelDeps) -> VkSender:
        return VkSender(channel, deps)

    async def typing(
        self, channel: ChannelRecord, chat_id: str, on: bool, author_name: str, deps: ChannelDeps
    ) -> None:
        if not on:  # VK's activity ends by itself after about 10 s or with the next message
            return
        try:
            with platform_errors("messages.setActivity"):
                await self._client(channel).call(
                    "messages.setActivity",
                    peer_id=int(chat_id),
                    type="typing",
                    group_id=channel.config.get("group_id"),
                )
        except ChannelError as exc:
            log.info("setActivity failed channel=%s: %s", channel.id, exc)

    # --- receiving -------------------------------------------------------------------------

    async def webhook(
        self, channel: ChannelRecord, request: web.Request, sink: ChannelSink
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
        await self.handle(channel, parse(channel.id, event), sink)
        if seen_key[1]:
            self._seen[seen_key] = None
            while len(self._seen) > SEEN_EVENTS:
                self._seen.popitem(last=False)
        return web.Response(text="ok")

    def runs_in_background(self, channel: ChannelRecord) -> bool:
        return channel.config.get("mode") == "longpoll"

    async def run(self, channel: ChannelRecord, deps: ChannelDeps, sink: ChannelSink) -> None:
        """Bots Long Poll: ``groups.getLongPollServer``, then wait on its server. ``ts`` lives
        with the channel, so a restart or another process taking over resumes there (ingest
        is idempotent besides). ``failed`` 1: new ts; 2: new key; 3: new key and ts."""
        client = self._client(channel)
        server = await self._longpoll_server(channel, client)
        ts = await sink.position() or str(server["ts"])
        log.info("long poll channel=%s ts=%s", channel.id, ts)
        timeout = aiohttp.ClientTimeout(total=LONGPOLL_WAIT_S + 10)
        while True:
            params = {"act": "a_check", "key": server["key"], "ts": ts, "wait": LONGPOLL_WAIT_S}
            try:
                async with deps.http.get(server["server"], params=params, timeout=timeout) as r:
                    r.raise_for_status()
                    body = await r.json(content_type=None)
            except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
                log.warning("long poll failed channel=%s: %s", channel.id, exc)
                await asyncio.sleep(1.0)
                continue
            failed = body.get("failed")
            if failed == 1:
                ts = str(body["ts"])
            elif failed in (2, 3):
                server = await self._longpoll_server(channel, client)
                if failed == 3:
                    ts = str(server["ts"])
            else:
                for update in body.get("updates") or []:
                    await self.handle(channel, parse(channel.id, update), sink)
                ts = str(body["ts"])
            await sink.save_position(ts)

    async def _longpoll_server(self, channel: ChannelRecord, client: VkClient) -> dict[str, Any]:
        with platform_errors("groups.getLongPollServer"):
            server: dict[str, Any] = await client.call(
                "groups.getLongPollServer", group_id=channel.config.get("group_id")
            )
        return server

    async def handle(self, channel: ChannelRecord, parsed: Parsed, sink: ChannelSink) -> None:
        """Hand one parsed event to the hub. Platform failures raise, so VK (or the poller)
        delivers the event again."""
        client = self._client(channel)
        if isinstance(parsed, NewMessage):
            inbound = parsed.inbound
            name = await self._name(channel, client, parsed.user_id)
            notes = []
            for ref in parsed.media:
                attachment, note = await _fetch(client, ref, sink)
                if attachment is not None:
                    inbound.attachments.append(attachment)
                if note:
                    notes.append(note)
            inbound = inbound.model_copy(
                update={
                    "text": "\n".join(filter(None, [inbound.text, *notes])),
                    "sender": inbound.sender.model_copy(update={"name": name}),
                }
            )
            await sink.ingest(inbound)
        elif isinstance(parsed, Edit):
            await sink.edit(parsed.external_id, parsed.text)
        elif isinstance(parsed, Rating):
            stored = await sink.csat(parsed.chat_id, parsed.rating)
            if parsed.event_id:
                answer = THANKS if stored else NOT_RATABLE
                try:
                    with platform_errors("messages.sendMessageEventAnswer"):
                        await client.call(
                            "messages.sendMessageEventAnswer",
                            event_id=parsed.event_id,
                            user_id=parsed.user_id,
                            peer_id=int(parsed.chat_id),
                            event_data=orjson.dumps(
                                {"type": "show_snackbar", "text": answer}
                            ).decode(),
                        )
                except ChannelError as exc:
                    log.info("sendMessageEventAnswer failed channel=%s: %s", channel.id, exc)
        elif isinstance(parsed, Deny):
            await sink.unreachable(parsed.chat_id, "the user denied messages from the community")
        else:
            log.debug("ignoring %s channel=%s", parsed.reason, channel.id)

    async def _name(self, channel: ChannelRecord, client: VkClient, user_id: int) -> str | None:
        """The user's name from ``users.get``, cached; unknown (None) if VK will not say."""
        key = (channel.id, user_id)
        if key in self._names:
            return self._names[key]
        try:
            with platform_errors("users.get"):
                users = await client.call("users.get", user_ids=user_id)
        except ChannelError as exc:
            log.info("users.get failed channel=%s user=%s: %s", channel.id, user_id, exc)
            return None
        user = users[0] if users else {}
        name = " ".join(p for p in (user.get("first_name"), user.get("last_name")) if p) or None
        self._names[key] = name
        while len(self._names) > SEEN_EVENTS:
            self._names.popitem(last=False)
        return name


async def _fetch(
    client: VkClient, ref: MediaRef, sink: ChannelSink
) -> tuple[Attachment | None, str | None]:
    """Download one file and store it; a file our store refuses becomes a note in the text."""
    with platform_errors("the file download"):
        data = await client.download(ref.url)
    try:
        return await sink.save_file(ref.file_name, data), None
    except HubError as exc:
        return None, f"[{ref.kind} {ref.file_name} not kept: {exc.message}]"


KIND = VkKind()
