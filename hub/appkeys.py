"""Typed keys for what lives on the aiohttp app (no string keys, no globals)."""

from __future__ import annotations

from aiohttp import web

from hub.services import Hub

HUB = web.AppKey("hub", Hub)
