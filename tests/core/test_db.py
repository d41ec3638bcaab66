"""Timestamps written by cxloop are in the business time zone on every backend."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from cxloop.clock import now as business_now
from cxloop.config import get_settings
from cxloop.org.models import Department


def test_created_at_is_business_time(db_session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    """Regression: SQLite's CURRENT_TIMESTAMP is UTC; rows take the business clock instead.

    With the business zone 9 hours from UTC, a UTC stamp could not pass as business time.
    """
    monkeypatch.setenv("CXLOOP_TIMEZONE", "Asia/Tokyo")
    get_settings.cache_clear()
    try:
        before = business_now()
        row = Department(code="tz_test", name_zh="时区", name_en="Time zone")
        db_session.add(row)
        db_session.commit()
        db_session.refresh(row)
        assert before - timedelta(seconds=5) <= row.created_at <= business_now() + timedelta(seconds=5)
        assert row.updated_at == row.created_at
    finally:
        get_settings.cache_clear()
