"""Working-hours calendar math, pure: is a line open at an instant, when does it open next, and
the clock of working time (an SLA that pauses outside the line's hours).

Intervals are wall-clock times in the line's IANA timezone, so DST changes need no special
case. An interval whose end is not after its start runs past midnight into the next day; a
holiday closes the intervals that start on that date ("24:00" ends a day).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hub.models import WEEKDAYS, WorkingHours

_MAX_LOOKAHEAD_DAYS = 400
# Open stretches a working-time clock walks through at most (two a day for over a year).
_MAX_STRETCHES = 1000


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


def _wall(day: date, minutes: int, zone: ZoneInfo) -> datetime:
    """``minutes`` of wall-clock time after ``day``'s midnight in ``zone``, as a UTC instant."""
    return (datetime.combine(day, time(0), tzinfo=zone) + timedelta(minutes=minutes)).astimezone(
        UTC
    )


def _stretch_end(hours: WorkingHours, at: datetime, enough: datetime) -> datetime:
    """When the open stretch that ``at`` lies in ends: intervals that touch (Friday's
    "22:00"-"24:00" and Saturday's "00:00"-...) are one stretch. Stops looking once past
    ``enough`` (a line open round the clock has no end)."""
    zone = ZoneInfo(hours.timezone)
    end = at
    while end < enough:
        local = end.astimezone(zone)
        minute = local.hour * 60 + local.minute
        today = local.date()
        ends = [
            _wall(day, stop, zone)
            for back, day in ((0, today), (1, today - timedelta(days=1)))
            for start, stop in _intervals_on(hours, day)
            if start <= minute + back * 1440 < stop
        ]
        later = max(ends, default=end)
        if later <= end:
            break
        end = later
    return end


def working_deadline(
    hours: WorkingHours | None, start: datetime, seconds: float
) -> datetime | None:
    """The instant by which ``seconds`` of the line's working time have passed since
    ``start``: the clock runs while the line works and stands still while it does not (nights,
    weekends, holidays). ``None`` hours: plain time. None when the line never opens again."""
    if hours is None:
        return start + timedelta(seconds=seconds)
    left = timedelta(seconds=seconds)
    at: datetime | None = start
    for _ in range(_MAX_STRETCHES):
        at = next_open(hours, at) if at is not None else None
        if at is None:
            return None
        end = _stretch_end(hours, at, at + left)
        if at + left <= end:
            return (at + left).astimezone(UTC)
        left -= end - at
        at = end
    return None


def working_seconds(hours: WorkingHours | None, start: datetime, stop: datetime) -> float:
    """How much of the line's working time lies between ``start`` and ``stop`` (0 when
    ``stop`` is not after ``start``): a wait measured in business hours."""
    if stop <= start:
        return 0.0
    if hours is None:
        return (stop - start).total_seconds()
    total = timedelta()
    at: datetime | None = start
    for _ in range(_MAX_STRETCHES):
        at = next_open(hours, at) if at is not None else None
        if at is None or at >= stop:
            break
        end = min(_stretch_end(hours, at, stop), stop)
        total += end - at
        at = end
    return total.total_seconds()
