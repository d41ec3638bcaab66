"""Tables shown on pages and exported as CSV or XLSX from the same definition.

A page builds ``Table`` objects; the template renders them with the ``table`` macro and
``?format=csv|xlsx&table=<key>`` on the same URL downloads them (see ``export_response``).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from fastapi import HTTPException
from fastapi.responses import Response
from openpyxl import Workbook
from openpyxl.styles import Font

EXPORT_FORMATS = ("csv", "xlsx")
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: Cells starting with these are formulas to Excel; customer text must never run as one.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass
class Column:
    """A column: ``key`` in each row, its header, and how the page shows the value (``kind``)."""

    key: str
    label: str
    kind: str = "text"  # text, int, number, percent, signed, status, date
    digits: int = 1


@dataclass
class Table:
    """Rows of plain values (numbers stay numbers, so exports can be summed in Excel)."""

    key: str
    title: str
    columns: list[Column]
    rows: list[dict[str, Any]] = field(default_factory=list)
    #: Optional per-row link (drill-down); not exported.
    row_url: Callable[[dict[str, Any]], str | None] | None = None
    row_class: Callable[[dict[str, Any]], str] | None = None
    filename: str = ""

    def url_for(self, row: dict[str, Any]) -> str | None:
        """The drill-down URL of ``row``, if the table has one."""
        return self.row_url(row) if self.row_url else None

    def class_for(self, row: dict[str, Any]) -> str:
        """Extra CSS classes of ``row``."""
        return self.row_class(row) if self.row_class else ""


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") or "export"


def _cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _is_number(value):
        return "'" + value  # CSV/formula injection: show the text, never evaluate it
    return value


def _is_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def to_csv(table: Table) -> bytes:
    """UTF-8 CSV with a byte-order mark, so Excel opens Chinese text correctly."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([_cell(c.label) for c in table.columns])
    for row in table.rows:
        writer.writerow(["" if row.get(c.key) is None else _cell(row.get(c.key)) for c in table.columns])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def to_xlsx(table: Table) -> bytes:
    """An XLSX workbook with one sheet holding the table (header in bold, widths fitted roughly)."""
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = _safe_name(table.title)[:31] or "data"
    # Headers can hold customer text too (an aspect or shop name): escaped like every body cell.
    sheet.append([_xlsx_value(c.label) for c in table.columns])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in table.rows:
        sheet.append([_xlsx_value(row.get(c.key)) for c in table.columns])
    for index, column in enumerate(table.columns, start=1):
        width = max([len(str(column.label))] + [len(str(r.get(column.key) or "")) for r in table.rows[:200]])
        sheet.column_dimensions[sheet.cell(row=1, column=index).column_letter].width = min(
            60, width * 1.6 + 2
        )
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _xlsx_value(value: Any) -> Any:
    if value is None or isinstance(value, int | float | bool):
        return value
    if isinstance(value, str):
        return _cell(value)
    return str(value) if not hasattr(value, "isoformat") else value


def export_response(tables: Sequence[Table], fmt: str, key: str | None, filename: str) -> Response:
    """The download of one table (``key``, default the first) as CSV or XLSX."""
    if fmt not in EXPORT_FORMATS:
        raise HTTPException(400, detail=f"format must be one of {', '.join(EXPORT_FORMATS)}")
    chosen = next((t for t in tables if t.key == key), None) if key else (tables[0] if tables else None)
    if chosen is None:
        raise HTTPException(404, detail="no such table")
    name = _safe_name(chosen.filename or f"{filename}-{chosen.key}")
    if fmt == "csv":
        body, media_type = to_csv(chosen), CSV_MEDIA_TYPE
    else:
        body, media_type = to_xlsx(chosen), XLSX_MEDIA_TYPE
    return Response(
        body, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{name}.{fmt}"'}
    )


def rows_of(items: Sequence[Any]) -> list[dict[str, Any]]:
    """Plain dict rows from pydantic models, dataclasses or mappings."""
    out = []
    for item in items:
        if hasattr(item, "model_dump"):
            out.append(item.model_dump())
        elif isinstance(item, dict):
            out.append(dict(item))
        else:
            out.append(dict(vars(item)))
    return out
