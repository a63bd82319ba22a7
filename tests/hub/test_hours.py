"""Working-hours calendar math, table-tested (DST changes included)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hub.hours import is_open, next_open
from hub.models import WorkingHours

OFFICE = WorkingHours.model_validate(
    {
        "timezone": "Europe/Moscow",
        "week": {d: [["09:00", "13:00"], ["14:00", "18:00"]] for d in ("mon", "tue", "wed", "thu")}
        | {"fri": [["09:00", "17:00"], ["22:00", "02:00"]], "sat": [], "sun": []},
        "holidays": ["2026-12-31"],
    }
)
# New York: DST ends 2026-11-01 (02:00 -> 01:00), starts 2026-03-08 (02:00 -> 03:00).
NIGHT_DESK = WorkingHours.model_validate(
    {
        "timezone": "America/New_York",
        "week": {d: [["00:00", "24:00"]] for d in ("sat", "sun")} | {"mon": [["01:30", "03:30"]]},
    }
)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("hours", "at", "expected"),
    [
        (None, "2026-11-28 03:00", True),  # no hours: always open
        (OFFICE, "2026-11-30 06:00", True),  # Mon 09:00 MSK (UTC+3)
        (OFFICE, "2026-11-30 05:59", False),  # Mon 08:59 MSK
        (OFFICE, "2026-11-30 10:30", False),  # lunch 13:30 MSK
        (OFFICE, "2026-11-30 11:00", True),  # 14:00 MSK, second interval
        (OFFICE, "2026-11-30 15:00", False),  # 18:00 MSK: end is exclusive
        (OFFICE, "2026-11-27 20:30", True),  # Fri 23:30 MSK: night shift
        (OFFICE, "2026-11-27 22:59", True),  # Sat 01:59 MSK: past midnight
        (OFFICE, "2026-11-27 23:00", False),  # Sat 02:00 MSK
        (OFFICE, "2026-11-28 09:00", False),  # Saturday
        (OFFICE, "2026-12-31 08:00", False),  # a Thursday, but a holiday
        (OFFICE, "2027-01-01 06:00", True),  # Fri 09:00 again
        (NIGHT_DESK, "2026-11-01 05:30", True),  # Sun 01:30 EDT, first pass
        (NIGHT_DESK, "2026-11-01 06:30", True),  # Sun 01:30 EST, repeated hour
        (NIGHT_DESK, "2026-11-02 06:29", False),  # Mon 01:29 EST
        (NIGHT_DESK, "2026-11-02 06:30", True),  # Mon 01:30 EST
        (NIGHT_DESK, "2026-03-09 06:00", True),  # Mon 02:00 EDT (after spring forward)
        (NIGHT_DESK, "2026-03-09 07:30", False),  # Mon 03:30 EDT
    ],
)
def test_is_open(hours: WorkingHours | None, at: str, expected: bool) -> None:
    assert is_open(hours, utc(at)) is expected


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        ("2026-11-30 06:00", "2026-11-30 06:00"),  # open now
        ("2026-11-30 10:30", "2026-11-30 11:00"),  # after lunch
        ("2026-11-28 12:00", "2026-11-30 06:00"),  # Saturday -> Monday 09:00 MSK
        ("2026-12-30 16:00", "2027-01-01 06:00"),  # skips the holiday
    ],
)
def test_next_open(at: str, expected: str) -> None:
    assert next_open(OFFICE, utc(at)) == utc(expected)


def test_never_open_has_no_next_opening() -> None:
    closed = WorkingHours(timezone="UTC", week={})
    assert next_open(closed, utc("2026-11-27 00:00")) is None
