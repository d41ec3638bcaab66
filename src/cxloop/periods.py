"""Periods (day, week, month) and scopes: the value objects every metrics function takes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

GRAINS = ("day", "week", "month")

#: Scope kinds an indicator can be cut by; keys are external ids or codes, never database ids.
SCOPE_KINDS = (
    "department",
    "warehouse",
    "carrier",
    "product",
    "supplier",
    "channel",
    "region",
    "tier",
    "brand",
    "shift",
)


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class Period:
    """A calendar day, ISO week or month in the business time zone; ``end`` is exclusive."""

    start: date
    end: date
    grain: str

    @classmethod
    def day(cls, day: date) -> Period:
        """The calendar day ``day``."""
        return cls(day, day + timedelta(days=1), "day")

    @classmethod
    def week(cls, day: date) -> Period:
        """The ISO week (Monday to Sunday) containing ``day``."""
        start = day - timedelta(days=day.weekday())
        return cls(start, start + timedelta(days=7), "week")

    @classmethod
    def month(cls, value: str | date) -> Period:
        """The calendar month ``"YYYY-MM"`` (or the month containing a date)."""
        if isinstance(value, str):
            match = re.fullmatch(r"(\d{4})-(\d{1,2})", value.strip())
            if not match or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 1:
                raise ValueError(f"month must look like 2026-08 (month 01-12), not {value!r}")
            start = date(int(match.group(1)), int(match.group(2)), 1)
        else:
            start = _month_start(value)
        return cls(start, _add_months(start, 1), "month")

    @classmethod
    def containing(cls, day: date, grain: str) -> Period:
        """The period of ``grain`` that contains ``day``."""
        if grain == "day":
            return cls.day(day)
        if grain == "week":
            return cls.week(day)
        if grain == "month":
            return cls.month(day)
        raise ValueError(f"grain must be one of {GRAINS}, not {grain!r}")

    @classmethod
    def parse(cls, value: str) -> Period:
        """``2026-08`` (month), ``2026-W32`` (ISO week) or ``2026-08-03`` (day)."""
        value = value.strip()
        week = re.fullmatch(r"(\d{4})-W(\d{1,2})", value, flags=re.IGNORECASE)
        if week:
            return cls.week(date.fromisocalendar(int(week.group(1)), int(week.group(2)), 1))
        if re.fullmatch(r"\d{4}-\d{1,2}", value):
            return cls.month(value)
        try:
            return cls.day(date.fromisoformat(value))
        except ValueError:
            raise ValueError(f"period must be YYYY-MM, YYYY-Www or YYYY-MM-DD, not {value!r}") from None

    def previous(self, count: int = 1) -> Period:
        """The period of the same grain ``count`` steps earlier."""
        if self.grain == "month":
            return Period.month(_add_months(self.start, -count))
        step = timedelta(days=count * (7 if self.grain == "week" else 1))
        return Period(self.start - step, self.end - step, self.grain)

    @property
    def label(self) -> str:
        """A short human label: ``2026-08``, ``2026-W32`` or ``2026-08-03``."""
        if self.grain == "month":
            return f"{self.start.year:04d}-{self.start.month:02d}"
        if self.grain == "week":
            year, week, _ = self.start.isocalendar()
            return f"{year:04d}-W{week:02d}"
        return self.start.isoformat()

    @property
    def start_at(self) -> datetime:
        """The first instant of the period (naive, business time zone)."""
        return datetime.combine(self.start, datetime.min.time())

    @property
    def end_at(self) -> datetime:
        """The first instant after the period."""
        return datetime.combine(self.end, datetime.min.time())

    @property
    def days(self) -> int:
        """Number of calendar days in the period."""
        return (self.end - self.start).days


@dataclass(frozen=True)
class Scope:
    """A slice of the business: ``Scope("warehouse", "WH-SH")``; keys are external ids or codes."""

    kind: str
    key: str

    @classmethod
    def parse(cls, value: str | None) -> Scope | None:
        """``"warehouse:WH-SH"`` -> Scope; empty -> None (the whole business)."""
        if not value:
            return None
        kind, sep, key = value.partition(":")
        if not sep or not key:
            raise ValueError(f"scope must look like kind:key (e.g. carrier:CR-SD), not {value!r}")
        if kind not in SCOPE_KINDS:
            raise ValueError(f"unknown scope kind {kind!r}; one of {', '.join(SCOPE_KINDS)}")
        return cls(kind, key)

    def __str__(self) -> str:
        return f"{self.kind}:{self.key}"
