"""Orders, their lines and events, dimensions and survey answers."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from cxloop.db import Base
from cxloop.imports.service import import_file, import_rows

from .conftest import table_rows, write_csv


def test_orders_link_feedback_that_named_them(db_session: Session, tmp_files: Path) -> None:
    import_rows(
        db_session=db_session,
        kind="feedback",
        rows=[{"id": "F1", "channel": "review", "text": "慢", "occurred_at": "2026-11-22", "order": "O1"}],
    )
    import_rows(
        db_session=db_session,
        kind="survey_responses",
        rows=[{"id": "S1", "kind": "nps", "score": 3, "responded_at": "2026-11-22", "order": "O1"}],
    )
    orders = write_csv(
        tmp_files / "orders.csv",
        [
            "订单号,customer,warehouse,carrier,下单时间,total_amount,damaged",
            "O1,C1,WH-SH,SF,2026-11-20 09:00,¥1,299.00,否",
            "O2,C2,WH-SH,SF,2026/11/21 10:00,88,是",
        ],
    )
    # "¥1,299.00" splits into two cells in this hand-written CSV: quote it as a real export would.
    orders.write_text(orders.read_text().replace("¥1,299.00", '"¥1,299.00"'))
    summary = import_file(db_session=db_session, kind="orders", path=orders)
    assert (summary.inserted, summary.rejected) == (2, 0)
    got = table_rows(db_session, "orders", "external_id", "total_amount", "currency", "damaged", "status")
    assert [(r[0], float(r[1]), r[2], r[3], r[4]) for r in got] == [
        ("O1", 1299.0, "CNY", False, "placed"),
        ("O2", 88.0, "CNY", True, "placed"),
    ]
    order_id = table_rows(db_session, "orders", "id", "external_id")[0][0]
    assert table_rows(db_session, "feedback_items", "order_ref", "order_id") == [("O1", order_id)]
    assert table_rows(db_session, "survey_responses", "order_ref", "order_id") == [("O1", order_id)]
    assert [r[0] for r in table_rows(db_session, "warehouses", "external_id")] == ["WH-SH"]


def test_order_events_update_the_order_and_are_idempotent(db_session: Session, tmp_files: Path) -> None:
    import_rows(db_session=db_session, kind="orders", rows=[{"id": "O1", "placed_at": "2026-11-20 09:00"}])
    events = write_csv(
        tmp_files / "events.csv",
        [
            "order,kind,occurred_at,location",
            "O1,paid,2026-11-20 09:05,",
            "O1,拣货,2026-11-20 15:00,上海仓",
            "O1,delivered,2026-11-22 10:00,",
            "O1,damaged,2026-11-22 10:00,",
            "O9,paid,2026-11-20 09:05,",
        ],
    )
    first = import_file(db_session=db_session, kind="order_events", path=events)
    assert (first.inserted, first.rejected) == (4, 1)
    assert first.errors[0]["message"] == (
        "row 6, column order: unknown order 'O9' "
        "(expected the id of an order imported before (import the orders file first))"
    )
    again = import_file(db_session=db_session, kind="order_events", path=events)
    assert (again.inserted, again.updated) == (0, 4)
    assert len(table_rows(db_session, "order_events", "id")) == 4
    order = table_rows(db_session, "orders", "paid_at", "picked_at", "delivered_at", "damaged", "status")
    assert order == [
        (
            datetime(2026, 11, 20, 9, 5),
            datetime(2026, 11, 20, 15),
            datetime(2026, 11, 22, 10),
            True,
            "delivered",
        )
    ]


def test_order_lines_upsert_on_order_and_line(db_session: Session, tmp_files: Path) -> None:
    import_rows(db_session=db_session, kind="orders", rows=[{"id": "O1", "placed_at": "2026-11-20"}])
    lines = write_csv(
        tmp_files / "lines.csv",
        ["order,line_no,product,quantity,stockout_qty", "O1,1,SKU1,2,0", "O1,2,SKU2,1,1", "O1,1,SKU1,3,0"],
    )
    first = import_file(db_session=db_session, kind="order_lines", path=lines)
    assert (first.inserted, first.rejected) == (2, 1)
    assert first.errors[0]["message"].startswith("row 4, column order, line_no: 'O1 / 1' repeats row 2")
    write_csv(lines, ["order,line_no,product,quantity", "O1,1,SKU1,5"])
    second = import_file(db_session=db_session, kind="order_lines", path=lines)
    assert (second.inserted, second.updated) == (0, 1)
    assert table_rows(db_session, "order_lines", "line_no", "quantity", "stockout_qty") == [
        (1, 5, 0),
        (2, 1, 1),
    ]


def test_people_departments_and_agent_shift(db_session: Session, tmp_files: Path) -> None:
    people = write_csv(
        tmp_files / "people.csv",
        ["工号,姓名,部门,班次,is_head", "A1,王芳,customer_service,早班,否", "A2,李雷,nowhere,晚班,否"],
    )
    summary = import_file(db_session=db_session, kind="people", path=people)
    assert summary.rejected == 1
    assert "column 部门: 'nowhere' is not a known department" in summary.errors[0]["message"]
    assert table_rows(db_session, "departments", "code", "name_zh") == [("customer_service", "客服部")]
    import_rows(
        db_session=db_session,
        kind="feedback",
        rows=[
            {"id": "C1", "channel": "在线客服", "occurred_at": "2026-11-22", "agent": "A1"},
            {"id": "C2", "channel": "chat", "occurred_at": "2026-11-22", "agent": "A1", "shift": "夜班"},
            {"id": "C3", "channel": "chat", "occurred_at": "2026-11-22", "agent": "A7"},
        ],
    )
    got = table_rows(db_session, "feedback_items", "external_id", "shift")
    assert got == [("C1", "早班"), ("C2", "夜班"), ("C3", None)]
    assert [r[0] for r in table_rows(db_session, "people", "external_id")] == ["A1", "A7"]


def test_survey_score_ranges_by_kind(db_session: Session) -> None:
    summary = import_rows(
        db_session=db_session,
        kind="survey_responses",
        rows=[
            {"id": "S1", "kind": "nps", "score": 10, "responded_at": "2026-11-22"},
            {"id": "S2", "kind": "csat", "score": 6, "responded_at": "2026-11-22"},
            {"id": "S3", "kind": "ces", "score": 7, "responded_at": "2026-11-22"},
        ],
    )
    assert (summary.inserted, summary.rejected) == (2, 1)
    assert summary.errors[0]["message"] == (
        "row 2, column score: 6 is out of range for a csat answer (expected a whole number from 1 to 5)"
    )


def test_survey_comments_become_feedback_once(db_session: Session) -> None:
    """A comment is analysed like any feedback: it is copied once, and re-imports update the copy."""
    answers = [
        {
            "id": "S1",
            "kind": "open",
            "comment": "快递太慢了",
            "responded_at": "2026-11-22 10:00",
            "order": "O1",
        },
        {"id": "S2", "kind": "nps", "score": 3, "comment": "客服不理人", "responded_at": "2026-11-22 10:01"},
        {"id": "S3", "kind": "csat", "score": 5, "comment": "  ", "responded_at": "2026-11-22 10:02"},
    ]
    import_rows(db_session=db_session, kind="survey_responses", rows=answers)
    items = table_rows(
        db_session, "feedback_items", "id", "external_id", "channel", "text", "occurred_at", "order_ref"
    )
    assert [r[1:] for r in items] == [
        ("survey:S1", "survey", "快递太慢了", datetime(2026, 11, 22, 10, 0), "O1"),
        ("survey:S2", "survey", "客服不理人", datetime(2026, 11, 22, 10, 1), None),
    ]
    ids = {r[1]: r[0] for r in items}
    assert table_rows(db_session, "survey_responses", "external_id", "feedback_id") == [
        ("S1", ids["survey:S1"]),
        ("S2", ids["survey:S2"]),
        ("S3", None),
    ]
    db_session.execute(Base.metadata.tables["feedback_items"].update().values(analysis_key="m|t"))
    db_session.commit()
    answers[1]["comment"] = "客服很耐心"
    again = import_rows(db_session=db_session, kind="survey_responses", rows=answers)
    assert (again.inserted, again.updated) == (0, 3)
    assert table_rows(db_session, "feedback_items", "external_id", "text", "analysis_key") == [
        ("survey:S1", "快递太慢了", "m|t"),  # unchanged words keep their analysis
        ("survey:S2", "客服很耐心", None),  # new words are analysed again
    ]


def test_customers_tier_aliases_and_reimport(db_session: Session, tmp_files: Path) -> None:
    path = write_csv(
        tmp_files / "c.csv", ["客户ID,name,tier,consent_marketing", "C1,张三,VIP,是", "C2,李四,老客,0"]
    )
    import_file(db_session=db_session, kind="customers", path=path)
    write_csv(path, ["客户ID,city", "C1,上海"])
    second = import_file(db_session=db_session, kind="customers", path=path)
    assert second.updated == 1
    # Columns the second file lacks are left as they were.
    assert table_rows(
        db_session, "customers", "external_id", "name", "tier", "consent_marketing", "city"
    ) == [
        ("C1", "张三", "vip", True, "上海"),
        ("C2", "李四", "returning", False, None),
    ]
