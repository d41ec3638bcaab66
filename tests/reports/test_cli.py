"""The report commands print the same numbers as the service, as tables or JSON."""

from __future__ import annotations

import json

import pytest
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from cxloop.metrics.rollup import refresh
from cxloop.reports.cli import app
from tests.metrics import factory

runner = CliRunner()


def test_reports_on_hand_built_data(db_session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    """Pareto, root cause, scorecards and overview run in both formats on either backend."""
    factory.allow_small_samples(monkeypatch)
    factory.build(db_session)
    refresh(db_session=db_session)
    result = runner.invoke(app, ["pareto", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["month"] == "2026-08" and data["total"] == 2 and data["bars_total"] == 3
    result = runner.invoke(app, ["root-cause", "--month", "2026-08", "--format", "json"])
    assert json.loads(result.output)["late_orders"] == 7
    result = runner.invoke(app, ["root-cause", "--month", "2026-08"])
    assert result.exit_code == 0 and "picking" in result.output
    result = runner.invoke(app, ["scorecards", "--department", "logistics", "--lang", "en"])
    assert result.exit_code == 0 and "Logistics" in result.output
    result = runner.invoke(app, ["overview", "--month", "2026-08"])
    assert result.exit_code == 0 and "准时交付率" in result.output
