"""Reading and writing feedback tables (CSV/TSV/JSONL/XLSX) with encoding detection."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

Row = dict[str, Any]


def _decode(raw: bytes) -> str:
    """Decode bytes using the BOM, UTF-8, or charset-normalizer's best guess (GBK files)."""
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(raw).best()
    if best is not None:
        return str(best)
    return raw.decode("gb18030", errors="replace")


def read_table(path: str | Path) -> list[Row]:
    """Read rows from a .csv, .tsv, .txt, .jsonl/.ndjson, .json (list) or .xlsx file."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        from openpyxl import load_workbook

        wb = load_workbook(path, read_only=True, data_only=True)
        ws = wb.active
        if ws is None:
            return []
        rows_iter = ws.iter_rows(values_only=True)
        header = next(rows_iter, None)
        if header is None:
            return []
        names = [str(h) if h is not None else f"col{i}" for i, h in enumerate(header)]
        return [dict(zip(names, r, strict=False)) for r in rows_iter]
    text = _decode(path.read_bytes())
    if suffix in (".jsonl", ".ndjson"):
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    if suffix == ".json":
        data = json.loads(text)
        return list(data) if isinstance(data, list) else [data]
    delimiter = "\t" if suffix in (".tsv", ".tab") else ","
    if suffix not in (".csv", ".tsv", ".tab"):
        first = text.split("\n", 1)[0]
        delimiter = "\t" if first.count("\t") > first.count(",") else ","
    return list(csv.DictReader(io.StringIO(text), delimiter=delimiter))


def write_table(path: str | Path, rows: Iterable[Row], fieldnames: list[str]) -> int:
    """Write rows as .jsonl or .csv (UTF-8 with BOM so that Excel opens Chinese correctly)."""
    path = Path(path)
    n = 0
    if path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
        with open(path, "w", encoding="utf-8") as fh:
            for r in rows:
                fh.write(json.dumps(r, ensure_ascii=False) + "\n")
                n += 1
        return n
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fieldnames, extrasaction="ignore")
        writer.writeheader()
        for r in rows:
            writer.writerow(
                {
                    k: json.dumps(v, ensure_ascii=False) if isinstance(v, list | dict) else v
                    for k, v in r.items()
                }
            )
            n += 1
    return n
