"""The one ``Channel`` port every adapter implements, and the registry the composition root
fills. Adding a channel is one package plus one ``registry.add(...)`` line in ``hub/app.py``."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, Protocol, TypeVar

import aiohttp
from aiohttp import web
from pydantic import BaseModel
from pymongo.asynchronous.database import AsyncDatabase
from redis.asyncio import Redis

from hub.errors import HubError, NotFound, ValidationFailed
from hub.models import Attachment, ChannelRecord, Inbound, Message, Outbound, Receipt
from hub.settings import Settings
from hub.validation import parse_model


class Channel(Protocol):
    """A live channel instance: delivers one outgoing message or raises ``ChannelError``."""

    async def send(self, outbound: Outbound) -> Receipt: ...


class Emitter(Protocol):
    """What the realtime gateway lends to adapters that deliver over Socket.IO."""

    async def emit(self, event: str, data: Any, *, room: str, namespace: str) -> None: ...


class FileReader(Protocol):
    """Read access to stored attachments, for senders that upload them to their platform."""

    async def read(self, file_id: str) -> bytes: ...


@dataclass(frozen=True)
class ChannelDeps:
    """Shared resources an adapter may use; owned by the app, not by the adapter."""

    settings: Settings
    http: aiohttp.ClientSession
    emitter: Emitter
    # The hub database, for an adapter's own collections, named ``<type>_...`` (e-mail keeps
    # its Message-IDs and mailbox positions there); hub collections stay the hub's.
    db: AsyncDatabase[dict[str, Any]]
    files: FileReader | None = None
    # Signed rating links for channels that ask for CSAT with links (e-mail).
    csat_link: Callable[[str, int], str] | None = None
    # The cluster's Redis, where there is one: what every process must agree on (a signed
    # request seen once by any of them); None in a single process.
    redis: Redis | None = None
    # A line's name by its id (None: no such line), for adapters that sign replies with it
    # (e-mail's From), so no adapter reads the hub's collections.
    line_name: Callable[[str], Awaitable[str | None]] | None = None


class ChannelSink(Protocol):
    """What the hub offers a channel adapter to hand over what its platform sent. Bound to
    one channel; implemented by ``hub.sink.HubSink``. Webhook handlers and background runners
    (polling, IMAP) use the same sink, so both paths store exactly alike."""

    async def ingest(self, inbound: Inbound) -> Message:
        """Store one client message (idempotent by its ``external_id``); the stored message."""
        ...

    async def edit(self, external_id: str, text: str) -> Message | None:
        """The client edited a message: update its text and mark it edited."""
        ...

    async def csat(self, chat_id: str, rating: int, comment: str | None = None) -> bool:
        """The client rated their last closed conversation in this chat; False if none waits."""
        ...

    async def unreachable(self, chat_id: str, reason: str) -> None:
        """The platform says this client cannot be written to (blocked the bot, bad address)."""
        ...

    async def reachable(self, chat_id: str) -> None:
        """The client may be written to again (allowed messages, unblocked the bot)."""
        ...

    async def save_file(self, name: str, data: bytes) -> Attachment:
        """Keep a file the client sent (size and type checked) and describe it."""
        ...

    async def save_original(self, name: str, data: bytes, mime: str) -> Attachment:
        """Keep a message's source as the platform sent it (no checks: it is not an upload)."""
        ...

    async def read_file(self, attachment_id: str) -> bytes:
        """The bytes of a stored attachment (to upload it to the platform)."""
        ...

    def csat_link(self, conversation_id: str, rating: int) -> str:
        """A signed URL that records ``rating`` for the conversation (e-mail and the like)."""
        ...

    async def position(self) -> str | None:
        """Where this channel's background receiver got to (a poll offset, an IMAP UID)."""
        ...

    async def save_position(self, value: str) -> None:
        """Remember the receiver's position, so a restart or a takeover resumes there."""
        ...


ConfigT = TypeVar("ConfigT", bound=BaseModel)


class ChannelKind(Protocol[ConfigT]):
    """Everything the hub needs to know about one type of channel, typed by its config model:
    ``connect`` gets the model ``config_model`` validated, never a bare ``BaseModel``.

    Kinds are instances the composition root makes per app (``hub.app.registry``): what a kind
    keeps (a thread pool, caches, replay guards) lives as long as that app, and ``close``
    releases it when the app stops."""

    name: ClassVar[str]
    # What the console calls this kind, in Russian and English (``words(ru, en)``).
    title: ClassVar[Mapping[str, str]]

    @property
    def config_model(self) -> type[ConfigT]:
        """The pydantic model of this kind's config (``POST /lines/<id>/channels`` body)."""
        ...

    secret_fields: ClassVar[frozenset[str]]
    # Generated config values shown once, in the response that creates the channel.
    reveal_on_create: ClassVar[frozenset[str]]
    # The client app shows its queue position live (the widget); others get a text once.
    live_queue_position: ClassVar[bool]
    # The client app asks for a rating itself (the widget, on ``csat:request``); others get a
    # message with ``purpose == "csat_request"`` that their ``send`` renders its own way.
    live_csat: ClassVar[bool]

    async def connect(
        self,
        config: ConfigT,
        channel_id: str,
        deps: ChannelDeps,
        previous: dict[str, Any] | None,
    ) -> dict[str, Any]:
        """Check the config with the platform (raise ``ValidationFailed`` with its words) and
        set it up there (webhook, generated secrets); the whole config to store. Called on
        create (``previous`` None) and on every config change (``previous``: the stored
        config, whose generated values the kind keeps or renews)."""
        ...

    async def disconnect(self, channel: ChannelRecord, deps: ChannelDeps) -> None:
        """Undo ``connect`` on the platform (remove the webhook); the channel is going away."""
        ...

    def public_extras(self, channel: ChannelRecord, base_url: str) -> dict[str, Any]:
        """Extra fields for the channel's API representation (webhook URL, embed snippet)."""
        ...

    async def webhook(
        self, channel: ChannelRecord, request: web.Request, sink: ChannelSink, deps: ChannelDeps
    ) -> web.StreamResponse:
        """Verify one platform call to ``/hooks/<type>/<channel_id>``, hand what it carries to
        ``sink`` and answer the platform (on ``deps.http`` when it must call the platform back:
        the app's one guarded session, not one per request)."""
        ...

    def runs_in_background(self, channel: ChannelRecord) -> bool:
        """Whether this channel needs ``run`` (polling, IMAP IDLE) rather than webhooks."""
        ...

    async def run(self, channel: ChannelRecord, deps: ChannelDeps, sink: ChannelSink) -> None:
        """Receive from the platform until cancelled. The hub runs it in exactly one process
        of the cluster at a time (a lease) and restarts it if it returns or raises."""
        ...

    async def typing(
        self, channel: ChannelRecord, chat_id: str, on: bool, author_name: str, deps: ChannelDeps
    ) -> None:
        """Show the client that an operator is typing (``on``) or stopped, where it can."""
        ...

    def build(self, channel: ChannelRecord, deps: ChannelDeps) -> Channel:
        """The sender of one channel, on the app's shared resources in ``deps``."""
        ...

    async def close(self) -> None:
        """Release what this kind holds for the app (worker threads); the app is stopping and
        nothing sends or receives any more."""
        ...


class ChannelKindDefaults(Generic[ConfigT]):
    """What most channel kinds share: nothing to undo on the platform, no background receiver,
    no typing display, nothing to release. A kind inherits these and overrides what its
    platform offers."""

    async def close(self) -> None:
        return None

    async def disconnect(self, channel: ChannelRecord, deps: ChannelDeps) -> None:
        return None

    def runs_in_background(self, channel: ChannelRecord) -> bool:
        return False

    async def run(self, channel: ChannelRecord, deps: ChannelDeps, sink: ChannelSink) -> None:
        return None

    async def typing(
        self, channel: ChannelRecord, chat_id: str, on: bool, author_name: str, deps: ChannelDeps
    ) -> None:
        return None


# --- the config form ------------------------------------------------------------------------
# ``GET /api/v1/channel-types`` gives each kind's config model as JSON Schema, and the console
# draws its channel forms from it: a new channel needs no console change. These helpers put what
# a form needs beyond types and limits (titles in both languages, which fields are long text,
# secret, generated) into the schema, as ``x-`` keywords next to the field they describe.


def words(ru: str, en: str) -> dict[str, str]:
    """One text in the console's two languages."""
    return {"ru": ru, "en": en}


def field_form(
    ru: str,
    en: str,
    *,
    help_ru: str | None = None,
    help_en: str | None = None,
    multiline: bool = False,
    enum_titles: Mapping[str, tuple[str, str]] | None = None,
    generated: bool = False,
    once: bool = False,
    secret: bool = False,
) -> dict[str, Any]:
    """The ``json_schema_extra`` of one config field: how the generated form shows it.

    ``enum_titles`` names each allowed value (``{"webhook": ("Вебхук", "Webhook")}``);
    ``generated``: the server fills it when left empty; ``once``: shown once, in the answer
    that creates the channel; ``secret``: never shown back (``writeOnly``)."""
    extra: dict[str, Any] = {"x-title": words(ru, en)}
    if help_ru is not None or help_en is not None:
        extra["x-description"] = words(help_ru or "", help_en or "")
    if multiline:
        extra["x-multiline"] = True
    if enum_titles is not None:
        extra["x-enum-titles"] = {value: words(*pair) for value, pair in enum_titles.items()}
    if generated:
        extra["x-generated"] = True
    if once:
        extra["x-once"] = True
    if secret:
        extra["writeOnly"] = True
    return extra


def config_schema(kind: ChannelKind[Any]) -> dict[str, Any]:
    """The JSON Schema of ``kind``'s config model, as the console's form reads it: its secret
    fields ``writeOnly`` and those shown once at creation ``x-once``, whatever the fields say."""
    model: type[BaseModel] = kind.config_model
    schema = model.model_json_schema(mode="validation")
    for name, prop in schema.get("properties", {}).items():
        if name in kind.secret_fields:
            prop["writeOnly"] = True
        if name in kind.reveal_on_create:
            prop["x-once"] = True
    return schema


# --- what adapters share --------------------------------------------------------------------

# How a channel answers a client's press of a rating button.
RATING_THANKS = "Thank you for your rating!"
RATING_NOT_AWAITED = "This chat cannot be rated now."


# --- what parsing yields ----------------------------------------------------------------------
# One vocabulary for every adapter's pure ``parse`` of what its platform sent (api, telegram,
# vk, email; the widget is the hub's own socket). An adapter whose platform hands it something
# more to act on (a button press to answer, headers to thread a mail by) subclasses the word
# and adds the field; its handler gives each word to the sink the same way, one word one call.

MediaT = TypeVar("MediaT")


@dataclass(frozen=True, kw_only=True)
class NewMessage(Generic[MediaT]):
    """A client's new message: ``ChannelSink.ingest`` of ``inbound``. ``media``: the
    platform's files (each adapter's own reference), which the handler fetches if need be and
    stores first (``keep_file``, then ``with_files``). What only I/O can tell is the handler's
    to fill in before ingesting, as the subclass says (VK's sender name, e-mail's thread)."""

    inbound: Inbound
    media: list[MediaT] = field(default_factory=list)


@dataclass(frozen=True)
class Edit:
    """The client edited a message they sent: ``ChannelSink.edit``."""

    external_id: str
    text: str


@dataclass(frozen=True)
class Rating:
    """The client rated their conversation (a button, a payload): ``ChannelSink.csat``."""

    chat_id: str
    rating: int


@dataclass(frozen=True)
class Deny:
    """The client may no longer be written to (blocked us): ``ChannelSink.unreachable``."""

    chat_id: str


@dataclass(frozen=True)
class Allow:
    """The client may be written to again: ``ChannelSink.reachable``."""

    chat_id: str


@dataclass(frozen=True)
class Ignore:
    """Nothing for the hub (a group chat, a robot's mail, an event we do not use); ``reason``
    for the log. ``chat_id``: a chat we do not serve (a group, a channel), so that the adapter
    can log each such chat once."""

    reason: str
    chat_id: str | None = None


# Every word; each adapter's ``Parsed`` is the part of it its platform speaks.
Parsed = NewMessage[Any] | Edit | Rating | Deny | Allow | Ignore


# Errors of a platform payload that a pure ``parse`` fails on (untrusted input): the receiver
# logs and skips it instead of stopping.
MALFORMED = (KeyError, TypeError, ValueError, AttributeError, OverflowError, RecursionError)
# A receiver's poll failing: wait this long, doubling up to the maximum, before asking again.
POLL_RETRY_MIN_S = 1.0
POLL_RETRY_MAX_S = 60.0


def split_text(text: str, size: int) -> list[str]:
    """``text`` in pieces a platform accepts (at least one, maybe empty)."""
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def map_link(lat: Any, lon: Any) -> str:
    """A place the client shared, as a link any client can open."""
    return f"https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=17/{lat}/{lon}"


async def keep_file(sink: ChannelSink, kind: str, name: str, data: bytes) -> Attachment | str:
    """Store a file the client sent; one our store refuses becomes a note for the text."""
    try:
        return await sink.save_file(name, data)
    except HubError as exc:
        return f"[{kind} {name} not kept: {exc.message}]"


def with_files(inbound: Inbound, kept: list[Attachment | str]) -> Inbound:
    """``inbound`` with the kept files attached and the notes about the others in its text."""
    attachments = [k for k in kept if isinstance(k, Attachment)]
    notes = [k for k in kept if isinstance(k, str)]
    if not attachments and not notes:
        return inbound
    return inbound.model_copy(
        update={
            "attachments": [*inbound.attachments, *attachments],
            "text": "\n".join(filter(None, [inbound.text, *notes])),
        }
    )


class TokenBucket:
    """``rate_per_s`` tokens a second, at most ``burst`` saved up: a platform's call limit kept
    on our side, since waiting here is cheaper than the platform's penalty."""

    def __init__(
        self, rate_per_s: float, burst: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._rate = rate_per_s
        self._burst = burst
        self._clock = clock
        self._tokens = burst
        self._stamp = clock()

    def reserve(self) -> float:
        """Take one token; the seconds to wait before using it (0 if available now)."""
        now = self._clock()
        self._tokens = min(self._burst, self._tokens + (now - self._stamp) * self._rate)
        self._stamp = now
        self._tokens -= 1
        return 0.0 if self._tokens >= 0 else -self._tokens / self._rate

    async def wait(self) -> None:
        """Take one token, sleeping until it may be used."""
        delay = self.reserve()
        if delay > 0:
            await asyncio.sleep(delay)


class ChannelRegistry:
    """The channel kinds of one app, by name. The app owns it: ``close`` at stop."""

    def __init__(self) -> None:
        self._kinds: dict[str, ChannelKind[Any]] = {}

    def add(self, kind: ChannelKind[Any]) -> None:
        self._kinds[kind.name] = kind

    async def close(self) -> None:
        """Close every kind (each releases its own resources), the later-added first."""
        for kind in reversed(list(self._kinds.values())):
            await kind.close()

    def get(self, type_: str) -> ChannelKind[Any]:
        try:
            return self._kinds[type_]
        except KeyError:
            raise NotFound(
                f"unknown channel type {type_!r}", code="unknown_channel_type"
            ) from None

    def types(self) -> list[str]:
        return sorted(self._kinds)

    def kinds(self) -> list[ChannelKind[Any]]:
        """Every registered kind, in the order the composition root added them."""
        return list(self._kinds.values())

    def describe(self) -> list[dict[str, Any]]:
        """What ``GET /api/v1/channel-types`` lists: each kind's name, title and config schema."""
        return [
            {"type": kind.name, "title": dict(kind.title), "schema": config_schema(kind)}
            for kind in self._kinds.values()
        ]

    def secret_fields(self, type_: str) -> frozenset[str]:
        """The config fields of ``type_`` that hold secrets (none for an unknown type)."""
        kind = self._kinds.get(type_)
        return kind.secret_fields if kind is not None else frozenset()

    def validate_config(
        self, type_: str, raw: Mapping[str, Any], *, partial_of: Mapping[str, Any] | None = None
    ) -> BaseModel:
        kind = self._kinds.get(type_)
        if kind is None:
            raise ValidationFailed(
                f"type must be one of {', '.join(self.types())}", code="unknown_channel_type"
            )
        model: type[BaseModel] = kind.config_model
        return parse_model(model, {**(partial_of or {}), **raw})

    def public_view(self, channel: ChannelRecord, base_url: str) -> dict[str, Any]:
        """The channel as the API shows it: config without secrets, plus the kind's extras."""
        kind = self.get(channel.type)
        config = {k: v for k, v in channel.config.items() if k not in kind.secret_fields}
        view = channel.model_dump(mode="json", exclude={"config"})
        view["config"] = config
        view["secrets_set"] = sorted(k for k in kind.secret_fields if channel.config.get(k))
        view.update(kind.public_extras(channel, base_url.rstrip("/")))
        return view
