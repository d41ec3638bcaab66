"""Delivery pages, API and commands on the export-shaped shop."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from cxloop.app import create_app
from cxloop.auth.service import create_demo_users
from cxloop.cli import app as cli_app
from cxloop.db import get_engine
from cxloop.metrics.rollup import refresh
from tests.delivery import factory
from tests.web.helpers import login


@pytest.fixture
def client(sqlite_url: str) -> Iterator[TestClient]:
    """The app on the export-shaped shop, logged in as the CX manager."""
    with Session(get_engine(sqlite_url)) as session:
        create_demo_users(db_session=session)
        factory.build(session)
        refresh(db_session=session)
    with TestClient(create_app(migrate_on_start=False)) as c:
        login(c, "manager", "manager-demo")
        yield c


def test_experience_page_api_and_report(client: TestClient) -> None:
    """The same satisfaction-by-outcome numbers on the page, the API and `cxloop report`."""
    page = client.get("/delivery?lang=en")
    assert page.status_code == 200 and "Satisfaction by delivery outcome" in page.text
    api = client.get("/api/v1/delivery/experience").json()
    late = next(r for r in api["outcomes"] if r["outcome"] == "late")
    assert late["orders"] == 8
    out = CliRunner().invoke(cli_app, ["report", "delivery-experience", "--format", "json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["outcomes"] == api["outcomes"]
    assert client.get("/delivery?month=2018-13").status_code == 200


def test_at_risk_without_model_says_how_to_train(client: TestClient) -> None:
    """Before training, the page explains the command and the API answers 409, never 500."""
    page = client.get("/delivery/at-risk")
    assert page.status_code == 200 and "train-warning" in page.text
    assert client.get("/api/v1/delivery/at-risk").status_code == 409
    assert "/delivery/at-risk" in client.get("/tasks").text


def test_overview_and_journey_show_satisfaction_by_outcome(client: TestClient) -> None:
    """The overview and the journey page carry the satisfaction-by-outcome table of their month."""
    for path in ("/?month=2018-03&lang=en", "/journey?month=2018-03&lang=en"):
        page = client.get(path)
        assert page.status_code == 200 and "Satisfaction by delivery outcome" in page.text, path


def test_distributions_page_and_api(client: TestClient) -> None:
    """Every duration has median, p90 and mean; a chart shows one; any indicator over all periods."""
    stats = {d["stage"]: d for d in client.get("/api/v1/delivery/durations").json()}
    # The export has no picking or sorting times: no numbers rather than zeros.
    assert stats["picking"]["n"] == 0 and stats["picking"]["median"] is None
    carrier = stats["carrier"]
    assert (
        carrier["n"] > 20 and carrier["median"] <= carrier["p90"] and sum(carrier["counts"]) == carrier["n"]
    )
    page = client.get("/delivery/distributions?stage=carrier&lang=en")
    assert page.status_code == 200 and "echarts" in page.text and "Median" in page.text
    assert client.get("/api/v1/delivery/durations/nope").status_code == 404
    everything = client.get("/api/v1/delivery/indicators/on_time_rate/range").json()
    assert everything["start"] == "2018-02-05" and everything["value"] is not None
    assert (
        client.get(
            "/api/v1/delivery/indicators/on_time_rate/range?start=2018-03-05&end=2018-03-01"
        ).status_code
        == 422
    )


def test_promises_page_api_and_report(client: TestClient) -> None:
    """Promises per route on the page, the API and `cxloop report promises` agree."""
    api = client.get("/api/v1/delivery/promises?target=0.9").json()
    assert api["routes"] and api["target"] == 0.9
    out = CliRunner().invoke(cli_app, ["report", "promises", "--target", "0.9", "--format", "json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["routes"] == api["routes"]
    page = client.get("/delivery/promises?lang=en")
    assert page.status_code == 200 and "Expected on-time rate" in page.text
    assert client.get("/api/v1/delivery/promises?target=2").status_code == 422


def test_carriers_page_and_api(client: TestClient) -> None:
    """The scorecard page and a recommendation through the API; bad input is a 422."""
    page = client.get("/delivery/carriers?region=SP&weight_kg=2&lang=en")
    assert page.status_code == 200 and "Carrier scorecard" in page.text
    rec = client.get("/api/v1/delivery/carriers/recommend?region=SP&weight_kg=2").json()
    assert {c["carrier"] for c in rec["ranked"]} == {"FAST", "SLOW"}
    assert client.get("/api/v1/delivery/carriers/recommend?region=SP&weight_kg=-1").status_code == 422
    assert client.get("/api/v1/delivery/carriers").json()


def test_trained_warning_through_cli_api_and_page(client: TestClient) -> None:
    """`cxloop delivery train-warning` stores a model; the API and the page then list open orders."""
    out = CliRunner().invoke(cli_app, ["delivery", "train-warning", "--holdout-days", "7"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["path"].endswith("delivery-warning.joblib")
    risks = client.get("/api/v1/delivery/at-risk").json()
    assert risks and {"order_id", "probability", "late_stage", "department_id"} <= set(risks[0])
    assert all(0.0 <= r["probability"] <= 1.0 for r in risks)
    assert client.get("/delivery/at-risk").status_code == 200
    table = CliRunner().invoke(cli_app, ["delivery", "at-risk", "--json"])
    assert table.exit_code == 0 and json.loads(table.output)[0]["order_id"] == risks[0]["order_id"]


def test_delivery_page_over_a_range(client: TestClient) -> None:
    """The page gives satisfaction and any indicator over a custom range, with the API's figure."""
    from cxloop.web.templating import fmt_number

    api = client.get("/api/v1/delivery/indicators/on_time_rate/range?start=2018-03-01&end=2018-04-01").json()
    page = client.get("/delivery?start=2018-03-01&end=2018-04-01&indicator=on_time_rate&lang=en")
    assert page.status_code == 200 and "Indicator over the range" in page.text
    assert fmt_number(api["value"], 2) in page.text
    experience = client.get("/api/v1/delivery/experience?start=2018-03-01T00:00&end=2018-04-01T00:00").json()
    late = next(r for r in experience["outcomes"] if r["outcome"] == "late")
    assert late["orders"] == 8
    ranged = client.get("/delivery/distributions?stage=carrier&start=2018-03-01&end=2018-04-01&lang=en")
    assert ranged.status_code == 200 and 'value="2018-03-01"' in ranged.text
    unknown = client.get("/delivery?indicator=nope&lang=en")
    assert unknown.status_code == 200 and "Not an indicator you may read." in unknown.text
