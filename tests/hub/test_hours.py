"""Working-hours calendar math, table-tested (DST changes included)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hub.hours import is_open, next_open, working_deadline, working_seconds
from hub.models import WEEKDAYS, WorkingHours

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


# --- the working-time clock (an SLA that pauses outside the line's hours) ------------------------

ROUND_THE_CLOCK = WorkingHours.model_validate(
    {"timezone": "Europe/Moscow", "week": {d: [["00:00", "24:00"]] for d in WEEKDAYS}}
)


@pytest.mark.parametrize(
    ("hours", "start", "seconds", "expected"),
    [
        (None, "2026-11-28 12:00", 300, "2026-11-28 12:05"),  # no hours: plain time
        (OFFICE, "2026-11-30 06:00", 300, "2026-11-30 06:05"),  # Mon 09:00 MSK, open
        # Mon 12:58 MSK + 5 min: 2 min before lunch, 3 after it (14:03 MSK).
        (OFFICE, "2026-11-30 09:58", 300, "2026-11-30 11:03"),
        # Thu 17:58 MSK + 5 min: 2 min on Thursday, the rest from Fri 09:00.
        (OFFICE, "2026-12-03 14:58", 300, "2026-12-04 06:03"),
        # Fri 16:58 MSK + 10 min: 2 min, then the night shift from 22:00 MSK.
        (OFFICE, "2026-12-04 13:58", 600, "2026-12-04 19:08"),
        # A client writes on Saturday: nothing counts until Monday 09:00 MSK.
        (OFFICE, "2026-12-05 10:00", 300, "2026-12-07 06:05"),
        # Sat 01:58 MSK, the night shift past midnight: 2 min, then Monday 09:00 MSK.
        (OFFICE, "2026-12-04 22:58", 300, "2026-12-07 06:03"),
        # Wed 17:59 MSK before the New Year holiday (Thu): Fri 1 Jan 09:00 MSK.
        (OFFICE, "2026-12-30 14:59", 120, "2027-01-01 06:01"),
        # A whole working day (8 h) from Monday 09:00 MSK ends at its close, 18:00 MSK;
        # a minute more is Tuesday 09:01.
        (OFFICE, "2026-11-30 06:00", 8 * 3600, "2026-11-30 15:00"),
        (OFFICE, "2026-11-30 06:00", 8 * 3600 + 60, "2026-12-01 06:01"),
        # Touching intervals are one stretch: round the clock, a week goes by as plain time.
        (ROUND_THE_CLOCK, "2026-11-28 12:00", 7 * 86400, "2026-12-05 12:00"),
        # New York, the night DST ended (Sun 1 Nov, the 01:00-02:00 hour twice): open all Sunday.
        (NIGHT_DESK, "2026-11-01 04:00", 3 * 3600, "2026-11-01 07:00"),
    ],
)
def test_working_deadline(
    hours: WorkingHours | None, start: str, seconds: int, expected: str
) -> None:
    assert working_deadline(hours, utc(start), seconds) == utc(expected)


def test_a_line_that_never_opens_has_no_deadline() -> None:
    closed = WorkingHours(timezone="UTC", week={})
    assert working_deadline(closed, utc("2026-11-27 00:00"), 60) is None
    assert working_seconds(closed, utc("2026-11-27 00:00"), utc("2026-12-27 00:00")) == 0


@pytest.mark.parametrize(
    ("hours", "start", "stop", "expected_s"),
    [
        (None, "2026-11-28 12:00", "2026-11-28 12:05", 300),
        (OFFICE, "2026-11-28 12:00", "2026-11-30 06:05", 300),  # a weekend, then 5 min
        (OFFICE, "2026-11-30 09:58", "2026-11-30 11:03", 300),  # across lunch
        (OFFICE, "2026-12-30 14:59", "2027-01-01 06:01", 120),  # across the holiday
        (OFFICE, "2026-11-30 06:05", "2026-11-30 06:00", 0),  # stop before start
    ],
)
def test_working_seconds(
    hours: WorkingHours | None, start: str, stop: str, expected_s: int
) -> None:
    assert working_seconds(hours, utc(start), utc(stop)) == expected_s


@pytest.mark.parametrize("seconds", [1, 59, 61, 3599, 4 * 3600 + 7, 3 * 86400 + 11])
@pytest.mark.parametrize("start", ["2026-11-27 20:00", "2026-11-28 12:00", "2026-12-30 14:59"])
def test_the_deadline_is_that_much_working_time_later(start: str, seconds: int) -> None:
    due = working_deadline(OFFICE, utc(start), seconds)
    assert due is not None
    assert working_seconds(OFFICE, utc(start), due) == seconds
    assert is_open(OFFICE, due - timedelta(seconds=1))
