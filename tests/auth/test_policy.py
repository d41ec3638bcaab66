"""Every door locked the same way: each route of the app × each role × own/other department.

The routes are read from the router (cxloop.auth.policy.route_table), so a route added by any domain
is covered without touching this file; a route that declares no policy fails
``test_every_route_declares_a_policy``. Each request really goes through the app (middleware, session,
CSRF, the route's dependencies); the database session is rolled back after each request, so allowed
changes leave nothing behind.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from cxloop.app import create_app
from cxloop.auth.models import ROLES, User
from cxloop.auth.policy import (
    GRANTS,
    SCOPES,
    DeclaredRoute,
    decide,
    department_filter,
    mask_email,
    mask_name,
    mask_phone,
    redact_text,
    route_table,
    undeclared_routes,
)
from cxloop.auth.service import create_demo_users
from cxloop.db import get_engine
from cxloop.deps import get_db_session
from cxloop.web.setup import SESSION_COOKIE
from tests.web.helpers import csrf_from, login

OWN, OTHER = "warehouse", "logistics"
PASSWORDS = {"admin": "admin-demo", "cx_manager": "manager-demo", "department_member": "warehouse-demo"}
PASSWORDS["analyst"] = "analyst-demo"
USERNAMES = {
    "admin": "admin",
    "cx_manager": "manager",
    "department_member": "warehouse",
    "analyst": "analyst",
}
PARAM = re.compile(r"{(\w+)(?::\w+)?}")


# --- the policy itself --------------------------------------------------------------------------------


def test_every_route_declares_a_policy() -> None:
    assert undeclared_routes(create_app(migrate_on_start=False)) == []


def test_a_new_route_without_a_policy_is_caught() -> None:
    app = create_app(migrate_on_start=False)

    @app.get("/api/v1/brand-new")
    def brand_new() -> dict[str, str]:
        return {}

    app.add_route("/raw", lambda request: None)
    assert undeclared_routes(app) == ["GET /api/v1/brand-new", "* /raw"]


def test_decisions_of_the_table() -> None:
    """Spot checks that read like the issue: each line is one of the instances found."""
    assert not decide("department_member", "imports", "write", "none")
    assert not decide("department_member", "imports", "read", "none")  # rejects hold customers' rows
    assert not decide("department_member", "metrics", "configure", "own")  # targets, stage weights
    assert not decide("department_member", "metrics", "read", "other")
    assert decide("department_member", "metrics", "read", "own")
    assert not decide("department_member", "tasks", "write", "other")
    assert not decide("department_member", "cases", "read", "other")
    assert not decide("department_member", "tasks", "verify", "own")
    assert not decide("analyst", "customers", "contact", "other")
    assert not decide("analyst", "tasks", "write", "none")
    assert decide("cx_manager", "tasks", "verify", "other")
    assert decide("anonymous", "public", "use", "none")
    assert not decide("anonymous", "account", "use", "none")
    for resource, actions in GRANTS.items():
        for action, roles in actions.items():
            assert set(roles) <= {*ROLES, "anonymous"}, f"{resource}:{action} names an unknown role"


def test_member_without_department_sees_nothing() -> None:
    assert department_filter(User(role="department_member", department_id=None), "tasks") == ""
    assert department_filter(User(role="cx_manager"), "tasks") is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("手机13812341234到了", "手机138****1234到了"),
        ("电话 +86 138-1234-1234", "电话 138****1234"),
        ("座机 021-62345678", "座机 021****5678"),
        ("邮箱 zhang.san@qq.com 联系", "邮箱 z***@qq.com 联系"),
        ("邮箱li@x.com，尽快回复", "邮箱l***@x.com，尽快回复"),
        ("加我微信: wxid_abc12345 谢谢", "加我微信: wx**** 谢谢"),
        ("送到上海市浦东新区张杨路1500号3楼，快递员没来", "送到上海市浦东新区[地址]，快递员没来"),
        ("Ship to 221 Baker Street please", "Ship to [地址] please"),
        ("订单 20260812001 少发一件", "订单 20260812001 少发一件"),
    ],
)
def test_redact_text(text: str, expected: str) -> None:
    assert redact_text(text) == expected


def test_masks() -> None:
    assert mask_phone("13812341234") == "138****1234"
    assert mask_email("li@example.com") == "l***@example.com"
    assert mask_name("张三丰") == "张**"
    assert mask_phone(None) is None


# --- every route × role × department, through the real app --------------------------------------------


@dataclass
class Fixture:
    """Objects in the caller's own and another department, to fill path parameters with."""

    tasks: dict[str, int]
    cases: dict[str, int]
    indicators: dict[str, str]
    aspects: dict[str, str]


@dataclass
class Caller:
    """A logged-in browser of one role: its session cookie and CSRF token."""

    cookie: str
    csrf: str


def _prepare(db_session: Session) -> Fixture:
    from cxloop.loop.cases import service as case_service
    from cxloop.loop.tasks import service as task_service
    from cxloop.metrics.registry import registry
    from cxloop.org.models import Department
    from cxloop.taxonomy import aspects

    db_session.add(Department(code=OTHER, name_zh="物流部", name_en="Logistics"))
    db_session.commit()
    create_demo_users(db_session=db_session)
    tasks, cases = {}, {}
    for scope, department in (("own", OWN), ("other", OTHER)):
        tasks[scope] = task_service.create_task(
            db_session=db_session, title=f"task {department}", department=department, actor="test"
        ).id
        cases[scope] = case_service.create_case(
            db_session=db_session, title=f"case {department}", department=department, actor="test"
        ).id
    db_session.commit()

    def first_indicator(owner: str) -> str:
        return next(code for code, i in registry().items() if i.owner == owner)

    def first_aspect(department: str) -> str:
        return next(a for a, info in aspects().items() if info.department == department)

    return Fixture(
        tasks=tasks,
        cases=cases,
        indicators={"own": first_indicator(OWN), "other": first_indicator(OTHER)},
        aspects={"own": first_aspect(OWN), "other": first_aspect(OTHER)},
    )


def _rollback_only(sqlite_url: str) -> Iterator[Session]:
    """Like get_db_session, but nothing is ever committed: every request's changes are undone."""
    session = Session(get_engine(sqlite_url))
    session.commit = session.flush  # type: ignore[method-assign]
    try:
        yield session
    finally:
        session.rollback()
        session.close()


def _fill(path: str, scope: str, data: Fixture) -> str:
    department = OWN if scope == "own" else OTHER

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "task_id":
            return str(data.tasks[scope])
        if name == "case_id":
            return str(data.cases[scope])
        if name == "aspect":
            return data.aspects[scope]
        if name == "code" and "/indicators/" in path:
            return data.indicators[scope]
        if name == "code" and path.startswith("/departments/"):
            return department
        return "999999"  # any other object: absent, so an allowed call ends in 404/422, never a change

    return PARAM.sub(value, path)


def _call(
    client: TestClient, route: DeclaredRoute, scope: str, caller: Caller, data: Fixture
) -> tuple[int, bool]:
    """The status of one request, and whether it was let through (not 401, 403 or sent to log in)."""
    department = OWN if scope == "own" else OTHER
    method = route.methods[0]
    url = _fill(route.path, scope, data)
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, caller.cookie)
    kwargs: dict[str, object] = {"params": {"department": department}, "follow_redirects": False}
    if method not in ("GET", "HEAD", "OPTIONS"):
        kwargs["headers"] = {"X-CSRF-Token": caller.csrf}
        if route.is_api:
            kwargs["json"] = {"department": department}
        else:
            kwargs["data"] = {"department": department, "csrf_token": caller.csrf}
    response = client.request(method, url, **kwargs)  # type: ignore[arg-type]
    to_login = response.status_code == 303 and response.headers.get("location", "").startswith("/login?next=")
    return response.status_code, response.status_code not in (401, 403) and not to_login


@pytest.fixture
def probe(sqlite_url: str) -> Iterator[tuple[FastAPI, TestClient, Fixture, dict[str, Caller]]]:
    """The app on a fresh database with the demo users logged in, one browser session per role."""
    from cxloop.auth import ratelimit

    ratelimit.reset()
    with Session(get_engine(sqlite_url)) as session:
        data = _prepare(session)
    app = create_app(migrate_on_start=False)
    client = TestClient(app, raise_server_exceptions=False)
    callers = {}
    for role in ROLES:
        client.cookies.clear()
        login(client, USERNAMES[role], PASSWORDS[role])
        callers[role] = Caller(client.cookies[SESSION_COOKIE], csrf_from(client.get("/profile").text))
    client.cookies.clear()
    anonymous_csrf = csrf_from(client.get("/login").text)
    callers["anonymous"] = Caller(client.cookies[SESSION_COOKIE], anonymous_csrf)
    app.dependency_overrides[get_db_session] = lambda: (yield from _rollback_only(sqlite_url))
    yield app, client, data, callers
    ratelimit.reset()


def test_every_route_every_role_every_department(
    probe: tuple[FastAPI, TestClient, Fixture, dict[str, Caller]],
) -> None:
    app, client, data, callers = probe
    routes, _ = route_table(app)
    problems: list[str] = []
    denied: dict[str, int] = defaultdict(int)
    # question -> door ("api"/"page") -> observed answers per role and scope
    doors: dict[tuple[tuple[str, ...], bool], dict[str, set[tuple[tuple[str, str, bool], ...]]]] = (
        defaultdict(lambda: defaultdict(set))
    )
    for route in routes:
        scoped = any(p.scoped for p in route.policies)
        answers = []
        for role in (*ROLES, "anonymous"):
            for scope in ("own", "other") if scoped else ("own",):
                status, passed = _call(client, route, scope, callers[role], data)
                label = f"{route.methods[0]} {route.path} as {role} ({scope}): {status}"
                if status >= 500:
                    problems.append(f"{label} server error")
                    continue
                allowed = route.decide(role, scope if role == "department_member" else "none")
                if role == "anonymous" and not allowed:
                    if passed or status != (401 if route.is_api else 303):
                        problems.append(f"{label}, expected 401 (API) or a login redirect (page)")
                elif allowed and not passed:
                    problems.append(f"{label}, but the policy allows it")
                elif not allowed and status != 403:
                    problems.append(f"{label}, but the policy forbids it (expected 403)")
                answers.append((role, scope, passed))
                denied[role] += not passed
        # The question a route asks: its resources and actions, and whether a department is named.
        question = (tuple(sorted({f"{p.resource}:{p.action}" for p in route.policies})), scoped)
        doors[question]["api" if route.is_api else "page"].add(tuple(answers))
    assert not problems, "\n".join(problems)
    # The probe really met closed doors: members, analysts and nobody are refused often, admins never.
    assert denied["admin"] == 0
    assert min(denied["department_member"], denied["analyst"], denied["cx_manager"]) > 0
    assert denied["anonymous"] > len(routes) / 2
    shared = 0
    for key, by_door in doors.items():
        if "api" in by_door and "page" in by_door:
            shared += 1
            assert by_door["api"] == by_door["page"], f"pages and API answer {key} differently"
    assert shared >= 5, "pages and API should share the main resources"


def test_scopes_are_the_policy_scopes() -> None:
    assert SCOPES == ("none", "own", "other")
