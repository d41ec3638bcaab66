"""The one definition of a delivery outcome and the root cause, on a timeline shaped like a real export."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from cxloop.config import get_settings
from cxloop.delivery import service
from cxloop.metrics import service as metrics
from cxloop.metrics.rollup import refresh
from tests.delivery import factory


@pytest.fixture
def export_shop(db_session: Session, monkeypatch: pytest.MonkeyPatch) -> tuple[Session, dict[str, int]]:
    """The export-shaped shop, in another business time zone, rolled up."""
    monkeypatch.setenv("CXLOOP_TIMEZONE", factory.TZ)
    get_settings.cache_clear()
    ids = factory.build(db_session)
    refresh(db_session=db_session)
    return db_session, ids


def test_root_cause_names_the_carrier_on_an_export(export_shop: tuple[Session, dict[str, int]]) -> None:
    """Without picking and sorting times, the late orders are put down to the carrier, not picking."""
    session, _ = export_shop
    rc = metrics.root_cause(db_session=session, month="2018-03")
    stages = {r.stage: r.late_orders for r in rc.by_stage}
    # 6 slow-carrier orders + the slow carrier's order still out after its promise; 2 warehouse ones.
    assert rc.by_stage[0].stage == "carrier" and stages["carrier"] == 7, stages
    assert stages["picking+sorting+handover"] == 2 and "picking" not in stages
    assert all(r.mean_excess_hours is not None and r.mean_excess_hours > 0 for r in rc.by_stage)
    assert rc.by_stage[0].department == "logistics"
    slow = next(r for r in rc.by_scope if r.key == "SLOW")
    assert slow.stage == "carrier"


def test_late_rate_is_one_number(export_shop: tuple[Session, dict[str, int]]) -> None:
    """Overview and root cause give the same late rate; cancelled orders are not late and not due."""
    session, _ = export_shop
    ov = metrics.overview(db_session=session, month="2018-03")
    rc = metrics.root_cause(db_session=session, month="2018-03")
    # Due in March: 6 + 2 late, same_day, early, late_open, latest = 12; late 6 + 2 + 1 = 9.
    assert rc.orders == 12 and rc.late_orders == 9
    assert ov.late_rate == rc.late_rate == 75.0
    on_time = metrics.compute(
        db_session=session, indicator="on_time_rate", period=metrics.Period.month("2018-03")
    )
    assert on_time.value == 25.0


def test_promises_recommend_what_history_beats(export_shop: tuple[Session, dict[str, int]]) -> None:
    """The slow carrier's route needs a longer promise than the fast one; the curve rises with days."""
    session, _ = export_shop
    report = service.promise_report(db_session=session, target=0.9, min_orders=5)
    by_carrier = {r.carrier: r for r in report.routes if r.cutoff == "before" and r.orders >= 5}
    fast, slow = by_carrier["FAST"], by_carrier["SLOW"]
    assert fast.recommended_days is not None and slow.recommended_days is not None
    assert slow.recommended_days > fast.recommended_days
    assert fast.expected_on_time is not None and fast.expected_on_time >= 90.0
    on_time = [p.on_time for p in slow.curve]
    assert on_time == sorted(on_time)
    with pytest.raises(ValueError):
        service.promise_report(db_session=session, target=1.5)
    split = service.evaluate_promises(db_session=session, split=factory.MAR, target=0.9, min_orders=5)
    assert split["test_orders"] > 0 and split["realised_on_time"] is not None
