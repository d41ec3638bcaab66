"""Bad input is a clear refusal or a rejected row, never a traceback, and a refused file stores nothing."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
import typer
from fastapi import FastAPI
from fastapi.testclient import TestClient
from openpyxl import Workbook
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from cxloop.feedback.views import router as feedback_router
from cxloop.imports.models import ImportRun
from cxloop.imports.service import (
    ImportRefused,
    import_file,
    load_mapping,
    mark_stale_runs,
    safe_upload_name,
)
from cxloop.imports.views import router
from tests.auth.helpers import act_as

from .conftest import FEEDBACK_HEADER, table_rows, write_csv


def _feedback_line(n: int, text: str = "物流很快，包装完好") -> str:
    return f"F{n},review,{text},5,2026-11-22 10:56,C{n % 50},O{n}"


def test_a_bad_byte_after_the_first_megabyte_refuses_the_whole_file(
    db_session: Session, tmp_files: Path
) -> None:
    lines = [FEEDBACK_HEADER] + [_feedback_line(n, "物流很快，包装完好" * 2) for n in range(1, 12_052)]
    good = ("\r\n".join(lines) + "\r\n").encode("utf-8")
    assert len(good) > 1 << 20  # detection only samples the first megabyte
    path = tmp_files / "mixed.csv"
    path.write_bytes(good + _feedback_line(99_999, "质量很差").encode("gbk") + b"\r\n")
    with pytest.raises(ImportRefused) as refused:
        import_file(db_session=db_session, kind="feedback", path=path)
    assert "line 12053" in refused.value.message and "nothing was imported" in refused.value.message
    assert table_rows(db_session, "feedback_items", "id") == []  # all or nothing: not 10,000 of them
    run = db_session.query(ImportRun).one()
    assert run.status == "failed" and run.inserted == 0


def test_jsonl_bad_byte_late_deep_nesting_and_lone_surrogates(db_session: Session, tmp_files: Path) -> None:
    item = {"id": "F1", "channel": "review", "text": "好", "occurred_at": "2026-11-22 10:56"}
    path = tmp_files / "late.jsonl"
    body = "".join(json.dumps({**item, "id": f"F{n}"}, ensure_ascii=False) + "\n" for n in range(40_000))
    path.write_bytes(body.encode("utf-8") + b'{"id": "\xff"}\n')
    with pytest.raises(ImportRefused, match="line 40001"):
        import_file(db_session=db_session, kind="feedback", path=path)
    assert table_rows(db_session, "feedback_items", "id") == []

    path = tmp_files / "odd.jsonl"
    lines = [
        json.dumps(item),
        "[" * 100_000 + "]" * 100_000,
        json.dumps({**item, "id": "F2", "text": "a\ud800b"}),  # written as the escape \\ud800
        json.dumps({**item, "id": "F3", "text": ["nested"]}),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    summary = import_file(db_session=db_session, kind="feedback", path=path)
    assert (summary.inserted, summary.rejected) == (1, 3)
    messages = {e["row"]: e["message"] for e in summary.errors}
    assert "nested too deeply" in messages[2]
    assert "unpaired surrogate" in messages[3] and messages[3].startswith("row 3, column text")
    assert "not a text value" in messages[4]
    assert summary.rejects_path is not None
    rejects = Path(summary.rejects_path).read_text(encoding="utf-8")  # valid UTF-8, the escape kept
    assert "\\ud800" in rejects


def test_lone_surrogate_through_the_cli_and_the_api(db_session: Session, tmp_files: Path) -> None:
    path = tmp_files / "s.jsonl"
    path.write_text(
        '{"id": "F1", "channel": "review", "text": "\\ud800", "occurred_at": "2026-11-22"}\n',
        encoding="utf-8",
    )
    from cxloop.imports.cli import import_command

    cli = typer.Typer()
    cli.command()(import_command)
    result = CliRunner().invoke(cli, ["feedback", str(path), "--no-follow-up", "--quiet"])
    assert result.exit_code == 0, result.output
    assert result.exception is None
    app = FastAPI()
    app.include_router(router, prefix="/api/v1")
    app.include_router(feedback_router, prefix="/api/v1")  # GET /feedback
    act_as(app, "admin")
    client = TestClient(app)
    response = client.post(
        "/api/v1/feedback",
        content=b'{"id": "F9", "channel": "review", "text": "x\\ud800", "occurred_at": "2026-11-22T10:00:00+08:00"}',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 422
    assert "surrogate" in response.json()["errors"][0]["message"]
    assert table_rows(db_session, "feedback_items", "external_id") == []


def test_a_workbook_with_a_dtd_is_refused(db_session: Session, tmp_files: Path) -> None:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["id", "channel", "occurred_at"])
    ws.append(["F1", "review", "2026-11-22"])
    buffer = io.BytesIO()
    wb.save(buffer)
    path = tmp_files / "dtd.xlsx"
    with zipfile.ZipFile(buffer) as src, zipfile.ZipFile(path, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = b'<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>' + data
            dst.writestr(info, data)
    with pytest.raises(ImportRefused, match="DTD"):
        import_file(db_session=db_session, kind="feedback", path=path)


def test_encoding_doubts_are_reported(db_session: Session, tmp_files: Path) -> None:
    path = tmp_files / "latin1.csv"
    lines = [FEEDBACK_HEADER] + [
        f"F{n},review,Très bon café, livré en avance ½ heure ¼ ¾ þ ð,5,2026-11-22 10:56,C1,O1"
        for n in range(30)
    ]
    write_csv(path, lines, encoding="latin-1")
    summary = import_file(db_session=db_session, kind="feedback", path=path)
    assert summary.warnings and "encoding was guessed" in summary.warnings[0]["message"]
    assert db_session.get(ImportRun, summary.run_id).warnings == summary.warnings  # type: ignore[union-attr]

    path = tmp_files / "sjis.csv"
    write_csv(
        path,
        [FEEDBACK_HEADER]
        + [
            f"S{n},review,配送がとても遅かったです。箱も潰れていました。,2,2026-11-22 10:56,C1,O1"
            for n in range(30)
        ],
        encoding="shift_jis",
    )
    summary = import_file(db_session=db_session, kind="feedback", path=path)
    assert summary.warnings, "a Shift-JIS file read as GB18030 must not pass silently"

    path = tmp_files / "utf8.csv"
    write_csv(path, [FEEDBACK_HEADER, _feedback_line(1)])
    assert import_file(db_session=db_session, kind="feedback", path=path).warnings == []


def test_duplicate_headers_are_refused_naming_them(db_session: Session, tmp_files: Path) -> None:
    path = write_csv(
        tmp_files / "dup.csv", ["id,channel,text,Text,occurred_at", "F1,review,a,b,2026-11-22 10:00"]
    )
    with pytest.raises(ImportRefused) as refused:
        import_file(db_session=db_session, kind="feedback", path=path)
    assert "'text' in columns 3, 4" in refused.value.message
    assert table_rows(db_session, "feedback_items", "id") == []
    # Repeated columns that no field reads are ignored like any unknown column.
    path = write_csv(
        tmp_files / "notes.csv", ["id,channel,备注,备注,occurred_at", "F1,review,a,b,2026-11-22 10:00"]
    )
    assert import_file(db_session=db_session, kind="feedback", path=path).inserted == 1


def test_reject_rows_are_editor_lines_and_rejects_keep_title_rows(
    db_session: Session, tmp_files: Path
) -> None:
    path = write_csv(
        tmp_files / "export.csv",
        [
            "店铺评价导出 2026-11",
            "评价编号,渠道,内容,时间",
            'R1,review,"第一行\n第二行\n第三行",2026-11-22 10:00',
            "R2,review,好,not a date",
        ],
    )
    mapping = tmp_files / "m.yaml"
    mapping.write_text(
        "skip_rows: 1\ncolumns:\n  id: 评价编号\n  channel: 渠道\n  text: 内容\n  occurred_at: 时间\n",
        encoding="utf-8",
    )
    summary = import_file(db_session=db_session, kind="feedback", path=path, mapping=load_mapping(mapping))
    assert (summary.inserted, summary.rejected) == (1, 1)
    assert summary.errors[0]["row"] == 6  # the line a text editor shows: the quoted cell spans 3 lines
    assert summary.rejects_path is not None
    rejects = Path(summary.rejects_path).read_text(encoding="utf-8-sig").splitlines()
    assert rejects[0] == "店铺评价导出 2026-11"
    # The fixed rejects file goes back in with the same mapping.
    fixed = (
        Path(summary.rejects_path).read_text(encoding="utf-8-sig").replace("not a date", "2026-11-23 09:00")
    )
    again = tmp_files / "fixed.csv"
    again.write_text(fixed, encoding="utf-8-sig")
    summary = import_file(db_session=db_session, kind="feedback", path=again, mapping=load_mapping(mapping))
    assert (summary.inserted, summary.rejected) == (1, 0), summary.errors


def test_numbers_beyond_64_bits_are_row_errors(db_session: Session, tmp_files: Path) -> None:
    path = write_csv(
        tmp_files / "lines.csv",
        ["id,name,price", f"P1,杯子,{10**20}", "P2,壶,12.5"],
    )
    summary = import_file(db_session=db_session, kind="products", path=path)
    assert (summary.inserted, summary.rejected) == (1, 1)
    assert summary.errors[0]["column"] == "price"


def test_long_upload_names_are_shortened() -> None:
    name = safe_upload_name("评" * 300 + ".csv")
    assert name.endswith(".csv") and len(name.encode("utf-8")) < 255
    assert safe_upload_name("../../etc/passwd") == "passwd"


def test_a_killed_import_is_marked_stale(db_session: Session, tmp_files: Path) -> None:
    lines = [FEEDBACK_HEADER] + [_feedback_line(n) for n in range(1, 400_000)]
    path = write_csv(tmp_files / "big.csv", lines)
    url = str(db_session.get_bind().url.render_as_string(hide_password=False))
    env = {**os.environ, "CXLOOP_DATABASE_URL": url, "CXLOOP_IMPORT_BATCH_SIZE": "1000"}
    child = subprocess.Popen(
        [sys.executable, "-m", "cxloop.cli", "import", "feedback", str(path), "--no-follow-up", "-q"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            db_session.expire_all()
            run = db_session.query(ImportRun).one_or_none()
            if run is not None and run.inserted > 0:
                break
            time.sleep(0.2)
        else:
            pytest.fail("the child import never committed a batch")
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    db_session.expire_all()
    assert db_session.query(ImportRun).one().status == "running"  # nobody told it
    assert mark_stale_runs(db_session=db_session) == [run.id]
    db_session.expire_all()
    stale = db_session.query(ImportRun).one()
    assert stale.status == "stale" and "import the file again" in (stale.error or "")
