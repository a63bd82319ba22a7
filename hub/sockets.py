"""Socket.IO event plumbing shared by the namespaces: payloads parsed into pydantic models and
every outcome turned into the ack shape of API.md (``{"ok": true, ...}`` or an error)."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from pydantic import BaseModel

from hub.errors import HubError, Unauthorized, ValidationFailed
from hub.validation import parse_model

log = logging.getLogger("openlines.sockets")

M = TypeVar("M", bound=BaseModel)
Ack = dict[str, Any]


async def session_of(sio: Any, sid: str, namespace: str) -> dict[str, Any]:
    """The socket's saved session; a socket that disconnected meanwhile is an error, not a 500."""
    try:
        session: dict[str, Any] = await sio.get_session(sid, namespace=namespace)
    except KeyError:
        raise Unauthorized("this connection is closed", code="session_gone") from None
    return session


def ack_error(error: HubError) -> Ack:
    return {"ok": False, **error.body()}


def event_handler(
    model: type[M],
) -> Callable[[Callable[[str, M], Awaitable[Ack | None]]], Callable[[str, Any], Awaitable[Ack]]]:
    """Wrap ``async def handler(sid, payload: model) -> dict`` into a socket handler."""

    def wrap(
        handler: Callable[[str, M], Awaitable[Ack | None]],
    ) -> Callable[[str, Any], Awaitable[Ack]]:
        @functools.wraps(handler)
        async def run(sid: str, data: Any = None, *extra: Any) -> Ack:
            try:
                if extra:  # a client's mistake, answered like any bad payload
                    raise ValidationFailed("send one payload object", code="invalid_payload")
                payload = parse_model(model, data if data is not None else {})
                result = await handler(sid, payload)
            except HubError as exc:
                return ack_error(exc)
            except Exception:
                log.exception("socket handler failed event=%s", handler.__name__)
                return {
                    "ok": False,
                    "error": {
                        "code": "internal_error",
                        "message": "something went wrong on our side",
                    },
                }
            return {"ok": True, **(result or {})}

        return run

    return wrap
