"""The demo's calendar: its months, the shopping seasons and the hours of the day orders come in."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from itertools import accumulate


def month_range(end_month: str, months: int) -> list[str]:
    """The ``months`` months ending with ``end_month`` (``YYYY-MM``), oldest first."""
    try:
        year, month = (int(x) for x in end_month.split("-"))
        if not 1 <= month <= 12:
            raise ValueError
    except ValueError as exc:
        raise ValueError(f"end_month must look like 2026-10, got {end_month!r}") from exc
    if months < 3:
        # The planted problems need a before, a during and an after month to be findable.
        raise ValueError("the demo needs at least 3 months")
    out = []
    for _ in range(months):
        out.append(f"{year:04d}-{month:02d}")
        month -= 1
        if month == 0:
            year, month = year - 1, 12
    return out[::-1]


def month_start(month: str) -> datetime:
    """Midnight of the first day of ``month`` (``YYYY-MM``)."""
    year, mon = (int(x) for x in month.split("-"))
    return datetime(year, mon, 1)


def next_month_start(month: str) -> datetime:
    """Midnight of the first day of the month after ``month``."""
    start = month_start(month)
    return (start + timedelta(days=32)).replace(day=1)


# Mid-Autumn and Spring Festival move with the lunar calendar; a small table covers the demo's years.
_MID_AUTUMN = {
    2024: date(2024, 9, 17),
    2025: date(2025, 10, 6),
    2026: date(2026, 9, 25),
    2027: date(2027, 9, 15),
}
_SPRING = {2025: date(2025, 1, 29), 2026: date(2026, 2, 17), 2027: date(2027, 2, 6), 2028: date(2028, 1, 26)}


def day_weight(day: date) -> float:
    """Relative order volume of a day: weekends, 618, Double 11/12, Mid-Autumn gifts, holidays."""
    w = 1.12 if day.weekday() >= 5 else 1.0
    m, d = day.month, day.day
    if m == 6 and d <= 18:
        w *= 2.6 if d >= 16 else 1.3
    if m == 11 and d <= 11:
        w *= 4.0 if d == 11 else 1.5
    if m == 10 and d >= 20:
        w *= 1.3  # Double 11 pre-sales start in late October
    if m == 12 and 10 <= d <= 12:
        w *= 1.8
    if m == 10 and d <= 7:
        w *= 0.85  # National Day: people travel
    if m in (7, 8):
        w *= 0.95
    mid = _MID_AUTUMN.get(day.year)
    if mid and 0 <= (mid - day).days <= 10:
        w *= 1.2
    spring = _SPRING.get(day.year)
    if spring and -4 <= (spring - day).days <= 10:
        w *= 0.6
    return w


#: Orders by hour of day: a late-morning bump and the evening peak Chinese shops know well.
HOUR_WEIGHTS = (
    2,
    1.1,
    0.6,
    0.4,
    0.3,
    0.4,
    0.8,
    1.5,
    2.5,
    3.5,
    4.5,
    4.5,
    4,
    4,
    4,
    4,
    4,
    4,
    4,
    4.5,
    5.5,
    6.5,
    6.5,
    4.5,
)
HOUR_CUM = list(accumulate(HOUR_WEIGHTS))


def money(cents: int) -> str:
    """Cents as a decimal amount (``1234`` -> ``12.34``)."""
    return f"{cents // 100}.{cents % 100:02d}"


def span_hours(delta: timedelta) -> float:
    """A time span in hours."""
    return delta.total_seconds() / 3600.0
