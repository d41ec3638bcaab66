"""Bad input at the API and the pages: a documented 4xx, never a 500 (issue 11, section 3)."""

from __future__ import annotations

import csv
import io
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from cxloop.app import create_app
from cxloop.auth import service as auth_service
from cxloop.db import get_engine
from cxloop.imports.service import import_file, import_rows
from cxloop.loop.models import Notification
from cxloop.loop.notifications import service as notify
from cxloop.web.tables import Column, Table, to_csv, to_xlsx
from tests.web.helpers import login


@pytest.fixture
def api(sqlite_url: str) -> Iterator[tuple[TestClient, dict[str, str]]]:
    with Session(get_engine(sqlite_url), expire_on_commit=False) as session:
        users = auth_service.create_demo_users(db_session=session)
        admin = next(u for u in users if u.role == "admin")
        secret = auth_service.create_token(db_session=session, user=admin, name="t").secret
    with TestClient(create_app(migrate_on_start=False)) as client:
        yield client, {"Authorization": f"Bearer {secret}"}


def test_integers_beyond_64_bits_are_422_on_every_route(api: tuple[TestClient, dict[str, str]]) -> None:
    client, h = api
    huge = str(2**64)
    assert client.get(f"/api/v1/import/runs/{huge}", headers=h).status_code == 422
    response = client.get(f"/api/v1/loop/cases/{huge}", headers=h)
    assert response.status_code == 422 and "out of range" in response.text
    assert client.get(f"/api/v1/import/runs?limit={huge}", headers=h).status_code == 422
    body = {"title": "t", "department": "warehouse", "assignee_id": 2**70}
    assert client.post("/api/v1/loop/tasks", json=body, headers=h).status_code in (400, 422)


def test_unknown_ids_are_refused_not_dangling(api: tuple[TestClient, dict[str, str]]) -> None:
    client, h = api
    for field in ("assignee_id", "feedback_id", "customer_id", "order_id"):
        response = client.post("/api/v1/loop/cases", json={"title": "x", field: 424242}, headers=h)
        assert response.status_code in (400, 422), (field, response.text)
        assert f"unknown {field}" in response.text
    response = client.post(
        "/api/v1/loop/tasks", json={"title": "t", "department": "warehouse", "assignee_id": 424242}, headers=h
    )
    assert response.status_code in (400, 422) and "unknown assignee_id" in response.text


def test_month_13_on_pages_is_a_4xx(api: tuple[TestClient, dict[str, str]]) -> None:
    client, _ = api
    login(client, "admin", "admin-demo")
    for path in ("/", "/pareto"):
        response = client.get(f"{path}?month=2026-13", follow_redirects=False)
        assert response.status_code == 400, (path, response.status_code)
        assert client.get(f"{path}?month=2026-12", follow_redirects=False).status_code == 200


def test_timestamps_carry_their_offset(api: tuple[TestClient, dict[str, str]]) -> None:
    client, h = api
    runs = client.get("/api/v1/auth/tokens", headers=h).json()
    assert runs and runs[0]["created_at"].endswith("+08:00")


def test_export_headers_are_escaped_like_cells() -> None:
    table = Table(
        key="t",
        title="t",
        columns=[Column("a", '=HYPERLINK("http://x")'), Column("b", "@SUM(1)")],
        rows=[{"a": "=1+1", "b": "ok"}],
    )
    header = next(csv.reader(io.StringIO(to_csv(table).decode("utf-8-sig"))))
    assert header == ['\'=HYPERLINK("http://x")', "'@SUM(1)"]
    sheet = load_workbook(io.BytesIO(to_xlsx(table))).active
    assert sheet is not None and sheet["A1"].value.startswith("'") and sheet["B1"].value.startswith("'")


def test_titles_with_line_breaks_still_mail(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    received: list[str] = []

    class Inbox:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            received.append(envelope.content.decode("utf-8", "replace"))
            return "250 OK"

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    controller = Controller(Inbox(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        monkeypatch.setenv("CXLOOP_SMTP_PORT", str(port))
        from cxloop.config import get_settings

        get_settings.cache_clear()
        task = type("T", (), {"title": "破损\r\nBcc: x@evil.example\u2028第二行", "id": 1})()
        subject, body = notify.render(event="task_created", locale="zh", context={"task": task, "name": "王"})
        assert "\n" not in subject and "\u2028" not in subject and "破损" in subject
        assert body.lstrip().startswith("王")
        with Session(get_engine(sqlite_url)) as session:
            notify.enqueue(
                db_session=session,
                channel="email",
                event="test",
                subject="标题\r\n第二行\u2028第三行",
                body="b",
                recipient="a@example.com",
            )
            session.commit()
        notify.deliver_pending()
        with Session(get_engine(sqlite_url)) as session:
            assert session.scalars(select(Notification.status)).all() == ["sent"]
        assert len(received) == 1 and "Bcc" not in received[0].split("\n\n", 1)[0].replace("Subject", "")
    finally:
        controller.stop()


def test_two_concurrent_writers_wait_instead_of_failing(sqlite_url: str, tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    lines = ["id,channel,text,occurred_at"] + [f"F{n},review,好,2026-11-22 10:00" for n in range(20_000)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    errors: list[BaseException] = []

    def file_import() -> None:
        try:
            with Session(get_engine(sqlite_url), expire_on_commit=False) as session:
                import_file(db_session=session, kind="feedback", path=path)
        except BaseException as exc:  # reported below
            errors.append(exc)

    def api_writes() -> None:
        try:
            for n in range(30):
                with Session(get_engine(sqlite_url), expire_on_commit=False) as session:
                    rows = [{"id": f"A{n}", "channel": "chat", "occurred_at": "2026-11-22 11:00"}]
                    import_rows(db_session=session, kind="feedback", rows=rows)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=file_import), threading.Thread(target=api_writes)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with get_engine(sqlite_url).connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM feedback_items")).scalar() == 20_030


def test_a_one_row_departments_import_has_no_follow_up(db_session: Session, tmp_path: Path) -> None:
    from cxloop.pipeline import follow_up_import

    path = tmp_path / "d.csv"
    path.write_text("code,name_zh\nwarehouse,仓储部\n", encoding="utf-8")
    summary = import_file(db_session=db_session, kind="departments", path=path)
    assert summary.stored == 1 and not summary.touches_history and summary.earliest is None
    assert follow_up_import(db_session=db_session, summary=summary) is None  # no indicator recomputed


def test_a_300_character_upload_name_is_stored_shortened(api: tuple[TestClient, dict[str, str]]) -> None:
    client, h = api
    name = "评价导出" * 75 + ".csv"
    body = "id,channel,text,occurred_at\nF1,review,好,2026-11-22 10:00\n".encode()
    response = client.post("/api/v1/import/feedback", files={"file": (name, body, "text/csv")}, headers=h)
    assert response.status_code == 200, response.text
    assert response.json()["inserted"] == 1 and len(response.json()["source"]) <= 80
