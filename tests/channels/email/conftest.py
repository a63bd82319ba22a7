"""A Dovecot per test module and an aiosmtpd server per test, both real, both local."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.channels.email.mailserver import Dovecot, Smtp


@pytest.fixture(scope="module")
def dovecot() -> Iterator[Dovecot]:
    # Not under pytest's tmp dir: that one is 0700 and Dovecot's auth and mail users must
    # reach their files.
    root = Path(tempfile.mkdtemp(prefix="openlines-dovecot-"))
    root.chmod(0o755)
    server = Dovecot(root).start()
    yield server
    server.stop()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
async def smtp(dovecot: Dovecot) -> AsyncIterator[Smtp]:
    server = await Smtp(dovecot).start()
    yield server
    await server.close()
