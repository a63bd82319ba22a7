"""Operations: health, metrics and the API description."""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import os
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from hub.api.common import hub_of
from hub.errors import Unauthorized
from hub.http import bearer_token, json_response, request_address
from hub.settings import Settings

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
        # Which process answered (a port reused by another hub must not pass for this one).
        body["pid"] = os.getpid()
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


def _may_read_metrics(request: web.Request, settings: Settings) -> bool:
    """Open unless protected: by a token (``METRICS_TOKEN``), by networks
    (``METRICS_ALLOWED_NETWORKS``), or by either when both are set."""
    token = settings.metrics_token
    networks = settings.metrics_allowed_networks
    if token is None and not networks:
        return True
    if token is not None:
        given = bearer_token(request) or ""
        if hmac.compare_digest(given.encode(), token.get_secret_value().encode()):
            return True
    if networks:
        try:
            address = ipaddress.ip_address(request_address(request, settings.trusted_proxies))
        except ValueError:
            return False
        return any(address in ipaddress.ip_network(n, strict=False) for n in networks)
    return False


@routes.get("/metrics")
async def metrics(request: web.Request) -> web.Response:
    """Prometheus metrics (protected by METRICS_TOKEN / METRICS_ALLOWED_NETWORKS when set)."""
    hub = hub_of(request)
    if not _may_read_metrics(request, hub.settings):
        raise Unauthorized("metrics need the metrics token", code="metrics_protected")
    hub.metrics.event_failures.set(hub.bus.stats.handler_failures)
    return web.Response(
        body=generate_latest(hub.metrics.registry),
        headers={"Content-Type": CONTENT_TYPE_LATEST},
    )
