"""Accounts: passwords, tokens, role rules of the API, first-run admin, demo users, the CLI."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from cxloop.app import create_app
from cxloop.auth import service
from cxloop.auth.models import ApiToken


def test_password_is_hashed_with_argon2(db_session: Session) -> None:
    user = service.create_user(db_session=db_session, username="li", password="secret-123", role="analyst")
    assert user.password_hash.startswith("$argon2id$")
    assert service.authenticate(db_session=db_session, username="li", password="secret-123") is not None
    assert service.authenticate(db_session=db_session, username="li", password="wrong-pass") is None
    assert service.authenticate(db_session=db_session, username="nobody", password="x") is None
    service.change_password(db_session=db_session, user=user, current="secret-123", new="another-456")
    assert service.authenticate(db_session=db_session, username="li", password="another-456") is not None
    with pytest.raises(service.AuthError):
        service.change_password(db_session=db_session, user=user, current="wrong", new="whatever-789")


def test_rules_for_new_users(db_session: Session) -> None:
    with pytest.raises(service.AuthError, match="at least"):
        service.create_user(db_session=db_session, username="a", password="short")
    with pytest.raises(service.AuthError, match="role"):
        service.create_user(db_session=db_session, username="a", password="long-enough", role="boss")
    with pytest.raises(service.AuthError, match="department"):
        service.create_user(
            db_session=db_session, username="a", password="long-enough", role="department_member"
        )


def test_token_is_stored_only_as_hash(db_session: Session) -> None:
    user = service.create_user(db_session=db_session, username="dev", password="secret-123")
    new = service.create_token(db_session=db_session, user=user, name="script")
    stored = db_session.get(ApiToken, new.token.id)
    assert stored is not None
    assert new.secret not in (stored.token_hash, stored.prefix)
    assert stored.token_hash == service.hash_token(new.secret)
    assert new.secret.startswith(stored.prefix)
    assert service.user_for_token(db_session=db_session, secret=new.secret) == user
    assert service.revoke_token(db_session=db_session, user=user, token_id=stored.id)
    assert service.user_for_token(db_session=db_session, secret=new.secret) is None


def test_default_admin_only_on_first_run(db_session: Session) -> None:
    admin, password = service.ensure_default_admin(db_session=db_session)
    assert admin.username == "admin" and admin.role == "admin" and password
    assert service.authenticate(db_session=db_session, username="admin", password=password) is not None
    again, none = service.ensure_default_admin(db_session=db_session)
    assert again.id == admin.id and none is None


def test_demo_users(db_session: Session) -> None:
    users = service.create_demo_users(db_session=db_session)
    assert [u.username for u in users] == ["admin", "manager", "warehouse", "analyst"]
    assert service.user_department_code(users[2]) == "warehouse"
    service.create_demo_users(db_session=db_session)  # running the demo twice is fine
    assert service.count_users(db_session=db_session) == 4


@pytest.fixture
def api(sqlite_url: str) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """A client and a bearer token per demo user."""
    from cxloop.db import get_engine

    tokens = {}
    with Session(get_engine(sqlite_url), expire_on_commit=False) as session:
        for user in service.create_demo_users(db_session=session):
            tokens[user.username] = service.create_token(db_session=session, user=user, name="t").secret
    with TestClient(create_app(migrate_on_start=False)) as client:
        yield client, tokens


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_token_exchange_and_me(api: tuple[TestClient, dict[str, str]]) -> None:
    client, _ = api
    assert client.post("/api/v1/auth/token", json={"username": "admin", "password": "bad"}).status_code == 401
    response = client.post("/api/v1/auth/token", json={"username": "manager", "password": "manager-demo"})
    assert response.status_code == 201
    me = client.get("/api/v1/auth/me", headers=_auth(response.json()["token"]))
    assert me.json()["username"] == "manager" and "password_hash" not in me.json()


def test_api_needs_authentication(api: tuple[TestClient, dict[str, str]]) -> None:
    client, tokens = api
    response = client.get("/api/v1/auth/me")
    assert response.status_code == 401 and response.json()["detail"]
    assert client.get("/api/v1/auth/me", headers=_auth("cxl_wrong")).status_code == 401
    assert client.get("/api/v1/auth/me", headers=_auth(tokens["analyst"])).status_code == 200


def test_role_rules(api: tuple[TestClient, dict[str, str]]) -> None:
    client, tokens = api
    body = {"username": "new", "password": "long-enough", "role": "analyst"}
    assert client.post("/api/v1/auth/users", json=body, headers=_auth(tokens["analyst"])).status_code == 403
    assert client.get("/api/v1/auth/users", headers=_auth(tokens["warehouse"])).status_code == 403
    assert client.get("/api/v1/auth/users", headers=_auth(tokens["manager"])).status_code == 403
    assert client.post("/api/v1/auth/users", json=body, headers=_auth(tokens["admin"])).status_code == 201
    patched = client.patch(
        "/api/v1/auth/users/new", json={"role": "cx_manager"}, headers=_auth(tokens["admin"])
    )
    assert patched.json()["role"] == "cx_manager"
    assert client.delete("/api/v1/auth/users/new", headers=_auth(tokens["admin"])).status_code == 204


def test_cli_create_list_token(sqlite_url: str) -> None:
    from cxloop.auth.cli import app

    runner = CliRunner()
    created = runner.invoke(app, ["create", "zhang", "--role", "cx_manager", "--password", "secret-123"])
    assert created.exit_code == 0, created.output
    listed = runner.invoke(app, ["list", "--json"])
    assert '"zhang"' in listed.output
    token = runner.invoke(app, ["token", "zhang"])
    assert token.exit_code == 0 and token.output.strip().startswith("cxl_")
    assert runner.invoke(app, ["set-password", "zhang", "--password", "x"]).exit_code == 1
    assert runner.invoke(app, ["set-password", "zhang", "--password", "new-secret-1"]).exit_code == 0
