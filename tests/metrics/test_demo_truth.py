"""On the demo shop, the metrics find the problems the generator planted (demo-truth.json)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.orm import Session

from cxloop.config import get_settings
from cxloop.db import dispose_engines, get_engine
from cxloop.metrics import service
from cxloop.metrics.periods import Period
from cxloop.plugins import optional_import

pytestmark = pytest.mark.slow


def _missing_parts() -> str | None:
    """Why the demo cannot be built yet, or None when every part is importable."""
    flows = optional_import("cxloop.demo.flows")
    if flows is None or not hasattr(flows, "build_demo"):
        return "cxloop.demo.flows.build_demo is not importable yet"
    feedback = optional_import("cxloop.feedback.service")
    if feedback is None or not hasattr(feedback, "analyse_pending"):
        return "cxloop.feedback.service.analyse_pending is not importable yet"
    text = optional_import("cxloop.text")
    if text is None or not hasattr(text, "Analyzer"):
        return "cxloop.text.Analyzer (used by analyse_pending) is not importable yet"
    return None


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, Any]]]:
    """The demo shop at scale 0.2 (seed 7) in a SQLite file, analysed and rolled up; and its truth."""
    reason = _missing_parts()
    if reason:
        pytest.skip(reason)
    from cxloop.demo.flows import build_demo

    data_dir = tmp_path_factory.mktemp("demo")
    url = f"sqlite:///{data_dir / 'demo.db'}"
    saved = {k: os.environ.get(k) for k in ("CXLOOP_DATA_DIR", "CXLOOP_DATABASE_URL")}
    os.environ.update(CXLOOP_DATA_DIR=str(data_dir), CXLOOP_DATABASE_URL=url)
    get_settings.cache_clear()
    try:
        build_demo(data_dir=data_dir, seed=7, scale=0.2, progress=False)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        get_settings.cache_clear()
    truth = json.loads((data_dir / "demo-truth.json").read_text(encoding="utf-8"))
    yield url, truth
    dispose_engines()


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
