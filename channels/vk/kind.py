"""The VK channel on vk-api: connecting a community (``groups.getById``), receiving its events
through the Callback API webhook or Bots Long Poll, and the sender the outbox uses. vk-api's
types stay in this package; the hub sees ``Inbound`` and ``Receipt`` only.

vk-api is synchronous (requests), so its calls run in worker threads; their HTTP does not.
The ``requests.Session`` we hand vk-api (and its uploader) has a transport that performs each
request with aiohttp on the event loop, on the hub's own HTTP session, and blocks the worker
only on the result. Cancelling a call (the hub stopping, a poller losing its lease) therefore
cancels its request at once and frees the thread. A thread blocked in requests itself would
keep its connection and the process alive until its timeout: that is what once hung the test
teardown and would hold up every shutdown while VK is slow. The workers are a pool of our own,
so VK calls never starve the default executor that aiohttp's DNS resolver needs.

Every VK call goes through ``VkClient._run``, which turns whatever goes wrong (a VK error, an
answer that is not VK's JSON or not of the shape asked for, the network) into the hub's error
tree in one place (``platform_error``). Callers see ``ChannelError`` and its kin only.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import io
import logging
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Literal, TypeVar

import aiohttp
import orjson
import requests
import requests.adapters
import requests.structures
import requests.utils
import vk_api
from aiohttp import web
from jconfig.memory import MemoryConfig  # type: ignore[import-untyped]  # vk-api's, untyped
from pydantic import BaseModel, Field, model_validator
from vk_api.keyboard import VkKeyboard
from vk_api.upload import VkUpload

from channels.vk.parse import (
    CHAT_PEER_BASE,
    CSAT_KEY,
    Allow,
    Deny,
    MediaRef,
    NewMessage,
    Parsed,
    Rating,
    parse,
)
from hub.channels import (
    RATING_NOT_AWAITED,
    RATING_THANKS,
    ChannelDeps,
    ChannelKindDefaults,
    ChannelSink,
    Edit,
    FileReader,
    TokenBucket,
    field_form,
    keep_file,
    split_text,
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
from hub.models import Attachment, ChannelRecord, Outbound, Receipt
from hub.netguard import ensure_public_url

log = logging.getLogger("openlines.channels.vk")

T = TypeVar("T")

API_VERSION = "5.199"
VK_METHOD_BASE = "https://api.vk.ru/method/"
REQUEST_TIMEOUT_S = 30.0
# Community tokens may make 20 API calls a second; spaced evenly, shared by the webhook, the
# poller and the sender of a community in this process.
CALLS_PER_S = 20.0
WORKER_THREADS = 8
LONGPOLL_WAIT_S = 25
MAX_TEXT = 4096
MAX_DOWNLOAD_BYTES = 64 << 20
PHOTO_TYPES = frozenset({"image/jpeg", "image/png", "image/gif"})
# VK's error codes (dev.vk.com/reference/errors) by what the outbox should do about them.
RATE_LIMIT_CODES = frozenset({6})  # too many requests per second: pause the community
TRANSIENT_CODES = frozenset({1, 9, 10})  # unknown; flood control; internal: retried, counted
# The client blocked the community, never allowed its messages, or hides behind privacy.
UNREACHABLE_CODES = frozenset({900, 901, 902})
RATE_LIMIT_PAUSE_S = 1.0
SEEN_EVENTS = 10_000
# How much of an answer that is not VK's is quoted in the error (a proxy's HTML page).
QUOTED_CHARS = 200
# Long poll failing: wait this long, doubling up to the maximum, before asking again.
POLL_RETRY_MIN_S = 1.0
POLL_RETRY_MAX_S = 60.0
# Errors of events that parse fails on: a pure function given untrusted input.
MALFORMED = (KeyError, TypeError, ValueError, AttributeError, OverflowError, RecursionError)


class NotVkAnswer(Exception):
    """VK answered JSON, but not of the shape the call gives (a proxy, a fake, a bug)."""


# What vk-api (or our reading of its result) raises when VK fails or answers nonsense.
_PLATFORM_FAILURES = (
    NotVkAnswer,
    vk_api.VkApiError,
    requests.RequestException,
    ValueError,
    KeyError,
    IndexError,
    TypeError,
    AttributeError,
)
CSAT_PROMPT = "How would you rate this conversation?"
# Response headers that no longer describe the body aiohttp hands over (already decoded).
_DECODED_HEADERS = frozenset({"content-encoding", "transfer-encoding", "content-length"})
# Request headers aiohttp sets itself (or that requests' defaults would get wrong here).
_OWN_HEADERS = frozenset({"connection", "accept-encoding", "content-length", "cookie", "host"})


class VkConfig(BaseModel):
    # A community's id; peer ids from 2e9 on are group chats, so no community has one there.
    group_id: int = Field(
        gt=0,
        lt=CHAT_PEER_BASE,
        strict=True,
        json_schema_extra=field_form("ID сообщества", "Community id"),
    )
    access_token: str = Field(
        min_length=8,
        max_length=500,
        json_schema_extra=field_form(
            "Ключ доступа сообщества",
            "Community access token",
            help_ru="Управление сообществом → раздел API",
            help_en="Community management → API usage",
            secret=True,
        ),
    )
    confirmation_code: str = Field(
        default="",
        max_length=100,
        json_schema_extra=field_form(
            "Строка подтверждения",
            "Confirmation code",
            help_ru="Для Callback API: строка, которую должен вернуть сервер",
            help_en="For the Callback API: the string the server must return",
        ),
    )
    secret: str = Field(
        default="",
        max_length=100,
        json_schema_extra=field_form(
            "Секретный ключ",
            "Secret key",
            help_ru="Для Callback API",
            help_en="For the Callback API",
            secret=True,
        ),
    )
    mode: Literal["callback", "longpoll"] = Field(
        default="callback",
        json_schema_extra=field_form(
            "Получение сообщений",
            "How messages arrive",
            enum_titles={
                "callback": (
                    "Callback API (VK вызывает сервер)",
                    "Callback API (VK calls the hub)",
                ),
                "longpoll": ("Long Poll (сервер спрашивает VK)", "Long Poll (the hub asks VK)"),
            },
        ),
    )
    # Any VK API server (a local fake in tests); unset: api.vk.ru.
    api_base: str | None = Field(
        default=None,
        pattern=r"^https?://[^\s]+$",
        max_length=300,
        json_schema_extra=field_form(
            "Адрес VK API",
            "VK API address",
            help_ru="Пусто: api.vk.ru",
            help_en="Empty: api.vk.ru",
        ),
    )

    @model_validator(mode="after")
    def _callback_needs_its_codes(self) -> VkConfig:
        if self.mode == "callback" and not (self.confirmation_code and self.secret):
            raise ValueError("callback mode needs confirmation_code and secret")
        return self


# --- the transport: vk-api's requests, made by aiohttp on the event loop ----------------------


class _LoopTransport(requests.adapters.BaseAdapter):
    """A requests adapter for one vk-api call: each request is run by aiohttp on ``loop``
    while the calling worker thread waits; ``cancel`` aborts them and refuses new ones."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        http: aiohttp.ClientSession,
        api_base: str | None,
        limiter: TokenBucket,
    ) -> None:
        super().__init__()
        self._loop = loop
        self._http = http
        self._method_base = api_base.rstrip("/") + "/method/" if api_base else VK_METHOD_BASE
        self._limiter = limiter
        self._lock = threading.Lock()
        self._pending: set[concurrent.futures.Future[Any]] = set()
        self._cancelled = False

    def send(
        self, request: requests.PreparedRequest, *args: Any, **kwargs: Any
    ) -> requests.Response:
        url = str(request.url)
        is_method = url.startswith(VK_METHOD_BASE)
        if is_method:
            url = self._method_base + url[len(VK_METHOD_BASE) :]
        body = request.body.encode() if isinstance(request.body, str) else request.body
        if body is not None and not isinstance(body, bytes):
            # vk-api sends forms and multipart files, which requests encodes up front.
            raise requests.ConnectionError("streamed bodies are not supported", request=request)
        headers = {
            k: v if isinstance(v, str) else v.decode("latin-1")
            for k, v in request.headers.items()
            if k.lower() not in _OWN_HEADERS
        }
        fetch = self._fetch(str(request.method), url, headers, body, is_method)
        with self._lock:
            if self._cancelled:
                fetch.close()
                raise requests.ConnectionError("the VK call was cancelled", request=request)
            try:
                future = asyncio.run_coroutine_threadsafe(fetch, self._loop)
            except RuntimeError as exc:  # the loop is closed: the hub has stopped
                fetch.close()
                raise requests.ConnectionError(str(exc), request=request) from exc
            self._pending.add(future)
        try:
            # aiohttp's timeout ends the request; this one only guards against a loop that
            # stopped without cancelling its tasks.
            status, reason, got, content = future.result(timeout=REQUEST_TIMEOUT_S + 5)
        except concurrent.futures.CancelledError as exc:
            raise requests.ConnectionError("the VK call was cancelled", request=request) from exc
        except (aiohttp.ClientError, TimeoutError, RuntimeError) as exc:
            # RuntimeError: the hub's session closed under a call nobody cancelled.
            future.cancel()
            raise requests.ConnectionError(
                f"{type(exc).__name__}: {exc}", request=request
            ) from exc
        finally:
            with self._lock:
                self._pending.discard(future)
        return _response(request, status, reason, got, content)

    async def _fetch(
        self, method: str, url: str, headers: dict[str, str], body: bytes | None, limited: bool
    ) -> tuple[int, str, dict[str, str], bytes]:
        if limited:
            await self._limiter.wait()
        timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
        async with self._http.request(
            method, url, data=body, headers=headers, timeout=timeout
        ) as response:
            return (
                response.status,
                response.reason or "",
                dict(response.headers),
                await response.read(),
            )

    def cancel(self) -> None:
        """Abort the requests in flight (their waiting threads see a ConnectionError) and
        refuse any later one of this call. Called on the event loop."""
        with self._lock:
            self._cancelled = True
            pending = list(self._pending)
        for future in pending:
            future.cancel()  # cancels the aiohttp task on the loop too

    def close(self) -> None:
        return None  # nothing pooled here: connections belong to the hub's aiohttp session


def _response(
    request: requests.PreparedRequest,
    status: int,
    reason: str,
    headers: Mapping[str, str],
    content: bytes,
) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response.reason = reason
    response.headers = requests.structures.CaseInsensitiveDict(
        {k: v for k, v in headers.items() if k.lower() not in _DECODED_HEADERS}
    )
    response._content = content  # requests has no public way to build a finished response
    response.url = str(request.url)
    response.request = request
    response.encoding = requests.utils.get_encoding_from_headers(response.headers)
    return response


class VkClient:
    """One community token: vk-api's calls in our worker threads, their HTTP on the loop."""

    def __init__(
        self,
        access_token: str,
        api_base: str | None,
        http: aiohttp.ClientSession,
        limiter: TokenBucket,
        executor: concurrent.futures.Executor,
    ) -> None:
        self._token = access_token
        self._api_base = api_base
        self._http = http
        self._limiter = limiter
        self._executor = executor

    async def call(
        self,
        method: str,
        /,
        returns: type[Any] | tuple[type[Any], ...] = object,
        **params: Any,
    ) -> Any:
        """VK's ``response`` to ``method``, which must be a ``returns``."""

        def work(api: vk_api.VkApi) -> Any:
            response = api.method(method, params)
            if not isinstance(response, returns) or isinstance(response, bool):
                raise NotVkAnswer(_quote(response))
            return response

        return await self._run(method, work)

    async def upload_photo(self, data: bytes, name: str, peer_id: int) -> str:
        def work(api: vk_api.VkApi) -> str:
            photo = _uploader(api).photo_messages(_named(data, name), peer_id=peer_id)[0]
            return f"photo{int(photo['owner_id'])}_{int(photo['id'])}"

        return await self._run("the photo upload", work)

    async def upload_doc(self, data: bytes, name: str, peer_id: int) -> str:
        def work(api: vk_api.VkApi) -> str:
            doc = _uploader(api).document_message(_named(data, name), title=name, peer_id=peer_id)
            return f"doc{int(doc['doc']['owner_id'])}_{int(doc['doc']['id'])}"

        return await self._run("the document upload", work)

    async def download(self, url: str) -> bytes | None:
        """A file a message carries (VK's CDN; no API call); None if larger than we keep."""
        timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S * 4)
        async with self._http.get(url, timeout=timeout) as response:
            response.raise_for_status()
            data = bytearray()
            async for chunk in response.content.iter_chunked(1 << 16):
                data += chunk
                if len(data) > MAX_DOWNLOAD_BYTES:
                    return None
        return bytes(data)

    async def _run(self, action: str, work: Callable[[vk_api.VkApi], T]) -> T:
        """``work`` on a fresh vk-api session (cheap: ~50 µs) in a worker thread; no lock is
        shared between calls, the limiter on the loop spaces them. What it raises comes out as
        the hub's error tree."""
        loop = asyncio.get_running_loop()
        transport = _LoopTransport(loop, self._http, self._api_base, self._limiter)
        session = requests.Session()
        session.trust_env = False  # no proxies or .netrc: aiohttp makes the requests
        session.mount("https://", transport)
        session.mount("http://", transport)
        api = vk_api.VkApi(
            token=self._token,
            api_version=API_VERSION,
            session=session,
            config=MemoryConfig,  # never read or write ./vk_config.v2.json
        )
        api.RPS_DELAY = 0  # our limiter waits on the loop instead of sleeping in the thread
        # vk-api would sleep and retry error 6 inside the thread; the outbox backs off instead.
        api.error_handlers.pop(vk_api.vk_api.TOO_MANY_RPS_CODE, None)
        try:
            return await loop.run_in_executor(self._executor, work, api)
        except asyncio.CancelledError:
            transport.cancel()
            raise
        except _PLATFORM_FAILURES as exc:
            raise platform_error(action, exc, self._token) from exc


def _uploader(api: vk_api.VkApi) -> VkUpload:
    upload = VkUpload(api)
    # VkUpload posts files with a requests.Session of its own (no timeout, not cancellable);
    # ours carries them over the loop like every other call.
    upload.http = api.http
    return upload


def _named(data: bytes, name: str) -> io.BytesIO:
    buffer = io.BytesIO(data)
    buffer.name = name  # vk-api takes the upload's extension from the file object's name
    return buffer


def _quote(data: Any) -> str:
    text = data if isinstance(data, str) else orjson.dumps(data, default=str).decode()
    text = " ".join(text.split())
    return repr(text if len(text) <= QUOTED_CHARS else text[:QUOTED_CHARS] + "…")


def platform_error(action: str, exc: Exception, token: str) -> ChannelError:
    """One failed VK call as the hub's error tree (what the outbox knows how to treat)."""
    if isinstance(exc, vk_api.ApiError):
        message = f"VK {action}: [{exc.code}] {exc.error.get('error_msg', '')}"
        if exc.code in RATE_LIMIT_CODES:
            return ChannelRateLimited(message, retry_after_s=RATE_LIMIT_PAUSE_S)
        if exc.code in TRANSIENT_CODES:
            return ChannelError(message)
        # 7 (no permission), 5 (token revoked), 100 (bad parameter), ...: the same call would
        # fail again.
        return ChannelRejected(message, unreachable=exc.code in UNREACHABLE_CODES)
    if isinstance(exc, requests.JSONDecodeError):
        words = f"not VK's answer: {_quote(exc.doc)}"
    elif isinstance(exc, requests.RequestException | vk_api.VkApiError):
        words = f"{type(exc).__name__}: {exc}"
    elif isinstance(exc, NotVkAnswer):
        words = f"not VK's answer: {exc}"
    else:  # vk-api (or we) tripped over an answer of a shape VK does not give
        words = f"not VK's answer ({type(exc).__name__}: {exc})"
    message = f"VK {action} failed: {words}"
    return ChannelError(message.replace(token, "<token>") if token else message)


def random_id(key: str) -> int:
    """VK's idempotency key of a send, derived from our message id: a retried send carries
    the same one, and VK delivers it once. A positive int32."""
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "big") & 0x7FFFFFFF or 1


def csat_keyboard() -> str:
    keyboard = VkKeyboard(inline=True)
    for n in range(1, 6):
        keyboard.add_callback_button(str(n), payload={CSAT_KEY: n})
    return str(keyboard.get_keyboard())


class VkSender:
    """Delivers outgoing messages of one community as plain text, files uploaded from our
    store, and CSAT prompts as an inline keyboard of callback buttons."""

    def __init__(self, client: VkClient, files: FileReader | None) -> None:
        self._client = client
        self._files = files

    async def send(self, outbound: Outbound) -> Receipt:
        peer_id = int(outbound.chat_id)
        text = outbound.text
        extra: dict[str, Any] = {}
        if outbound.purpose == "csat_request":
            extra["keyboard"] = csat_keyboard()
            text = text or CSAT_PROMPT  # VK sends no keyboard without a message
        elif outbound.attachments:
            # Uploaded again on a retry; the random_id still lets VK deliver the message once.
            extra["attachment"] = ",".join(
                [await self._upload(peer_id, a) for a in outbound.attachments]
            )
        first_id: str | None = None
        for index, part in enumerate(split_text(text, MAX_TEXT)):
            if not part and "attachment" not in extra:
                continue
            key = outbound.message_id if index == 0 else f"{outbound.message_id}:{index}"
            sent = await self._client.call(
                "messages.send",
                returns=int,
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
        if attachment.mime in PHOTO_TYPES:
            return await self._client.upload_photo(data, attachment.name, peer_id)
        return await self._client.upload_doc(data, attachment.name, peer_id)


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
