"""On the demo store, ``cxloop loop run`` opens a task for each planted problem and nothing else."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import create_engine, delete, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

SCOPE_KINDS = ("warehouse", "supplier", "carrier", "shift")


def _expected_scope(problem: dict[str, Any]) -> str:
    kind = next(k for k in SCOPE_KINDS if k in problem)
    return f"{kind}:{problem[kind]}"


def test_loop_run_on_the_demo_finds_the_planted_problems(request: pytest.FixtureRequest) -> None:
    store = request.getfixturevalue("demo_store")
    from cxloop.cli import app
    from cxloop.loop.models import Alert, AlertRule, AuditLog, Case, Notification, Task

    engine = create_engine(store.url)
    with Session(engine) as s:
        # The demo build already ran the loop; start from a clean loop so the command does the work.
        for table in (Notification, AuditLog, Task, Alert, Case, AlertRule):
            s.execute(delete(table))
        s.commit()
    result = CliRunner().invoke(app, ["loop", "run", "--format", "json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["errors"] == []
    with Session(engine) as s:
        tasks = list(s.scalars(select(Task)))
    engine.dispose()
    found = {((t.scope or {}).get("key"), t.department) for t in tasks}
    expected = {(_expected_scope(p), p["department"]) for p in store.truth["problems"]}
    assert expected <= found, f"missing planted problems: {expected - found}; tasks: {found}"
    # No task storm: every task answers a planted problem (tolerance: none).
    assert found == expected, f"tasks beyond the planted problems: {found - expected}"
    assert len(tasks) == len(expected)
    assert {t["task_id"] for t in report["tasks_created"]} == {t.id for t in tasks}


def test_task_evidence_is_its_alerts_evidence(request: pytest.FixtureRequest) -> None:
    """Regression: a carrier-damage task shows damage complaints about that carrier, and every task's
    last trend point is its alert's live value for the alert's latest period."""
    store = request.getfixturevalue("demo_store")
    from cxloop.feedback.models import FeedbackItem
    from cxloop.logistics.models import Carrier
    from cxloop.loop.models import Alert, Task
    from cxloop.metrics.registry import get_indicator
    from cxloop.orders.models import Order

    engine = create_engine(store.url)
    with Session(engine) as s:
        tasks = list(s.scalars(select(Task).where(Task.alert_id.is_not(None))))
        assert tasks
        for task in tasks:
            alert = s.get(Alert, task.alert_id)
            assert alert is not None
            evidence = task.evidence or {}
            assert evidence["period"] == alert.details["period"], (task.id, evidence["period"], alert.details)
            label, value = evidence["series"][-1]
            assert label == alert.details["period"] and value == pytest.approx(alert.value), (task.id, value)
            allowed = set(get_indicator(task.indicator or "").evidence)
            assert {c["aspect"] for c in evidence["complaints"]} <= allowed, (task.indicator, evidence)
        damage = next(t for t in tasks if t.indicator == "damage_rate")
        carrier = (damage.scope or {})["value"]
        assert damage.evidence["complaints"], "the damage task has no complaints to show"
        for c in damage.evidence["complaints"]:
            assert c["aspect"] == "damage_loss"
            on = s.execute(
                select(Carrier.external_id)
                .join(Order, Order.carrier_id == Carrier.id)
                .join(FeedbackItem, FeedbackItem.order_id == Order.id)
                .where(FeedbackItem.id == c["id"])
            ).scalar_one()
            assert on == carrier, (c, carrier)
    engine.dispose()
