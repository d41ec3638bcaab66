"""On the demo shop: one late rate everywhere, and late orders are never early."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cxloop.db import get_engine
from cxloop.metrics import service as metrics
from cxloop.metrics.models import MetricsLateOrder

pytestmark = pytest.mark.slow


def test_overview_and_root_cause_agree_every_month(demo_build: Path) -> None:
    """Each demo month's late rate is the same on the overview and the root cause; overruns are > 0."""
    session = Session(get_engine(f"sqlite:///{demo_build / 'cxloop.db'}"))
    try:
        months = sorted({str(d)[:7] for d in session.scalars(select(func.distinct(MetricsLateOrder.day)))})
        assert len(months) >= 3
        for month in months:
            ov = metrics.overview(db_session=session, month=month)
            rc = metrics.root_cause(db_session=session, month=month)
            assert ov.late_rate == rc.late_rate, month
            assert rc.late_rate == pytest.approx(100.0 * rc.late_orders / rc.orders, abs=0.01)
        assert session.scalar(select(func.min(MetricsLateOrder.late_hours))) > 0
    finally:
        session.close()
