"""The only place where SQL differs between SQLite and PostgreSQL: day truncation and hour spans."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, Float, cast, func
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from cxloop.db import is_postgres


def day_of(session: Session, column: Any) -> ColumnElement[Any]:
    """The calendar day of a naive timestamp column (a string on SQLite, a date on PostgreSQL)."""
    if is_postgres(session):
        return cast(column, Date)
    return func.date(column)


def hours_between(session: Session, start: Any, end: Any) -> ColumnElement[Any]:
    """``end - start`` in hours as a float expression (negative when end is earlier)."""
    if is_postgres(session):
        return cast(func.extract("epoch", end - start), Float) / 3600.0
    return (func.julianday(end) - func.julianday(start)) * 24.0


def as_date(value: Any) -> date:
    """A day value from either backend as a ``date``."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])
