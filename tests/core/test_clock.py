"""The one clock reads the business time zone, never the host's, and tests can freeze it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from cxloop import clock
from cxloop.config import get_settings


def test_now_is_naive_business_time_in_whole_seconds() -> None:
    before = datetime.now(ZoneInfo(get_settings().timezone)).replace(tzinfo=None, microsecond=0)
    value = clock.now()
    assert value.tzinfo is None
    assert value.microsecond == 0
    assert (value - before).total_seconds() < 60


def test_another_time_zone_moves_the_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CXLOOP_TIMEZONE", "UTC")
    get_settings.cache_clear()
    utc = datetime.now(UTC).replace(tzinfo=None)
    assert abs((clock.now() - utc).total_seconds()) < 60


def test_frozen_clock_fixture(frozen_clock: Callable[[datetime], None]) -> None:
    frozen_clock(datetime(2026, 2, 17, 23, 59, 30, 123))
    assert clock.now() == datetime(2026, 2, 17, 23, 59, 30)
    assert clock.now(microseconds=True) == datetime(2026, 2, 17, 23, 59, 30, 123)
    assert clock.today().isoformat() == "2026-02-17"
