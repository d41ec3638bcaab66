"""Reading CSV, TSV, XLSX and JSONL files as a stream of rows, and writing rejected rows back.

Row numbers are the ones the user sees: for CSV/TSV/XLSX the header is row 1 (plus any ``skip_rows``
above it), so the first data row is row 2, and blank rows still count; for JSONL it is the line number.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import json
import sys
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

from cxloop.imports.parse import ValueProblem

FORMATS = ("csv", "tsv", "xlsx", "jsonl")
_EXTENSIONS = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
}
#: The column a rejects file adds; ignored on import so a fixed rejects file can be imported as is.
ERROR_COLUMN = "error"
_DETECT_SAMPLE = 1 << 20
# Lines scanned to learn a JSONL file's keys (objects may leave out keys whose value is empty).
_JSONL_KEY_SCAN = 1000

# Quoted cells in exports can hold whole chat transcripts, longer than csv's 128 KiB default.
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


class ImportRefused(Exception):
    """The whole file is refused before any row is stored (empty, unreadable, a column missing)."""

    def __init__(self, message: str, message_zh: str) -> None:
        super().__init__(message)
        self.message = message
        self.message_zh = message_zh


#: (row number, cell values aligned with the headers, the row as read (for the rejects file),
#: a problem that makes the whole row unreadable or None).
Row = tuple[int, list[Any], Any, ValueProblem | None]


def detect_format(path: Path, fmt: str | None = None) -> str:
    """The file format: ``fmt`` when given, else from the file extension."""
    if fmt:
        fmt = fmt.lower().lstrip(".")
        if fmt not in FORMATS:
            raise ImportRefused(
                f"unknown format {fmt!r} (expected one of {', '.join(FORMATS)})",
                f"未知格式 {fmt!r}（应为 {'、'.join(FORMATS)} 之一）",
            )
        return fmt
    found = _EXTENSIONS.get(path.suffix.lower())
    if found is None:
        raise ImportRefused(
            f"cannot tell the format of {path.name!r} from its extension (use --format csv, tsv, xlsx or jsonl)",
            f"无法根据扩展名判断 {path.name!r} 的格式（请用 --format 指定 csv、tsv、xlsx 或 jsonl）",
        )
    return found


def _normalise_codec(name: str) -> str:
    name = codecs.lookup(name).name
    # Read with the supersets: Excel's "GBK" files may hold GB18030-only characters, and
    # Traditional-Chinese Windows writes cp950, a superset of Big5.
    if name in {"gbk", "gb2312", "gb18030", "hz"}:
        return "gb18030"
    if name in {"big5", "cp950", "big5hkscs"}:
        return "cp950"
    return name


def detect_encoding(path: Path) -> str:
    """The text encoding of ``path``: BOM, else strict UTF-8 on a sample, else charset detection."""
    with path.open("rb") as handle:
        sample = handle.read(_DETECT_SAMPLE)
        whole = len(sample) < _DETECT_SAMPLE
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        # final=whole: a sample cut inside a multi-byte character is still UTF-8.
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=whole)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    # Detect on whole lines so the sample never ends inside a character.
    cut = sample if whole else sample[: sample.rfind(b"\n") + 1] or sample
    from charset_normalizer import from_bytes

    # Chinese shops' files are GBK/GB18030 or Big5; short samples decode cleanly as both, and then the
    # mainland encoding is the better bet. Other encodings are only considered when neither fits.
    chinese = list(from_bytes(cut, cp_isolation=["gb18030", "big5"]))
    if chinese:
        least_chaos = min(m.chaos for m in chinese)
        tied = [_normalise_codec(m.encoding) for m in chinese if m.chaos <= least_chaos + 0.01]
        return "gb18030" if "gb18030" in tied else tied[0]
    best = from_bytes(cut).best()
    if best is not None:
        return _normalise_codec(best.encoding)
    for candidate in ("gb18030", "cp950"):
        try:
            cut.decode(candidate)
            return candidate
        except UnicodeDecodeError:
            continue
    raise ImportRefused(
        "cannot tell the file's text encoding (save it as UTF-8 or GBK)",
        "无法识别文件编码（请另存为 UTF-8 或 GBK）",
    )


class TableReader:
    """A file opened for import: its headers and a stream of rows, plus progress in bytes (or rows)."""

    def __init__(
        self,
        path: Path,
        fmt: str,
        *,
        encoding: str | None = None,
        skip_rows: int = 0,
        sheet: str | None = None,
        delimiter: str | None = None,
    ) -> None:
        self.path = path
        self.fmt = fmt
        self.encoding = encoding
        self.skip_rows = skip_rows
        self.headers: list[str] = []
        self.header_row = skip_rows + 1
        self.progress_total = 0
        self._raw: IO[bytes] | None = None
        self._rows_read = 0
        self._rows: Iterator[Row]
        self.delimiter = delimiter or ("\t" if fmt == "tsv" else ",")
        try:
            size = path.stat().st_size
        except OSError as exc:
            raise ImportRefused(
                f"cannot read {path}: {exc.strerror}", f"无法读取 {path}：{exc.strerror}"
            ) from exc
        if size == 0:
            raise ImportRefused("file is empty", "文件为空")
        if fmt == "xlsx":
            self._open_xlsx(sheet)
        else:
            self.progress_total = size
            if self.encoding is None:
                self.encoding = detect_encoding(path)
            if fmt == "jsonl":
                self._open_jsonl()
            else:
                self._open_csv()

    # -- progress ------------------------------------------------------------------------------

    def progress_done(self) -> int:
        """Bytes read so far (rows for XLSX), for the progress bar."""
        if self._raw is not None and not self._raw.closed:
            return self._raw.tell()
        return self._rows_read if self.fmt == "xlsx" else self.progress_total

    def __iter__(self) -> Iterator[Row]:
        return self._rows

    def close(self) -> None:
        """Release the file."""
        if self._raw is not None:
            self._raw.close()
        wb = getattr(self, "_workbook", None)
        if wb is not None:
            wb.close()

    # -- CSV / TSV -------------------------------------------------------------------------------

    def _text_stream(self) -> io.TextIOWrapper:
        assert self.encoding is not None
        self._raw = self.path.open("rb")
        return io.TextIOWrapper(self._raw, encoding=self.encoding, newline="")

    def _open_csv(self) -> None:
        stream = self._text_stream()
        reader = csv.reader(stream, delimiter=self.delimiter)
        try:
            for _ in range(self.skip_rows):
                next(reader, None)
            header = next(reader, None)
        except UnicodeDecodeError as exc:
            raise self._decode_refusal(exc) from exc
        except csv.Error as exc:
            raise ImportRefused(f"cannot read the header row: {exc}", f"无法读取表头行：{exc}") from exc
        if header is None:
            raise ImportRefused("file is empty", "文件为空")
        self.headers = [h.strip() for h in header]
        self._rows = self._csv_rows(reader)

    def _csv_rows(self, reader: Any) -> Iterator[Row]:
        number = self.header_row
        try:
            for values in reader:
                number += 1
                if values:  # blank lines still count as rows, as Excel shows them
                    yield number, values, values, None
        except UnicodeDecodeError as exc:
            raise self._decode_refusal(exc) from exc
        except csv.Error as exc:
            raise ImportRefused(
                f"row {number + 1}: the file is not valid CSV ({exc})",
                f"第 {number + 1} 行：CSV 格式错误（{exc}）",
            ) from exc

    def _decode_refusal(self, exc: UnicodeDecodeError) -> ImportRefused:
        at = self._raw.tell() if self._raw is not None else 0
        return ImportRefused(
            f"the file is not valid {self.encoding} text near byte {at} (save it as UTF-8 or GBK)",
            f"文件在第 {at} 字节附近不是有效的 {self.encoding} 文本（请另存为 UTF-8 或 GBK）",
        )

    # -- JSONL -------------------------------------------------------------------------------------

    def _open_jsonl(self) -> None:
        keys: dict[str, None] = {}
        with self.path.open("r", encoding=self.encoding) as scan:
            for index, line in enumerate(scan):
                if index >= _JSONL_KEY_SCAN:
                    break
                try:
                    obj = json.loads(line)
                except ValueError:
                    continue
                if isinstance(obj, dict):
                    keys.update(dict.fromkeys(obj))
        self.headers = list(keys)
        self.header_row = 0
        if not self.headers:
            raise ImportRefused(
                "no JSON objects in the first lines of the file", "文件开头几行没有 JSON 对象"
            )
        self._rows = self._jsonl_rows(self._text_stream())

    def _jsonl_rows(self, stream: io.TextIOWrapper) -> Iterator[Row]:
        headers = self.headers
        known = frozenset(headers)
        try:
            for number, line in enumerate(stream, start=1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except ValueError as exc:
                    problem = ValueProblem(
                        f"is not valid JSON ({exc})",
                        f"不是有效的 JSON（{exc}）",
                        "one JSON object per line",
                        "每行一个 JSON 对象",
                    )
                    yield number, [], {"line": line.rstrip("\n")}, problem
                    continue
                if not isinstance(obj, dict):
                    problem = ValueProblem(
                        "is not a JSON object",
                        "不是 JSON 对象",
                        "one JSON object per line",
                        "每行一个 JSON 对象",
                    )
                    yield number, [], {"line": line.rstrip("\n")}, problem
                    continue
                if not known.issuperset(obj):
                    extra = ", ".join(k for k in obj if k not in known)
                    problem = ValueProblem(
                        f"has keys not seen in the first {_JSONL_KEY_SCAN} lines ({extra})",
                        f"包含前 {_JSONL_KEY_SCAN} 行未出现的键（{extra}）",
                        "the same keys on every line",
                        "每行使用相同的键",
                    )
                    yield number, [], obj, problem
                    continue
                yield number, [obj.get(h) for h in headers], obj, None
        except UnicodeDecodeError as exc:
            raise self._decode_refusal(exc) from exc

    # -- XLSX --------------------------------------------------------------------------------------

    def _open_xlsx(self, sheet: str | None) -> None:
        from openpyxl import load_workbook

        try:
            self._workbook = load_workbook(self.path, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many types for a damaged or non-xlsx file
            raise ImportRefused(f"cannot open the workbook: {exc}", f"无法打开工作簿：{exc}") from exc
        if sheet is not None and sheet not in self._workbook.sheetnames:
            raise ImportRefused(
                f"no sheet named {sheet!r} (found: {', '.join(self._workbook.sheetnames)})",
                f"没有名为 {sheet!r} 的工作表（现有：{'、'.join(self._workbook.sheetnames)}）",
            )
        ws = self._workbook[sheet] if sheet else self._workbook.worksheets[0]
        self.progress_total = ws.max_row or 0
        rows = ws.iter_rows(values_only=True)
        for _ in range(self.skip_rows):
            next(rows, None)
        header = next(rows, None)
        if header is None or all(v is None for v in header):
            raise ImportRefused("file is empty", "文件为空")
        # Trailing empty header cells are formatting, not columns.
        cells = list(header)
        while cells and cells[-1] is None:
            cells.pop()
        self.headers = ["" if v is None else str(v).strip() for v in cells]
        self._rows = self._xlsx_rows(rows)

    def _xlsx_rows(self, rows: Iterator[tuple[Any, ...]]) -> Iterator[Row]:
        number = self.header_row
        for values in rows:
            number += 1
            self._rows_read = number
            if any(v is not None and v != "" for v in values):
                cells = list(values)
                yield number, cells, cells, None


class MemoryReader:
    """Rows given as dicts (the JSON API, the demo generator) read like a JSONL file: item N is row N."""

    def __init__(self, rows: Iterable[dict[str, Any]]) -> None:
        self.fmt = "api"
        self.header_row = 0
        self.progress_total = 0
        self._items: Iterator[dict[str, Any]]
        if isinstance(rows, Sequence):
            keys: dict[str, None] = {}
            for row in rows:
                keys.update(dict.fromkeys(row))
            self.headers = list(keys)
            self._items = iter(rows)
        else:
            # A generator is read once, so its first item names the columns.
            items = iter(rows)
            first = next(items, None)
            self.headers = list(first) if first is not None else []
            self._items = itertools.chain((first,), items) if first is not None else iter(())

    def progress_done(self) -> int:
        """Always 0: there is no file to measure."""
        return 0

    def close(self) -> None:
        """Nothing to release."""

    def __iter__(self) -> Iterator[Row]:
        headers = self.headers
        known = frozenset(headers)
        for number, obj in enumerate(self._items, start=1):
            if not known.issuperset(obj):
                extra = ", ".join(k for k in obj if k not in known)
                yield (
                    number,
                    [],
                    obj,
                    ValueProblem(
                        f"has keys the first item does not have ({extra})",
                        f"包含第一项没有的键（{extra}）",
                        "the same keys in every item",
                        "每项使用相同的键",
                    ),
                )
                continue
            yield number, [obj.get(h) for h in headers], obj, None


class RejectsWriter:
    """Writes rejected rows in the input's own format, with an ``error`` column, ready to fix and re-import."""

    def __init__(self, path: Path, fmt: str, headers: list[str], delimiter: str = ",") -> None:
        self.path = path
        self.fmt = fmt
        self.count = 0
        path.parent.mkdir(parents=True, exist_ok=True)
        lowered = [h.strip().lower() for h in headers]
        # A rejects file re-imported and rejected again keeps one error column, with the new reason.
        self._error_index = lowered.index(ERROR_COLUMN) if ERROR_COLUMN in lowered else None
        self._width = len(headers)
        self.headers = list(headers) if self._error_index is not None else [*headers, ERROR_COLUMN]
        if fmt in ("csv", "tsv"):
            # UTF-8 with BOM whatever the input was: Excel then opens Chinese text correctly.
            self._file: IO[str] | None = path.open("w", encoding="utf-8-sig", newline="")
            self._csv = csv.writer(self._file, delimiter=delimiter)
            self._csv.writerow(self.headers)
        elif fmt == "xlsx":
            from openpyxl import Workbook

            self._file = None
            self._workbook = Workbook(write_only=True)
            self._sheet = self._workbook.create_sheet("rejects")
            self._sheet.append(self.headers)
        else:
            self._file = path.open("w", encoding="utf-8")

    def _cells(self, values: list[Any], error: str) -> list[Any]:
        cells = list(values) + [None] * (self._width - len(values))
        if self._error_index is not None:
            cells[self._error_index] = error
        else:
            cells.insert(self._width, error)
        return cells

    def write(self, original: Any, error: str) -> None:
        """Add one rejected row (as it was read) with its error text."""
        self.count += 1
        if self.fmt in ("csv", "tsv"):
            self._csv.writerow(self._cells(["" if v is None else v for v in original], error))
        elif self.fmt == "xlsx":
            self._sheet.append(self._cells(original, error))
        else:
            assert self._file is not None
            obj = dict(original) if isinstance(original, dict) else {"value": original}
            obj[ERROR_COLUMN] = error
            self._file.write(json.dumps(obj, ensure_ascii=False, default=_json_default) + "\n")

    def flush(self) -> None:
        """Push what was written so far to disk (called per committed batch)."""
        if self._file is not None:
            self._file.flush()

    def close(self) -> None:
        """Finish the file."""
        if self.fmt == "xlsx":
            self._workbook.save(self.path)
        elif self._file is not None:
            self._file.close()


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def jsonable(value: Any) -> Any:
    """A cell value as JSON can store it (for import_rejects.data)."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return _json_default(value)
