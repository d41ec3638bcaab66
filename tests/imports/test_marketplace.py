"""A marketplace export shaped like the real ones: date-only promises, status cancellations, another
time zone, reused review ids. The files and mappings are the docs' example (docs/imports.md)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from cxloop.imports.service import MappingError, import_file, load_mapping

from .conftest import table_rows, write_csv

_DOCS = Path(__file__).parents[2] / "docs" / "imports.md"


def _example(tmp_files: Path) -> dict[str, Path]:
    section = _DOCS.read_text(encoding="utf-8").split("### Full example: a marketplace export", 1)[1]
    section = section.split("\n## ", 1)[0]
    blocks = [b.split("```", 1)[0] for b in section.split("```csv\n")[1:]]
    yamls = [b.split("```", 1)[0] for b in section.split("```yaml\n")[1:]]
    files = {}
    for name, text in zip(("orders", "reviews"), blocks, strict=True):
        files[name] = tmp_files / f"{name}.csv"
        files[name].write_text(text, encoding="utf-8")
    for name, text in zip(("orders.yaml", "reviews.yaml"), yamls, strict=True):
        files[name] = tmp_files / name
        files[name].write_text(text, encoding="utf-8")
    return files


def test_marketplace_orders_and_reviews(db_session: Session, tmp_files: Path) -> None:
    files = _example(tmp_files)
    summary = import_file(
        db_session=db_session, kind="orders", path=files["orders"], mapping=load_mapping(files["orders.yaml"])
    )
    assert (summary.inserted, summary.rejected) == (5, 0), summary.errors
    got = {
        r[0]: r[1:]
        for r in table_rows(
            db_session,
            "orders",
            "external_id",
            "status",
            "placed_at",
            "delivered_at",
            "promised_delivery_at",
            "cancelled_at",
            "picked_at",
        )
    }
    end_of_14th_in_sao_paulo = datetime(2018, 3, 15, 10, 59, 59, 999999)
    # Delivered on the promised day (São Paulo time): before the promise, so on time.
    assert got["o-1001"] == (
        "delivered",
        datetime(2018, 3, 8, 21, 15),
        datetime(2018, 3, 15, 5, 30),
        end_of_14th_in_sao_paulo,
        None,
        None,
    )
    assert got["o-1001"][2] <= got["o-1001"][3]
    # Cancellations from the status column, timed at the last moment the row knows.
    assert got["o-1002"][0] == "canceled" and got["o-1002"][4] == datetime(2018, 3, 10, 20, 5)
    assert got["o-1004"][4] == datetime(2018, 3, 11, 20, 20)
    # Still in transit: neither delivered nor cancelled.
    assert got["o-1003"][2] is None and got["o-1003"][4] is None
    assert got["o-1005"][2] > got["o-1005"][3]  # late

    summary = import_file(
        db_session=db_session,
        kind="feedback",
        path=files["reviews"],
        mapping=load_mapping(files["reviews.yaml"]),
    )
    assert (summary.inserted, summary.rejected) == (2, 0), summary.errors
    reviews = table_rows(db_session, "feedback_items", "external_id", "order_ref", "rating", "occurred_at")
    assert reviews == [
        ("rv-1/o-1001", "o-1001", 5, datetime(2018, 3, 15, 11, 0)),
        ("rv-1/o-1005", "o-1005", 1, datetime(2018, 3, 17, 11, 0)),
    ]
    # Importing both files again changes nothing and adds nothing.
    again = import_file(
        db_session=db_session,
        kind="feedback",
        path=files["reviews"],
        mapping=load_mapping(files["reviews.yaml"]),
    )
    assert (again.inserted, again.updated) == (0, 2)


def test_composite_id_with_an_empty_part_is_a_row_error(db_session: Session, tmp_files: Path) -> None:
    path = write_csv(
        tmp_files / "r.csv",
        ["review_id,order_id,score,at", "rv-1,o-1,5,2018-03-15", "rv-2,,4,2018-03-15"],
    )
    mapping = tmp_files / "m.yaml"
    mapping.write_text(
        "kind: feedback\ncolumns: {id: [review_id, order_id], rating: score, occurred_at: at}\n"
        "constants: {channel: review}\n",
        encoding="utf-8",
    )
    summary = import_file(db_session=db_session, kind="feedback", path=path, mapping=load_mapping(mapping))
    assert (summary.inserted, summary.rejected) == (1, 1)
    assert summary.errors[0]["row"] == 3 and summary.errors[0]["column"] == "review_id+order_id"


def test_end_of_day_for_any_date_column_and_mapping_checks(db_session: Session, tmp_files: Path) -> None:
    path = write_csv(
        tmp_files / "o.csv", ["id,placed_at,shipped_at,status", "o1,2026-03-01 10:00,2026-03-02,x"]
    )
    mapping = tmp_files / "m.yaml"
    mapping.write_text("end_of_day: [shipped_at]\n", encoding="utf-8")
    import_file(db_session=db_session, kind="orders", path=path, mapping=load_mapping(mapping))
    assert table_rows(db_session, "orders", "shipped_at") == [(datetime(2026, 3, 2, 23, 59, 59, 999999),)]
    mapping.write_text("status: {canceled: status}\n", encoding="utf-8")
    with pytest.raises(MappingError, match="not a date field"):
        import_file(db_session=db_session, kind="orders", path=path, mapping=load_mapping(mapping))
