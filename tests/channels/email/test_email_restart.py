"""Acceptance 2 of the e-mail channel: mail that arrives while the hub is down is ingested
exactly once when it comes back."""

from __future__ import annotations

from pathlib import Path

import aiohttp

from tests.channels.email.mailserver import Dovecot, Smtp
from tests.channels.email.test_email_flow import client_mail, conversations, texts
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Spawn, make_settings, settings_env
from tests.support.clients import Api
from tests.support.waiting import eventually


async def test_restart_ingests_what_arrived_meanwhile_exactly_once(
    mongo_url: str, db_name: str, tmp_path: Path, spawn: Spawn, dovecot: Dovecot, smtp: Smtp
) -> None:
    env = settings_env(make_settings(mongo_url, db_name, tmp_path / "data", channel_lease_s=3))
    first = await spawn(env, "first")
    async with aiohttp.ClientSession() as http:
        admin = await Api(first.url, http).login(ADMIN_EMAIL, ADMIN_PASSWORD)
        operator = await admin.create_user("operator")
        line = await admin.create_line(operators=[operator.user["id"]])
        channel = await admin.create_channel(
            line["id"], "email", dovecot.config(smtp_port=smtp.port)
        )
        dovecot.deliver("support", client_mail("before the restart", subject="one")[0])
        await eventually(lambda: conversations(admin, channel["id"]), lambda cs: len(cs) == 1)
        assert await first.stop() == 0

        for n, subject in enumerate(("two", "three"), start=1):
            dovecot.deliver("support", client_mail(f"while down {n}", subject=subject)[0])

        second = await spawn(env, "second")
        admin2 = Api(second.url, http, admin.token)
        found = await eventually(
            lambda: conversations(admin2, channel["id"]), lambda cs: len(cs) == 3, timeout_s=30
        )
        got = sorted([t for c in found for t in await texts(admin2, c["id"])])
        assert got == ["before the restart", "while down 1", "while down 2"]
        # A later mail still arrives, and nothing was fetched twice along the way.
        dovecot.deliver("support", client_mail("after the restart", subject="four")[0])
        found = await eventually(
            lambda: conversations(admin2, channel["id"]), lambda cs: len(cs) == 4, timeout_s=15
        )
        got = sorted([t for c in found for t in await texts(admin2, c["id"])])
        assert got == ["after the restart", "before the restart", "while down 1", "while down 2"]
