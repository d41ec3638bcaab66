"""Messaging over the API and the pages: history, preview, sending by hand, the public unsubscribe page."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from cxloop.app import create_app
from cxloop.auth import service as auth_service
from cxloop.customers.models import Customer
from cxloop.db import get_engine
from cxloop.messaging import service
from tests.web.helpers import csrf_from, login


@pytest.fixture
def client(sqlite_url: str) -> Iterator[tuple[TestClient, dict[str, dict[str, str]]]]:
    headers = {}
    with Session(get_engine(sqlite_url), expire_on_commit=False) as session:
        for user in auth_service.create_demo_users(db_session=session):
            secret = auth_service.create_token(db_session=session, user=user, name="t").secret
            headers[user.username] = {"Authorization": f"Bearer {secret}"}
        session.add(
            Customer(external_id="C7", name="<b>王五</b>", email="w@example.com", consent_marketing=True)
        )
        session.commit()
    with TestClient(create_app(migrate_on_start=False)) as c:
        yield c, headers


def test_send_history_and_preview_over_the_api(client: tuple[TestClient, dict[str, dict[str, str]]]) -> None:
    c, h = client
    body = {"customer": "C7", "template": "messaging.test", "dedupe_key": "api-1"}
    assert c.post("/api/v1/messaging/messages", json=body, headers=h["analyst"]).status_code == 403
    sent = c.post("/api/v1/messaging/messages", json=body, headers=h["manager"])
    assert sent.status_code == 201 and sent.json()["status"] == "queued"
    again = c.post("/api/v1/messaging/messages", json=body, headers=h["manager"])
    assert again.json()["id"] == sent.json()["id"]
    bad = c.post(
        "/api/v1/messaging/messages",
        json={**body, "template": "nope", "dedupe_key": "api-2"},
        headers=h["manager"],
    )
    assert bad.status_code == 404 and "unknown message template" in bad.json()["detail"]
    history = c.get("/api/v1/messaging/customers/C7/messages", headers=h["manager"]).json()
    assert [m["template"] for m in history] == ["messaging.test"]
    preview = c.post(
        "/api/v1/messaging/preview", json={"template": "thank_you", "locale": "zh"}, headers=h["manager"]
    )
    assert "谨防诈骗" in preview.json()["body"]


def test_history_page_escapes_and_unsubscribe_page_works(
    client: tuple[TestClient, dict[str, dict[str, str]]],
) -> None:
    c, h = client
    c.post(
        "/api/v1/messaging/messages",
        json={"customer": "C7", "template": "messaging.test"},
        headers=h["manager"],
    )
    login(c, "manager", "manager-demo")
    page = c.get("/customers/C7/messages")
    assert page.status_code == 200 and "&lt;b&gt;王五" in page.text and "<b>王五" not in page.text
    assert c.get("/messages?status=queued").status_code == 200
    assert "谨防诈骗" in c.get("/messages/preview/thank_you").text
    c.post("/logout", data={"csrf_token": csrf_from(c.get("/messages").text)})
    public = TestClient(c.app)
    link = service.unsubscribe_link(1).split("/m/", 1)[1]
    ask = public.get(f"/m/{link}")
    assert ask.status_code == 200
    done = public.post(f"/m/{link}", data={"csrf_token": csrf_from(ask.text)})
    assert done.status_code == 200
    assert public.get("/m/unsubscribe/forged").status_code == 404
    with Session(get_engine()) as s:
        assert s.get(Customer, 1).unsubscribed_at is not None  # type: ignore[union-attr]
