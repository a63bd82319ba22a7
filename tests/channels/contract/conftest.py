"""The contract suite's hub (with the public URL the webhook platforms need) and one provider
per channel kind, opened on a fresh line for each test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import cast

import pytest

from hub.settings import Settings
from tests.channels.contract.providers import (
    NOT_APPLICABLE,
    PROVIDERS,
    BaseProvider,
    EmailProvider,
    Provider,
)
from tests.channels.email.conftest import dovecot, smtp
from tests.channels.email.mailserver import Dovecot, Smtp, have_dovecot
from tests.conftest import marked_settings
from tests.support.clients import Api

__all__ = ["dovecot", "provider", "pytest_terminal_summary", "settings", "smtp"]

PUBLIC_URL = "https://hub.example.com"


@pytest.fixture
def settings(
    request: pytest.FixtureRequest, mongo_url: str, db_name: str, tmp_path: Path
) -> Settings:
    return marked_settings(request, mongo_url, db_name, tmp_path, public_url=PUBLIC_URL)


@pytest.fixture(params=PROVIDERS, ids=[p.kind for p in PROVIDERS])
def kind(request: pytest.FixtureRequest) -> type[BaseProvider]:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def mail_servers(
    kind: type[BaseProvider], request: pytest.FixtureRequest
) -> tuple[Dovecot, Smtp] | None:
    """Dovecot and the SMTP server, for the e-mail kind only (the others do not start them)."""
    if kind is not EmailProvider:
        return None
    if not have_dovecot():
        pytest.fail("the e-mail contract needs dovecot (as tests/channels/email do)")
    return request.getfixturevalue("dovecot"), request.getfixturevalue("smtp")


@pytest.fixture
async def provider(
    kind: type[BaseProvider],
    mail_servers: tuple[Dovecot, Smtp] | None,
    admin: Api,
    base_url: str,
    settings: Settings,
) -> AsyncIterator[Provider]:
    opened: Provider
    if mail_servers is not None:
        opened = EmailProvider(admin, base_url, settings, *mail_servers)
    else:
        # Every registered kind implements the whole Protocol; its base only shares code.
        opened = cast(Provider, kind(admin, base_url, settings))
    await opened.open()
    try:
        yield opened
    finally:
        await opened.close()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """What the contract found not applicable, and why, next to what it passed."""
    lines = sorted(
        {
            str(value)
            for report in terminalreporter.stats.get("passed", [])
            for name, value in getattr(report, "user_properties", [])
            if name == NOT_APPLICABLE
        }
    )
    if lines:
        terminalreporter.write_sep("-", "channel contract: not applicable")
        for line in lines:
            terminalreporter.write_line(line)
