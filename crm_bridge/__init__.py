"""CRM bridge: leads, contacts, companies, deals and pipelines from conversations (issue 7).

``hub/app.py`` wires it in: ``routes()`` for the REST API, ``CrmBridge`` for the rules
(a bus subscriber) and the outgoing webhook sender. See docs/crm.md.
"""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel

from crm_bridge import api
from crm_bridge.bridge import CRM, CrmBridge

__all__ = ["CRM", "CrmBridge", "body_models", "routes"]


def routes() -> list[web.RouteDef]:
    return [r for r in api.routes if isinstance(r, web.RouteDef)]


def body_models() -> dict[tuple[str, str], type[BaseModel]]:
    return dict(api.BODY_MODELS)
