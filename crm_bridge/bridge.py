"""The CRM bridge as one unit the composition root wires in: its store, rules, webhook sender
and REST routes."""

from __future__ import annotations

import logging

import aiohttp
from aiohttp import web

from crm_bridge.documents import Reader
from crm_bridge.hub_view import HubView
from crm_bridge.rules import Rules
from crm_bridge.service import Crm
from crm_bridge.storage import CrmStorage
from crm_bridge.webhooks import Webhooks
from hub.services import Hub

log = logging.getLogger("openlines.crm.store")


class CrmBridge:
    def __init__(self, hub: Hub, http: aiohttp.ClientSession) -> None:
        reader = Reader(log)
        store = CrmStorage(hub.store.db, reader, hub.store.secrets)
        settings = hub.settings
        self.webhooks = Webhooks(
            store,
            http,
            retry_base_s=settings.outbox_retry_base_s,
            max_attempts=settings.outbox_max_attempts,
            poll_s=settings.outbox_poll_s,
            allow_private_urls=settings.allow_private_urls,
        )
        self.crm = Crm(HubView(hub), store, self.webhooks, reader)
        self.rules = Rules(self.crm)
        self._store = store
        self._bus = hub.bus

    async def prepare(self) -> None:
        """Indexes and the default pipeline (idempotent); then subscribe before the bus runs."""
        await self._store.prepare()
        self.rules.subscribe(self._bus)

    async def start(self) -> None:
        await self.webhooks.start()

    async def stop(self) -> None:
        await self.webhooks.stop()


CRM = web.AppKey("crm", CrmBridge)
