"""Carrier terms from a file, the scorecard and the explained recommendation."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cxloop.delivery import service
from cxloop.delivery.models import CarrierRate
from cxloop.metrics.rollup import refresh
from tests.delivery import factory

TERMS = """
carriers:
  - carrier: FAST
    max_weight_kg: 10
    collection_times: ["10:00", "17:30"]
    rates:
      - {region: SP, weight_to_kg: 5, price: 30}
      - {region: "*", weight_to_kg: 10, price: 50}
  - carrier: SLOW
    max_weight_kg: 40
    rates:
      - {region: "*", weight_to_kg: 40, price: 12}
"""


@pytest.fixture
def shop(db_session: Session, tmp_path: Path) -> Session:
    """The export-shaped shop with both carriers' terms imported."""
    factory.build(db_session)
    refresh(db_session=db_session)
    path = tmp_path / "carriers.yaml"
    path.write_text(TERMS, encoding="utf-8")
    result = service.import_carriers(db_session=db_session, path=path)
    assert (result.carriers, result.created, result.rates) == (2, 0, 3)
    # A second run replaces the terms instead of adding rows.
    service.import_carriers(db_session=db_session, path=path)
    assert db_session.scalar(select(func.count()).select_from(CarrierRate)) == 3
    return db_session


def test_scorecard(shop: Session) -> None:
    """Speed, on time and cost per carrier; coverage and collection times from the file."""
    cards = {c.carrier: c for c in service.carrier_scorecard(db_session=shop)}
    fast, slow = cards["FAST"], cards["SLOW"]
    assert fast.median_hours == 48.0
    assert fast.p90_hours is not None and slow.p90_hours is not None
    assert fast.p90_hours < slow.p90_hours and fast.on_time is not None
    assert slow.on_time is not None and fast.on_time > slow.on_time
    assert fast.covers == ["*", "SP"] and fast.collection_times == ["10:00", "17:30"]
    assert slow.mean_cost == 12.0


def test_recommendation_weighs_and_explains(shop: Session) -> None:
    """Speed-first picks the fast carrier, cost-first the cheap one; limits exclude with a reason."""
    quick = service.recommend_carrier(db_session=shop, region="SP", weight_kg=2, urgency="urgent")
    assert quick.ranked[0].carrier == "FAST" and "p90" in quick.ranked[0].explanation_en
    cheap = service.recommend_carrier(
        db_session=shop, region="SP", weight_kg=2, weights={"speed": 0, "on_time": 0, "cost": 1}
    )
    assert cheap.ranked[0].carrier == "SLOW" and cheap.ranked[0].price == 12.0
    heavy = service.recommend_carrier(db_session=shop, region="SP", weight_kg=20)
    assert [c.carrier for c in heavy.ranked] == ["SLOW"] and "limit" in heavy.excluded["FAST"]
    with pytest.raises(ValueError):
        service.recommend_carrier(db_session=shop, region="SP", weight_kg=2, weights={"vibes": 1})


def test_bad_file_names_the_carrier_and_field(db_session: Session, tmp_path: Path) -> None:
    """A bad value is a clear error naming carrier and field, and nothing is stored."""
    path = tmp_path / "bad.yaml"
    path.write_text(
        "carriers:\n  - carrier: A\n    rates: []\n  - carrier: B\n    max_weight_kg: -3\n", encoding="utf-8"
    )
    with pytest.raises(ValueError, match=r"carrier #2, field 'max_weight_kg'"):
        service.import_carriers(db_session=db_session, path=path)
    assert db_session.scalar(select(func.count()).select_from(CarrierRate)) == 0
    path.write_text("carriers:\n  - carrier: A\n    collection_times: ['25:00']\n", encoding="utf-8")
    with pytest.raises(ValueError, match="HH:MM"):
        service.import_carriers(db_session=db_session, path=path)


def test_example_file_imports(db_session: Session) -> None:
    """The documented example file is valid."""
    example = Path(__file__).parents[2] / "docs" / "examples" / "carriers.yaml"
    assert service.import_carriers(db_session=db_session, path=example).carriers == 4
