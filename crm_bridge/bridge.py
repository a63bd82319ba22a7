"""The CRM bridge as one unit the composition root wires in: its storage, the role modules
(access, records, linking, conversion, deals, contacting, timeline), the rules, the webhook
sender and the REST routes."""

from __future__ import annotations

import logging

import aiohttp
from aiohttp import web

from crm_bridge.access import Access
from crm_bridge.contacting import Contacting
from crm_bridge.conversion import Conversion
from crm_bridge.deals import Deals
from crm_bridge.documents import Reader
from crm_bridge.hub_view import HubView
from crm_bridge.linking import Linking
from crm_bridge.owners import Owners
from crm_bridge.records import Records
from crm_bridge.rules import Rules
from crm_bridge.storage import CrmStorage
from crm_bridge.timeline import Timeline
from crm_bridge.webhooks import Webhooks
from hub.services import Hub

log = logging.getLogger("openlines.crm.store")


class CrmBridge:
    def __init__(self, hub: Hub, http: aiohttp.ClientSession) -> None:
        self.storage = CrmStorage(hub.store.database_of("crm"), Reader(log), hub.store.secrets)
        settings = hub.settings
        self.webhooks = Webhooks(
            self.storage,
            http,
            retry_base_s=settings.outbox_retry_base_s,
            max_attempts=settings.outbox_max_attempts,
            poll_s=settings.outbox_poll_s,
            allow_private_urls=settings.allow_private_urls,
        )
        self.hub = HubView(hub)
        self.access = Access(self.hub)
        self.timeline = Timeline(self.storage, self.hub, self.access)
        self.records = Records(self.storage, self.webhooks, self.timeline)
        self.linking = Linking(self.hub, self.storage, self.records, self.timeline)
        self.conversion = Conversion(self.records, self.linking, self.timeline)
        self.deals = Deals(self.storage, self.records, self.linking, self.timeline, self.webhooks)
        self.contacting = Contacting(
            self.hub, self.access, self.records, self.linking, self.timeline
        )
        self.rules = Rules(
            self.hub, self.storage, self.records, self.linking, self.timeline, self.webhooks
        )
        self.owners = Owners(self.hub, self.storage)
        self._bus = hub.bus

    async def prepare(self) -> None:
        """Indexes and the default pipeline (idempotent); then subscribe before the bus runs."""
        await self.storage.prepare()
        self.rules.subscribe(self._bus)

    async def start(self) -> None:
        await self.webhooks.start()

    async def stop(self) -> None:
        await self.webhooks.stop()


CRM = web.AppKey("crm", CrmBridge)
