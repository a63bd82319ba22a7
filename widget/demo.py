"""The demo a first ``make run`` seeds: an admin, an operator, a line with a widget channel, and
the ``/demo`` page that embeds that widget like a customer's site would.

Seeded once per database (a ``meta`` row claims it, so concurrent processes seed it once), only
into a database without lines, and only with ``OPENLINES_DEMO=true`` (``make run`` sets it unless
it is set already), so production and tests never get it unasked.
"""

from __future__ import annotations

import contextlib
import logging
import secrets

from hub.api.channels import ChannelIn, add_channel
from hub.api.users import UserIn, create_user
from hub.errors import Conflict
from hub.http import FAVICON
from hub.models import Line, LineCsat, LineMessages, Role
from hub.services import Hub

log = logging.getLogger("openlines.widget.demo")

DEMO_ID = "demo"
ADMIN_EMAIL = "admin@example.com"
OPERATOR_EMAIL = "operator@example.com"


async def seed(hub: Hub) -> None:
    """Seed the demo into an empty database; print the generated passwords once."""
    if not hub.settings.demo:
        return
    meta = hub.store.meta
    if await meta.get(DEMO_ID) is not None:
        return
    if await hub.store.lines.any():
        return  # not an empty database: leave the owner's data alone
    if not await meta.claim(DEMO_ID):
        return  # another process seeds it
    lines = ["", "OpenLines demo seeded (shown once):"]
    admin_password = None
    if not await hub.store.users.any(role=Role.ADMIN):
        admin_password = secrets.token_urlsafe(12)
        with contextlib.suppress(Conflict):
            await create_user(
                hub.store,
                UserIn(email=ADMIN_EMAIL, password=admin_password, name="Admin", role=Role.ADMIN),
            )
            lines.append(f"  admin     {ADMIN_EMAIL}  password: {admin_password}")
    operator_password = secrets.token_urlsafe(12)
    try:
        operator = await create_user(
            hub.store,
            UserIn(
                email=OPERATOR_EMAIL,
                password=operator_password,
                name="Olga (demo operator)",
                role=Role.OPERATOR,
            ),
        )
    except Conflict:
        await meta.release(DEMO_ID)
        log.warning("demo not seeded: %s already exists", OPERATOR_EMAIL)
        return
    lines.append(f"  operator  {OPERATOR_EMAIL}  password: {operator_password}")
    line = Line(
        name="Demo support",
        operators=[operator.id],
        csat=LineCsat(enabled=True),
        messages=LineMessages(closing="Thank you for contacting us!"),
    )
    await hub.store.lines.insert(line)
    channel = await add_channel(
        hub,
        line.id,
        ChannelIn(
            type="widget",
            config={
                "title": "Demo shop",
                "greeting": "Hi! Ask us anything: an operator answers right here.",
                "prechat_fields": ["name"],
            },
        ),
    )
    await meta.done(DEMO_ID, line_id=line.id, channel_id=channel.id)
    url = hub.settings.served_url
    lines.append(f"  the site with the widget: {url}/demo")
    lines.append(f"  the console:              {url}/")
    lines.append("")
    # Passwords go to the terminal once and never into the log.
    print("\n".join(lines), flush=True)  # noqa: T201 -- the first start's one-time credentials
    log.info("demo seeded line=%s channel=%s", line.id, channel.id)


async def widget_key(hub: Hub) -> str | None:
    """The demo widget's key, while its channel exists."""
    mark = await hub.store.meta.get(DEMO_ID)
    if mark is None or not mark.channel_id:
        return None
    channel = await hub.store.channels.get(mark.channel_id)
    return channel.widget_key if channel else None


PAGE = (
    """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Demo shop: OpenLines widget</title>
"""
    + FAVICON
    + """
<style>
  body { font-family: Georgia, serif; margin: 0; background: #fbf8f3; color: #2b2118; }
  header { background: #2b2118; color: #fbf8f3; padding: 18px 32px; font-size: 22px; }
  main { max-width: 760px; margin: 32px auto; padding: 0 24px; line-height: 1.6; }
  .goods { display: grid; grid-template-columns: repeat(3, 1fr); gap: 16px; margin: 24px 0; }
  .goods div { background: #fff; border: 1px solid #e8dfd2; padding: 16px; border-radius: 6px; }
  /* A customer's CSS is often this blunt; the widget must not care. */
  button { font-family: Georgia, serif; }
  code { background: #efe7da; padding: 1px 4px; }
</style>
</head>
<body>
<header>Demo shop</header>
<main>
  <p>This page stands for your website. It embeds the OpenLines widget with the one snippet
  from the widget channel's <code>embed</code> field, pasted before <code>&lt;/body&gt;</code>.</p>
  <p>Click the chat button at the bottom right and write. Sign in to the operator console as
  the demo operator (see the terminal where <code>make run</code> printed the passwords) or
  talk to the hub's API, and answer.</p>
  <div class="goods"><div>Tea, 100 g</div><div>Coffee, 250 g</div><div>Cocoa, 200 g</div></div>
</main>
<script async src="/widget/loader.js" data-openlines-key="{{KEY}}"></script>
</body>
</html>
"""
)
