"""Helpers for the import tests; ``db_session`` comes from the project-wide tests/conftest.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

FEEDBACK_HEADER = "id,channel,text,rating,occurred_at,customer,order"


def write_csv(path: Path, lines: list[str], encoding: str = "utf-8") -> Path:
    """Write CSV lines (joined with CRLF, as Excel does) in ``encoding``."""
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
    return path


def rows(session: Session, sql: str, **params: Any) -> list[Any]:
    """Rows of a raw query (tests compare plain tuples)."""
    return list(session.execute(text(sql), params).all())


@pytest.fixture
def tmp_files(tmp_path: Path) -> Path:
    """A folder for the test's input files (outside data_dir, like a user's download folder)."""
    folder = tmp_path / "in"
    folder.mkdir()
    return folder


def table_rows(session: Session, table: str, *columns: str, order_by: str = "id") -> list[tuple[Any, ...]]:
    """Typed rows of ``table`` (dates come back as datetimes on every backend)."""
    from sqlalchemy import select

    from cxloop.db import Base

    t = Base.metadata.tables[table]
    query = select(*(t.c[c] for c in columns)).order_by(t.c[order_by])
    return [tuple(r) for r in session.execute(query).all()]
