"""Rating links: ``GET /csat/<signed token>?rating=N`` records a client's rating from a
channel that cannot ask interactively (e-mail). The token is signed with the secret key and
names the conversation; a forged, foreign or expired one (older than ``VISITOR_TOKEN_TTL_S``,
30 days by default) is refused."""

from __future__ import annotations

import html

from aiohttp import web

from hub.api.common import hub_of, int_param
from hub.errors import Conflict, Forbidden, ValidationFailed
from hub.http import FAVICON

routes = web.RouteTableDef()

_PAGE = """<!doctype html><html><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1"><title>{title}</title>
{favicon}
<style>body{{font:16px system-ui,sans-serif;margin:4rem auto;max-width:28rem;
text-align:center;color:#222}}</style></head><body><h1>{title}</h1><p>{text}</p></body></html>"""


@routes.get("/csat/{token}")
async def rate(request: web.Request) -> web.Response:
    """Record a rating (1 to 5) from a signed link; answers a small thank-you page."""
    hub = hub_of(request)
    conversation_id = hub.visitor_tokens.verify(request.match_info["token"], "csat")
    if conversation_id is None:
        raise Forbidden("this rating link is not valid or has expired", code="invalid_token")
    if not request.query.get("rating"):
        raise ValidationFailed("the link names no rating", code="invalid_query")
    rating = int_param(request, "rating", 0, low=1, high=5)
    try:
        await hub.conversations.submit_csat(conversation_id, rating, None)
        title, text = "Thank you! · Спасибо!", f"Your rating: {rating} / 5 · Ваша оценка: {rating}"
    except Conflict:
        title, text = "Already rated · Оценка уже есть", "Thank you · Спасибо"
    return web.Response(
        text=_PAGE.format(title=html.escape(title), text=html.escape(text), favicon=FAVICON),
        content_type="text/html",
    )
