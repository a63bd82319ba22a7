"""The CRM bridge as one unit the composition root wires in: its store, rules, webhook sender
and REST routes."""

from __future__ import annotations

import logging

import aiohttp
from aiohttp import web

from crm_bridge.documents import Reader
from crm_bridge.rules import Rules
from crm_bridge.service import Crm
from crm_bridge.store import CrmStore
from crm_bridge.webhooks import Webhooks
from hub.services import Hub

log = logging.getLogger("openlines.crm.store")


class CrmBridge:
    def __init__(self, hub: Hub, http: aiohttp.ClientSession) -> None:
        store = CrmStore(hub.store.db, hub.store.secrets)
        settings = hub.settings
        reader = Reader(log)
        self.webhooks = Webhooks(
            store,
            http,
            reader,
            retry_base_s=settings.outbox_retry_base_s,
            max_attempts=settings.outbox_max_attempts,
            poll_s=settings.outbox_poll_s,
            allow_private_urls=settings.allow_private_urls,
        )
        self.crm = Crm(hub, store, self.webhooks, reader)
        self.rules = Rules(self.crm)
        self._store = store

    async def prepare(self) -> None:
        """Indexes and the default pipeline (idempotent); then subscribe before the bus runs."""
        await self._store.ensure_indexes()
        await self._store.ensure_default_pipeline()
        await self._store.seal_webhook_secrets()
        self.rules.subscribe(self.crm.hub.bus)

    async def start(self) -> None:
        await self.webhooks.start()

    async def stop(self) -> None:
        await self.webhooks.stop()


CRM = web.AppKey("crm", CrmBridge)
