"""Operations: health, metrics and the API description."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from hub.api.common import hub_of
from hub.http import json_response

routes = web.RouteTableDef()


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    hub = hub_of(request)
    body: dict[str, Any] = {"status": "ok", "mongo": "ok", "redis": "disabled"}
    try:
        await asyncio.wait_for(hub.store.ping(), timeout=3)
    except Exception as exc:
        body["mongo"] = f"error: {type(exc).__name__}"
    if hub.redis is not None:
        try:
            await asyncio.wait_for(hub.redis.ping(), timeout=3)
            body["redis"] = "ok"
        except Exception as exc:
            body["redis"] = f"error: {type(exc).__name__}"
    if request.query.get("verbose"):
        body["counters"] = {
            "emit_failures": hub.gateway.emit_failures,
            "event_handler_failures": hub.bus.stats.handler_failures,
            "event_publish_failures": hub.bus.stats.publish_failures,
            "events_reclaimed": hub.bus.stats.reclaimed,
            "timer_failures": hub.timers.failures,
        }
    failing = [part for part in ("mongo", "redis") if body[part] not in ("ok", "disabled")]
    if failing:
        body["status"] = "error"
        body["failing"] = failing
        return json_response(body, status=503)
    return json_response(body)


@routes.get("/metrics")
async def metrics(request: web.Request) -> web.Response:
    hub = hub_of(request)
    hub.metrics.event_failures.set(hub.bus.stats.handler_failures)
    return web.Response(
        body=generate_latest(hub.metrics.registry),
        headers={"Content-Type": CONTENT_TYPE_LATEST},
    )
