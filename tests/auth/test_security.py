"""Regression tests for each door found open in issue 11, section 1, and the user-to-person links of section 4."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from email import message_from_bytes
from email.policy import default as default_policy

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from cxloop.app import create_app
from cxloop.auth import ratelimit, service
from cxloop.auth.models import ApiToken, User
from cxloop.clock import now
from cxloop.config import Settings, get_settings
from cxloop.customers.models import Customer
from cxloop.db import get_engine
from cxloop.feedback.models import FeedbackItem
from cxloop.loop.cases import service as case_service
from cxloop.loop.models import Notification
from cxloop.loop.tasks import service as task_service
from cxloop.org.models import Department, Person
from cxloop.web.setup import SESSION_COOKIE
from cxloop.web.templating import CSRF_SESSION_KEY
from tests.web.helpers import csrf_from, login

ROLE_USERS = {"admin": "admin", "manager": "manager", "warehouse": "warehouse", "analyst": "analyst"}


@pytest.fixture
def shop(sqlite_url: str) -> Iterator[dict[str, int]]:
    """Demo users, two departments with a head each, a task and a case in each, one customer."""
    ratelimit.reset()
    ids: dict[str, int] = {}
    with Session(get_engine(sqlite_url)) as db:
        for code, zh in (("warehouse", "仓储部"), ("logistics", "物流部"), ("customer_service", "客服部")):
            db.add(Department(code=code, name_zh=zh, name_en=code))
        db.flush()
        by_code = {d.code: d.id for d in db.scalars(select(Department))}
        for n, code in enumerate(("warehouse", "logistics", "customer_service"), start=1):
            db.add(
                Person(
                    external_id=f"E00{n}",
                    name=f"{code}主管",
                    email=f"e00{n}@staff.example.com",
                    department_id=by_code[code],
                    is_head=True,
                )
            )
        db.add(
            Customer(
                external_id="C1",
                name="张三丰",
                phone="13812341234",
                email="zhang@example.com",
                wechat="wxid_zhang123",
            )
        )
        db.commit()
        service.create_demo_users(db_session=db)
        for department in ("warehouse", "logistics"):
            ids[f"task_{department}"] = task_service.create_task(
                db_session=db, title=f"复盘 {department}", department=department, actor="test"
            ).id
            ids[f"case_{department}"] = case_service.create_case(
                db_session=db, title=f"工单 {department}", department=department, actor="test"
            ).id
        db.commit()
    yield ids
    ratelimit.reset()


@pytest.fixture
def client(shop: dict[str, int]) -> TestClient:
    return TestClient(create_app(migrate_on_start=False), raise_server_exceptions=False)


def _bearer(username: str, *, scopes: tuple[str, ...] = ("read", "write")) -> dict[str, str]:
    from cxloop.db import session_scope

    with session_scope() as db:
        user = service.get_user(db_session=db, username=username)
        assert user is not None
        secret = service.create_token(db_session=db, user=user, name="t", scopes=scopes).secret
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def h(client: TestClient) -> dict[str, dict[str, str]]:
    return {name: _bearer(username) for name, username in ROLE_USERS.items()}


# --- section 1: each instance found ---------------------------------------------------------------------


def test_member_cannot_import_post_feedback_or_read_rejects(client: TestClient, h: dict) -> None:
    member = h["warehouse"]
    upload = client.post("/api/v1/import/feedback", files={"file": ("f.csv", b"id\n1\n")}, headers=member)
    assert upload.status_code == 403
    feedback = {"id": "F1", "channel": "review", "text": "好", "occurred_at": "2026-11-22"}
    assert client.post("/api/v1/feedback", json=feedback, headers=member).status_code == 403
    assert client.get("/api/v1/import/runs", headers=member).status_code == 403
    assert client.get("/api/v1/import/runs/1/rejects", headers=member).status_code == 403
    assert client.post("/api/v1/feedback", json=feedback, headers=h["manager"]).status_code == 200


def test_member_cannot_change_targets_or_stage_weights(client: TestClient, h: dict) -> None:
    target = {"indicator": "damage_rate", "target": 0.5, "amber": 1, "red": 2}
    for headers in (h["warehouse"], h["analyst"]):
        assert client.put("/api/v1/metrics/targets", json=target, headers=headers).status_code == 403
        weights = {"browsing": 0.25, "purchase": 0.25, "waiting": 0.25, "arrival": 0.25}
        assert client.put("/api/v1/metrics/stage-weights", json=weights, headers=headers).status_code == 403
    assert client.put("/api/v1/metrics/targets", json=target, headers=h["manager"]).status_code != 403


def test_metrics_api_keeps_members_to_their_department(client: TestClient, h: dict) -> None:
    member = h["warehouse"]
    for path in ("scorecards", "root-cause", "pareto", "overview", "indicators"):
        other = client.get(f"/api/v1/metrics/{path}", params={"department": "logistics"}, headers=member)
        assert other.status_code == 403, path
        assert client.get(f"/api/v1/metrics/{path}", headers=member).status_code == 200, path
    indicators = client.get("/api/v1/metrics/indicators", headers=member).json()
    assert indicators and {i["owner"] for i in indicators} == {"warehouse"}
    cards = client.get("/api/v1/metrics/scorecards", headers=member).json()
    assert [c["department"] for c in cards["departments"]] == ["warehouse"]
    from cxloop.taxonomy import aspects

    foreign = next(a for a, info in aspects().items() if info.department != "warehouse")
    assert client.get(f"/api/v1/metrics/pareto/{foreign}/items", headers=member).status_code == 403
    # the page of the same drill-down answers the same
    login(client, "warehouse", "warehouse-demo")
    assert client.get(f"/pareto/{foreign}").status_code == 403


def test_member_cannot_create_tasks_for_other_departments(client: TestClient, h: dict) -> None:
    task = {"title": "复盘", "department": "logistics"}
    assert client.post("/api/v1/loop/tasks", json=task, headers=h["warehouse"]).status_code == 403
    own = client.post("/api/v1/loop/tasks", json={**task, "department": "warehouse"}, headers=h["warehouse"])
    assert own.status_code == 201


def test_cases_are_scoped_to_the_department(client: TestClient, h: dict, shop: dict[str, int]) -> None:
    member = h["warehouse"]
    listed = client.get("/api/v1/loop/cases", headers=member).json()
    assert {c["department"] for c in listed} == {"warehouse"}
    other = shop["case_logistics"]
    assert client.get(f"/api/v1/loop/cases/{other}", headers=member).status_code == 403
    assert client.patch(f"/api/v1/loop/cases/{other}", json={"title": "x"}, headers=member).status_code == 403
    assert (
        client.post(f"/api/v1/loop/cases/{other}/steps/apologise", json={}, headers=member).status_code == 403
    )
    made = client.post("/api/v1/loop/cases", json={"title": "少发一件"}, headers=member)
    assert made.status_code == 201 and made.json()["department"] == "warehouse"
    assert (
        client.post(
            "/api/v1/loop/cases", json={"title": "x", "department": "logistics"}, headers=member
        ).status_code
        == 403
    )
    # pages agree
    login(client, "warehouse", "warehouse-demo")
    assert client.get(f"/cases/{other}").status_code == 403
    assert client.get(f"/cases/{shop['case_warehouse']}").status_code == 200
    assert "工单 logistics" not in client.get("/cases").text


def test_member_cannot_mark_a_task_verified(client: TestClient, h: dict, shop: dict[str, int]) -> None:
    task = shop["task_warehouse"]
    for status in ("in_progress", "done"):
        assert client.patch(
            f"/api/v1/loop/tasks/{task}", json={"status": status}, headers=h["warehouse"]
        ).is_success
    verified = client.patch(f"/api/v1/loop/tasks/{task}", json={"status": "verified"}, headers=h["warehouse"])
    assert verified.status_code == 403
    login(client, "warehouse", "warehouse-demo")
    page = client.get(f"/tasks/{task}")
    assert 'value="verified"' not in page.text
    token = csrf_from(page.text)
    posted = client.post(f"/tasks/{task}/update", data={"status": "verified", "csrf_token": token})
    assert posted.status_code == 403
    client.cookies.clear()  # a token client carries no cookie (with one, CSRF would be required)
    assert client.patch(
        f"/api/v1/loop/tasks/{task}", json={"status": "verified"}, headers=h["manager"]
    ).is_success


def test_analyst_gets_masked_contacts(client: TestClient, h: dict) -> None:
    masked = client.get("/api/v1/customers/C1", headers=h["analyst"]).json()
    assert masked["phone"] == "138****1234" and masked["wechat"] == "wx****"
    assert masked["email"] == "z***@example.com" and masked["name"] == "张**"
    assert client.get("/api/v1/customers/C1", headers=h["warehouse"]).json()["phone"] == "138****1234"
    full = client.get("/api/v1/customers/C1", headers=h["manager"]).json()
    assert full["phone"] == "13812341234" and full["wechat"] == "wxid_zhang123"


def test_rule_made_case_title_and_mail_subject_hide_contacts(sqlite_url: str, shop: dict[str, int]) -> None:
    with Session(get_engine(sqlite_url)) as db:
        item = FeedbackItem(
            external_id="F-pii",
            channel="review",
            text="请打13812341234，送到上海市浦东新区张杨路1500号，东西坏了",
            rating=1,
            occurred_at=now() - timedelta(hours=1),
        )
        db.add(item)
        db.commit()
        made = case_service.cases_from_feedback(db_session=db)
        assert len(made) == 1
        assert "13812341234" not in made[0].title and "张杨路1500号" not in made[0].title
        assert "138****1234" in made[0].title
        mails = list(db.scalars(select(Notification).where(Notification.channel == "email")))
        assert mails and all("13812341234" not in m.subject + m.body for m in mails)


def test_logout_ends_the_session_for_a_saved_cookie(client: TestClient) -> None:
    login(client, "manager", "manager-demo")
    saved = client.cookies[SESSION_COOKIE]
    assert client.get("/tasks", follow_redirects=False).status_code == 200
    token = csrf_from(client.get("/profile").text)
    assert client.post("/logout", data={"csrf_token": token}, follow_redirects=False).status_code == 303
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, saved)  # the attacker replays the cookie they copied
    again = client.get("/tasks", follow_redirects=False)
    assert again.status_code == 303 and again.headers["location"].startswith("/login")
    assert client.get("/api/v1/loop/tasks").status_code == 401


def test_password_change_and_deactivation_end_other_sessions(client: TestClient, sqlite_url: str) -> None:
    login(client, "analyst", "analyst-demo")
    saved = client.cookies[SESSION_COOKIE]
    with Session(get_engine(sqlite_url)) as db:
        user = service.get_user(db_session=db, username="analyst")
        assert user is not None
        service.update_user(db_session=db, user=user, active=False)
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, saved)
    assert client.get("/profile", follow_redirects=False).status_code == 303


def test_csrf_token_is_rotated_at_login(client: TestClient) -> None:
    from itsdangerous import TimestampSigner

    before = csrf_from(client.get("/login").text)
    login(client, "manager", "manager-demo")
    after = csrf_from(client.get("/profile").text)
    assert before != after
    # the token from before login no longer passes
    refused = client.post("/profile/language", data={"locale": "en", "csrf_token": before})
    assert refused.status_code == 403
    assert TimestampSigner  # the session stays a signed cookie holding only the session id and token
    assert CSRF_SESSION_KEY == "csrf"


def test_bearer_header_does_not_skip_csrf_on_a_cookie_session(client: TestClient) -> None:
    login(client, "manager", "manager-demo")
    bogus = {"Authorization": "Bearer nonsense"}
    page = client.post("/profile/language", data={"locale": "en"}, headers=bogus)
    assert page.status_code == 403
    api = client.post("/api/v1/loop/tasks", json={"title": "x", "department": "warehouse"}, headers=bogus)
    assert api.status_code == 403 and "CSRF" in api.text


def test_password_guessing_is_limited(client: TestClient) -> None:
    for _ in range(ratelimit.PER_USER.amount):
        wrong = client.post("/api/v1/auth/token", json={"username": "manager", "password": "guess-123"})
        assert wrong.status_code == 401
    blocked = client.post("/api/v1/auth/token", json={"username": "manager", "password": "manager-demo"})
    assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) > 0
    assert "too many" in blocked.json()["detail"]
    token = csrf_from(client.get("/login").text)
    page = client.post(
        "/login", data={"username": "manager", "password": "manager-demo", "csrf_token": token, "next": "/"}
    )
    assert page.status_code == 429 and "秒后再试" in page.text
    # another user from the same address is not locked out by these failures
    assert (
        client.post("/api/v1/auth/token", json={"username": "admin", "password": "admin-demo"}).status_code
        == 201
    )


def test_tokens_have_scopes_and_expiry(client: TestClient, sqlite_url: str) -> None:
    read_only = _bearer("manager", scopes=("read",))
    assert client.get("/api/v1/loop/tasks", headers=read_only).status_code == 200
    refused = client.post(
        "/api/v1/loop/tasks", json={"title": "x", "department": "warehouse"}, headers=read_only
    )
    assert refused.status_code == 403 and "read" in refused.json()["detail"]
    made = client.post(
        "/api/v1/auth/token",
        json={"username": "admin", "password": "admin-demo", "scopes": ["read"], "expires_days": 1},
    ).json()
    assert made["scopes"] == ["read"] and made["expires_at"]
    with Session(get_engine(sqlite_url)) as db:
        row = db.scalar(select(ApiToken).where(ApiToken.id == made["id"]))
        assert row is not None
        row.expires_at = datetime.now() - timedelta(seconds=1)
        db.commit()
    assert (
        client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {made['token']}"}).status_code == 401
    )
    bad = client.post(
        "/api/v1/auth/token", json={"username": "admin", "password": "admin-demo", "scopes": ["x"]}
    )
    assert bad.status_code == 400


@pytest.mark.parametrize("environment", ["prod", "staging", "PRODUCTION"])
def test_unknown_environment_is_refused(environment: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CXLOOP_ENVIRONMENT", environment)
    with pytest.raises(ValidationError, match="environment"):
        Settings()


@pytest.mark.parametrize("secret", ["", "x", "dev-insecure-secret-change-me", "a" * 31])
def test_production_refuses_weak_secrets(secret: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CXLOOP_ENVIRONMENT", "production")
    monkeypatch.setenv("CXLOOP_SECRET_KEY", secret)
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        Settings()
    monkeypatch.setenv("CXLOOP_SECRET_KEY", "k" * 32)
    assert Settings().environment == "production"
    get_settings.cache_clear()


def test_cli_actor_is_checked_by_the_policy(client: TestClient, shop: dict[str, int]) -> None:
    from cxloop.loop.cli import tasks_app as app

    runner = CliRunner()
    other = runner.invoke(app, ["comment", str(shop["task_logistics"]), "hi", "--actor", "warehouse"])
    assert other.exit_code == 1 and "403" in other.output
    own = runner.invoke(app, ["comment", str(shop["task_warehouse"]), "hi", "--actor", "warehouse"])
    assert own.exit_code == 0, own.output
    verify = runner.invoke(
        app, ["update", str(shop["task_warehouse"]), "--status", "verified", "--actor", "warehouse"]
    )
    assert verify.exit_code == 1 and "403" in verify.output


# --- section 4: users linked to people ------------------------------------------------------------------


def test_demo_accounts_are_linked_to_department_heads(sqlite_url: str, shop: dict[str, int]) -> None:
    with Session(get_engine(sqlite_url)) as db:
        people = {p.id: p.external_id for p in db.scalars(select(Person))}
        linked = {u.username: people.get(u.person_id or -1) for u in db.scalars(select(User))}
    assert linked["warehouse"] == "E001" and linked["manager"] == "E003"


def test_users_are_linked_by_email_and_by_hand(client: TestClient, h: dict, sqlite_url: str) -> None:
    made = client.post(
        "/api/v1/auth/users",
        json={"username": "li", "password": "li-secret-1", "email": "E002@staff.example.com"},
        headers=h["admin"],
    )
    assert made.status_code == 201 and made.json()["person"] == "E002"  # email match ignores case
    moved = client.patch("/api/v1/auth/users/li", json={"person": "E001"}, headers=h["admin"])
    assert moved.json()["person"] == "E001"
    assert (
        client.patch("/api/v1/auth/users/li", json={"person": "E999"}, headers=h["admin"]).status_code == 400
    )
    assert (
        client.patch("/api/v1/auth/users/li", json={"person": ""}, headers=h["admin"]).json()["person"]
        is None
    )
    # the users page links by hand and by email
    login(client, "admin", "admin-demo")
    page = client.get("/users")
    assert "E001" in page.text and "按邮箱关联员工" in page.text
    token = csrf_from(page.text)
    form = {"role": "analyst", "person": "E003", "active": "1", "csrf_token": token}
    assert client.post("/users/li", data=form, follow_redirects=False).status_code == 303
    assert client.get("/api/v1/auth/users/li", headers=h["admin"]).json()["person"] == "E003"
    linked = client.post("/users/link-by-email", data={"csrf_token": token}, follow_redirects=True)
    assert "已按邮箱关联" in linked.text


def test_cli_links_users(shop: dict[str, int]) -> None:
    from cxloop.auth.cli import app

    runner = CliRunner()
    made = runner.invoke(app, ["create", "zhao", "--password", "zhao-secret-1", "--person", "E002"])
    assert made.exit_code == 0 and "E002" in made.output
    assert runner.invoke(app, ["link", "zhao", "-"]).exit_code == 0
    assert runner.invoke(app, ["link", "zhao", "E999"]).exit_code == 1
    assert runner.invoke(app, ["link", "zhao", "E001"]).exit_code == 0
    listed = runner.invoke(app, ["list", "--json"])
    assert '"person": "E001"' in listed.output
    assert runner.invoke(app, ["link", "--by-email"]).exit_code == 0


def test_new_task_reaches_the_linked_users_inbox_and_the_mail_file(
    client: TestClient, h: dict, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cxloop.loop.notifications.service import deliver_pending, mail_folder

    monkeypatch.setenv("CXLOOP_MAIL_SINK", "file")
    get_settings.cache_clear()
    with Session(get_engine(sqlite_url)) as db:
        head = db.scalar(select(Person).where(Person.external_id == "E001"))
        assert head is not None
        head_id = head.id
    made = client.post(
        "/api/v1/loop/tasks",
        json={"title": "补强包装 13812341234", "department": "warehouse", "assignee_id": head_id},
        headers=h["manager"],
    )
    assert made.status_code == 201
    inbox = client.get("/api/v1/loop/inbox", headers=h["warehouse"]).json()
    assert any("补强包装" in m["subject"] for m in inbox)
    assert all("13812341234" not in m["subject"] for m in inbox)
    report = deliver_pending()
    assert report.sent >= 1 and not report.errors
    files = sorted(mail_folder().glob("*.eml"))
    assert files
    mail = message_from_bytes(files[-1].read_bytes(), policy=default_policy)
    assert mail["To"] == "e001@staff.example.com" and "补强包装" in str(mail["Subject"])
