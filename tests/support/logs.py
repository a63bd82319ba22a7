"""What a test may ask of the log it captured."""

from __future__ import annotations

import pytest


def tracebacks(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The messages of captured records that carry a traceback (none should, for bad input)."""
    return [r.getMessage() for r in caplog.records if r.exc_info]
