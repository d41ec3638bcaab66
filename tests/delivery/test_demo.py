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


def test_demo_trains_the_early_warning(demo_build: Path) -> None:
    """`cxloop demo` trains the warning model, so the at-risk list and the delay notices work at once."""
    from cxloop.delivery import warning
    from cxloop.messaging.models import CustomerMessage

    model = warning.load(demo_build / "models" / "delivery-warning.joblib")
    assert model is not None and model.orders > 1000
    session = Session(get_engine(f"sqlite:///{demo_build / 'cxloop.db'}"))
    try:
        notices = session.scalar(
            select(func.count(CustomerMessage.id)).where(CustomerMessage.template == "delay_notice")
        )
        assert notices, "the journeys' delay care sent no notice on the demo"
    finally:
        session.close()
