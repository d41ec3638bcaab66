"""Value converters for imported cells: text, numbers, flags, codes and dates in every common shape.

A converter takes the raw cell (a ``str`` from CSV, or a native value from XLSX/JSON) and returns the
value to store, or raises :class:`ValueProblem` saying what is wrong and what was expected, in English
and Chinese. Converters are built once per column so the per-row work stays a few attribute lookups.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

Converter = Callable[[Any], Any]


class ValueProblem(ValueError):
    """A cell value that cannot be stored: what is wrong with it and what was expected."""

    def __init__(self, problem: str, problem_zh: str, expected: str, expected_zh: str) -> None:
        super().__init__(problem)
        self.problem = problem
        self.problem_zh = problem_zh
        self.expected = expected
        self.expected_zh = expected_zh


def is_blank(raw: Any) -> bool:
    """Whether a cell counts as empty (None, or only whitespace)."""
    return raw is None or (isinstance(raw, str) and not raw.strip())


# ---------------------------------------------------------------------------------------------- text


_SURROGATE = re.compile("[\ud800-\udfff]")
_NOT_TEXT = ValueProblem("is not a text value", "不是文本值", "text, a number or a date", "文本、数字或日期")
_HALF_CHARACTER = ValueProblem(
    "contains half of a character (an unpaired surrogate such as \\ud800)",
    "包含半个字符（未配对的代理码位，如 \\ud800）",
    "text that is valid Unicode",
    "有效的 Unicode 文本",
)


_NUL = ValueProblem(
    "contains a NUL character (\\x00)",
    "包含 NUL 字符（\\x00）",
    "text without NUL characters",
    "不含 NUL 字符的文本",
)


def _as_text(raw: Any) -> str:
    """A cell as text; lists, objects and lone surrogates (which no database can store) are refused."""
    if isinstance(raw, str):
        value = raw
    elif isinstance(raw, dict | list | tuple | set | bytes):
        raise _NOT_TEXT
    else:
        value = native_to_str(raw)
    if not value.isascii() and _SURROGATE.search(value):
        raise _HALF_CHARACTER
    if "\x00" in value:
        raise _NUL  # PostgreSQL text cannot hold it; no shop's text needs it
    return value


def make_str(max_len: int | None = None, strip: bool = True) -> Converter:
    """A converter for short text (ids, names, codes): trimmed, length-checked, blank means None."""

    def convert(raw: Any) -> str | None:
        if raw is None:
            return None
        value = _as_text(raw)
        if strip:
            value = value.strip()
        if not value:
            return None
        if max_len is not None and len(value) > max_len:
            raise ValueProblem(
                f"is too long ({len(value)} characters)",
                f"太长（{len(value)} 个字符）",
                f"at most {max_len} characters",
                f"最多 {max_len} 个字符",
            )
        return value

    return convert


def make_text() -> Converter:
    """A converter for free text (feedback, comments): kept exactly, only all-blank becomes None."""

    def convert(raw: Any) -> str | None:
        if raw is None:
            return None
        value = _as_text(raw)
        # The customer's words are evidence: keep inner and outer spacing, line breaks and script as is.
        return value if value.strip() else None

    return convert


def native_to_str(raw: Any) -> str:
    """A native cell value (XLSX number or date, JSON number) as the text other files would hold."""
    # Excel stores ids like 10023 as numbers; "10023.0" would not match the id other files use.
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    if isinstance(raw, datetime):
        return raw.isoformat(sep=" ")
    return str(raw)


# ------------------------------------------------------------------------------------------- numbers

_NUMBER_NOISE = re.compile(r"[\s,，¥￥$元]")


#: What a 64-bit database integer holds: larger numbers are refused here, not by the database.
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def make_int(min_value: int | None = None, max_value: int | None = None) -> Converter:
    """A converter for whole numbers, accepting ``5``, ``"5"``, ``"5.0"`` and thousands separators."""
    if max_value is None:
        max_value = INT64_MAX
    if min_value is None:
        min_value = INT64_MIN
    expected, expected_zh = _range_words(min_value, max_value, "a whole number", "整数")

    def convert(raw: Any) -> int | None:
        if is_blank(raw):
            return None
        if isinstance(raw, bool):
            raise ValueProblem("is not a whole number", "不是整数", expected, expected_zh)
        value: int
        cleaned = _NUMBER_NOISE.sub("", raw) if isinstance(raw, str) else raw
        if isinstance(raw, int):
            value = raw
        elif isinstance(cleaned, str) and cleaned.isdecimal() and len(cleaned) < 40:
            value = int(cleaned)  # not through float, which would round 16+ digit numbers
        else:
            try:
                number = float(cleaned)
            except (TypeError, ValueError, OverflowError):
                raise ValueProblem("is not a whole number", "不是整数", expected, expected_zh) from None
            if not number.is_integer():
                raise ValueProblem("is not a whole number", "不是整数", expected, expected_zh)
            value = int(number)
        if (min_value is not None and value < min_value) or (max_value is not None and value > max_value):
            raise ValueProblem("is out of range", "超出范围", expected, expected_zh)
        return value

    return convert


def _range_words(lo: int | None, hi: int | None, noun: str, noun_zh: str) -> tuple[str, str]:
    lo = None if lo == INT64_MIN else lo
    hi = None if hi == INT64_MAX else hi
    if lo is not None and hi is not None:
        return f"{noun} from {lo} to {hi}", f"{lo} 到 {hi} 之间的{noun_zh}"
    if lo is not None:
        return f"{noun} of at least {lo}", f"不小于 {lo} 的{noun_zh}"
    return noun, noun_zh


# Amounts are stored as NUMERIC(14, 2): twelve digits before the point.
_AMOUNT_LIMIT = Decimal(10) ** 12


def make_decimal() -> Converter:
    """A converter for amounts: ``12.5``, ``"¥1,234.50"``, ``"12.5元"``; kept exact as Decimal."""

    def convert(raw: Any) -> Decimal | None:
        if is_blank(raw):
            return None
        try:
            # repr, not the binary value, for floats: 0.1 stays 0.1
            text = repr(raw) if isinstance(raw, float) else _NUMBER_NOISE.sub("", str(raw))
            value = Decimal(text)
        except InvalidOperation:
            raise ValueProblem(
                "is not an amount", "不是金额", "a number such as 128.50", "数字，如 128.50"
            ) from None
        if not value.is_finite() or abs(value) >= _AMOUNT_LIMIT:
            raise ValueProblem("is not an amount", "不是金额", "a number such as 128.50", "数字，如 128.50")
        return value

    return convert


def make_float(min_value: float | None = None) -> Converter:
    """A converter for measurements such as weights."""

    def convert(raw: Any) -> float | None:
        if is_blank(raw):
            return None
        try:
            value = float(_NUMBER_NOISE.sub("", raw) if isinstance(raw, str) else raw)
        except (TypeError, ValueError, OverflowError):
            raise ValueProblem(
                "is not a number", "不是数字", "a number such as 1.25", "数字，如 1.25"
            ) from None
        if not math.isfinite(value):
            raise ValueProblem("is not a number", "不是数字", "a number such as 1.25", "数字，如 1.25")
        if min_value is not None and value < min_value:
            raise ValueProblem(
                "is out of range",
                "超出范围",
                f"a number of at least {min_value}",
                f"不小于 {min_value} 的数字",
            )
        return value

    return convert


_TRUE = frozenset({"1", "true", "t", "yes", "y", "on", "是", "对", "真", "有", "√", "✓"})
_FALSE = frozenset({"0", "false", "f", "no", "n", "off", "否", "不", "错", "假", "无", "×", "✗"})


def make_bool() -> Converter:
    """A converter for flags: true/false, yes/no, 1/0, 是/否."""

    def convert(raw: Any) -> bool | None:
        if is_blank(raw):
            return None
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, int | float):
            if raw in (0, 1):
                return bool(raw)
        else:
            key = str(raw).strip().lower()
            if key in _TRUE:
                return True
            if key in _FALSE:
                return False
        raise ValueProblem(
            "is not a yes/no value",
            "不是是/否值",
            "true/false, yes/no, 1/0 or 是/否",
            "true/false、yes/no、1/0 或 是/否",
        )

    return convert


def make_choice(choices: tuple[str, ...], aliases: Mapping[str, str]) -> Converter:
    """A converter for codes from a fixed list, accepting any case and the listed (Chinese) aliases."""
    lookup = {c.lower(): c for c in choices}
    lookup.update({k.lower(): v for k, v in aliases.items()})
    expected = "one of " + ", ".join(choices)
    expected_zh = "以下之一：" + "、".join(choices)

    def convert(raw: Any) -> str | None:
        if is_blank(raw):
            return None
        value = lookup.get(str(raw).strip().lower())
        if value is None:
            raise ValueProblem("is not a known value", "不是可识别的取值", expected, expected_zh)
        return value

    return convert


# --------------------------------------------------------------------------------------------- dates

DATE_EXPECTED = "e.g. 2026-11-22 10:56, 2026/11/22, an Excel serial or epoch seconds"
DATE_EXPECTED_ZH = "如 2026-11-22 10:56、2026/11/22、Excel 日期序号或 Unix 时间戳（秒）"

_EXCEL_EPOCH = datetime(1899, 12, 30)
# Serials for 1954..2119: wide enough for any shop data, narrow enough not to swallow other numbers.
_SERIAL_MIN, _SERIAL_MAX = 20_000.0, 80_000.0

_STRPTIME_FORMATS = (
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
    "%Y.%m.%d %H:%M:%S",
    "%Y.%m.%d %H:%M",
    "%Y.%m.%d",
    "%Y年%m月%d日 %H:%M:%S",
    "%Y年%m月%d日 %H:%M",
    "%Y年%m月%d日%H:%M:%S",
    "%Y年%m月%d日%H:%M",
    "%Y年%m月%d日 %H时%M分%S秒",
    "%Y年%m月%d日 %H时%M分",
    "%Y年%m月%d日",
)

_Strategy = Callable[[str], datetime]


def _iso(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _slashed_iso(text: str) -> datetime:
    # "2026/11/22 10:56" is what Chinese Excel shows; rewriting it keeps the fast C parser.
    return datetime.fromisoformat(text.replace("/", "-"))


def _chinese_iso(text: str) -> datetime:
    # "2026年11月22日 10:56" -> "2026-11-22 10:56", again for the fast parser.
    return datetime.fromisoformat(text.replace("年", "-").replace("月", "-").replace("日", " ").strip())


def _epoch(text: str) -> datetime:
    if text.isdigit() and len(text) in (10, 13):
        seconds = int(text) / (1000 if len(text) == 13 else 1)
        return _from_epoch(seconds)
    raise ValueError(text)


def _serial(text: str) -> datetime:
    value = float(text)
    if not _SERIAL_MIN <= value <= _SERIAL_MAX:
        raise ValueError(text)
    return _from_serial(value)


def _strptime_strategy(fmt: str) -> _Strategy:
    def parse(text: str) -> datetime:
        return datetime.strptime(text, fmt)

    return parse


_STRATEGIES: tuple[_Strategy, ...] = (
    _iso,
    _slashed_iso,
    _chinese_iso,
    _epoch,
    _serial,
    *(_strptime_strategy(f) for f in _STRPTIME_FORMATS),
)

_UTC = ZoneInfo("UTC")


def _last_moment(day: datetime) -> datetime:
    # The day's last instant where the file's times are written (the mapping's timezone, by
    # default the business zone); _to_business then moves it like any other naive time.
    return datetime.combine(day.date(), time.max)


def _from_epoch(seconds: float) -> datetime:
    # Aware (UTC): epoch numbers mean the same instant whatever zone the file is written in.
    return datetime.fromtimestamp(seconds, _UTC)


def _from_serial(value: float) -> datetime:
    # Round to the second: serials carry float noise (46348.45 is 10:48:00, not 10:47:59.99).
    return _EXCEL_EPOCH + timedelta(seconds=round(value * 86400))


class DateParser:
    """Parses one column's dates into naive business-time datetimes, remembering the format that worked.

    ``source_tz`` is the zone naive values in the file are written in (the mapping's ``timezone``, by
    default the business zone); values with an explicit offset, and epoch numbers, are converted.
    """

    def __init__(
        self,
        business_tz: ZoneInfo,
        source_tz: ZoneInfo | None = None,
        fmt: str | None = None,
        end_of_day: bool = False,
    ):
        self.business_tz = business_tz
        #: A date without a time of day means the end of that day (a promise "by 2018-03-14").
        self.end_of_day = end_of_day
        self.source_tz = source_tz or business_tz
        self._shift_naive = self.source_tz.key != business_tz.key
        self._strategies: tuple[_Strategy, ...] = (
            (_strptime_strategy(fmt), *_STRATEGIES) if fmt else _STRATEGIES
        )
        self._last: _Strategy = self._strategies[0]

    def __call__(self, raw: Any) -> datetime | None:
        """Parse one cell; raises ValueProblem when it is not a date."""
        if raw is None:
            return None
        if isinstance(raw, str):
            text = raw.strip()
            if not text:
                return None
            try:
                value = self._last(text)
            except (ValueError, OverflowError):
                value = self._search(text)
            if self.end_of_day and self._date_only(text, value):
                value = _last_moment(value)
        elif isinstance(raw, datetime):
            value = raw
            # An XLSX date cell comes back as midnight: in a promise column that is a date, not 00:00.
            if self.end_of_day and value.tzinfo is None and value.time() == time.min:
                value = _last_moment(value)
        elif isinstance(raw, date):
            value = datetime(raw.year, raw.month, raw.day)
            if self.end_of_day:
                value = _last_moment(value)
        elif isinstance(raw, int | float) and not isinstance(raw, bool):
            value = self._number(float(raw))
            if self.end_of_day and _SERIAL_MIN <= raw <= _SERIAL_MAX and float(raw).is_integer():
                value = _last_moment(value)
        else:
            raise ValueProblem("is not a date", "不是日期", DATE_EXPECTED, DATE_EXPECTED_ZH)
        try:
            return self._to_business(value)
        except (OverflowError, ValueError):  # year 1 or 9999 moved across a zone boundary
            raise ValueProblem("is not a date", "不是日期", DATE_EXPECTED, DATE_EXPECTED_ZH) from None

    def _date_only(self, text: str, value: datetime) -> bool:
        """Whether ``text`` (just parsed by ``self._last``) names a calendar day without a time.

        Exports often write a date-only promise as ``2018-03-14 00:00:00``: exactly midnight in a
        date-only column counts as the day too (nobody promises delivery by midnight sharp).
        """
        if self._last is _epoch or value.tzinfo is not None:
            return False  # an instant, whatever its digits
        if self._last is _serial:
            return float(text).is_integer()
        return value.time() == time.min or (":" not in text and "时" not in text)

    def _search(self, text: str) -> datetime:
        for strategy in self._strategies:
            try:
                value = strategy(text)
            except (ValueError, OverflowError):
                continue
            self._last = strategy  # the next row of this column is almost surely in the same format
            return value
        raise ValueProblem("is not a date", "不是日期", DATE_EXPECTED, DATE_EXPECTED_ZH)

    @staticmethod
    def _number(value: float) -> datetime:
        if _SERIAL_MIN <= value <= _SERIAL_MAX:
            return _from_serial(value)
        if 1e12 <= value < 1e13:
            return _from_epoch(value / 1000)
        if 1e9 <= value < 1e10:
            return _from_epoch(value)
        raise ValueProblem("is not a date", "不是日期", DATE_EXPECTED, DATE_EXPECTED_ZH)

    def _to_business(self, value: datetime) -> datetime:
        if value.tzinfo is not None:
            return value.astimezone(self.business_tz).replace(tzinfo=None)
        if self._shift_naive:
            return value.replace(tzinfo=self.source_tz).astimezone(self.business_tz).replace(tzinfo=None)
        return value
