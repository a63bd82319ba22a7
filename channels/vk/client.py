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
import threading
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import aiohttp
import orjson
import requests
import requests.adapters
import requests.structures
import requests.utils
import vk_api
from jconfig.memory import MemoryConfig  # type: ignore[import-untyped]  # vk-api's, untyped
from vk_api.upload import VkUpload

from channels.vk.config import VkConfig
from hub.channels import TokenBucket
from hub.errors import (
    ChannelError,
    ChannelRateLimited,
    ChannelRejected,
)

T = TypeVar("T")

API_VERSION = "5.199"
VK_METHOD_BASE = "https://api.vk.ru/method/"
REQUEST_TIMEOUT_S = 30.0
# Community tokens may make 20 API calls a second; spaced evenly, shared by the webhook, the
# poller and the sender of a community in this process.
CALLS_PER_S = 20.0
WORKER_THREADS = 8
MAX_TEXT = 4096
MAX_DOWNLOAD_BYTES = 64 << 20
PHOTO_TYPES = frozenset({"image/jpeg", "image/png", "image/gif"})
# VK's error codes (dev.vk.com/reference/errors) by what the outbox should do about them.
RATE_LIMIT_CODES = frozenset({6})  # too many requests per second: pause the community
TRANSIENT_CODES = frozenset({1, 9, 10})  # unknown; flood control; internal: retried, counted
# The client blocked the community, never allowed its messages, or hides behind privacy.
UNREACHABLE_CODES = frozenset({900, 901, 902})
RATE_LIMIT_PAUSE_S = 1.0
# How much of an answer that is not VK's is quoted in the error (a proxy's HTML page).
QUOTED_CHARS = 200


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
                raise NotVkAnswer(quoted(response))
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


class VkClients:
    """The clients of one kind instance, so of one app: its worker threads (started with the
    first client) and one call budget per community token, shared by that community's webhook,
    poller and sender. ``close`` stops the threads."""

    def __init__(self) -> None:
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        # Keyed by the token's sha256: no token kept as a key.
        self._limiters: dict[str, TokenBucket] = {}

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

    def close(self) -> None:
        """Stop the worker threads. The app is stopping: its senders and receivers are done,
        so no call waits in them (one still running is cancelled by its transport)."""
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)


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


def quoted(data: Any) -> str:
    """An answer that is not VK's, on one line and cut short, for an error's words."""
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
        words = f"not VK's answer: {quoted(exc.doc)}"
    elif isinstance(exc, requests.RequestException | vk_api.VkApiError):
        words = f"{type(exc).__name__}: {exc}"
    elif isinstance(exc, NotVkAnswer):
        words = f"not VK's answer: {exc}"
    else:  # vk-api (or we) tripped over an answer of a shape VK does not give
        words = f"not VK's answer ({type(exc).__name__}: {exc})"
    message = f"VK {action} failed: {words}"
    return ChannelError(message.replace(token, "<token>") if token else message)
