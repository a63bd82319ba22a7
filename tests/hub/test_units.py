"""Pure pieces of the hub: tokens, models, settings, redaction."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from hub.app import redact
from hub.auth import VisitorTokens
from hub.cli import _settings_error
from hub.models import WorkingHours
from hub.settings import Settings


def test_visitor_token_round_trip_and_tampering() -> None:
    tokens = VisitorTokens(b"k" * 32)
    token = tokens.issue("chan1", "visitor1")
    assert tokens.verify(token, "chan1") == "visitor1"
    assert tokens.verify(token, "chan2") is None  # bound to its channel
    assert tokens.verify(token.replace("visitor1", "visitor2"), "chan1") is None
    assert tokens.verify(token[:-2] + "xx", "chan1") is None
    assert tokens.verify("garbage", "chan1") is None
    assert VisitorTokens(b"other" * 8).verify(token, "chan1") is None


def test_redact_hides_passwords_only() -> None:
    assert redact("mongodb://u:p%40ss@db:27017/x") == "mongodb://u:***@db:27017/x"
    assert redact("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"


@pytest.mark.parametrize(
    "hours",
    [
        {"timezone": "Nowhere/Atlantis"},
        {"week": {"funday": []}},
        {"week": {"mon": [["9:00", "18:00"]]}},
        {"week": {"mon": [["24:30", "18:00"]]}},
        {"holidays": ["2026-13-01"]},
    ],
)
def test_working_hours_reject_nonsense(hours: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        WorkingHours.model_validate(hours)


def test_working_hours_accept_night_shifts_and_holidays() -> None:
    hours = WorkingHours.model_validate(
        {
            "timezone": "Europe/Moscow",
            "week": {"mon": [["09:00", "13:00"], ["14:00", "18:00"]], "fri": [["22:00", "06:00"]]},
            "holidays": ["2026-12-31"],
        }
    )
    assert hours.week["fri"] == [("22:00", "06:00")]


def test_settings_errors_name_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENLINES_LOG_LEVEL", "LOUD")
    with pytest.raises(ValidationError) as info:
        Settings()
    assert _settings_error(info.value).startswith("invalid setting OPENLINES_LOG_LEVEL")


def test_generated_secret_key_is_kept(tmp_path: object) -> None:
    from pathlib import Path

    assert isinstance(tmp_path, Path)
    first = Settings(data_dir=tmp_path).resolved_secret_key()
    assert Settings(data_dir=tmp_path).resolved_secret_key() == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
