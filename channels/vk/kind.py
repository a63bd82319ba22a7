"""The VK channel on vk-api, as the hub's ``ChannelKind``: connecting a community
(``groups.getById``) and forgetting it. The roles live beside it: ``config``, ``parse``
(pure), ``client`` (vk-api on the hub's HTTP session, failures mapped), ``send``, ``receive``
(the Callback API webhook and Bots Long Poll). vk-api's types stay in this package; the hub
sees ``Inbound`` and ``Receipt`` only."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, ClassVar

import vk_api
from aiohttp import web

from channels.vk.client import NotVkAnswer, VkClients, platform_error, quoted
from channels.vk.config import VkConfig
from channels.vk.receive import VkReceiver
from channels.vk.send import VkSender
from hub.channels import (
    ChannelDeps,
    ChannelKindDefaults,
    ChannelSink,
    words,
)
from hub.errors import (
    ChannelError,
    ChannelRejected,
    ValidationFailed,
)
from hub.models import ChannelRecord
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
        self._clients = VkClients()
        self._receiver = VkReceiver(self._clients)

    async def close(self) -> None:
        self._clients.close()

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
            found = await self._clients.client(config, deps.http).call(
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
            raise platform_error("groups.getById", NotVkAnswer(quoted(found)), config.access_token)
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
        self._receiver.forget(channel.id)

    def public_extras(self, channel: ChannelRecord, base_url: str) -> dict[str, Any]:
        extras: dict[str, Any] = {"group_name": channel.config.get("group_name")}
        if channel.config.get("mode") == "callback":
            extras["webhook_url"] = f"{base_url}/hooks/vk/{channel.id}"
        return extras

    def build(self, channel: ChannelRecord, deps: ChannelDeps) -> VkSender:
        return VkSender(self._clients.client(channel.config, deps.http), deps.files)

    async def typing(
        self, channel: ChannelRecord, chat_id: str, on: bool, author_name: str, deps: ChannelDeps
    ) -> None:
        if not on:  # VK's activity ends by itself after about 10 s or with the next message
            return
        try:
            await self._clients.client(channel.config, deps.http).call(
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
        return await self._receiver.webhook(channel, request, sink, deps)

    def runs_in_background(self, channel: ChannelRecord) -> bool:
        return channel.config.get("mode") == "longpoll"

    async def run(self, channel: ChannelRecord, deps: ChannelDeps, sink: ChannelSink) -> None:
        await self._receiver.run(channel, deps, sink)
