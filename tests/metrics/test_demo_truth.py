"""On the demo shop, the metrics find the problems the generator planted (demo-truth.json)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from cxloop.db import get_engine
from cxloop.metrics import service
from cxloop.metrics.periods import Period

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def demo(demo_build: Path) -> tuple[str, dict[str, Any]]:
    """The shared demo shop (tests/conftest.py: seed 7, scale 0.2), analysed and rolled up; and its truth."""
    truth = json.loads((demo_build / "demo-truth.json").read_text(encoding="utf-8"))
    # These tests only read, so they use the shared build itself rather than a copy.
    return f"sqlite:///{demo_build / 'cxloop.db'}", truth


@pytest.fixture
def demo_session(demo: tuple[str, dict[str, Any]]) -> Iterator[Session]:
    """A session on the demo database."""
    session = Session(get_engine(demo[0]))
    try:
        yield session
    finally:
        session.close()


def _problem(truth: dict[str, Any], problem_id: str) -> dict[str, Any]:
    return next(p for p in truth["problems"] if p["id"] == problem_id)


def _last_month(truth: dict[str, Any]) -> str:
    return str(truth["period"]["end"])[:7]


def test_pareto_top_item_is_the_planted_aspect(
    demo: tuple[str, dict[str, Any]], demo_session: Session
) -> None:
    """The planted month's Pareto is led by the planted aspect, and it is a focus item."""
    truth = demo[1]
    pareto = service.pareto(db_session=demo_session, month=truth["pareto"]["month"])
    assert pareto.items, "no negative aspect mentions in the planted month"
    assert pareto.items[0].aspect == truth["pareto"]["top_aspect"], [
        (i.aspect, i.count) for i in pareto.items[:5]
    ]
    assert pareto.items[0].focus


def test_root_cause_names_the_planted_warehouse_picking(
    demo: tuple[str, dict[str, Any]], demo_session: Session
) -> None:
    """Late orders of the planted month are put down to the planted warehouse's picking stage."""
    problem = _problem(demo[1], "warehouse_picking_slow")
    rc = service.root_cause(db_session=demo_session, month=problem["month"])
    picking = [r for r in rc.by_scope if r.stage == "picking"]
    assert picking and (picking[0].key, picking[0].department) == (problem["warehouse"], "warehouse"), (
        picking[:3]
    )
    assert rc.by_stage[0].stage == "picking", rc.by_stage
    assert rc.findings and (rc.findings[0].stage, rc.findings[0].key) == ("picking", problem["warehouse"])


def test_planted_carrier_damage_is_red(demo: tuple[str, dict[str, Any]], demo_session: Session) -> None:
    """The planted carrier's damage rate is red and the worst of the carriers."""
    truth = demo[1]
    problem = _problem(truth, "carrier_damage")
    rows = service.breakdown(
        db_session=demo_session,
        indicator="damage_rate",
        period=Period.month(_last_month(truth)),
        by="carrier",
    )
    planted = next(r for r in rows if r.key == problem["carrier"])
    assert planted.status == "red" and rows[0].key == problem["carrier"], [
        (r.key, r.value, r.status) for r in rows
    ]


def test_planted_shift_response_is_red(demo: tuple[str, dict[str, Any]], demo_session: Session) -> None:
    """The planted shift's first-response time is red and the slowest."""
    truth = demo[1]
    problem = _problem(truth, "cs_shift_slow")
    rows = service.breakdown(
        db_session=demo_session,
        indicator=problem["indicator"],
        period=Period.month(_last_month(truth)),
        by="shift",
    )
    planted = next(r for r in rows if r.key == problem["shift"])
    assert planted.status == "red" and rows[0].key == problem["shift"], [
        (r.key, r.value, r.status) for r in rows
    ]


def test_planted_supplier_has_the_worst_quality_complaints(
    demo: tuple[str, dict[str, Any]], demo_session: Session
) -> None:
    """After the defect starts, the planted supplier has the highest product-quality negative share."""
    truth = demo[1]
    problem = _problem(truth, "supplier_quality_defect")
    rows = service.breakdown(
        db_session=demo_session,
        indicator="aspect_neg:product_quality",
        period=Period.month(_last_month(truth)),
        by="supplier",
    )
    assert rows and rows[0].key == problem["supplier"], [(r.key, r.value, r.n) for r in rows]


def test_pareto_ranks_follow_the_truth(demo: tuple[str, dict[str, Any]], demo_session: Session) -> None:
    """Every demo month's Pareto ranks aspects like the complaints the generator wrote (Spearman ≥ 0.9).

    Over the aspects with at least 5 true negative mentions (``negative_mentions`` of
    demo-truth.json, which counts survey comments and the survey step's answers too, as cxloop does).
    """
    from scipy.stats import spearmanr

    truth = demo[1]["negative_mentions"]
    low: dict[str, tuple[float, list[tuple[str, int, int]]]] = {}
    for month, true_counts in truth.items():
        pareto = service.pareto(db_session=demo_session, month=month)
        found = {i.aspect: i.count for i in pareto.items}
        aspects = [a for a, n in true_counts.items() if n >= 5]
        rho = float(
            spearmanr([true_counts[a] for a in aspects], [found.get(a, 0) for a in aspects]).statistic
        )
        if rho < 0.9:
            low[month] = (round(rho, 3), [(a, true_counts[a], found.get(a, 0)) for a in aspects])
    assert not low, low
