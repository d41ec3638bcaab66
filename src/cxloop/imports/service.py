"""Importing files and API rows: validate every row, upsert the good ones in batches, keep the rejects.

The pipeline streams rows from a reader, converts each with per-column converters compiled once, and
writes batches of ``settings.import_batch_size`` with Core ``executemany`` (one ``SELECT ... IN`` per
batch splits inserts from updates). Every batch is committed, so a crash keeps what was written and a
re-run finishes the job without duplicates. Rejected rows go to a rejects file in the input's format
and to ``import_rejects``.
"""

from __future__ import annotations

import json
import os
import re
import socket
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from sqlalchemy import Connection, Table, bindparam, case, func, insert, null, select, true, update
from sqlalchemy.orm import Session

from cxloop import clock, vocab
from cxloop.config import Settings, get_settings
from cxloop.imports import parse
from cxloop.imports.kinds import (
    KINDS,
    ORDER_EVENT_COLUMNS,
    REF_TABLES,
    SURVEY_SCORE_RANGES,
    FieldSpec,
    KindSpec,
    header_aliases,
)
from cxloop.imports.models import ImportReject, ImportRun
from cxloop.imports.readers import (
    ERROR_COLUMN,
    ImportRefused,
    MemoryReader,
    RejectsWriter,
    TableReader,
    detect_format,
    jsonable,
)
from cxloop.imports.tables import TABLES
from cxloop.orders.models import Order

__all__ = [
    "KINDS",
    "ImportRefused",
    "ImportSummary",
    "Mapping",
    "MappingError",
    "import_file",
    "import_rows",
    "load_mapping",
]

#: How many error dicts an ImportSummary keeps in memory (all of them are in the rejects file and table).
MAX_SUMMARY_ERRORS = 1000
# SQLite allows 32766 bound variables per statement; IN lists are cut well below that.
_IN_CHUNK = 5000


class MappingError(ImportRefused):
    """The mapping file is invalid, or does not fit the kind or the file."""


@dataclass
class Mapping:
    """How a source file's columns map onto a kind's fields (loaded from YAML, see docs/imports.md)."""

    kind: str | None = None
    #: target field -> source column header, or several headers joined into one value (composite ids)
    columns: dict[str, str | list[str]] = field(default_factory=dict)
    #: target field -> value used for every row whose cell is empty or absent
    constants: dict[str, Any] = field(default_factory=dict)
    #: target field -> {source value: value to store}
    values: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: target field -> strptime format tried first for that column
    date_formats: dict[str, str] = field(default_factory=dict)
    #: zone that naive times in the file are written in (default: the business time zone)
    timezone: str | None = None
    #: lines above the header row to skip (titles, export notes)
    skip_rows: int = 0
    format: str | None = None
    encoding: str | None = None
    sheet: str | None = None
    delimiter: str | None = None
    #: date fields whose date-only values mean the end of that day (besides promised_delivery_at)
    end_of_day: list[str] = field(default_factory=list)
    #: status value (as in the file) -> event time field it sets, e.g. {"canceled": "cancelled_at"}
    status: dict[str, str] = field(default_factory=dict)


#: How the parts of a composite id (``id: [review_id, order_id]``) are joined.
COMPOSITE_SEPARATOR: Final = "/"

_MAPPING_KEYS = {f for f in Mapping.__dataclass_fields__}


def load_mapping(path: Path | str) -> Mapping:
    """Read and check a YAML mapping file."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except OSError as exc:
        raise MappingError(
            f"cannot read mapping {path}: {exc.strerror}", f"无法读取映射文件 {path}：{exc.strerror}"
        ) from exc
    except yaml.YAMLError as exc:
        raise MappingError(
            f"mapping {path.name} is not valid YAML: {exc}", f"映射文件 {path.name} 不是有效的 YAML：{exc}"
        ) from exc
    return mapping_from_dict(data or {}, name=path.name)


def mapping_from_dict(data: Any, name: str = "mapping") -> Mapping:
    """Build a Mapping from parsed YAML/JSON, refusing unknown keys and wrong shapes."""
    if not isinstance(data, dict):
        raise MappingError(f"{name} must be a YAML mapping (key: value)", f"{name} 必须是 YAML 键值映射")
    unknown = sorted(set(data) - _MAPPING_KEYS)
    if unknown:
        raise MappingError(
            f"{name}: unknown key(s) {', '.join(unknown)} (expected {', '.join(sorted(_MAPPING_KEYS))})",
            f"{name}：未知的键 {'、'.join(unknown)}（可用：{'、'.join(sorted(_MAPPING_KEYS))}）",
        )
    for key in ("columns", "constants", "values", "date_formats", "status"):
        if key in data and not isinstance(data[key], dict):
            raise MappingError(f"{name}: {key} must be a mapping", f"{name}：{key} 必须是键值映射")
    end_of_day = data.get("end_of_day") or []
    if isinstance(end_of_day, str):
        end_of_day = [end_of_day]
    if not isinstance(end_of_day, list):
        raise MappingError(
            f"{name}: end_of_day must be a list of date fields", f"{name}：end_of_day 必须是日期字段的列表"
        )
    columns: dict[str, str | list[str]] = {}
    for target, source in (data.get("columns") or {}).items():
        if isinstance(source, list):
            if len(source) < 2 or not all(isinstance(part, str | int) for part in source):
                raise MappingError(
                    f"{name}: columns.{target} must be one column or a list of two or more columns",
                    f"{name}：columns.{target} 必须是一个列名，或两个及以上列名的列表",
                )
            columns[str(target)] = [str(part) for part in source]
        elif isinstance(source, dict):
            raise MappingError(
                f"{name}: columns.{target} must be a column name or a list of column names",
                f"{name}：columns.{target} 必须是列名或列名列表",
            )
        else:
            columns[str(target)] = str(source)
    for key in ("skip_rows",):
        value = data.get(key)
        if value is not None and (
            not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 1000
        ):
            raise MappingError(
                f"{name}: {key} must be a whole number from 0 to 1000",
                f"{name}：{key} 必须是 0 到 1000 的整数",
            )
    values = data.get("values") or {}
    for target, table in values.items():
        if not isinstance(table, dict):
            raise MappingError(
                f"{name}: values.{target} must map source values to stored values",
                f"{name}：values.{target} 必须是“源值: 目标值”的映射",
            )
    timezone = data.get("timezone")
    if timezone is not None:
        try:
            ZoneInfo(str(timezone))
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise MappingError(
                f"{name}: unknown timezone {timezone!r}", f"{name}：未知时区 {timezone!r}"
            ) from exc
    return Mapping(
        kind=data.get("kind"),
        columns=columns,
        constants=dict(data.get("constants") or {}),
        # Keys compared as trimmed text: YAML reads 5: as an int, the CSV cell is "5".
        values={str(t): {str(k).strip(): v for k, v in m.items()} for t, m in values.items()},
        date_formats={str(k): str(v) for k, v in (data.get("date_formats") or {}).items()},
        timezone=str(timezone) if timezone is not None else None,
        skip_rows=int(data.get("skip_rows") or 0),
        format=data.get("format"),
        encoding=data.get("encoding"),
        sheet=data.get("sheet"),
        delimiter=data.get("delimiter"),
        end_of_day=[str(f) for f in end_of_day],
        # Status values compared trimmed and case-blind: exports write Canceled, canceled, CANCELED.
        status={str(k).strip().lower(): str(v) for k, v in (data.get("status") or {}).items()},
    )


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


# -------------------------------------------------------------------------------------------- plan


@dataclass
class _Step:
    spec: FieldSpec
    index: int  # column index in the row, -1 when only a constant feeds it
    column: str  # the source header (for messages)
    key: str  # key in the converted record: DB column, or the field name for references
    convert: parse.Converter
    values: dict[str, Any] | None
    constant: Any


@dataclass
class _Plan:
    spec: KindSpec
    headers: list[str]
    steps: list[_Step]
    #: Source column indexes joined into each virtual cell appended after the row's own cells.
    composites: list[tuple[int, ...]] = field(default_factory=list)
    #: status value (lower-cased) -> record key of the event time it sets
    status_events: dict[str, str] = field(default_factory=dict)

    @property
    def present(self) -> set[str]:
        return {s.spec.name for s in self.steps}

    def step(self, name: str) -> _Step | None:
        for s in self.steps:
            if s.spec.name == name:
                return s
        return None


def _converter(spec: FieldSpec, mapping: Mapping) -> parse.Converter:
    settings = get_settings()
    if spec.type == "datetime":
        source_tz = ZoneInfo(mapping.timezone) if mapping.timezone else None
        end_of_day = spec.end_of_day or spec.name in mapping.end_of_day
        return parse.DateParser(settings.tz, source_tz, mapping.date_formats.get(spec.name), end_of_day)
    if spec.type in ("str", "ref"):
        return parse.make_str(spec.max_len)
    if spec.type == "text":
        return parse.make_text()
    if spec.type == "int":
        return parse.make_int(spec.min_value, spec.max_value)
    if spec.type == "decimal":
        return parse.make_decimal()
    if spec.type == "float":
        return parse.make_float(0.0)
    if spec.type == "bool":
        return parse.make_bool()
    if spec.type == "choice":
        return parse.make_choice(spec.choices, spec.aliases)
    raise AssertionError(spec.type)


def _record_key(spec: FieldSpec) -> str:
    return spec.name if spec.type == "ref" else spec.db_column


def compile_plan(kind: str, headers: list[str], mapping: Mapping) -> _Plan:
    """Match the file's headers (and the mapping) to the kind's fields; refuse what cannot work."""
    spec = KINDS[kind]
    if mapping.kind and mapping.kind != kind:
        raise MappingError(
            f"the mapping is for kind {mapping.kind!r}, not {kind!r}",
            f"该映射用于 {mapping.kind!r}，而不是 {kind!r}",
        )
    names = set(spec.field_names)
    _check_mapping_fields(kind, spec, mapping)
    for section in ("columns", "constants", "values", "date_formats"):
        unknown = sorted(set(getattr(mapping, section)) - names)
        if unknown:
            raise MappingError(
                f"mapping {section}: {', '.join(unknown)} is not a field of {kind} (fields: {', '.join(spec.field_names)})",
                f"映射 {section}：{'、'.join(unknown)} 不是 {kind} 的字段（字段：{'、'.join(spec.field_names)}）",
            )
    lowered = [h.strip().lower() for h in headers]
    index_of: dict[str, int] = {}
    composites: list[tuple[int, ...]] = []
    composite_names: dict[str, str] = {}
    used: set[int] = set()
    for target, source in mapping.columns.items():
        sources = source if isinstance(source, list) else [source]
        found: list[int] = []
        for one in sources:
            try:
                found.append(lowered.index(one.strip().lower()))
            except ValueError:
                raise MappingError(
                    f"the mapping maps {target} to column {one!r}, which the file does not have "
                    f"(columns found: {', '.join(headers)})",
                    f"映射把 {target} 对应到列 {one!r}，但文件中没有该列（文件中的列：{'、'.join(headers)}）",
                ) from None
        used.update(found)
        if isinstance(source, list):
            # A virtual cell after the row's own cells holds the joined value.
            index_of[target] = len(headers) + len(composites)
            composites.append(tuple(found))
            composite_names[target] = "+".join(headers[i] for i in found)
        else:
            index_of[target] = found[0]
    aliases = header_aliases(kind)
    _refuse_repeated_headers(headers, lowered, used, {h for h in lowered if h in aliases})
    for position, header in enumerate(lowered):
        if position in used or header == ERROR_COLUMN:
            continue
        alias_of = aliases.get(header)
        # The exact field name beats an alias of it that came first (a file with both 评分 and rating).
        if (
            alias_of is not None
            and (alias_of not in index_of or header == alias_of)
            and alias_of not in mapping.columns
        ):
            index_of[alias_of] = position
    steps: list[_Step] = []
    for fspec in spec.fields:
        index = index_of.get(fspec.name, -1)
        has_constant = fspec.name in mapping.constants
        if index < 0 and not has_constant:
            continue
        convert = _converter(fspec, mapping)
        constant = None
        if has_constant:
            try:
                raw = mapping.constants[fspec.name]
                vmap = mapping.values.get(fspec.name)
                constant = convert(vmap.get(str(raw).strip(), raw) if vmap else raw)
            except parse.ValueProblem as exc:
                raise MappingError(
                    f"mapping constants.{fspec.name}: {raw!r} {exc.problem} (expected {exc.expected})",
                    f"映射 constants.{fspec.name}：{raw!r} {exc.problem_zh}（应为{exc.expected_zh}）",
                ) from None
        steps.append(
            _Step(
                spec=fspec,
                index=index,
                column=composite_names.get(fspec.name) or (headers[index] if index >= 0 else fspec.name),
                key=_record_key(fspec),
                convert=convert,
                values=mapping.values.get(fspec.name),
                constant=constant,
            )
        )
    mapped = {s.spec.name for s in steps}
    missing = [name for name in spec.required if name not in mapped]
    if missing:
        raise ImportRefused(
            f"missing required column(s): {', '.join(missing)} (columns found: {', '.join(headers) or 'none'})",
            f"缺少必需的列：{'、'.join(missing)}（文件中的列：{'、'.join(headers) or '无'}）",
        )
    status_events = {value: _record_key(spec.field(event)) for value, event in mapping.status.items()}
    if status_events:
        present = {st.spec.name for st in steps}
        if "status" not in present:
            raise MappingError(
                "the mapping maps status values to events, but the file has no status column",
                "映射把状态值对应到事件，但文件中没有状态列",
            )
        # Every record gets every mapped event column, so a batch's statements keep one shape.
        for event in sorted(set(mapping.status.values()) - present):
            fspec = spec.field(event)
            steps.append(
                _Step(
                    spec=fspec,
                    index=-1,
                    column=fspec.name,
                    key=_record_key(fspec),
                    convert=_converter(fspec, mapping),
                    values=None,
                    constant=None,
                )
            )
    return _Plan(spec=spec, headers=headers, steps=steps, composites=composites, status_events=status_events)


def _refuse_repeated_headers(headers: list[str], lowered: list[str], used: set[int], known: set[str]) -> None:
    """Refuse a header that names a column twice when the import would read it (which one was meant?).

    Repeated columns that nothing reads (two 备注 columns in an export) are left alone, like any
    column that matches no field.
    """
    positions: dict[str, list[int]] = {}
    for index, header in enumerate(lowered):
        if header:
            positions.setdefault(header, []).append(index)
    repeated = [
        (headers[p[0]], [i + 1 for i in p])
        for name, p in positions.items()
        if len(p) > 1 and (name in known or used.intersection(p))
    ]
    if repeated:
        shown = "; ".join(f"{name!r} in columns {', '.join(map(str, p))}" for name, p in repeated)
        shown_zh = "；".join(f"{name!r}（第 {'、'.join(map(str, p))} 列）" for name, p in repeated)
        raise ImportRefused(
            f"the header names a column more than once: {shown} "
            f"(expected each column name once; rename or delete the extra column)",
            f"表头中有重复的列名：{shown_zh}（每个列名只能出现一次；请改名或删除多余的列）",
        )


def _check_mapping_fields(kind: str, spec: KindSpec, mapping: Mapping) -> None:
    """Refuse end_of_day and status entries that name no date field of the kind."""
    dates = [f.name for f in spec.fields if f.type == "datetime"]
    wrong = [name for name in [*mapping.end_of_day, *mapping.status.values()] if name not in dates]
    if wrong:
        raise MappingError(
            f"mapping end_of_day/status: {', '.join(wrong)} is not a date field of {kind} "
            f"(date fields: {', '.join(dates) or 'none'})",
            f"映射 end_of_day/status：{'、'.join(wrong)} 不是 {kind} 的日期字段（日期字段：{'、'.join(dates) or '无'}）",
        )
    if mapping.status and "status" not in spec.field_names:
        raise MappingError(f"mapping status: {kind} has no status field", f"映射 status：{kind} 没有状态字段")


# ------------------------------------------------------------------------------------- the importer


def _full_converter(step: _Step) -> parse.Converter:
    """The step's converter with its value map, constant and default folded in."""
    convert, vmap, constant = step.convert, step.values, step.constant
    default = step.spec.default
    if vmap is None and constant is None and default is None:
        return convert

    def full(raw: Any) -> Any:
        if vmap is not None and raw is not None:
            raw = vmap.get(str(raw).strip(), raw)
        value = convert(raw)
        if value is None:
            # Required fields have no default: None then fails convert_rows' required check.
            return constant if constant is not None else default
        return value

    return full


def _joined(values: list[Any], parts: tuple[int, ...]) -> str | None:
    """The cells at ``parts`` joined into one id; empty when any part is empty."""
    texts = []
    for index in parts:
        raw = values[index]
        text = "" if raw is None else (raw if isinstance(raw, str) else parse.native_to_str(raw))
        text = text.strip()
        if not text:
            return None
        texts.append(text)
    return COMPOSITE_SEPARATOR.join(texts)


_Good = tuple[int, Any, dict[str, Any]]  # row number, original row, converted record
_Bad = tuple[int, Any, list[dict[str, Any]]]  # row number, original row, errors


class _Importer:
    """Converts rows and writes batches for one import run."""

    def __init__(self, session: Session, plan: _Plan, run: ImportRun, summary: ImportSummary) -> None:
        self.session = session
        self.plan = plan
        self.spec = plan.spec
        self.run = run
        self.summary = summary
        self.table: Table = TABLES[self.spec.table]
        self.tables = TABLES
        self.caches: dict[str, dict[str, int | None]] = {}
        self.person_shift: dict[str, str | None] = {}
        self.seen: dict[Any, int] = {}
        self.rejects: RejectsWriter | None = None
        self.rejects_spec: tuple[Path, str, list[str], str, list[list[Any]]] | None = None
        self.locale = current_locale()
        settings = get_settings()
        # Insert-only defaults of columns the file does not have (the model's NOT NULL columns).
        self.insert_defaults: dict[str, Any] = {
            f.db_column: f.default
            for f in self.spec.fields
            if f.name not in plan.present and f.default is not None
        }
        if self.spec.name == "orders" and "currency" not in plan.present:
            self.insert_defaults["currency"] = settings.currency
        present_columns = {f.db_column for f in self.spec.fields if f.name in plan.present}
        for column in self.table.columns:
            # The model's plain defaults, spelled out so every insert row has the same keys.
            default = column.default
            if default is not None and default.is_scalar and column.name not in present_columns:
                self.insert_defaults.setdefault(column.name, default.arg)  # type: ignore[attr-defined]
        self.key_fields = self.spec.key
        self.key_index = [self._record_key_of(name) for name in self.key_fields]
        self.key_columns = ", ".join(self._column_of(name) for name in self.key_fields)
        self.fill_shift = self.spec.name == "feedback" and "agent" in plan.present
        self.ref_steps = [s for s in plan.steps if s.spec.type == "ref"]

    def _record_key_of(self, name: str) -> str:
        return _record_key(self.spec.field(name))

    def _column_of(self, name: str) -> str:
        step = self.plan.step(name)
        return step.column if step is not None else name

    # -- conversion (the hot loop) -----------------------------------------------------------------

    def convert_rows(self, rows: Iterable[Any]) -> Iterator[tuple[_Good | None, _Bad | None]]:
        """Convert each row; yields (good, None) or (None, bad)."""
        fast = [(s.key, s.index, _full_converter(s)) for s in self.plan.steps if s.index >= 0]
        constants = {s.key: s.constant for s in self.plan.steps if s.index < 0}
        required = [s.key for s in self.plan.steps if s.index >= 0 and s.spec.required]
        width = len(self.plan.headers)
        seen = self.seen
        key_index = self.key_index
        single_key = key_index[0] if len(key_index) == 1 else None
        validate = _VALIDATORS.get(self.spec.name)
        composites = self.plan.composites
        status_events = self.plan.status_events
        if status_events:
            times = [s.key for s in self.plan.steps if s.spec.type == "datetime" and not s.spec.end_of_day]
        for number, values, original, problem in rows:
            if problem is not None:
                yield None, (number, original, [self._error(number, None, None, None, problem)])
                continue
            if len(values) < width:  # short CSV rows: the missing trailing cells are empty
                values = [*values, *([None] * (width - len(values)))]
            if composites:
                values = [*values[:width], *(_joined(values, parts) for parts in composites)]
            record: dict[str, Any] = dict(constants) if constants else {}
            errors: list[dict[str, Any]] | None = None
            try:
                # The common case: every cell converts; one try for the whole row keeps it cheap.
                for key, index, convert in fast:
                    record[key] = convert(values[index])
                for key in required:
                    if record[key] is None:
                        raise _MISSING
            except parse.ValueProblem:
                errors = self._row_errors(number, values, fast)
            if errors is None and status_events:
                event = status_events.get(str(record.get("status") or "").strip().lower())
                if event is not None and record.get(event) is None:
                    # The export says only "canceled": the last moment the row knows of is the best
                    # time there is for it (never the promise, which lies in the future).
                    known = [record[k] for k in times if k != event and record.get(k) is not None]
                    record[event] = max(known) if known else None
            if errors is None and validate is not None:
                errors = validate(self, number, record) or None
            if errors is None:
                ident = record[single_key] if single_key is not None else tuple(record[k] for k in key_index)
                earlier = seen.get(ident)
                if earlier is not None:
                    shown = ident if single_key is not None else " / ".join(str(v) for v in ident)
                    problem = parse.ValueProblem(
                        f"repeats row {earlier}",
                        f"与第 {earlier} 行重复",
                        "each record once per file",
                        "每条记录在文件中只出现一次",
                    )
                    errors = [
                        self._error(number, self.key_columns, "+".join(self.key_fields), shown, problem)
                    ]
                else:
                    seen[ident] = number
            if errors:
                yield None, (number, original, errors)
            else:
                yield (number, original, record), None

    def _row_errors(
        self, number: int, values: list[Any], fast: list[tuple[str, int, parse.Converter]]
    ) -> list[dict[str, Any]]:
        """Every problem of a row that failed somewhere (the slow path, for bad rows only)."""
        errors = []
        for (_, index, convert), step in zip(fast, [s for s in self.plan.steps if s.index >= 0], strict=True):
            raw = values[index]
            try:
                if convert(raw) is None and step.spec.required:
                    raise _MISSING
            except parse.ValueProblem as exc:
                errors.append(self._error(number, step.column, step.spec.name, raw, exc))
        return errors

    def _error(
        self, row: int, column: str | None, fieldname: str | None, value: Any, problem: parse.ValueProblem
    ) -> dict[str, Any]:
        return make_error(row, column, fieldname, value, problem)

    # -- references -----------------------------------------------------------------------------

    def _ref_table(self, target: str) -> tuple[Table, str]:
        table = self.tables[REF_TABLES[target]]
        return table, "code" if target == "department" else "external_id"

    def resolve(self, target: str, idents: set[str]) -> dict[str, int | None]:
        """External id -> primary key for ``target``, creating inferred dimension records as needed."""
        cache = self.caches.setdefault(target, {})
        missing = [i for i in idents if i not in cache]
        if not missing:
            return cache
        table, key = self._ref_table(target)
        conn = self.session.connection()
        self._select_into(conn, table, key, missing, cache, target)
        unknown = [i for i in missing if i not in cache]
        if not unknown:
            return cache
        if target in ("order", "order_soft"):
            for ident in unknown:
                cache[ident] = None  # orders are never inferred: they carry the timeline
            return cache
        rows = self._inferred_rows(target, unknown, cache)
        if rows:
            conn.execute(insert(table), rows)
            self._select_into(conn, table, key, [r[key] for r in rows], cache, target)
        return cache

    def _select_into(
        self,
        conn: Connection,
        table: Table,
        key: str,
        idents: list[str],
        cache: dict[str, int | None],
        target: str,
    ) -> None:
        with_shift = target == "person"
        for row in lookup(conn, table, key, idents, ("shift",) if with_shift else ()):
            cache[row[0]] = row[1]
            if with_shift:
                self.person_shift[row[0]] = row[2]

    @staticmethod
    def _inferred_rows(target: str, unknown: list[str], cache: dict[str, int | None]) -> list[dict[str, Any]]:
        if target == "department":
            rows = []
            for code in unknown:
                names = vocab.DEPARTMENTS.get(code)
                if names is None:
                    cache[code] = None  # not a standard code: the row is rejected
                else:
                    rows.append({"code": code, "name_zh": names[0], "name_en": names[1]})
            return rows
        return [{"external_id": i, "name": i} for i in unknown]

    def _apply_refs(self, good: list[_Good], bad: list[_Bad]) -> list[_Good]:
        """Replace external ids by primary keys; rows naming an unknown order or department move to bad."""
        for step in self.ref_steps:
            name = step.spec.name
            target = step.spec.ref
            assert target is not None
            records = [item[2] for item in good]
            idents = {r[name] for r in records}
            idents.discard(None)
            cache: dict[str, int | None] = self.resolve(target, idents) if idents else {}
            get = cache.get
            if target == "order_soft":
                for rec in records:
                    ident = rec.pop(name)
                    rec["order_ref"] = ident
                    rec["order_id"] = get(ident)
                continue
            column = step.spec.db_column
            failed: list[int] = []
            fill_shift = self.fill_shift and name == "agent"
            for position, rec in enumerate(records):
                ident = rec.pop(name)
                pk = rec[column] = get(ident)
                if pk is None and ident is not None:
                    failed.append(position)
                    rec[name] = ident  # kept for the message
                elif fill_shift:
                    # An agent's chats count towards the shift they work unless the row says otherwise;
                    # every record gets the key so the batch's statements have one shape.
                    shift = rec.get("shift")
                    rec["shift"] = (
                        shift if shift is not None or ident is None else self.person_shift.get(ident)
                    )
            if failed:
                dropped = set(failed)
                for position in failed:
                    number, original, rec = good[position]
                    error = self._error(number, step.column, name, rec[name], _unknown_ref(target))
                    bad.append((number, original, [error]))
                good = [item for position, item in enumerate(good) if position not in dropped]
        return good

    # -- writing ----------------------------------------------------------------------------------

    def write_batch(self, good: list[_Good], bad: list[_Bad]) -> None:
        """Store one batch of converted rows and its rejects, and commit."""
        if good:
            good = self._apply_refs(good, bad)
        if good:
            writer = _WRITERS.get(self.spec.name, _Importer._write_upsert)
            writer(self, good)
            self._note_earliest(good)
        if bad:
            self._store_rejects(bad)
        run = self.run
        run.heartbeat_at = _now()
        run.rows_total = self.summary.rows_total
        run.inserted = self.summary.inserted
        run.updated = self.summary.updated
        run.rejected = self.summary.rejected
        self.session.commit()
        if self.rejects is not None:
            self.rejects.flush()

    def _note_earliest(self, good: list[_Good]) -> None:
        """Remember the earliest business date this batch touched, for the indicators' refresh."""
        field_name = _PERIOD_FIELDS.get(self.spec.name)
        if self.spec.name in {"order_lines", "order_events"}:
            # A late event changes an order placed earlier: indicators are keyed by the order's dates.
            ids = list({rec["order_id"] for _, _, rec in good})
            found = None
            for start in range(0, len(ids), _IN_CHUNK):
                chunk_min = self.session.execute(
                    select(func.min(Order.placed_at)).where(Order.id.in_(ids[start : start + _IN_CHUNK]))
                ).scalar()
                if chunk_min is not None and (found is None or chunk_min < found):
                    found = chunk_min
            dates = [found] if found is not None else []
        elif field_name is not None:
            dates = [rec[field_name] for _, _, rec in good if rec.get(field_name) is not None]
        else:
            # A changed dimension moves history only where indicators read it (a brand becoming a
            # competitor, a customer's tier, a product's brand); new records have no history yet,
            # and names, departments and staff are read live by the pages.
            if self.spec.name in _HISTORY_KINDS and self.summary.updated:
                self.summary.touches_history = True
            return
        if dates:
            low = min(dates)
            current = self.summary.earliest
            self.summary.earliest = low if current is None or low < current else current

    def _existing(
        self, conn: Connection, column: str, values: list[Any], table: Table | None = None
    ) -> dict[Any, int]:
        """Map each of these values of a unique column to its row's id (this kind's table by default)."""
        table = self.table if table is None else table
        found: dict[Any, int] = {}
        for start in range(0, len(values), _IN_CHUNK):
            chunk = values[start : start + _IN_CHUNK]
            for key, pk in conn.execute(
                select(table.c[column], table.c.id).where(table.c[column].in_(chunk))
            ):
                found[key] = pk
        return found

    def _write_upsert(self, good: list[_Good]) -> None:
        """Insert new records and update existing ones, matched on the single key column."""
        conn = self.session.connection()
        key_column = self.spec.field(self.spec.key[0]).db_column
        records = [rec for _, _, rec in good]
        existing = self._existing(conn, key_column, [r[key_column] for r in records])
        inserts = [r for r in records if r[key_column] not in existing]
        updates = [r for r in records if r[key_column] in existing]
        if self.spec.name == "departments":
            self._department_names(inserts, updates)
        self._execute(conn, inserts, updates, lambda r: existing[r[key_column]])
        if self.spec.name == "orders" and inserts:
            self._link_orders(conn, [r["external_id"] for r in inserts])

    def _write_survey_responses(self, good: list[_Good]) -> None:
        """Store survey answers, and each answer's comment as a feedback item of channel "survey".

        Comments are what customers wrote in their own words, so they go through the same
        analysis, Pareto and alert rules as reviews and chats. The copy's external id is
        "survey:<answer id>", so re-importing updates it instead of adding another.
        """
        self._write_upsert(good)
        feedback = self.tables["feedback_items"]
        conn = self.session.connection()
        copies: dict[str, dict[str, Any]] = {}
        for _, _, rec in good:
            comment = rec.get("comment")
            if not isinstance(comment, str) or not comment.strip():
                continue
            item: dict[str, Any] = {"text": comment, "channel": "survey"}
            for answer_column, item_column in _SURVEY_TO_FEEDBACK.items():
                if answer_column in rec:
                    item[item_column] = rec[answer_column]
            copies[SURVEY_FEEDBACK_PREFIX + rec["external_id"]] = item
        if not copies:
            return
        existing = self._existing(conn, "external_id", list(copies), feedback)
        inserts = [{"external_id": ext, **item} for ext, item in copies.items() if ext not in existing]
        if inserts:
            executemany(conn, insert(feedback), inserts)
        updates = [
            {"_pk": existing[ext], "_new_text": item["text"], **item}
            for ext, item in copies.items()
            if ext in existing
        ]
        if updates:
            executemany(conn, _text_update(feedback), updates)
        ids = self._existing(conn, "external_id", list(copies), feedback)
        executemany(
            conn,
            update(self.table)
            .where(self.table.c.external_id == bindparam("_ext"))
            .values(feedback_id=bindparam("_fid")),
            [{"_ext": ext[len(SURVEY_FEEDBACK_PREFIX) :], "_fid": pk} for ext, pk in ids.items()],
        )

    def _department_names(self, inserts: list[dict[str, Any]], updates: list[dict[str, Any]]) -> None:
        """Fill empty department names with the standard ones (or the code): the columns are NOT NULL."""
        present = self.plan.present
        for records, only_present in ((inserts, False), (updates, True)):
            for rec in records:
                names = vocab.DEPARTMENTS.get(rec["code"], (rec["code"], rec["code"]))
                for column, default in (("name_zh", names[0]), ("name_en", names[1])):
                    # An update leaves a name the file does not have alone.
                    if rec.get(column) is None and (column in present or not only_present):
                        rec[column] = default

    def _execute(
        self,
        conn: Connection,
        inserts: list[dict[str, Any]],
        updates: list[dict[str, Any]],
        pk_of: Callable[[dict[str, Any]], int],
    ) -> None:
        table = self.table
        if inserts:
            defaults = {k: v for k, v in self.insert_defaults.items() if v is not None}
            if defaults:
                for rec in inserts:
                    for k, v in defaults.items():
                        rec.setdefault(k, v)
            executemany(conn, insert(table), inserts)
            self.summary.inserted += len(inserts)
        if updates:
            stmt = update(table).where(table.c.id == bindparam("_pk"))
            if self.spec.name == "feedback" and "text" in updates[0]:
                stmt = _text_update(table)
                for rec in updates:
                    rec["_new_text"] = rec["text"]
            for rec in updates:
                rec["_pk"] = pk_of(rec)
            executemany(conn, stmt, updates)
            self.summary.updated += len(updates)

    def _link_orders(self, conn: Connection, new_orders: list[str]) -> None:
        """Point feedback and survey answers that named these orders at them."""
        orders = self.tables["orders"]
        for name in ("feedback_items", "survey_responses"):
            table = self.tables[name]
            lookup = select(orders.c.id).where(orders.c.external_id == table.c.order_ref).scalar_subquery()
            for start in range(0, len(new_orders), _IN_CHUNK):
                chunk = new_orders[start : start + _IN_CHUNK]
                conn.execute(
                    update(table)
                    .where(table.c.order_id.is_(None), table.c.order_ref.in_(chunk))
                    .values(order_id=lookup)
                )

    def _write_order_lines(self, good: list[_Good]) -> None:
        conn = self.session.connection()
        records = [rec for _, _, rec in good]
        existing = self._existing_by_order(conn, records, ("line_no",))
        inserts = [r for r in records if (r["order_id"], r["line_no"]) not in existing]
        updates = [r for r in records if (r["order_id"], r["line_no"]) in existing]
        self._execute(conn, inserts, updates, lambda r: existing[(r["order_id"], r["line_no"])])

    def _existing_by_order(
        self, conn: Connection, records: list[dict[str, Any]], rest: tuple[str, ...]
    ) -> dict[tuple[Any, ...], int]:
        table = self.table
        order_ids = list({r["order_id"] for r in records})
        columns = [table.c.order_id, *(table.c[c] for c in rest), table.c.id]
        found: dict[tuple[Any, ...], int] = {}
        for start in range(0, len(order_ids), _IN_CHUNK):
            chunk = order_ids[start : start + _IN_CHUNK]
            # Through SQLAlchemy: occurred_at must come back as a datetime to compare with the file's.
            for row in conn.execute(select(*columns).where(table.c.order_id.in_(chunk))):
                found[tuple(row[:-1])] = row[-1]
        return found

    def _write_order_events(self, good: list[_Good]) -> None:
        conn = self.session.connection()
        records = [rec for _, _, rec in good]
        existing = self._existing_by_order(conn, records, ("kind", "occurred_at"))

        def key(r: dict[str, Any]) -> tuple[Any, ...]:
            return (r["order_id"], r["kind"], r["occurred_at"])

        inserts = [r for r in records if key(r) not in existing]
        updates = [r for r in records if key(r) in existing]
        self._execute(conn, inserts, updates, lambda r: existing[key(r)])
        self._apply_events_to_orders(conn, records)

    def _apply_events_to_orders(self, conn: Connection, records: list[dict[str, Any]]) -> None:
        """Mirror each event on its order (``*_at`` column or flag), then re-derive the order status."""
        orders = self.tables["orders"]
        by_kind: dict[str, list[dict[str, Any]]] = {}
        for rec in records:
            by_kind.setdefault(rec["kind"], []).append({"_oid": rec["order_id"], "_at": rec["occurred_at"]})
        for kind, params in by_kind.items():
            column = ORDER_EVENT_COLUMNS[kind]
            target = orders.c[column]
            if not column.endswith("_at"):
                stmt = update(orders).where(orders.c.id == bindparam("_oid")).values({column: true()})
                conn.execute(stmt, [{"_oid": p["_oid"]} for p in params])
                continue
            at = bindparam("_at", type_=target.type)
            # Keep the latest time (the earliest for "placed"), whatever order events arrive in.
            newer = target > at if kind == "placed" else target < at
            stmt = (
                update(orders)
                .where(orders.c.id == bindparam("_oid"))
                .values({column: case((target.is_(None) | newer, at), else_=target)})
            )
            conn.execute(stmt, params)
        touched = list({rec["order_id"] for rec in records})
        status = case(
            (orders.c.refunded_at.is_not(None), "refunded"),
            (orders.c.returned_at.is_not(None), "returned"),
            (orders.c.refund_requested_at.is_not(None), "refund_requested"),
            (orders.c.cancelled_at.is_not(None), "cancelled"),
            (orders.c.delivered_at.is_not(None), "delivered"),
            (orders.c.lost == true(), "lost"),
            (orders.c.delivery_failed_at.is_not(None), "delivery_failed"),
            (orders.c.shipped_at.is_not(None), "shipped"),
            (orders.c.sorted_at.is_not(None), "sorted"),
            (orders.c.picked_at.is_not(None), "picked"),
            (orders.c.paid_at.is_not(None), "paid"),
            else_="placed",
        )
        for start in range(0, len(touched), _IN_CHUNK):
            chunk = touched[start : start + _IN_CHUNK]
            conn.execute(update(orders).where(orders.c.id.in_(chunk)).values(status=status))

    # -- rejects ----------------------------------------------------------------------------------

    def _store_rejects(self, bad: list[_Bad]) -> None:
        bad.sort(key=lambda item: item[0])
        summary = self.summary
        summary.rejected += len(bad)
        text_key = "message_zh" if self.locale == "zh" else "message"
        headers = self.plan.headers
        rows = []
        for number, original, errors in bad:
            room = MAX_SUMMARY_ERRORS - len(summary.errors)
            if room > 0:
                summary.errors.extend(errors[:room])
            if self.rejects is None and self.rejects_spec is not None:
                self.rejects = RejectsWriter(*self.rejects_spec)
            if self.rejects is not None:
                self.rejects.write(original, "; ".join(e[text_key] for e in errors))
            data = original if isinstance(original, dict) else dict(zip(headers, original, strict=False))
            rows.append(
                {"run_id": self.run.id, "row_number": number, "data": jsonable(data), "errors": errors}
            )
        self.session.connection().execute(insert(self.tables[ImportReject.__tablename__]), rows)


def _unknown_ref(target: str) -> parse.ValueProblem:
    if target == "order":
        return parse.ValueProblem(
            "unknown order {value}",
            "未知订单 {value}",
            "the id of an order imported before (import the orders file first)",
            "已导入订单的订单号（请先导入订单文件）",
        )
    return parse.ValueProblem(
        "is not a known department",
        "不是已知部门",
        "one of " + ", ".join(vocab.DEPARTMENTS) + ", or a code imported with the departments kind",
        "以下之一：" + "、".join(vocab.DEPARTMENTS) + "，或已通过部门导入的代码",
    )


def _validate_survey(importer: _Importer, number: int, record: dict[str, Any]) -> list[dict[str, Any]]:
    score = record.get("score")
    bounds = SURVEY_SCORE_RANGES.get(record.get("kind") or "")
    if score is None or bounds is None:
        return []
    low, high = bounds
    if low <= score <= high:
        return []
    step = importer.plan.step("score")
    problem = parse.ValueProblem(
        f"is out of range for a {record['kind']} answer",
        f"超出 {record['kind']} 的分值范围",
        f"a whole number from {low} to {high}",
        f"{low} 到 {high} 之间的整数",
    )
    return [importer._error(number, step.column if step else "score", "score", score, problem)]


_VALIDATORS: dict[str, Callable[[_Importer, int, dict[str, Any]], list[dict[str, Any]]]] = {
    "survey_responses": _validate_survey,
}
#: The business date of each fact kind; dimension kinds have none (a change may touch all history).
_PERIOD_FIELDS: dict[str, str] = {
    "orders": "placed_at",
    "feedback": "occurred_at",
    "survey_responses": "responded_at",
    "customer_events": "occurred_at",
}

#: Dimension kinds whose updates change indicator history (rollups are keyed by them).
_HISTORY_KINDS: Final = frozenset({"brands", "customers", "products"})

_WRITERS: dict[str, Callable[[_Importer, list[_Good]], None]] = {
    "order_lines": _Importer._write_order_lines,
    "order_events": _Importer._write_order_events,
    "survey_responses": _Importer._write_survey_responses,
}

#: External id prefix of the feedback item that holds a survey answer's comment.
SURVEY_FEEDBACK_PREFIX: Final = "survey:"
#: Survey answer column -> feedback item column, for the comment's copy. The score is not a
#: rating (an NPS of 7 is no 7-star review), so it stays with the answer.
_SURVEY_TO_FEEDBACK: Final = {
    "responded_at": "occurred_at",
    "customer_id": "customer_id",
    "order_ref": "order_ref",
    "order_id": "order_id",
    "brand_id": "brand_id",
    "touchpoint": "touchpoint",
    "survey": "title",
}


def _text_update(table: Table) -> Any:
    """UPDATE of feedback rows by ``_pk`` that clears the analysis only where ``_new_text`` differs.

    New words need a new analysis; unchanged text keeps the one it has.
    """
    return (
        update(table)
        .where(table.c.id == bindparam("_pk"))
        .values(
            analysis_key=case(
                (table.c.text.is_distinct_from(bindparam("_new_text", type_=table.c.text.type)), null()),
                else_=table.c.analysis_key,
            )
        )
    )


# --------------------------------------------------------------------------------------- public API

_REJECT_SUFFIX = {"csv": ".csv", "tsv": ".tsv", "xlsx": ".xlsx", "jsonl": ".jsonl"}


def _start_run(db_session: Session, kind: str, source: str, run: ImportRun | None) -> ImportRun:
    if run is None:
        run = ImportRun(kind=kind, source=source, status="queued")
        db_session.add(run)
    run.status = "running"
    run.started_at = run.heartbeat_at = _now()
    run.worker = _WORKER
    run.error = None
    db_session.commit()
    return run


#: This process, as recorded on the runs it works on.
_WORKER: Final = f"{socket.gethostname()}:{os.getpid()}"


def _process_gone(worker: str | None) -> bool:
    """Whether ``worker`` ("host:pid") was a process on this host that no longer exists."""
    host, _, pid = (worker or "").rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False  # another machine's worker: only its heartbeat can tell
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except (PermissionError, OverflowError):
        return False
    return False


def mark_stale_runs(*, db_session: Session, now: datetime | None = None) -> list[int]:
    """Mark as "stale" the running imports whose process is gone or silent too long; their ids.

    A process killed with SIGKILL (or a machine losing power) cannot say it stopped; its run would
    read "running" for ever. Its committed batches stay (see docs/imports.md): re-running the file
    finishes the job.
    """
    now = now or _now()
    limit = now - timedelta(seconds=get_settings().import_stale_after_s)
    stale: list[int] = []
    for run in db_session.scalars(select(ImportRun).where(ImportRun.status == "running")):
        silent_since = run.heartbeat_at or run.started_at
        if run.worker == _WORKER:
            continue  # this very process: alive by definition
        if _process_gone(run.worker) or (silent_since is not None and silent_since < limit):
            run.status = "stale"
            run.finished_at = now
            run.error = (
                f"the import stopped without finishing (process {run.worker or '?'} gone or silent since "
                f"{silent_since}); rows of committed batches are stored, import the file again to finish / "
                f"导入进程已中止（进程 {run.worker or '?'} 不存在或自 {silent_since} 起无响应）；"
                f"已提交批次的数据保留，重新导入该文件即可完成"
            )
            stale.append(run.id)
    if stale:
        db_session.commit()
    return stale


def _fail_run(db_session: Session, run: ImportRun, message: str) -> None:
    db_session.rollback()
    run.status = "failed"
    run.error = message
    run.finished_at = _now()
    db_session.commit()


_UNSAFE_NAME_CHARS = re.compile(r"[^\w.\-]+", re.UNICODE)
#: Longest stored upload name: file systems allow 255 bytes, and Chinese takes 3 bytes a character.
_UPLOAD_NAME_CHARS: Final = 80


def safe_upload_name(filename: str | None) -> str:
    """An uploaded file's name made safe to store: no path, no odd characters, short enough for any disk."""
    name = _UNSAFE_NAME_CHARS.sub("_", Path(filename or "upload").name).strip("._") or "upload"
    if len(name) > _UPLOAD_NAME_CHARS:
        stem, dot, ext = name.rpartition(".")
        ext = ext[:10] if dot and stem else ""
        name = (stem if ext else name)[: _UPLOAD_NAME_CHARS - len(ext) - 1].rstrip("._") + (
            f".{ext}" if ext else ""
        )
    return name


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise MappingError(
            f"unknown import kind {kind!r} (expected one of {', '.join(KINDS)})",
            f"未知的导入类型 {kind!r}（应为 {'、'.join(KINDS)} 之一）",
        )


_Batch = tuple[list[_Good], list[_Bad], int]


def _batches(importer: _Importer, reader: Iterable[Any], batch_size: int) -> Iterator[_Batch]:
    """Converted rows in batches of about ``batch_size`` (good, bad, rows read)."""
    good: list[_Good] = []
    bad: list[_Bad] = []
    for ok, rejected in importer.convert_rows(reader):
        if ok is not None:
            good.append(ok)
        else:
            assert rejected is not None
            bad.append(rejected)
        if len(good) + len(bad) >= batch_size:
            yield good, bad, len(good) + len(bad)
            good, bad = [], []
    if good or bad:
        yield good, bad, len(good) + len(bad)


@contextmanager
def _bulk_writes(db_session: Session) -> Iterator[None]:
    """On SQLite, checkpoint the WAL rarely during a bulk import, then once at the end.

    SQLite's default checkpoint every 1,000 pages rewrote the same hot index pages again and
    again: a third of a 1M-row import went to commits. 50,000 pages (~200 MB of WAL) halves that.
    """
    if db_session.get_bind().dialect.name != "sqlite":
        yield
        return
    conn = db_session.connection()
    conn.exec_driver_sql("PRAGMA wal_autocheckpoint=50000")
    try:
        yield
    finally:
        db_session.commit()
        conn = db_session.connection()
        conn.exec_driver_sql("PRAGMA wal_autocheckpoint=1000")
        conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
        db_session.commit()


def _run_pipeline(
    db_session: Session,
    kind: str,
    reader: TableReader | MemoryReader,
    mapping: Mapping,
    run: ImportRun,
    summary: ImportSummary,
    rejects_path: Path | None,
    progress: bool,
) -> None:
    plan = compile_plan(kind, reader.headers, mapping)
    importer = _Importer(db_session, plan, run, summary)
    for message, message_zh in getattr(reader, "warnings", ()):
        summary.warnings.append({"message": message, "message_zh": message_zh})
    if rejects_path is not None:
        importer.rejects_spec = (
            rejects_path,
            reader.fmt,
            reader.headers,
            getattr(reader, "delimiter", ","),
            getattr(reader, "preamble", []),
        )
    batches = _batches(importer, reader, get_settings().import_batch_size)
    bar = _progress_bar(reader) if progress else None
    task = None
    if bar is not None:
        bar.start()
        task = bar.add_task(f"{kind} ← {Path(summary.source).name}", total=reader.progress_total or None)

    def advance() -> None:
        if bar is not None and task is not None:
            bar.update(task, completed=reader.progress_done())

    try:
        # One thread on purpose: a writer thread was measured slower (15k vs 20k rows/s), since
        # sqlite3 hands the GIL back and forth on every row and the two threads convoy.
        with _bulk_writes(db_session):
            for good, bad, count in batches:
                summary.rows_total += count
                importer.write_batch(good, bad)
                advance()
        if bar is not None and task is not None:
            bar.update(task, completed=reader.progress_total or reader.progress_done())
    finally:
        if bar is not None:
            bar.stop()
        if importer.rejects is not None:
            importer.rejects.close()
            summary.rejects_path = str(importer.rejects.path)
    if summary.rows_total == 0:
        raise ImportRefused("no data rows (the file has only a header)", "没有数据行（文件只有表头）")


def _progress_bar(reader: TableReader | MemoryReader) -> Any:
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

    columns: list[Any] = [TextColumn("{task.description}"), BarColumn()]
    columns.append(
        DownloadColumn() if reader.fmt in ("csv", "tsv", "jsonl") else TextColumn("{task.completed} rows")
    )
    columns.append(TimeRemainingColumn())
    console = Console(stderr=True)
    if not console.is_terminal:
        return None  # a bar in a log file (cron, CI, a pipe) is only noise and blank lines
    return Progress(*columns, transient=True, console=console)


def import_file(
    *,
    db_session: Session,
    kind: str,
    path: Path,
    mapping: Mapping | None = None,
    fmt: str | None = None,
    progress: bool = False,
    run: ImportRun | None = None,
) -> ImportSummary:
    """Import one file of ``kind``; raises ImportRefused when the whole file cannot be taken."""
    started = time.perf_counter()
    _check_kind(kind)
    path = Path(path)
    mapping = mapping or Mapping()
    # Files only: JSON events arrive one at a time, too often to scan the runs each time.
    mark_stale_runs(db_session=db_session)
    run = _start_run(db_session, kind, str(path), run)
    summary = ImportSummary(run_id=run.id, kind=kind, source=str(path))
    reader: TableReader | None = None
    try:
        file_format = detect_format(path, fmt or mapping.format)
        reader = TableReader(
            path,
            file_format,
            encoding=mapping.encoding,
            skip_rows=mapping.skip_rows,
            sheet=mapping.sheet,
            delimiter=mapping.delimiter,
        )
        rejects_dir = get_settings().data_dir / "rejects"
        rejects_path = rejects_dir / f"{path.stem}-rejects-{run.id}{_REJECT_SUFFIX[file_format]}"
        _run_pipeline(db_session, kind, reader, mapping, run, summary, rejects_path, progress)
    except ImportRefused as exc:
        _fail_run(db_session, run, exc.message)
        raise
    except BaseException as exc:
        _fail_run(db_session, run, f"{type(exc).__name__}: {exc}")
        raise
    finally:
        if reader is not None:
            reader.close()
    return _finish(db_session, run, summary, started)


def import_rows(
    *, db_session: Session, kind: str, rows: Iterable[dict[str, Any]], source: str = "api"
) -> ImportSummary:
    """Import rows given as dicts (field name -> value) through the same checks as a file."""
    started = time.perf_counter()
    _check_kind(kind)
    run = _start_run(db_session, kind, source, None)
    summary = ImportSummary(run_id=run.id, kind=kind, source=source)
    try:
        _run_pipeline(db_session, kind, MemoryReader(rows), Mapping(), run, summary, None, False)
    except ImportRefused as exc:
        _fail_run(db_session, run, exc.message)
        raise
    except BaseException as exc:
        _fail_run(db_session, run, f"{type(exc).__name__}: {exc}")
        raise
    return _finish(db_session, run, summary, started)


def _finish(db_session: Session, run: ImportRun, summary: ImportSummary, started: float) -> ImportSummary:
    run.status = "done"
    run.finished_at = _now()
    run.rows_total = summary.rows_total
    run.inserted = summary.inserted
    run.updated = summary.updated
    run.rejected = summary.rejected
    run.rejects_path = summary.rejects_path
    run.warnings = summary.warnings or None
    db_session.commit()
    summary.elapsed_s = time.perf_counter() - started
    return summary


# ------------------------------------------------------------------------------------- import runs


def list_runs(*, db_session: Session, limit: int = 50, kind: str | None = None) -> list[ImportRun]:
    """The latest import runs, newest first (only of ``kind`` when given)."""
    query = select(ImportRun).order_by(ImportRun.id.desc()).limit(limit)
    if kind:
        query = query.where(ImportRun.kind == kind)
    return list(db_session.scalars(query))


def run_errors(*, db_session: Session, run_id: int, limit: int) -> list[dict[str, Any]]:
    """The first ``limit`` row errors of import run ``run_id``, in file order."""
    errors: list[dict[str, Any]] = []
    query = select(ImportReject.errors).where(ImportReject.run_id == run_id).order_by(ImportReject.row_number)
    for (row_errors,) in db_session.execute(query):
        errors.extend(row_errors)
        if len(errors) >= limit:
            break
    return errors[:limit]
