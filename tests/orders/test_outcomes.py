"""An order's delivery outcome and the late-stage blame on partial timelines (cxloop.orders.outcomes)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from cxloop.config import get_settings
from cxloop.i18n import translate
from cxloop.orders import outcomes
from tests.delivery import factory


@pytest.fixture
def export_shop(db_session: Session, monkeypatch: pytest.MonkeyPatch) -> tuple[Session, dict[str, int]]:
    """The export-shaped shop (no stages, date-only promises, status cancellations, another time zone)."""
    monkeypatch.setenv("CXLOOP_TIMEZONE", factory.TZ)
    get_settings.cache_clear()
    return db_session, factory.build(db_session)


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


def test_stage_and_outcome_names_come_from_the_catalogue() -> None:
    """One name per stage: the root cause's merged label reads the same catalogue as every page."""
    assert outcomes.stage_label("picking+sorting", "en") == (
        f"{translate('order_stage.picking', 'en')} + {translate('order_stage.sorting', 'en')}"
    )
    for outcome in outcomes.OUTCOMES:
        assert translate(f"delivery_outcome.{outcome}", "zh") != f"delivery_outcome.{outcome}"
        assert translate(f"delivery_outcome.{outcome}", "en") != f"delivery_outcome.{outcome}"
