"""File imports: encodings, formats, refusals, row errors, rejects, idempotency."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import text
from sqlalchemy.orm import Session

from cxloop.config import get_settings
from cxloop.imports.readers import ImportRefused
from cxloop.imports.service import import_file

from .conftest import FEEDBACK_HEADER, rows, table_rows, write_csv


def _feedback(session: Session) -> list[tuple[str, str, str]]:
    return [
        (r[0], r[1], r[2])
        for r in rows(session, "SELECT external_id, channel, text FROM feedback_items ORDER BY external_id")
    ]


def test_gbk_csv_with_chinese_text(db_session: Session, tmp_files: Path) -> None:
    path = write_csv(
        tmp_files / "gbk.csv",
        [
            "评价ID,渠道,评价内容,评分,评价时间,客户ID,订单号",
            "G1,评价,物流太慢了，包装也破损了,2,2026-11-22 10:56,C1,O1",
            "G2,在线客服,客服态度很好，问题很快解决,5,2026/11/22 11:00,C2,",
        ],
        encoding="gbk",
    )
    summary = import_file(db_session=db_session, kind="feedback", path=path)
    assert (summary.inserted, summary.rejected) == (2, 0)
    assert _feedback(db_session) == [
        ("G1", "review", "物流太慢了，包装也破损了"),
        ("G2", "chat", "客服态度很好，问题很快解决"),
    ]
    assert rows(db_session, "SELECT order_ref, order_id FROM feedback_items WHERE external_id = 'G1'") == [
        ("O1", None)
    ]


def test_big5_csv_keeps_traditional_chinese(db_session: Session, tmp_files: Path) -> None:
    path = write_csv(
        tmp_files / "big5.csv",
        [
            FEEDBACK_HEADER,
            "B1,review,物流太慢了，包裝也破損了，還會再買嗎？,2,2026-11-22 10:56,,",
            "B2,chat,客服態度很好,5,2026-11-22,,",
        ],
        encoding="big5",
    )
    summary = import_file(db_session=db_session, kind="feedback", path=path)
    assert summary.rejected == 0
    assert _feedback(db_session) == [
        ("B1", "review", "物流太慢了，包裝也破損了，還會再買嗎？"),
        ("B2", "chat", "客服態度很好"),
    ]


def test_utf8_bom_csv(db_session: Session, tmp_files: Path) -> None:
    path = write_csv(
        tmp_files / "bom.csv", [FEEDBACK_HEADER, "U1,app,很好用,5,2026-11-22T10:56:00+08:00,,"], "utf-8-sig"
    )
    summary = import_file(db_session=db_session, kind="feedback", path=path)
    assert (summary.inserted, summary.rejected) == (1, 0)  # the BOM did not spoil the "id" header
    assert _feedback(db_session) == [("U1", "app", "很好用")]


def test_xlsx_with_native_dates_and_numbers(db_session: Session, tmp_files: Path) -> None:
    wb = Workbook()
    ws = wb.active
    ws.append(["id", "channel", "text", "rating", "occurred_at"])
    ws.append([10023, "评价", "不错", 4, datetime(2026, 11, 22, 10, 56)])
    ws.append(["X2", "call", "电话投诉", "1", 46348.45])
    ws.append(["X3", "call", "坏日期", 1, "someday"])
    path = tmp_files / "fb.xlsx"
    wb.save(path)
    summary = import_file(db_session=db_session, kind="feedback", path=path)
    assert (summary.inserted, summary.rejected) == (2, 1)
    assert summary.errors[0]["message"].startswith("row 4, column occurred_at: 'someday' is not a date")
    got = table_rows(
        db_session, "feedback_items", "external_id", "rating", "occurred_at", order_by="external_id"
    )
    assert [(r[0], r[1]) for r in got] == [("10023", 4), ("X2", 1)]
    assert got[0][2] == datetime(2026, 11, 22, 10, 56) and got[1][2] == datetime(2026, 11, 22, 10, 48)
    # XLSX stays XLSX: the rejects file opens in Excel with the original cells and an error column.
    assert summary.rejects_path is not None and summary.rejects_path.endswith(".xlsx")
    rejected = list(load_workbook(summary.rejects_path).active.values)
    assert rejected[0] == ("id", "channel", "text", "rating", "occurred_at", "error")
    assert rejected[1][:5] == ("X3", "call", "坏日期", 1, "someday")


def test_missing_required_column_refuses_the_file(db_session: Session, tmp_files: Path) -> None:
    path = write_csv(tmp_files / "nochan.csv", ["id,text,rating", "F1,好,5"])
    with pytest.raises(ImportRefused) as refused:
        import_file(db_session=db_session, kind="feedback", path=path)
    assert refused.value.message == (
        "missing required column(s): channel, occurred_at (columns found: id, text, rating)"
    )
    assert "缺少必需的列：channel、occurred_at" in refused.value.message_zh
    assert _feedback(db_session) == []
    assert rows(db_session, "SELECT status FROM import_runs") == [("failed",)]


def test_bad_date_in_row_7_keeps_every_good_row(db_session: Session, tmp_files: Path) -> None:
    lines = [FEEDBACK_HEADER] + [f"F{i},review,第{i}条,5,2026-11-{10 + i} 10:00,," for i in range(2, 12)]
    lines[6] = "F7,review,第7条,5,2026-13-45,,"  # lines[0] is the header (row 1), so this is row 7
    path = write_csv(tmp_files / "dates.csv", lines)
    summary = import_file(db_session=db_session, kind="feedback", path=path)
    assert (summary.rows_total, summary.inserted, summary.rejected) == (10, 9, 1)
    assert summary.errors == [
        {
            "row": 7,
            "column": "occurred_at",
            "field": "occurred_at",
            "value": "2026-13-45",
            "expected": "e.g. 2026-11-22 10:56, 2026/11/22, an Excel serial or epoch seconds",
            "message": "row 7, column occurred_at: '2026-13-45' is not a date "
            "(expected e.g. 2026-11-22 10:56, 2026/11/22, an Excel serial or epoch seconds)",
            "message_zh": "第 7 行，列 occurred_at：'2026-13-45' 不是日期"
            "（应为：如 2026-11-22 10:56、2026/11/22、Excel 日期序号或 Unix 时间戳（秒））",
        }
    ]
    assert len(_feedback(db_session)) == 9
    stored = rows(db_session, "SELECT row_number, errors FROM import_rejects")
    assert stored[0][0] == 7
    errors = stored[0][1] if isinstance(stored[0][1], list) else json.loads(stored[0][1])
    assert errors[0]["column"] == "occurred_at"


def test_repeated_id_names_the_earlier_row(db_session: Session, tmp_files: Path) -> None:
    path = write_csv(
        tmp_files / "dup.csv",
        [
            FEEDBACK_HEADER,
            "F-1,review,a,5,2026-11-22,,",
            "F-100,review,b,5,2026-11-22,,",
            "F-2,review,c,5,2026-11-22,,",
            "F-100,review,d,4,2026-11-22,,",
        ],
    )
    summary = import_file(db_session=db_session, kind="feedback", path=path)
    assert summary.rejected == 1
    assert summary.errors[0]["message"] == (
        "row 5, column id: 'F-100' repeats row 3 (expected each record once per file)"
    )
    assert [r[2] for r in _feedback(db_session)] == ["a", "b", "c"]  # the first one wins


def test_empty_file_and_header_only(db_session: Session, tmp_files: Path) -> None:
    empty = tmp_files / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(ImportRefused, match=r"^file is empty$"):
        import_file(db_session=db_session, kind="feedback", path=empty)
    header_only = write_csv(tmp_files / "header.csv", [FEEDBACK_HEADER])
    with pytest.raises(ImportRefused, match=r"^no data rows"):
        import_file(db_session=db_session, kind="feedback", path=header_only)


def test_reimport_updates_never_duplicates(db_session: Session, tmp_files: Path) -> None:
    path = write_csv(
        tmp_files / "fb.csv",
        [FEEDBACK_HEADER, "F1,review,旧的,2,2026-11-22,,", "F2,review,不变,5,2026-11-22,,"],
    )
    first = import_file(db_session=db_session, kind="feedback", path=path)
    assert (first.inserted, first.updated) == (2, 0)
    db_session.execute(text("UPDATE feedback_items SET analysis_key = 'm1|t1', sentiment = 'negative'"))
    db_session.commit()
    write_csv(
        path,
        [
            FEEDBACK_HEADER,
            "F1,review,新的,1,2026-11-22,,",
            "F2,review,不变,4,2026-11-22,,",
            "F3,chat,新增,3,2026-11-22,,",
        ],
    )
    second = import_file(db_session=db_session, kind="feedback", path=path)
    assert (second.inserted, second.updated, second.rejected) == (1, 2, 0)
    got = rows(
        db_session,
        "SELECT external_id, text, rating, analysis_key, sentiment FROM feedback_items ORDER BY external_id",
    )
    # Changed text needs a new analysis; an unchanged one keeps its analysis.
    assert got == [
        ("F1", "新的", 1, None, "negative"),
        ("F2", "不变", 4, "m1|t1", "negative"),
        ("F3", "新增", 3, None, None),
    ]


def test_rejects_file_fixed_and_imported_again(db_session: Session, tmp_files: Path) -> None:
    path = write_csv(
        tmp_files / "fb.csv",
        [
            FEEDBACK_HEADER,
            "F1,review,好,5,2026-11-22,,",
            "F2,reveiw,差,1,2026-11-22,,",
            "F3,review,中,3,22/11/2026,,",
        ],
        encoding="gbk",
    )
    summary = import_file(db_session=db_session, kind="feedback", path=path)
    assert summary.rejected == 2
    rejects = Path(summary.rejects_path or "")
    assert rejects.parent == get_settings().data_dir / "rejects"
    content = rejects.read_bytes()
    assert content.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM so Excel shows the Chinese
    lines = content.decode("utf-8-sig").splitlines()
    assert lines[0] == FEEDBACK_HEADER + ",error"
    assert lines[1].startswith("F2,reveiw,差,1,2026-11-22,,,")
    fixed = [lines[0], lines[1].replace("reveiw", "review"), lines[2].replace("22/11/2026", "2026-11-22")]
    rejects.write_text("\r\n".join(fixed) + "\r\n", encoding="utf-8-sig")
    again = import_file(db_session=db_session, kind="feedback", path=rejects)
    assert (again.inserted, again.updated, again.rejected) == (2, 0, 0)
    assert [r[0] for r in _feedback(db_session)] == ["F1", "F2", "F3"]


def test_rejected_again_keeps_one_error_column(db_session: Session, tmp_files: Path) -> None:
    path = write_csv(tmp_files / "fb.csv", [FEEDBACK_HEADER, "F2,nope,差,1,2026-11-22,,"])
    first = import_file(db_session=db_session, kind="feedback", path=path)
    second = import_file(db_session=db_session, kind="feedback", path=Path(first.rejects_path or ""))
    header = Path(second.rejects_path or "").read_text(encoding="utf-8-sig").splitlines()[0]
    assert header == FEEDBACK_HEADER + ",error"


def test_jsonl_rows_and_line_numbers(db_session: Session, tmp_files: Path) -> None:
    path = tmp_files / "fb.jsonl"
    items = [
        {"id": "J1", "channel": "social", "text": "微博吐槽", "occurred_at": "2026-11-22T02:56:00Z"},
        {"id": "J2", "channel": "social", "text": "x", "occurred_at": 1763780160},
    ]
    path.write_text(
        json.dumps(items[0], ensure_ascii=False) + "\n\n" + json.dumps(items[1]) + "\n{oops\n",
        encoding="utf-8",
    )
    summary = import_file(db_session=db_session, kind="feedback", path=path)
    assert (summary.inserted, summary.rejected) == (2, 1)
    assert summary.errors[0]["row"] == 4 and summary.errors[0]["message"].startswith("row 4: ")
    got = table_rows(db_session, "feedback_items", "external_id", "occurred_at", order_by="external_id")
    assert got[0][1] == datetime(2026, 11, 22, 10, 56)  # UTC converted to Asia/Shanghai
    assert got[1][1] == datetime(2025, 11, 22, 10, 56)  # epoch seconds are UTC instants
    assert Path(summary.rejects_path or "").read_text(encoding="utf-8").count("\n") == 1


def test_tsv_and_format_override(db_session: Session, tmp_files: Path) -> None:
    path = tmp_files / "export.txt"
    path.write_text("id\tname\nS1\t供应商甲\n", encoding="utf-8")
    summary = import_file(db_session=db_session, kind="suppliers", path=path, fmt="tsv")
    assert summary.inserted == 1
    assert rows(db_session, "SELECT external_id, name FROM suppliers") == [("S1", "供应商甲")]


def test_unknown_extension_is_refused(db_session: Session, tmp_files: Path) -> None:
    path = tmp_files / "data.bin"
    path.write_text("id\n1\n")
    with pytest.raises(ImportRefused, match="cannot tell the format"):
        import_file(db_session=db_session, kind="suppliers", path=path)
