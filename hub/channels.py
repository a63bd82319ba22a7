"""The one ``Channel`` port every adapter implements, and the registry the composition root
fills. Adding a channel is one package plus one ``registry.add(...)`` line in ``hub/app.py``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

import aiohttp
from aiohttp import web
from pydantic import BaseModel

from hub.errors import NotFound, ValidationFailed
from hub.models import ChannelRecord, Inbound, Outbound, Receipt
from hub.settings import Settings
from hub.validation import parse_model


class Channel(Protocol):
    """A live channel instance: delivers one outgoing message or raises ``ChannelError``."""

    async def send(self, outbound: Outbound) -> Receipt: ...


class Emitter(Protocol):
    """What the realtime gateway lends to adapters that deliver over Socket.IO."""

    async def emit(self, event: str, data: Any, *, room: str, namespace: str) -> None: ...


@dataclass(frozen=True)
class ChannelDeps:
    """Shared resources an adapter may use; owned by the app, not by the adapter."""

    settings: Settings
    http: aiohttp.ClientSession
    emitter: Emitter


@dataclass
class WebhookResult:
    """What an adapter's webhook handler found: messages to store and the platform's answer."""

    inbounds: list[Inbound] = field(default_factory=list)
    response: web.StreamResponse = field(default_factory=lambda: web.Response(text="ok"))


class ChannelKind(Protocol):
    """Everything the hub needs to know about one type of channel."""

    name: ClassVar[str]
    config_model: ClassVar[type[BaseModel]]
    secret_fields: ClassVar[frozenset[str]]
    # Generated config values shown once, in the response that creates the channel.
    reveal_on_create: ClassVar[frozenset[str]]
    # The client app shows its queue position live (the widget); others get a text once.
    live_queue_position: ClassVar[bool]

    def prepare_config(self, config: BaseModel, settings: Settings) -> dict[str, Any]:
        """Fill generated values (webhook secrets, widget keys) into a new channel's config."""
        ...

    def public_extras(self, channel: ChannelRecord, settings: Settings) -> dict[str, Any]:
        """Extra fields for the channel's API representation (webhook URL, embed snippet)."""
        ...

    async def webhook(self, channel: ChannelRecord, request: web.Request) -> WebhookResult:
        """Verify and parse one platform call to ``/hooks/<type>/<channel_id>``."""
        ...

    def build(self, channel: ChannelRecord, deps: ChannelDeps) -> Channel: ...


class ChannelRegistry:
    def __init__(self) -> None:
        self._kinds: dict[str, ChannelKind] = {}

    def add(self, kind: ChannelKind) -> None:
        self._kinds[kind.name] = kind

    def get(self, type_: str) -> ChannelKind:
        try:
            return self._kinds[type_]
        except KeyError:
            raise NotFound(
                f"unknown channel type {type_!r}", code="unknown_channel_type"
            ) from None

    def types(self) -> list[str]:
        return sorted(self._kinds)

    def validate_config(
        self, type_: str, raw: Mapping[str, Any], *, partial_of: Mapping[str, Any] | None = None
    ) -> BaseModel:
        kind = self._kinds.get(type_)
        if kind is None:
            raise ValidationFailed(
                f"type must be one of {', '.join(self.types())}", code="unknown_channel_type"
            )
        return parse_model(kind.config_model, {**(partial_of or {}), **raw})

    def public_view(self, channel: ChannelRecord, settings: Settings) -> dict[str, Any]:
        """The channel as the API shows it: config without secrets, plus the kind's extras."""
        kind = self.get(channel.type)
        config = {k: v for k, v in channel.config.items() if k not in kind.secret_fields}
        view = channel.model_dump(mode="json", exclude={"config"})
        view["config"] = config
        view["secrets_set"] = sorted(k for k in kind.secret_fields if channel.config.get(k))
        view.update(kind.public_extras(channel, settings))
        return view
