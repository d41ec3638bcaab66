"""What an import reports (``ImportSummary``) and the helpers every step shares: row errors, lookups, batched writes."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, select

from cxloop import clock
from cxloop.config import Settings
from cxloop.imports import parse
from cxloop.imports.readers import (
    jsonable,
)

#: How many error dicts an ImportSummary keeps in memory (all of them are in the rejects file and table).
MAX_SUMMARY_ERRORS = 1000
# SQLite allows 32766 bound variables per statement; IN lists are cut well below that.
_IN_CHUNK = 5000


@dataclass
class ImportSummary:
    """What an import did."""

    run_id: int | None
    kind: str
    source: str
    rows_total: int = 0
    inserted: int = 0
    updated: int = 0
    rejected: int = 0
    #: Error dicts {row, column, field, value, expected, message, message_zh}, the first MAX_SUMMARY_ERRORS.
    errors: list[dict[str, Any]] = field(default_factory=list)
    rejects_path: str | None = None
    elapsed_s: float = 0.0
    #: Doubts that did not stop the import (a guessed encoding): {message, message_zh}.
    warnings: list[dict[str, str]] = field(default_factory=list)
    #: The earliest business date the stored rows touch: what indicators must recompute from.
    earliest: datetime | None = None
    #: True when a dimension changed (e.g. a product moved to another supplier): all history may move.
    touches_history: bool = False

    @property
    def stored(self) -> int:
        """Rows inserted or updated."""
        return self.inserted + self.updated

    def as_dict(self) -> dict[str, Any]:
        """The summary as JSON-ready data."""
        return {
            "run_id": self.run_id,
            "kind": self.kind,
            "source": self.source,
            "rows_total": self.rows_total,
            "inserted": self.inserted,
            "updated": self.updated,
            "rejected": self.rejected,
            "errors": self.errors,
            "rejects_path": self.rejects_path,
            "elapsed_s": round(self.elapsed_s, 3),
            "warnings": self.warnings,
            "earliest": self.earliest.isoformat() if self.earliest else None,
        }


def current_locale() -> str:
    """The language for messages: CXLOOP_LOCALE, else the default_locale setting (zh)."""
    # Read afresh, not from the cached settings: one process may run several commands, each with
    # its own CXLOOP_LOCALE (the CLI tests do).
    return Settings().message_locale


def _now() -> datetime:
    return clock.now(microseconds=True)


# ------------------------------------------------------------------------------------------ errors

_MISSING = parse.ValueProblem("value is missing", "缺少值", "a value", "非空值")


def _shown(value: Any) -> str:
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, datetime):
        return repr(value.isoformat(sep=" "))
    return repr(value)


def make_error(
    row: int, column: str | None, fieldname: str | None, value: Any, problem: parse.ValueProblem
) -> dict[str, Any]:
    """An error dict naming the row, the column, the value and what was expected, in English and Chinese."""
    where = f"row {row}" + (f", column {column}" if column else "")
    where_zh = f"第 {row} 行" + (f"，列 {column}" if column else "")
    if problem is _MISSING or parse.is_blank(value):
        what, what_zh = problem.problem, problem.problem_zh
    elif "{value}" in problem.problem:
        what = problem.problem.format(value=_shown(value))
        what_zh = problem.problem_zh.format(value=_shown(value))
    else:
        what, what_zh = f"{_shown(value)} {problem.problem}", f"{_shown(value)} {problem.problem_zh}"
    expected = f" (expected {problem.expected})" if problem.expected else ""
    expected_zh = f"（应为：{problem.expected_zh}）" if problem.expected_zh else ""
    return {
        "row": row,
        "column": column,
        "field": fieldname,
        "value": jsonable(value),
        "expected": problem.expected,
        "message": f"{where}: {what}{expected}",
        "message_zh": f"{where_zh}：{what_zh}{expected_zh}",
    }


# ----------------------------------------------------------------------------- fast database helpers


def lookup(
    conn: Connection, table: Table, key: str, values: list[Any], extra: tuple[str, ...] = ()
) -> list[Any]:
    """Rows (key, id, *extra) of ``table`` whose ``key`` is in ``values``: one statement per call.

    SQLite gets the values as one JSON parameter and PostgreSQL as one array, instead of thousands
    of bound parameters: compiling and binding a 5,000-item IN list cost more than running it.
    """
    if not values:
        return []
    quote = conn.dialect.identifier_preparer.quote
    columns = ", ".join(quote(c) for c in (key, "id", *extra))
    name = quote(table.name)
    if conn.dialect.name == "sqlite":
        sql = f"SELECT {columns} FROM {name} WHERE {quote(key)} IN (SELECT value FROM json_each(?))"
        return list(conn.exec_driver_sql(sql, (json.dumps(values),)))
    if conn.dialect.name == "postgresql":
        sql = f"SELECT {columns} FROM {name} WHERE {quote(key)} = ANY(%(values)s)"
        return list(conn.exec_driver_sql(sql, {"values": values}))
    found: list[Any] = []
    for start in range(0, len(values), _IN_CHUNK):
        chunk = values[start : start + _IN_CHUNK]
        found.extend(
            conn.execute(select(*(table.c[c] for c in (key, "id", *extra))).where(table.c[key].in_(chunk)))
        )
    return found


def executemany(conn: Connection, stmt: Any, rows: list[dict[str, Any]]) -> None:
    """Run ``stmt`` once per row; on SQLite straight through the driver with the bind conversions.

    SQLAlchemy's per-row parameter processing took as long as SQLite's own inserting; the statement
    is compiled once here and only the type conversions that need Python (dates, decimals) are applied.
    """
    if conn.dialect.name != "sqlite":
        conn.execute(stmt, rows)
        return
    dialect = conn.dialect
    compiled = stmt.compile(dialect=dialect, column_keys=list(rows[0]))
    order = compiled.positiontup or []
    if any(name not in rows[0] for name in order):
        conn.execute(stmt, rows)  # a default computed by SQLAlchemy: let it do the work
        return
    table = stmt.table
    # Column binds carry no type of their own in the compiled form: take the column's.
    types = [table.c[name].type if name in table.c else compiled.binds[name].type for name in order]
    converters = [type_.dialect_impl(dialect).bind_processor(dialect) for type_ in types]
    if any(converters):
        plan = [(name, conv) for name, conv in zip(order, converters, strict=True)]
        params = [tuple(r[n] if c is None or r[n] is None else c(r[n]) for n, c in plan) for r in rows]
    else:
        params = [tuple(r[n] for n in order) for r in rows]
    conn.exec_driver_sql(compiled.string, params)
