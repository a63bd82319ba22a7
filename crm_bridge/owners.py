"""Who is responsible for a client in the CRM: the port sticky routing asks
(``hub.services.ClientOwners``; ``routing.prefer: crm_responsible``).

The responsible of the client's newest open deal comes first (the manager carrying the sale),
then that of their contact, then that of their open lead. A client is their contact only when
an address proves it (``crm_bridge.matching``), never by a typed e-mail alone."""

from __future__ import annotations

import contextlib

from crm_bridge.hub_view import HubView
from crm_bridge.matching import Identity
from crm_bridge.models import Entity
from crm_bridge.storage import CrmStorage
from hub.errors import NotFound


class Owners:
    def __init__(self, hub: HubView, storage: CrmStorage) -> None:
        self._hub = hub
        self._storage = storage

    async def responsible_for(self, client_id: str) -> str | None:
        identity = Identity.of(client_id, await self._hub.client(client_id))
        contact = await self._storage.find_contact(identity)
        if contact is not None:
            deal_id = await self._storage.open_deal_of(contact.id)
            if deal_id is not None:
                with contextlib.suppress(NotFound):  # deleted a moment ago
                    deal = await self._storage.load(Entity.DEALS, deal_id)
                    responsible = getattr(deal, "responsible_id", None)
                    if isinstance(responsible, str):
                        return responsible
            if contact.responsible_id:
                return contact.responsible_id
        lead = await self._storage.find_open_lead(identity)
        return lead.responsible_id if lead is not None else None
