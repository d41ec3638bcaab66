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
import math
import re
import sys
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
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


@dataclass
class EncodingGuess:
    """A text encoding found for a file, and the other encodings that read it differently (doubts)."""

    encoding: str
    #: Encodings that decode the sample too, into other text: the guess may be wrong.
    alternatives: list[str] = field(default_factory=list)


def detect_encoding(path: Path) -> str:
    """The text encoding of ``path``: BOM, else strict UTF-8 on a sample, else charset detection."""
    return guess_encoding(path).encoding


def guess_encoding(path: Path) -> EncodingGuess:
    """The text encoding of ``path`` with the other plausible readings, when it had to be guessed."""
    with path.open("rb") as handle:
        sample = handle.read(_DETECT_SAMPLE)
        whole = len(sample) < _DETECT_SAMPLE
    if sample.startswith(codecs.BOM_UTF8):
        return EncodingGuess("utf-8-sig")
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return EncodingGuess("utf-16")
    try:
        # final=whole: a sample cut inside a multi-byte character is still UTF-8.
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=whole)
        return EncodingGuess("utf-8")
    except UnicodeDecodeError:
        pass
    # Detect on whole lines so the sample never ends inside a character.
    cut = sample if whole else sample[: sample.rfind(b"\n") + 1] or sample
    from charset_normalizer import from_bytes

    everything = list(from_bytes(cut))
    # Chinese shops' files are GBK/GB18030 or Big5; short samples decode cleanly as both, and then the
    # mainland encoding is the better bet. Other encodings are only considered when neither fits.
    chinese = list(from_bytes(cut, cp_isolation=["gb18030", "big5"]))
    chosen: str | None = None
    if chinese:
        least_chaos = min(m.chaos for m in chinese)
        tied = [_normalise_codec(m.encoding) for m in chinese if m.chaos <= least_chaos + 0.01]
        chosen = "gb18030" if "gb18030" in tied else tied[0]
        # Doubtful only when another reading is about as clean (GBK and Big5 on a short sample).
        close = [m.encoding for m in chinese + everything if m.chaos <= least_chaos + _CLOSE_CHAOS]
        return EncodingGuess(chosen, _other_readings(cut, chosen, close))
    if everything:
        best = min(everything, key=lambda m: m.chaos)
        chosen = _normalise_codec(best.encoding)
    else:
        for candidate in ("gb18030", "cp950"):
            try:
                cut.decode(candidate)
                chosen = candidate
                break
            except UnicodeDecodeError:
                continue
    if chosen is None:
        raise ImportRefused(
            "cannot tell the file's text encoding (save it as UTF-8 or GBK)",
            "无法识别文件编码（请另存为 UTF-8 或 GBK）",
        )
    # Neither UTF-8 nor Chinese: single- and double-byte code pages decode almost any bytes, so the
    # guess cannot be checked; every other common reading that gives different text is reported.
    candidates = [m.encoding for m in everything] + list(_COMMON_ENCODINGS)
    return EncodingGuess(chosen, _other_readings(cut, chosen, candidates))


#: How much messier (charset-normalizer's chaos) another reading may be and still cast doubt.
_CLOSE_CHAOS = 0.05
#: Encodings that shops' files come in besides UTF-8 and Chinese ones.
_COMMON_ENCODINGS = ("shift_jis", "euc_kr", "cp1252", "latin_1", "cp1250", "cp1251")


def _other_readings(sample: bytes, chosen: str, candidates: list[str]) -> list[str]:
    """Candidate encodings that decode ``sample`` into different text than ``chosen`` does."""
    text = sample.decode(chosen, errors="replace")
    others: list[str] = []
    for name in candidates:
        codec = _normalise_codec(name)
        if codec == chosen or codec in others:
            continue
        try:
            if sample.decode(codec) != text:
                others.append(codec)
        except (UnicodeDecodeError, LookupError):
            continue
    return others[:4]


class TableReader:
    """A file opened for import: its headers and a stream of rows, plus progress in bytes (or rows).

    Opening it checks the whole file first (every byte decodes; a workbook's parts are sound), so a
    file refused for being unreadable is refused before any of its rows is stored.
    """

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
        #: The rows above the header (titles, export notes), written again atop the rejects file.
        self.preamble: list[list[Any]] = []
        #: Doubts about the file that did not stop the import: (English, Chinese) messages.
        self.warnings: list[tuple[str, str]] = []
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
            self._check_workbook()
            self._open_xlsx(sheet)
        else:
            self.progress_total = size
            if self.encoding is None:
                guess = guess_encoding(path)
                self.encoding = guess.encoding
                if guess.alternatives:
                    self._doubt_encoding(guess)
            self._check_decodes()
            if fmt == "jsonl":
                self._open_jsonl()
            else:
                self._open_csv()

    # -- whole-file checks ---------------------------------------------------------------------

    def _doubt_encoding(self, guess: EncodingGuess) -> None:
        others = ", ".join(guess.alternatives)
        self.warnings.append(
            (
                f"the text encoding was guessed as {guess.encoding}, but the file also reads as {others} "
                f"with different characters; if names or texts look wrong, set encoding: in a mapping file",
                f"文件编码推测为 {guess.encoding}，但按 {others} 也能读出（字符不同）；如姓名或文本显示异常，"
                f"请在映射文件中设置 encoding:",
            )
        )

    def _check_decodes(self) -> None:
        """Decode every byte once before any row is stored: a bad byte late in the file refuses it whole."""
        assert self.encoding is not None
        decoder = codecs.getincrementaldecoder(self.encoding)()
        offset = 0
        with self.path.open("rb") as handle:
            while chunk := handle.read(_DETECT_SAMPLE):
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError as exc:
                    at = offset + max(0, min(exc.start, len(chunk)))
                    raise self._bad_bytes(at, self._line_at(at)) from exc
                offset += len(chunk)
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError as exc:
                raise self._bad_bytes(offset, self._line_at(offset)) from exc

    def _line_at(self, at: int) -> int:
        """The line number of byte ``at`` (only on the error path, so the check itself stays cheap)."""
        newline = "\n".encode(self.encoding or "utf-8")
        for bom in (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
            newline = newline.removeprefix(bom)  # "utf-8-sig" and "utf-16" encode a BOM first
        with self.path.open("rb") as handle:
            return handle.read(at).count(newline or b"\n") + 1

    def _bad_bytes(self, at: int, line: int) -> ImportRefused:
        return ImportRefused(
            f"line {line}: the file is not valid {self.encoding} text (byte {at}); nothing was imported "
            f"(save the whole file in one encoding, UTF-8 or GBK, or set encoding: in a mapping file)",
            f"第 {line} 行：文件不是有效的 {self.encoding} 文本（第 {at} 字节）；未导入任何数据"
            f"（请把整个文件另存为同一种编码，UTF-8 或 GBK，或在映射文件中设置 encoding:）",
        )

    def _check_workbook(self) -> None:
        """Refuse a workbook with a DTD (Excel never writes one; entities can explode) or broken parts."""
        try:
            with zipfile.ZipFile(self.path) as archive:
                for info in archive.infolist():
                    if not info.filename.endswith((".xml", ".rels", ".vml")):
                        continue
                    with archive.open(info) as part:
                        head = part.read(_DETECT_SAMPLE)
                    if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
                        raise ImportRefused(
                            f"the workbook part {info.filename} declares a DTD (<!DOCTYPE>), which Excel "
                            f"never writes; refused for safety (save it again from Excel or as CSV)",
                            f"工作簿部件 {info.filename} 含有 DTD（<!DOCTYPE>），Excel 不会生成这种内容；"
                            f"为安全起见拒绝导入（请用 Excel 重新保存，或另存为 CSV）",
                        )
                broken = archive.testzip()
        except zipfile.BadZipFile as exc:
            raise ImportRefused(
                f"cannot open the workbook: not an XLSX file ({exc})",
                f"无法打开工作簿：不是 XLSX 文件（{exc}）",
            ) from exc
        if broken is not None:
            raise ImportRefused(
                f"cannot open the workbook: part {broken} is damaged",
                f"无法打开工作簿：部件 {broken} 已损坏",
            )

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
                skipped = next(reader, None)
                if skipped is not None:
                    self.preamble.append(skipped)
            header = next(reader, None)
        except UnicodeDecodeError as exc:
            raise self._bad_bytes(self._raw.tell() if self._raw else 0, reader.line_num) from exc
        except csv.Error as exc:
            raise ImportRefused(f"cannot read the header row: {exc}", f"无法读取表头行：{exc}") from exc
        if header is None:
            raise ImportRefused("file is empty", "文件为空")
        # Row numbers are the lines a text editor shows: a quoted cell may span several lines.
        self.header_row = reader.line_num
        self.headers = [h.strip() for h in header]
        self._rows = self._csv_rows(reader)

    def _csv_rows(self, reader: Any) -> Iterator[Row]:
        """Rows numbered by the editor line they start on; a malformed record is rejected alone."""
        ended = reader.line_num
        while True:
            number = ended + 1
            try:
                values = next(reader)
            except StopIteration:
                return
            except UnicodeDecodeError as exc:  # checked up front; only a file changed meanwhile gets here
                raise self._bad_bytes(self._raw.tell() if self._raw else 0, number) from exc
            except csv.Error as exc:
                if reader.line_num == ended:
                    return  # nothing more could be read
                ended = reader.line_num
                problem = ValueProblem(
                    f"is not valid CSV ({exc})",
                    f"不是有效的 CSV（{exc}）",
                    "cells separated by the delimiter, quotes closed",
                    "用分隔符分隔的单元格，引号成对",
                )
                yield number, [], [], problem
                continue
            ended = reader.line_num
            if values:  # blank lines still count as rows, as Excel shows them
                yield number, values, values, None

    # -- JSONL -------------------------------------------------------------------------------------

    def _open_jsonl(self) -> None:
        keys: dict[str, None] = {}
        with self.path.open("r", encoding=self.encoding) as scan:
            for index, line in enumerate(scan):
                if index >= _JSONL_KEY_SCAN:
                    break
                obj = _json_line(line)
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
                obj = _json_line(line)
                if isinstance(obj, ValueProblem):
                    yield number, [], {"line": line.rstrip("\n")}, obj
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
        except UnicodeDecodeError as exc:  # checked up front; only a file changed meanwhile gets here
            raise self._bad_bytes(self._raw.tell() if self._raw else 0, 0) from exc

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
        try:
            rows = ws.iter_rows(values_only=True)
            for _ in range(self.skip_rows):
                skipped = next(rows, None)
                if skipped is not None:
                    self.preamble.append(list(skipped))
            header = next(rows, None)
        except Exception as exc:  # a damaged sheet: the XML parser's or openpyxl's own errors
            raise ImportRefused(f"cannot read the sheet: {exc}", f"无法读取工作表：{exc}") from exc
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
        try:
            for values in rows:
                number += 1
                self._rows_read = number
                if any(v is not None and v != "" for v in values):
                    cells = list(values)
                    yield number, cells, cells, None
        except ImportRefused:
            raise
        except Exception as exc:  # checked up front; a sheet damaged past its zip checksums
            raise ImportRefused(
                f"row {number + 1}: cannot read the sheet ({exc})",
                f"第 {number + 1} 行：无法读取工作表（{exc}）",
            ) from exc


def _json_line(line: str) -> Any:
    """One JSONL line parsed, or the ValueProblem saying why it is not JSON (never an exception)."""
    try:
        return json.loads(line)
    except RecursionError:
        return ValueProblem(
            "is nested too deeply",
            "嵌套层数过多",
            "one flat JSON object per line",
            "每行一个扁平的 JSON 对象",
        )
    except ValueError as exc:
        return ValueProblem(
            f"is not valid JSON ({exc})",
            f"不是有效的 JSON（{exc}）",
            "one JSON object per line",
            "每行一个 JSON 对象",
        )


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

    def __init__(
        self,
        path: Path,
        fmt: str,
        headers: list[str],
        delimiter: str = ",",
        preamble: Sequence[Sequence[Any]] = (),
    ) -> None:
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
            # backslashreplace: a lone surrogate (from JSON's "\\ud800") is shown, not a crash.
            self._file: IO[str] | None = path.open(
                "w", encoding="utf-8-sig", newline="", errors="backslashreplace"
            )
            self._csv = csv.writer(self._file, delimiter=delimiter)
            # The title rows above the header go back on top, so the file's mapping (skip_rows) fits it.
            for line in preamble:
                self._csv.writerow(["" if v is None else v for v in line])
            self._csv.writerow(self.headers)
        elif fmt == "xlsx":
            from openpyxl import Workbook

            self._file = None
            self._workbook = Workbook(write_only=True)
            self._sheet = self._workbook.create_sheet("rejects")
            for line in preamble:
                self._sheet.append([_xlsx_safe(v) for v in line])
            self._sheet.append([_xlsx_safe(v) for v in self.headers])
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
            self._sheet.append([_xlsx_safe(v) for v in self._cells(original, error)])
        else:
            assert self._file is not None
            obj = dict(original) if isinstance(original, dict) else {"value": original}
            obj[ERROR_COLUMN] = error
            line = json.dumps(obj, ensure_ascii=False, default=_json_default)
            if not line.isascii() and _SURROGATE.search(line):
                # JSON can say "\\ud800" but UTF-8 cannot hold it: escape so the row round-trips.
                line = json.dumps(obj, ensure_ascii=True, default=_json_default)
            self._file.write(line + "\n")

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


_SURROGATE = re.compile("[\ud800-\udfff]")
# Characters XML 1.0 cannot hold (openpyxl refuses them): control characters and lone surrogates.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def without_surrogates(text: str) -> str:
    """``text`` with any lone surrogate written as its escape (``\\ud800``), so UTF-8 can hold it."""
    if text.isascii() or not _SURROGATE.search(text):
        return text
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _xlsx_safe(value: Any) -> Any:
    if isinstance(value, str) and _XML_ILLEGAL.search(value):
        return _XML_ILLEGAL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), value)
    return value


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def jsonable(value: Any) -> Any:
    """A cell value as JSON can store it (for import_rejects.data)."""
    if isinstance(value, str):
        return without_surrogates(value)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # JSON has no NaN or Infinity; PostgreSQL refuses them
    if value is None or isinstance(value, int | float | bool):
        return value
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return _json_default(value)
