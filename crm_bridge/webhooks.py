"""Outgoing CRM webhooks: each event is stored as one delivery row per registered URL, then
POSTed as JSON signed with HMAC-SHA256 (``X-OpenLines-Signature: sha256=<hex>``), retried
with exponential back-off, and marked ``sent`` or ``failed``. Rows survive restarts; a claim is
a conditional update of ``due_at`` (a lease), so two processes never send one row at once.

URLs go to public addresses only (SSRF, ``hub.netguard``): checked when a webhook is registered
and again before every delivery, since a stored URL may predate the check or its name may
resolve elsewhere now. A refused delivery is a failed attempt like an unreachable receiver.
Redirects are not followed: a public receiver must not bounce the hub onto an inside address."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
from datetime import timedelta
from typing import Any

import aiohttp
import orjson

from crm_bridge.models import Delivery, DeliveryStatus, Webhook, WebhookEvent
from crm_bridge.storage import CrmStorage, WebhookGone
from hub.errors import ValidationFailed
from hub.loops import Worker
from hub.models import new_id, utcnow
from hub.netguard import ensure_public_url
from hub.secretbox import SecretBoxError

log = logging.getLogger("openlines.crm.webhooks")

SIGNATURE_HEADER = "X-OpenLines-Signature"
LEASE_S = 60.0
TIMEOUT_S = 10.0


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class Webhooks:
    def __init__(
        self,
        store: CrmStorage,
        http: aiohttp.ClientSession,
        *,
        retry_base_s: float,
        max_attempts: int,
        poll_s: float,
        allow_private_urls: bool,
    ) -> None:
        self._store = store
        self._http = http
        self._allow_private_urls = allow_private_urls
        self._retry_base_s = retry_base_s
        self._max_attempts = max_attempts
        self._worker = Worker("crm-webhooks", self._deliver_one, interval_s=poll_s, log=log)

    async def emit(self, event: WebhookEvent, data: dict[str, Any]) -> None:
        """Store one delivery per webhook that wants ``event``; the sender picks them up."""
        hook_ids = await self._store.webhook_ids(event)
        if not hook_ids:
            return
        now = utcnow()
        rows = []
        for hook_id in hook_ids:
            delivery_id = new_id()
            body = orjson.dumps(
                {
                    "id": delivery_id,
                    "event": event.value,
                    "occurred_at": now.isoformat().replace("+00:00", "Z"),
                    "data": data,
                }
            )
            rows.append(
                Delivery(
                    id=delivery_id,
                    webhook_id=hook_id,
                    event=event,
                    body=body,
                    due_at=now,
                    created_at=now,
                )
            )
        await self._store.insert_deliveries(rows)
        self._worker.wake()

    @property
    def failures(self) -> int:
        return self._worker.failures

    async def start(self) -> None:
        await self._worker.start()

    async def stop(self) -> None:
        await self._worker.stop()

    async def _deliver_one(self) -> bool:
        now = utcnow()
        row = await self._store.claim_delivery(now, now + timedelta(seconds=LEASE_S))
        if row is None:
            return False
        hook = await self._store.webhook(row.webhook_id)
        if isinstance(hook, WebhookGone):  # unregistered meanwhile, or unreadable (reported)
            await self._store.finish_delivery(row.id, DeliveryStatus.FAILED, hook.value)
            return True
        if not hook.active:  # paused meanwhile: what it had not sent yet is dropped
            await self._store.finish_delivery(row.id, DeliveryStatus.FAILED, "paused")
            return True
        try:
            hook = self._store.opened(hook)
        except SecretBoxError:  # the secret key changed: nothing can sign for this hook
            await self._store.finish_delivery(
                row.id, DeliveryStatus.FAILED, "the webhook's secret does not decrypt"
            )
            return True
        error = await self._post(hook, row.body)
        attempts = row.attempts + 1
        if error is None:
            await self._store.finish_delivery(row.id, DeliveryStatus.SENT, None, attempts)
        elif attempts >= self._max_attempts:
            log.warning("webhook gave up delivery=%s webhook=%s error=%s", row.id, hook.id, error)
            await self._store.finish_delivery(row.id, DeliveryStatus.FAILED, error, attempts)
        else:
            delay = self._retry_base_s * 2 ** (attempts - 1)
            await self._store.retry_delivery(
                row.id,
                attempts=attempts,
                error=error,
                due_at=utcnow() + timedelta(seconds=delay),
            )
            asyncio.get_running_loop().call_later(delay, self._worker.wake)
        return True

    async def _post(self, hook: Webhook, body: bytes) -> str | None:
        """None when delivered, else why not (an attempt that failed)."""
        url = str(hook.url)
        try:
            await ensure_public_url(url, allow_private=self._allow_private_urls)
        except ValidationFailed as exc:
            return f"refused: {exc.code}"
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(hook.secret, body)}
        try:
            async with self._http.post(
                url,
                data=body,
                headers=headers,
                timeout=aiohttp.ClientTimeout(TIMEOUT_S),
                allow_redirects=False,
            ) as response:
                await response.read()
                if response.status >= 300:
                    return f"HTTP {response.status}"
        except (aiohttp.ClientError, TimeoutError) as exc:
            return f"unreachable: {type(exc).__name__}"
        return None
