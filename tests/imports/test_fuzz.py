"""Property-based fuzzing of the importers: whatever the bytes or values, an import either refuses the
file (storing nothing) or accounts for every row, and never raises anything else.

Derandomized with a bounded number of examples, so CI runs the same cases in a few seconds each.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cxloop.db import get_engine
from cxloop.feedback.models import FeedbackItem
from cxloop.imports.service import ImportRefused, import_file, import_rows

FUZZ = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
_names = itertools.count()

# Cells: anything text can hold, including lone surrogates, controls, quotes and line breaks.
cells = st.one_of(
    st.text(st.characters(codec=None), max_size=30),
    st.sampled_from(["", "review", "评价", "2026-11-22 10:56", "5", "1e400", "nan", str(2**70), "=cmd|x"]),
)
values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=True, allow_infinity=True),
    cells,
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
FIELDS = ["id", "channel", "text", "rating", "occurred_at", "customer", "order", "title", "language"]


def _stored(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(FeedbackItem)) or 0


def _import_bytes(session: Session, folder: Path, data: bytes, suffix: str) -> None:
    path = folder / f"f{next(_names)}{suffix}"
    path.write_bytes(data)
    before = _stored(session)
    try:
        summary = import_file(db_session=session, kind="feedback", path=path)
    except ImportRefused:
        session.rollback()
        assert _stored(session) == before, "a refused file stored rows"
        return
    assert summary.inserted + summary.updated + summary.rejected == summary.rows_total
    json.dumps(summary.as_dict(), ensure_ascii=False).encode("utf-8")  # reportable as it is


@FUZZ
@given(data=st.binary(max_size=400))
def test_any_bytes_as_csv_or_jsonl(sqlite_url: str, tmp_path: Path, data: bytes) -> None:
    with Session(get_engine(sqlite_url), expire_on_commit=False) as session:
        for suffix in (".csv", ".jsonl"):
            _import_bytes(session, tmp_path, b"id,channel,text,occurred_at\n" + data, suffix)
            _import_bytes(session, tmp_path, data, suffix)


@FUZZ
@given(rows=st.lists(st.lists(cells, min_size=1, max_size=6), min_size=1, max_size=6))
def test_any_cells_in_a_csv(sqlite_url: str, tmp_path: Path, rows: list[list[str]]) -> None:
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["id", "channel", "text", "rating", "occurred_at", "order"])
    writer.writerows(rows)
    data = buffer.getvalue().encode("utf-8", "surrogatepass")
    with Session(get_engine(sqlite_url), expire_on_commit=False) as session:
        _import_bytes(session, tmp_path, data, ".csv")


@FUZZ
@given(
    items=st.lists(st.fixed_dictionaries({}, optional={f: values for f in FIELDS}), min_size=1, max_size=5)
)
def test_any_values_through_the_json_path(db_url: str, items: list[dict[str, Any]]) -> None:
    # On both backends: PostgreSQL refuses what SQLite takes (NUL in text, NaN in JSON).
    with Session(get_engine(db_url), expire_on_commit=False) as session:
        try:
            summary = import_rows(db_session=session, kind="feedback", rows=items)
        except ImportRefused:
            return
        assert summary.inserted + summary.updated + summary.rejected == summary.rows_total == len(items)
        json.dumps(summary.as_dict(), ensure_ascii=False).encode("utf-8")
