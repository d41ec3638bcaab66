"""Journeys over the API, the pages and the CLI: list with figures, detail, editing, the event endpoint."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from cxloop.app import create_app
from cxloop.auth import service as auth_service
from cxloop.cli import app as cli_app
from cxloop.customers.models import Customer
from cxloop.db import get_engine
from cxloop.journeys.models import JourneyRun
from tests.web.helpers import csrf_from, login


@pytest.fixture
def client(sqlite_url: str) -> Iterator[tuple[TestClient, dict[str, dict[str, str]]]]:
    headers = {}
    with Session(get_engine(sqlite_url), expire_on_commit=False) as session:
        for user in auth_service.create_demo_users(db_session=session):
            secret = auth_service.create_token(db_session=session, user=user, name="t").secret
            headers[user.username] = {"Authorization": f"Bearer {secret}"}
        session.add(Customer(external_id="C1", name="张三", phone="13800000001"))
        session.commit()
    with TestClient(create_app(migrate_on_start=False)) as c:
        yield c, headers


def test_api_list_detail_edit_and_events(client: tuple[TestClient, dict[str, dict[str, str]]]) -> None:
    c, h = client
    listed = c.get("/api/v1/journeys", headers=h["analyst"]).json()
    assert "unpaid_reminder" in {j["key"] for j in listed}
    detail = c.get("/api/v1/journeys/chat_reask", headers=h["analyst"]).json()
    assert detail["definition"]["trigger"]["event"] == "chat.awaiting_reply" and "wait" in detail["yaml"]
    bad = c.put(
        "/api/v1/journeys/chat_reask",
        json={"yaml": detail["yaml"].replace("chat_reask\n", "chat_reasks\n", 1)},
        headers=h["manager"],
    )
    assert bad.status_code == 422 and bad.json()["detail"]["problems"]
    broken = detail["yaml"].replace("send: chat_reask", "send: {template: chat_reask, colour: red}")
    refused = c.put("/api/v1/journeys/chat_reask", json={"yaml": broken}, headers=h["manager"])
    assert refused.status_code == 422 and "colour" in str(refused.json())
    assert (
        c.put("/api/v1/journeys/chat_reask", json={"yaml": detail["yaml"]}, headers=h["analyst"]).status_code
        == 403
    )
    saved = c.put(
        "/api/v1/journeys/chat_reask",
        json={"yaml": detail["yaml"].replace("5 minutes", "6 minutes")},
        headers=h["manager"],
    )
    assert saved.status_code == 200 and saved.json()["version"] == 2
    event = {
        "kind": "chat.awaiting_reply",
        "customer": "C1",
        "ref": "chat:77",
        "payload": {"question": "尺码？"},
    }
    assert c.post("/api/v1/journeys/events", json=event, headers=h["manager"]).status_code == 202
    assert (
        c.post("/api/v1/journeys/events", json=event, headers=h["manager"]).status_code == 202
    )  # repeat-safe
    assert (
        c.post("/api/v1/journeys/events", json={**event, "kind": "nope"}, headers=h["manager"]).status_code
        == 422
    )
    assert (
        c.post("/api/v1/journeys/events", json={**event, "customer": "X"}, headers=h["manager"]).status_code
        == 404
    )
    with Session(get_engine()) as s:
        runs = list(s.scalars(select(JourneyRun).where(JourneyRun.journey_key == "chat_reask")))
    assert len(runs) == 1 and runs[0].status == "waiting"
    assert c.post("/api/v1/journeys/chat_reask/disable", headers=h["manager"]).json()["enabled"] is False


def test_pages_list_detail_and_refused_edit(client: tuple[TestClient, dict[str, dict[str, str]]]) -> None:
    c, _ = client
    login(c, "manager", "manager-demo")
    page = c.get("/journeys")
    assert page.status_code == 200 and "未支付订单提醒" in page.text
    detail = c.get("/journeys/unpaid_reminder")
    assert (
        detail.status_code == 200 and "unpaid_reminder.new" in detail.text and "24 小时内支付" in detail.text
    )
    token = csrf_from(detail.text)
    refused = c.post(
        "/journeys/unpaid_reminder", data={"csrf_token": token, "yaml": "key: unpaid_reminder\ntrigger: x\n"}
    )
    assert refused.status_code == 422 and "unknown trigger" in refused.text


def test_cli_load_refuses_whole_file_and_simulates(sqlite_url: str, tmp_path: Path) -> None:
    runner = CliRunner()
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "journeys:\n- key: ok_one\n  trigger: {event: order.paid}\n  steps: [{tag: paid}]\n"
        "- key: bad_one\n  trigger: {event: order.teleported}\n  steps: [{tag: x}]\n",
        encoding="utf-8",
    )
    result = runner.invoke(cli_app, ["journeys", "load", str(bad)])
    # Rich wraps long paths at the terminal width (80 columns without a terminal): read it unwrapped.
    output = result.output.replace("\n", "")
    assert result.exit_code == 2 and "bad.yaml:6" in output and "order.teleported" in output
    listed = runner.invoke(cli_app, ["journeys", "list", "--format", "json"])
    assert "ok_one" not in listed.output and "unpaid_reminder" in listed.output
    good = tmp_path / "good.yaml"
    good.write_text("key: ok_one\ntrigger: {event: order.paid}\nsteps: [{tag: paid}]\n", encoding="utf-8")
    assert runner.invoke(cli_app, ["journeys", "load", str(good)]).exit_code == 0
    sim = runner.invoke(
        cli_app,
        [
            "journeys",
            "simulate",
            "unpaid_reminder",
            "--from",
            "2026-11-01",
            "--to",
            "2026-11-30",
            "--format",
            "json",
        ],
    )
    assert sim.exit_code == 0, sim.output
    assert '"entered": 0' in sim.output
