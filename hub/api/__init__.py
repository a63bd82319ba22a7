"""The REST API of API.md under ``/api/v1``, plus webhooks, health and metrics."""

from __future__ import annotations

from aiohttp import web

from hub.api import auth, channels, conversations, lines, ops, users


def routes() -> list[web.RouteDef]:
    table: list[web.RouteDef] = []
    for module in (auth, users, lines, channels, conversations, ops):
        table.extend(module.routes)
    return table
