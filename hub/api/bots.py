"""Bots (``/api/v1/bots``, hub/bots.py): admins write them, every staff member reads them. A
bot may only transfer to lines and send forms that exist (``unknown_line``, ``unknown_form``)."""

from __future__ import annotations

from hub.api.named import NamedRoutes
from hub.bots import Bot, BotIn
from hub.errors import ValidationFailed
from hub.services import Hub

__all__ = ["BotIn", "routes"]


async def _check_refs(hub: Hub, body: BotIn) -> None:
    lines = body.line_ids()
    missing_lines = sorted(lines - {line.id for line in await hub.store.lines.all()})
    if missing_lines:
        raise ValidationFailed(
            "the bot transfers to no such line",
            code="unknown_line",
            details={"line_ids": missing_lines},
        )
    forms = body.form_ids()
    missing_forms = sorted(forms - await hub.store.forms.existing(forms))
    if missing_forms:
        raise ValidationFailed(
            "the bot sends no such form", code="unknown_form", details={"form_ids": missing_forms}
        )


_bots = NamedRoutes("bots", "bot", lambda hub: hub.store.bots, BotIn, Bot, check=_check_refs)
routes = _bots.routes
body_models = _bots.body_models
