"""Mapping files: how a source file's columns map onto a kind's fields (docs/imports.md)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from cxloop.imports.readers import (
    ImportRefused,
)


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
