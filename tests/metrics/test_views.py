"""The metrics API answers with the service's numbers and turns bad input into 4xx."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from cxloop.metrics.rollup import refresh
from cxloop.metrics.views import router
from tests.auth.helpers import act_as
from tests.metrics import factory


def test_api(db_session: Session) -> None:
    """Indicators, breakdown, Pareto drill-down, targets and errors over HTTP."""
    factory.build(db_session)
    refresh(db_session=db_session)
    app = FastAPI()
    app.include_router(router, prefix="/api/v1")
    act_as(app)
    client = TestClient(app)
    r = client.get(
        "/api/v1/metrics/indicators/damage_rate", params={"period": "2026-08", "scope": "carrier:C2"}
    )
    assert r.status_code == 200 and r.json()["value"] == 20.0
    r = client.get("/api/v1/metrics/indicators/cs_first_response_minutes/breakdown", params={"by": "shift"})
    assert r.json()[0]["key"] == "night"
    r = client.get("/api/v1/metrics/pareto/packaging/items", params={"month": "2026-08"})
    assert r.json()["items"][0]["evidence"] == "包装破了"
    for path in ("overview", "pareto", "root-cause", "emotion-map", "scorecards", "competitors", "targets"):
        assert client.get(f"/api/v1/metrics/{path}").status_code == 200, path
    body = {"indicator": "csat", "target": 90, "amber": 90, "red": 80}
    assert client.put("/api/v1/metrics/targets", json=body).status_code == 200
    assert client.get("/api/v1/metrics/indicators/nope").status_code == 404
    assert client.get("/api/v1/metrics/indicators/csat", params={"scope": "shift:day"}).status_code == 422
    r = client.get("/api/v1/metrics/indicators", params={"department": "it"})
    assert {i["code"] for i in r.json()} >= {"page_load_p50_ms", "payment_hours"}
