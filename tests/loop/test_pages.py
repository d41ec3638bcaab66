"""The loop's pages render for a logged-in user and their forms go through the services."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from cxloop.app import create_app
from cxloop.auth.service import create_demo_users
from cxloop.db import get_engine
from cxloop.loop.rules import service as rule_service
from cxloop.loop.tasks import service as task_service
from tests.web.helpers import csrf_from, login


@pytest.fixture
def client(sqlite_url: str) -> Iterator[TestClient]:
    with Session(get_engine(sqlite_url)) as session:
        create_demo_users(db_session=session)
        rule_service.load_rules(db_session=session)
        task_service.create_task(
            db_session=session,
            title="复盘拣货 / Review picking",
            department="warehouse",
            actor="t",
            evidence={
                "series": [["2026-W31", 7.5], ["2026-W32", 33.0]],
                "baseline": 8.0,
                "complaints": [{"id": 1, "text": "发货太慢", "occurred_at": "2026-08-03"}],
            },
        )
        session.commit()
    with TestClient(create_app(migrate_on_start=False)) as c:
        yield c


def test_pages_render_and_forms_work(client: TestClient) -> None:
    login(client, "manager", "manager-demo")
    for path in ("/tasks", "/tasks/1", "/cases", "/alerts", "/inbox"):
        response = client.get(path)
        assert response.status_code == 200, (path, response.text[:500])
    page = client.get("/tasks/1").text
    # A "zh / en" title shows the reader's part only.
    assert "发货太慢" in page and "复盘拣货" in page and "Review picking" not in page
    token = csrf_from(page)
    moved = client.post(
        "/tasks/1/update", data={"status": "in_progress", "csrf_token": token}, follow_redirects=False
    )
    assert moved.status_code == 303
    client.post("/tasks/1/comment", data={"body": "已排班", "csrf_token": token})
    assert "已排班" in client.get("/tasks/1").text
    created = client.post(
        "/cases", data={"title": "少发一件", "priority": "high", "csrf_token": token}, follow_redirects=False
    )
    assert created.status_code == 303
    case_url = created.headers["location"]
    client.post(f"{case_url}/step/apologise", data={"note": "已致歉", "csrf_token": token})
    case_page = client.get(case_url).text
    assert "已致歉" in case_page and "30分钟内" in case_page
    saved = client.post(
        "/alerts/rules",
        data={"code": "damage-rate-per-carrier", "csrf_token": token, "definition": "severity: critical"},
        follow_redirects=False,
    )
    assert saved.status_code == 303


def test_department_member_sees_only_their_tasks(client: TestClient) -> None:
    login(client, "warehouse", "warehouse-demo")
    assert client.get("/tasks/1").status_code == 200
    assert client.get("/alerts").status_code == 403
