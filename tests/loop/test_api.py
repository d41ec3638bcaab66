"""The loop's REST API: the same operations as the CLI, behind the API's authentication and roles."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from cxloop.app import create_app
from cxloop.auth import service as auth_service


@pytest.fixture
def api(sqlite_url: str) -> Iterator[tuple[TestClient, dict[str, dict[str, str]]]]:
    from cxloop.db import get_engine

    headers = {}
    with Session(get_engine(sqlite_url), expire_on_commit=False) as session:
        for user in auth_service.create_demo_users(db_session=session):
            secret = auth_service.create_token(db_session=session, user=user, name="t").secret
            headers[user.username] = {"Authorization": f"Bearer {secret}"}
    with TestClient(create_app(migrate_on_start=False)) as client:
        yield client, headers


def test_rules_tasks_cases_over_the_api(api: tuple[TestClient, dict[str, dict[str, str]]]) -> None:
    client, h = api
    rule = {
        "name": "破损率",
        "kind": "threshold",
        "indicator": "damage_rate",
        "scope_kind": "carrier",
        "per_scope": True,
        "params": {"grain": "month", "status": "red"},
        "severity": "high",
    }
    assert client.put("/api/v1/loop/rules/damage", json=rule, headers=h["analyst"]).status_code == 403
    saved = client.put("/api/v1/loop/rules/damage", json=rule, headers=h["manager"])
    assert saved.status_code == 200 and saved.json()["outcome"] == "created"
    bad = client.put("/api/v1/loop/rules/bad", json={**rule, "indicator": "nope"}, headers=h["manager"])
    assert bad.status_code == 422
    assert [r["code"] for r in client.get("/api/v1/loop/rules", headers=h["analyst"]).json()] == ["damage"]

    task = client.post(
        "/api/v1/loop/tasks", json={"title": "复盘拣货流程", "department": "warehouse"}, headers=h["manager"]
    ).json()
    assert task["status"] == "open" and task["due_at"]
    moved = client.patch(
        f"/api/v1/loop/tasks/{task['id']}", json={"status": "in_progress"}, headers=h["warehouse"]
    )
    assert moved.status_code == 200 and moved.json()["status"] == "in_progress"
    # Verified is the indicator's verdict: a member may not set it (policy), a manager only by the lifecycle.
    assert (
        client.patch(
            f"/api/v1/loop/tasks/{task['id']}", json={"status": "verified"}, headers=h["warehouse"]
        ).status_code
        == 403
    )
    assert (
        client.patch(
            f"/api/v1/loop/tasks/{task['id']}", json={"status": "verified"}, headers=h["manager"]
        ).status_code
        == 422
    )
    client.post(
        f"/api/v1/loop/tasks/{task['id']}/comments", json={"body": "加了夜班"}, headers=h["warehouse"]
    )
    detail = client.get(f"/api/v1/loop/tasks/{task['id']}", headers=h["warehouse"]).json()
    assert detail["comments"][0]["author"] == "warehouse"
    listed = client.get(
        "/api/v1/loop/tasks", params={"department": "warehouse"}, headers=h["warehouse"]
    ).json()
    assert [t["id"] for t in listed] == [task["id"]]

    case = client.post("/api/v1/loop/cases", json={"title": "少发一件"}, headers=h["manager"]).json()
    assert [s["step"] for s in case["steps"]] == ["apologise", "investigate", "solve", "record"]
    assert case["clocks"]["first_response"]["state"] in {"ok", "warning", "breached"}
    after = client.post(
        f"/api/v1/loop/cases/{case['id']}/steps/apologise", json={"note": "已致歉"}, headers=h["manager"]
    ).json()
    assert after["steps"][0]["done_by"] == "manager" and after["first_responded_at"]
    promised = client.post(
        f"/api/v1/loop/cases/{case['id']}/promise", json={"promise": "1day"}, headers=h["manager"]
    ).json()
    assert promised["promise"] == "1day" and promised["promised_at"]
    resolved = client.post(
        f"/api/v1/loop/cases/{case['id']}/resolve",
        json={"resolution": "resend", "root_cause": "wrong_missing_item"},
        headers=h["manager"],
    )
    assert resolved.status_code == 200 and resolved.json()["status"] == "resolved"
    audit = client.get("/api/v1/loop/audit", params={"entity": "case"}, headers=h["admin"]).json()
    assert {e["action"] for e in audit} >= {"create", "step:apologise", "promise", "resolve"}
    hook = client.post(
        "/api/v1/loop/webhooks",
        json={
            "name": "ops",
            "kind": "dingtalk",
            "url": "https://oapi.dingtalk.com/robot/send?access_token=x",
            "secret": "SEC1",
        },
        headers=h["admin"],
    )
    assert hook.status_code == 201 and hook.json()["has_secret"] and "secret" not in hook.json()
    assert client.get("/api/v1/loop/inbox", headers=h["warehouse"]).status_code == 200


def test_task_evidence_is_masked_for_roles_without_contact_rights(
    api: tuple[TestClient, dict[str, dict[str, str]]], sqlite_url: str
) -> None:
    """A task's sample complaints carry what customers wrote: the policy masks their phones for analysts
    (API and page) and shows them to managers, like the feedback and the Pareto drill-down."""
    from cxloop.db import get_engine
    from cxloop.loop.tasks import service as task_service
    from tests.web.helpers import login

    client, h = api
    text = "快递员电话 13812345678 一直打不通，箱子也压坏了"
    with Session(get_engine(sqlite_url), expire_on_commit=False) as session:
        task = task_service.create_task(
            db_session=session,
            title="复盘破损",
            department="logistics",
            actor="test",
            evidence={
                "complaints": [
                    {"id": 1, "text": text, "occurred_at": "2026-08-01T10:00:00", "channel": "review"}
                ]
            },
        )
    for user, shown in (("manager", True), ("analyst", False)):
        body = client.get(f"/api/v1/loop/tasks/{task.id}", headers=h[user]).json()
        [complaint] = body["evidence"]["complaints"]
        assert ("13812345678" in complaint["text"]) is shown, (user, complaint)
        assert shown or "138****5678" in complaint["text"]
        listed = [t for t in client.get("/api/v1/loop/tasks", headers=h[user]).json() if t["id"] == task.id]
        assert ("13812345678" in str(listed)) is shown
    with TestClient(create_app(migrate_on_start=False)) as browser:
        login(browser, "analyst", "analyst-demo")
        page = browser.get(f"/tasks/{task.id}").text
    assert "138****5678" in page and "13812345678" not in page
