"""The one definition of a delivery outcome and the root cause, on a timeline shaped like a real export."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from cxloop.config import get_settings
from cxloop.delivery import service
from cxloop.metrics import service as metrics
from cxloop.metrics.rollup import refresh
from cxloop.orders import outcomes
from tests.delivery import factory


@pytest.fixture
def export_shop(db_session: Session, monkeypatch: pytest.MonkeyPatch) -> tuple[Session, dict[str, int]]:
    """The export-shaped shop, in another business time zone, rolled up."""
    monkeypatch.setenv("CXLOOP_TIMEZONE", factory.TZ)
    get_settings.cache_clear()
    ids = factory.build(db_session)
    refresh(db_session=db_session)
    return db_session, ids


def test_outcomes_of_an_export(export_shop: tuple[Session, dict[str, int]]) -> None:
    """Same-day delivery is on time, status cancellations are cancelled, undelivered is open until due."""
    session, ids = export_shop
    now = outcomes.as_of(session)
    assert now is not None

    def outcome(name: str) -> str:
        return outcomes.outcome_of(session, ids[name], now=now)

    assert outcome("same_day") == "on_time"
    assert outcome("early") == "early"
    assert outcome("carrier_late_0") == "late"
    assert outcome("status_cancelled") == "cancelled"
    assert outcome("unavailable") == "cancelled"
    assert outcome("open") == "open"
    assert outcome("late_open") == "late_open"


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


def test_blame_ties_and_missing_history() -> None:
    """A stage nobody has history for is not compared; a tie goes to the real, non-empty stage."""
    t0 = datetime(2026, 1, 1)
    times = {
        "placed": t0,
        "paid": t0 + timedelta(hours=1),
        "shipped": t0 + timedelta(hours=30),
        "delivered": t0 + timedelta(hours=80),
    }
    # History knows placed->paid and shipped->delivered only: the paid->shipped stretch has no normal.
    normals = [{("placed", "paid", "all", ""): 1.0, ("shipped", "delivered", "all", ""): 48.0}]
    found = outcomes.blame(times, stop=times["delivered"], normals=normals)
    assert found.stage == "carrier" and found.excess_hours == pytest.approx(2.0)
    # Equal excess: the carrier (real, 50 h) beats a zero-length payment compared to a normal of 0.
    times["paid"] = t0
    normals = [{("placed", "paid", "all", ""): 2.0, ("shipped", "delivered", "all", ""): 52.0}]
    assert outcomes.blame(times, stop=times["delivered"], normals=normals).stage == "carrier"
    # No history at all: unknown, never a stage measured against 0.
    assert outcomes.blame(times, stop=times["delivered"], normals=[{}]).stage == "unknown"


def test_open_segment_merges_unrecorded_stages() -> None:
    """An order stuck after payment, in a shop that never records picking or sorting, is in all three."""
    t0 = datetime(2026, 1, 1)
    segs = outcomes.segments(
        {"placed": t0, "paid": t0 + timedelta(hours=1)},
        stop=t0 + timedelta(hours=100),
        recorded={"placed", "paid", "shipped", "delivered"},
    )
    assert [s.key for s in segs] == ["payment", "picking+sorting+handover"] and segs[-1].open
    assert outcomes.stage_label(segs[-1].key) == "拣货 + 分拣 + 交接揽收"
    assert outcomes.stage_owner(segs[-1].key) == "warehouse"


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
