"""Mapping files and every accepted date shape."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session

from cxloop.imports.parse import DateParser, ValueProblem
from cxloop.imports.service import MappingError, import_file, load_mapping

from .conftest import table_rows, write_csv

SH = ZoneInfo("Asia/Shanghai")

TAOBAO_MAPPING = """\
kind: feedback
columns: {id: 评价编号, text: 评价内容, occurred_at: 评价时间, rating: 星级, order: 订单编号}
constants: {channel: review, brand: OWN}
values: {rating: {"好评": 5, "中评": 3, "差评": 1}}
date_formats: {occurred_at: "%Y年%m月%d日 %H:%M"}
timezone: Asia/Shanghai
skip_rows: 1
"""


def test_mapping_renames_constants_values_and_date_formats(db_session: Session, tmp_files: Path) -> None:
    mapping_path = tmp_files / "taobao.yaml"
    mapping_path.write_text(TAOBAO_MAPPING, encoding="utf-8")
    path = write_csv(
        tmp_files / "taobao.csv",
        [
            "淘宝评价导出 2026-11",
            "评价编号,订单编号,评价内容,星级,评价时间,买家昵称",
            "T1,O9,宝贝很好,好评,2026年11月22日 10:56,小王",
            "T2,,一般般,中评,2026年11月21日 09:05,小李",
            "T3,,太差了,差评,2026年13月21日 09:05,小张",
        ],
    )
    summary = import_file(
        db_session=db_session, kind="feedback", path=path, mapping=load_mapping(mapping_path)
    )
    assert (summary.inserted, summary.rejected) == (2, 1)
    # Row numbers count the skipped title line: the header is row 2, T3 is row 5.
    assert summary.errors[0]["row"] == 5 and summary.errors[0]["column"] == "评价时间"
    got = table_rows(
        db_session, "feedback_items", "external_id", "channel", "rating", "occurred_at", "order_ref", "author"
    )
    assert got == [
        ("T1", "review", 5, datetime(2026, 11, 22, 10, 56), "O9", "小王"),
        ("T2", "review", 3, datetime(2026, 11, 21, 9, 5), None, "小李"),
    ]
    brands = table_rows(db_session, "brands", "external_id", "name")
    assert brands == [("OWN", "OWN")]  # an inferred brand, named after its id until brands are imported


def test_mapping_timezone_converts_naive_times(db_session: Session, tmp_files: Path) -> None:
    mapping_path = tmp_files / "utc.yaml"
    mapping_path.write_text("timezone: UTC\nconstants: {channel: app}\n", encoding="utf-8")
    path = write_csv(tmp_files / "utc.csv", ["id,text,occurred_at", "A1,hi,2026-11-22 02:56"])
    import_file(db_session=db_session, kind="feedback", path=path, mapping=load_mapping(mapping_path))
    assert table_rows(db_session, "feedback_items", "occurred_at") == [(datetime(2026, 11, 22, 10, 56),)]


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ("colums: {}", "unknown key(s) colums"),
        ("columns: {nope: x}", "mapping columns: nope is not a field of feedback"),
        ("columns: {text: 内容列}", "the mapping maps text to column '内容列', which the file does not have"),
        ("constants: {rating: 9}", "mapping constants.rating: 9 is out of range"),
        ("kind: orders", "the mapping is for kind 'orders', not 'feedback'"),
        ("timezone: Mars/Base", "unknown timezone 'Mars/Base'"),
    ],
)
def test_bad_mappings_are_refused(db_session: Session, tmp_files: Path, yaml_text: str, message: str) -> None:
    mapping_path = tmp_files / "m.yaml"
    mapping_path.write_text(yaml_text, encoding="utf-8")
    path = write_csv(tmp_files / "f.csv", ["id,channel,text,occurred_at", "A1,app,hi,2026-11-22"])
    with pytest.raises(MappingError) as refused:
        import_file(db_session=db_session, kind="feedback", path=path, mapping=load_mapping(mapping_path))
    assert message in refused.value.message


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026-11-22T10:56:00", datetime(2026, 11, 22, 10, 56)),
        ("2026-11-22 10:56", datetime(2026, 11, 22, 10, 56)),
        ("2026-11-22T02:56:00Z", datetime(2026, 11, 22, 10, 56)),
        ("2026-11-22T10:56:00+08:00", datetime(2026, 11, 22, 10, 56)),
        ("2026-11-21T21:56:00-05:00", datetime(2026, 11, 22, 10, 56)),
        ("2026/11/22 10:56", datetime(2026, 11, 22, 10, 56)),
        ("2026/1/5 9:05", datetime(2026, 1, 5, 9, 5)),
        ("2026-11-22", datetime(2026, 11, 22)),
        ("11/22/2026 10:56", datetime(2026, 11, 22, 10, 56)),
        ("2026年11月22日 10:56", datetime(2026, 11, 22, 10, 56)),
        ("2026年11月22日", datetime(2026, 11, 22)),
        ("46348.45", datetime(2026, 11, 22, 10, 48)),
        ("1763780160", datetime(2025, 11, 22, 10, 56)),
        ("1763780160000", datetime(2025, 11, 22, 10, 56)),
        (46348.45, datetime(2026, 11, 22, 10, 48)),
        (1763780160, datetime(2025, 11, 22, 10, 56)),
        (datetime(2026, 11, 22, 10, 56), datetime(2026, 11, 22, 10, 56)),
        (date(2026, 11, 22), datetime(2026, 11, 22)),
        ("  ", None),
    ],
)
def test_each_date_format(raw: object, expected: datetime | None) -> None:
    assert DateParser(SH)(raw) == expected


def test_date_parser_remembers_the_format_and_switches_back() -> None:
    parse = DateParser(SH)
    assert parse("2026/11/22 10:56") == datetime(2026, 11, 22, 10, 56)
    assert parse("2026/11/23 08:00") == datetime(2026, 11, 23, 8)
    assert parse("2026-11-24") == datetime(2026, 11, 24)


@pytest.mark.parametrize("raw", ["2026-13-45", "someday", "22/11/2026", "12345", True])
def test_not_a_date(raw: object) -> None:
    with pytest.raises(ValueProblem) as problem:
        DateParser(SH)(raw)
    assert problem.value.problem == "is not a date"


def test_explicit_date_format_and_source_zone() -> None:
    parse = DateParser(SH, ZoneInfo("Europe/Berlin"), "%d.%m.%Y %H:%M")
    assert parse("22.11.2026 03:56") == datetime(2026, 11, 22, 10, 56)


def test_the_taobao_example_of_the_docs(db_session: Session, tmp_files: Path) -> None:
    docs = (Path(__file__).parents[2] / "docs" / "imports.md").read_text(encoding="utf-8")
    section = docs.split("### Full example: a Taobao-like review export", 1)[1]
    export = section.split("```csv\n", 1)[1].split("```", 1)[0]
    mapping = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    path = tmp_files / "taobao.csv"
    path.write_bytes(export.encode("gbk"))
    (tmp_files / "taobao.yaml").write_text(mapping, encoding="utf-8")
    summary = import_file(
        db_session=db_session, kind="feedback", path=path, mapping=load_mapping(tmp_files / "taobao.yaml")
    )
    assert (summary.inserted, summary.rejected) == (2, 0), summary.errors
    got = table_rows(
        db_session, "feedback_items", "external_id", "rating", "order_ref", "touchpoint", "author"
    )
    assert got == [
        ("TB-90001", 3, "3120001", "arrival", "t**1"),
        ("TB-90002", 1, "3120002", "arrival", "小**王"),
    ]
