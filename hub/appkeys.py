"""Typed keys for what lives on the aiohttp app (no string keys, no globals).

Every key of the hub's own objects is here. A package's own keys live in that package
(``crm_bridge.CRM``, ``widget.web.LIMITS``), and the composition root keeps the key of the one
package object it carries from one part to another (``hub.app.parts.ROUTER``): ``hub`` does not
know the other packages' types.
"""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp
import socketio
from aiohttp import web
from pymongo import AsyncMongoClient
from redis.asyncio import Redis

from hub.channels import ChannelRegistry
from hub.services import Hub
from hub.settings import Settings
from hub.store import Store


@dataclass
class ExitStatus:
    """The code ``openlines serve`` exits with once the app has stopped (1: a part died)."""

    code: int = 0


SETTINGS = web.AppKey("settings", Settings)
EXIT = web.AppKey("exit", ExitStatus)
SIO = web.AppKey("sio", socketio.AsyncServer)
KINDS = web.AppKey("channel_kinds", ChannelRegistry)
MONGO = web.AppKey("mongo", AsyncMongoClient)
REDIS = web.AppKey("redis", Redis)
HTTP = web.AppKey("http", aiohttp.ClientSession)
STORE = web.AppKey("store", Store)
HUB = web.AppKey("hub", Hub)
"""The hub's services, built once per app by the composition root and shared by the REST
handlers, the socket namespaces and the adapters."""
