"""The at-risk list follows the one policy: department members see their own department's orders."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from cxloop.app import create_app
from cxloop.auth.service import create_demo_users
from cxloop.config import get_settings
from cxloop.db import get_engine
from cxloop.delivery import service
from cxloop.orders import outcomes
from tests.delivery import factory
from tests.web.helpers import login


@pytest.fixture
def shop(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, int]]:
    """The early-warning shop with the demo accounts and a trained model; every open order listed."""
    monkeypatch.setenv("CXLOOP_DELIVERY_WARNING_THRESHOLD", "0.0001")
    get_settings.cache_clear()
    with Session(get_engine(sqlite_url)) as session:
        ids = factory.warning_shop(session)
        create_demo_users(db_session=session)  # "warehouse" is a member of the warehouse department
        service.train_warning(db_session=session, holdout_days=10)
    yield ids


def _client(username: str) -> TestClient:
    client = TestClient(create_app(migrate_on_start=False))
    login(client, username, f"{username}-demo")
    return client


def test_member_sees_own_department_manager_sees_all(shop: dict[str, int]) -> None:
    """API and page: the warehouse member gets only warehouse-owned orders; the manager gets all."""
    with _client("manager") as manager:
        everything = manager.get("/api/v1/delivery/at-risk").json()
        page = manager.get("/delivery/at-risk?lang=en").text
    assert {r["order_id"] for r in everything} == {shop["open_slow"], shop["open_fast"], shop["open_stuck"]}
    assert "Logistics" in page
    with _client("warehouse") as member:
        own = member.get("/api/v1/delivery/at-risk").json()
        page = member.get("/delivery/at-risk?lang=en").text
    assert [r["order_id"] for r in own] == [shop["open_stuck"]]
    assert own[0]["late_stage"] == "picking+sorting+handover"
    assert "Logistics" not in page


def test_department_narrowing_in_the_service(shop: dict[str, int], sqlite_url: str) -> None:
    """A department code keeps its own orders; a code nobody has (a member without one) keeps none."""
    with Session(get_engine(sqlite_url)) as session:
        now = outcomes.as_of(session)
        assert now is not None
        logistics = service.predict_late_risk(session, now=now, department="logistics")
        assert {r.order_id for r in logistics} == {shop["open_slow"], shop["open_fast"]}
        assert all(r.department_id == shop["logistics"] for r in logistics)
        assert service.predict_late_risk(session, now=now, department="") == []
        warehouse = service.predict_late_risk(session, now=now, department="warehouse")
        assert [r.order_id for r in warehouse] == [shop["open_stuck"]]
        groups = service.orders_at_risk(db_session=session, department="logistics")
        assert [g.name_en for g in groups] == ["Logistics"]
        assert {r.order_id for g in groups for r in g.orders} <= {shop["open_slow"], shop["open_fast"]}
