"""The JSON API (through TestClient on an app built from the router) and the CLI command."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
import typer
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from cxloop.feedback.views import router as feedback_router
from cxloop.imports.cli import import_command
from cxloop.imports.views import router
from tests.auth.helpers import act_as

from .conftest import FEEDBACK_HEADER, table_rows, write_csv


@pytest.fixture
def client(db_session: Session) -> TestClient:
    app = FastAPI()
    app.include_router(router, prefix="/api/v1")
    app.include_router(feedback_router, prefix="/api/v1")  # GET /feedback
    act_as(app)
    return TestClient(app)


def test_json_feedback_wrong_types_is_422_naming_the_field(client: TestClient, db_session: Session) -> None:
    response = client.post(
        "/api/v1/feedback",
        json={"id": "F1", "channel": "review", "rating": "five", "occurred_at": "2026-11-22"},
    )
    assert response.status_code == 422
    fields = [tuple(e["loc"]) for e in response.json()["detail"]]
    assert any("rating" in loc for loc in fields)
    assert table_rows(db_session, "feedback_items", "id") == []


def test_json_feedback_redelivery_never_duplicates(client: TestClient, db_session: Session) -> None:
    item = {
        "id": "F1",
        "channel": "评价",
        "text": "還不錯",
        "rating": 4,
        "occurred_at": "2026-11-22T10:56:00+08:00",
    }
    first = client.post("/api/v1/feedback", json=[item, {**item, "id": "F2"}])
    assert first.status_code == 200 and first.json()["inserted"] == 2
    again = client.post("/api/v1/feedback", json=item)
    assert again.status_code == 200 and (again.json()["inserted"], again.json()["updated"]) == (0, 1)
    assert table_rows(db_session, "feedback_items", "external_id", "channel", "text") == [
        ("F1", "review", "還不錯"),
        ("F2", "review", "還不錯"),
    ]


def test_json_order_event_for_unknown_order_is_422(client: TestClient) -> None:
    response = client.post(
        "/api/v1/events/order", json={"order": "O9", "kind": "paid", "occurred_at": "2026-11-22"}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["message"].startswith("row 1, column order: unknown order 'O9'")


def test_json_customer_events(client: TestClient, db_session: Session) -> None:
    body = [{"id": "E1", "kind": "加购", "occurred_at": "2026-11-22 10:00", "customer": "C1", "load_ms": 900}]
    assert client.post("/api/v1/events/customer", json=body).status_code == 200
    assert client.post("/api/v1/events/customer", json=body).json()["updated"] == 1
    assert table_rows(db_session, "customer_events", "external_id", "kind", "load_ms") == [
        ("E1", "add_to_cart", 900)
    ]


def test_upload_endpoint_runs_the_job_and_serves_rejects(client: TestClient, tmp_files: Path) -> None:
    path = write_csv(
        tmp_files / "fb.csv",
        [FEEDBACK_HEADER, "F1,review,好,5,2026-11-22,,", "F2,review,坏,5,2026-13-45,,"],
        "gbk",
    )
    mapping = "constants: {brand: OWN}\n"
    with path.open("rb") as handle:
        response = client.post(
            "/api/v1/import/feedback",
            files={
                "file": ("反馈.csv", handle, "text/csv"),
                "mapping": ("m.yaml", mapping.encode(), "text/yaml"),
            },
        )
    assert response.status_code == 200, response.text
    summary = response.json()
    assert (summary["inserted"], summary["rejected"], summary["status"]) == (1, 1, "done")
    assert summary["errors"][0]["row"] == 3
    rejects = client.get(summary["rejects_url"])
    assert rejects.status_code == 200 and "2026-13-45" in rejects.content.decode("utf-8-sig")
    runs = client.get("/api/v1/import/runs").json()
    assert runs[0]["id"] == summary["run_id"] and runs[0]["rejected"] == 1
    assert client.get(f"/api/v1/import/runs/{summary['run_id']}").json()["inserted"] == 1


def test_an_upload_does_not_hold_up_other_requests(
    db_session: Session, tmp_files: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without a broker the import runs in-process, but off the event loop."""
    from cxloop import jobs

    started, release = threading.Event(), threading.Event()
    real_job = jobs.registered_jobs()["imports.run"]

    def held_job(*, run_id: int) -> None:
        started.set()
        release.wait(30)
        real_job(run_id=run_id)

    monkeypatch.setitem(jobs._REGISTRY, "imports.run", held_job)
    app = FastAPI()
    app.include_router(router, prefix="/api/v1")
    app.include_router(feedback_router, prefix="/api/v1")  # GET /feedback
    act_as(app)
    path = write_csv(tmp_files / "fb.csv", [FEEDBACK_HEADER, "F1,review,好,5,2026-11-22,,"])
    answers: dict[str, Any] = {}
    with TestClient(app) as client, path.open("rb") as handle:

        def upload() -> None:
            answers["upload"] = client.post("/api/v1/import/feedback", files={"file": ("fb.csv", handle)})

        uploading = threading.Thread(target=upload)
        uploading.start()
        assert started.wait(30)
        # Served while the import is still held: a blocked event loop would answer only after it.
        runs = client.get("/api/v1/import/runs").json()
        release.set()
        uploading.join(30)
    assert runs[0]["status"] != "done"
    assert answers["upload"].json()["inserted"] == 1


def test_upload_of_a_file_missing_a_column_is_refused(client: TestClient, tmp_files: Path) -> None:
    path = write_csv(tmp_files / "bad.csv", ["id,text", "F1,好"])
    with path.open("rb") as handle:
        response = client.post("/api/v1/import/feedback", files={"file": ("bad.csv", handle, "text/csv")})
    assert response.status_code == 422
    assert "missing required column(s): channel, occurred_at" in response.json()["detail"]["message"]
    assert client.post("/api/v1/import/nope", files={"file": ("x.csv", b"a\n1\n")}).status_code == 404


@pytest.fixture
def cli() -> typer.Typer:
    app = typer.Typer()
    app.command("import")(import_command)

    @app.callback()
    def main() -> None:
        """Root (so 'import' stays a sub-command, as in cxloop)."""

    return app


def test_cli_exit_codes_and_json(cli: typer.Typer, db_session: Session, tmp_files: Path) -> None:
    runner = CliRunner()
    good = write_csv(
        tmp_files / "fb.csv", [FEEDBACK_HEADER, "F1,review,好,5,2026-11-22,,", "F2,review,坏,5,nope,,"]
    )
    result = runner.invoke(cli, ["import", "feedback", str(good), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert (summary["inserted"], summary["rejected"]) == (1, 1)
    result = runner.invoke(cli, ["import", "feedback", str(good)], env={"CXLOOP_LOCALE": "en"})
    assert result.exit_code == 0
    assert "row 3, column occurred_at: 'nope' is not a date" in result.output
    assert "rejected 1" in result.output
    result = runner.invoke(cli, ["import", "feedback", str(good), "--quiet"], env={"CXLOOP_LOCALE": "zh"})
    assert "拒绝 1" in result.output and "不是日期" not in result.output
    missing = write_csv(tmp_files / "missing.csv", ["id,text", "F1,好"])
    assert runner.invoke(cli, ["import", "feedback", str(missing)]).exit_code == 1
    empty = tmp_files / "empty.csv"
    empty.write_bytes(b"")
    assert runner.invoke(cli, ["import", "feedback", str(empty)]).exit_code == 1
    assert runner.invoke(cli, ["import", "nope", str(good)]).exit_code == 2
    assert runner.invoke(cli, ["import", "feedback", str(tmp_files / "absent.csv")]).exit_code == 2
    bad_mapping = tmp_files / "m.yaml"
    bad_mapping.write_text("colums: {}\n")
    assert runner.invoke(cli, ["import", "feedback", str(good), "--mapping", str(bad_mapping)]).exit_code == 2
