"""Working-hours calendar math, pure: is a line open at an instant, and when does it open next.

Intervals are wall-clock times in the line's IANA timezone, so DST changes need no special
case. An interval whose end is not after its start runs past midnight into the next day; a
holiday closes the intervals that start on that date ("24:00" ends a day).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hub.models import WEEKDAYS, WorkingHours

_MAX_LOOKAHEAD_DAYS = 400


def _clock(hhmm: str) -> tuple[int, int]:
    hours, minutes = hhmm.split(":")
    return int(hours), int(minutes)


def _minutes(hhmm: str) -> int:
    hours, minutes = _clock(hhmm)
    return hours * 60 + minutes


def _intervals_on(hours: WorkingHours, day: date) -> list[tuple[int, int]]:
    """(start, end) in minutes from ``day``'s midnight; end may exceed 1440 (past midnight)."""
    if day.isoformat() in hours.holidays:
        return []
    result = []
    for start, end in hours.week.get(WEEKDAYS[day.weekday()], []):
        start_m, end_m = _minutes(start), _minutes(end)
        if end_m <= start_m:
            end_m += 24 * 60
        result.append((start_m, end_m))
    return result


def is_open(hours: WorkingHours | None, at: datetime) -> bool:
    """Whether the line works at the instant ``at`` (timezone-aware). ``None``: always."""
    if hours is None:
        return True
    local = at.astimezone(ZoneInfo(hours.timezone))
    minute = local.hour * 60 + local.minute
    today = local.date()
    if any(start <= minute < end for start, end in _intervals_on(hours, today)):
        return True
    # Yesterday's overnight intervals reach into today.
    yesterday = today - timedelta(days=1)
    return any(start <= minute + 1440 < end for start, end in _intervals_on(hours, yesterday))


def next_open(hours: WorkingHours | None, at: datetime) -> datetime | None:
    """The first instant at or after ``at`` when the line works; None if it never does."""
    if is_open(hours, at):
        return at
    assert hours is not None
    zone = ZoneInfo(hours.timezone)
    local_day = at.astimezone(zone).date()
    for offset in range(_MAX_LOOKAHEAD_DAYS):
        day = local_day + timedelta(days=offset)
        starts = []
        for start_m, _ in _intervals_on(hours, day):
            wall = datetime.combine(day, time(start_m // 60 % 24, start_m % 60), tzinfo=zone)
            # A start inside a spring-forward gap: the wall clock jumps past it.
            starts.append(wall)
        candidates = sorted(s for s in starts if s >= at)
        if candidates:
            return candidates[0]
    return None
