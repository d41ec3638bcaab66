"""Business calendars: working hours, weekdays, Chinese public holidays and make-up workdays (调休).

Public holidays and make-up workdays come from the ``holidays`` library (``holidays.China``): its
``weekend_workdays`` are the Saturdays/Sundays the State Council turns into working days. Days the
library lacks can be added per calendar (``extra_days_off`` / ``extra_workdays``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any

from cxloop.config import get_settings

#: A working day never needs more than this many days to find the next one (9-day Spring Festival).
_MAX_SCAN_DAYS = 60


def _parse_time(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


@dataclass
class BusinessCalendar:
    """Working time: intervals per working day, which weekdays work, and holiday exceptions."""

    hours: list[tuple[time, time]] = field(default_factory=lambda: [(time(9), time(18))])
    weekdays: frozenset[int] = frozenset({0, 1, 2, 3, 4})
    country: str | None = "CN"
    extra_days_off: frozenset[date] = frozenset()
    extra_workdays: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        import holidays  # its country tables are slow to import; only working-time maths needs them

        self._holidays: Any = holidays.country_holidays(self.country) if self.country else None

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> BusinessCalendar:
        """Build a calendar from its settings mapping (see defaults.yaml ``calendars``)."""
        hours = [(_parse_time(a), _parse_time(b)) for a, b in config.get("hours") or [["09:00", "18:00"]]]
        for start, end in hours:
            if end <= start:
                raise ValueError(f"working interval {start}-{end} must end after it starts")
        return cls(
            hours=sorted(hours),
            weekdays=frozenset(int(d) for d in config.get("weekdays", [0, 1, 2, 3, 4])),
            country=config.get("holidays", "CN") or None,
            extra_days_off=frozenset(_dates(config.get("extra_days_off") or [])),
            extra_workdays=frozenset(_dates(config.get("extra_workdays") or [])),
        )

    def is_workday(self, day: date) -> bool:
        """Whether ``day`` is a working day (configured exceptions first, then holidays, 调休, weekdays)."""
        if day in self.extra_workdays:
            return True
        if day in self.extra_days_off:
            return False
        if self._holidays is not None:
            # Looking a date up makes the library populate that year, weekend_workdays included.
            if day in self._holidays:
                return False
            if day in getattr(self._holidays, "weekend_workdays", ()):
                return True
        return day.weekday() in self.weekdays

    def _intervals(self, day: date) -> list[tuple[datetime, datetime]]:
        if not self.is_workday(day):
            return []
        return [(datetime.combine(day, a), datetime.combine(day, b)) for a, b in self.hours]

    def add_minutes(self, start: datetime, minutes: float) -> datetime:
        """The moment ``minutes`` of working time after ``start`` (start outside hours waits for them)."""
        remaining = timedelta(minutes=minutes)
        day = start.date()
        for _ in range(_MAX_SCAN_DAYS * 8):
            for a, b in self._intervals(day):
                begin = max(a, start)
                if begin >= b:
                    continue
                if begin + remaining <= b:
                    return begin + remaining
                remaining -= b - begin
            day += timedelta(days=1)
        raise ValueError("no working time found; check the calendar's weekdays and hours")

    def minutes_between(self, start: datetime, end: datetime) -> float:
        """Working minutes between two moments (0 when ``end`` is not after ``start``)."""
        if end <= start:
            return 0.0
        total = timedelta()
        day = start.date()
        while day <= end.date():
            for a, b in self._intervals(day):
                lo, hi = max(a, start), min(b, end)
                if hi > lo:
                    total += hi - lo
            day += timedelta(days=1)
        return total.total_seconds() / 60.0

    def add_business_days(self, start: datetime, days: int) -> datetime:
        """The end of the working day ``days`` working days after ``start``'s day."""
        day = start.date()
        counted = 0
        for _ in range(days * 7 + _MAX_SCAN_DAYS):
            day += timedelta(days=1)
            if self.is_workday(day):
                counted += 1
                if counted >= days:
                    return datetime.combine(day, self.hours[-1][1])
        raise ValueError("no working day found; check the calendar's weekdays")

    def end_of_working_day(self, moment: datetime) -> datetime:
        """The end of working time on ``moment``'s day, or of the next working day when it is over."""
        day = moment.date()
        for _ in range(_MAX_SCAN_DAYS):
            intervals = self._intervals(day)
            if intervals and intervals[-1][1] > moment:
                return intervals[-1][1]
            day += timedelta(days=1)
        raise ValueError("no working day found")


def _dates(values: Iterable[Any]) -> list[date]:
    return [v if isinstance(v, date) else date.fromisoformat(str(v)) for v in values]


@lru_cache(maxsize=16)
def _cached(name: str, key: str) -> BusinessCalendar:
    calendars = get_settings().loop.calendars
    if name not in calendars:
        raise KeyError(f"unknown business calendar {name!r}; known: {sorted(calendars)}")
    return BusinessCalendar.from_config(calendars[name].model_dump())


def get_calendar(name: str = "default") -> BusinessCalendar:
    """The configured calendar ``name`` (cached until the settings change)."""
    return _cached(name, repr(get_settings().loop.calendars.get(name)))
