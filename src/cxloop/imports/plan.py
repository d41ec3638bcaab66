"""The plan of an import: which column feeds which field, through which converter, compiled once per file."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from cxloop.config import get_settings
from cxloop.imports import parse
from cxloop.imports.kinds import (
    KINDS,
    FieldSpec,
    KindSpec,
    header_aliases,
)
from cxloop.imports.mapping import COMPOSITE_SEPARATOR, Mapping, MappingError
from cxloop.imports.readers import (
    ERROR_COLUMN,
    ImportRefused,
)

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
