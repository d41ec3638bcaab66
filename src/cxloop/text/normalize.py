"""Text normalisation that keeps a map back to the original character offsets.

Every analysed span (clause, aspect evidence) is found in the *normalised* text, but callers
need offsets into the text they stored, so each normalised character remembers the index of the
original character it came from.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

# Longer texts are cut here: a review is rarely longer than a few thousand characters and a
# 100 KB paste would otherwise dominate a whole batch. The cut is documented in docs/text.md.
MAX_CHARS = 5000
# Runs of one character longer than this are shortened ("好好好好好" -> "好好好", "!!!!!" -> "!!!").
MAX_REPEAT = 3

# Common emoji mapped to a word the sentiment model knows; other emoji become a space so that
# they neither crash anything nor glue two words together.
EMOJI_WORDS: dict[str, str] = {
    "👍": "赞",
    "👏": "赞",
    "💯": "赞",
    "🎉": "开心",
    "😀": "开心",
    "😁": "开心",
    "😂": "哈哈",
    "🤣": "哈哈",
    "😃": "开心",
    "😄": "开心",
    "😊": "开心",
    "🙂": "开心",
    "😍": "喜欢",
    "🥰": "喜欢",
    "😘": "喜欢",
    "❤": "喜欢",
    "💕": "喜欢",
    "💖": "喜欢",
    "🌹": "赞",
    "👌": "好",
    "😋": "好吃",
    "👎": "差",
    "😡": "生气",
    "😠": "生气",
    "🤬": "生气",
    "😤": "生气",
    "😭": "失望",
    "😢": "失望",
    "😞": "失望",
    "😔": "失望",
    "😩": "失望",
    "😫": "失望",
    "🙄": "无语",
    "😒": "无语",
    "💩": "垃圾",
    "🤮": "恶心",
    "🤢": "恶心",
}

_converter_lock = threading.Lock()
_converter: object | None = None


def _t2s(text: str) -> str:
    """Convert Traditional to Simplified Chinese with OpenCC (loaded once, lazily)."""
    global _converter
    if _converter is None:
        with _converter_lock:
            if _converter is None:
                import opencc

                _converter = opencc.OpenCC("t2s")
    return str(_converter.convert(text))  # type: ignore[attr-defined]


def _is_emoji(ch: str) -> bool:
    """Tell whether a character is a pictograph (emoji) or an emoji modifier/joiner."""
    cp = ord(ch)
    return (
        0x1F000 <= cp <= 0x1FAFF
        or 0x2600 <= cp <= 0x27BF
        or 0x2B00 <= cp <= 0x2BFF
        or cp in (0x200D, 0xFE0F, 0xFE0E, 0x20E3)
        or 0x1F3FB <= cp <= 0x1F3FF
    )


class Normalized(NamedTuple):
    """A normalised text with, for every character, the offset of its source character.

    A named tuple rather than a frozen dataclass: a batch builds one per text, and the
    dataclass's __init__ cost about 1 us each.
    """

    text: str
    offsets: Sequence[int]
    original: str

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Map a [start, end) span of the normalised text back to the original text."""
        if not self.offsets or start >= end:
            return (0, 0)
        start = max(0, min(start, len(self.offsets) - 1))
        end = max(start + 1, min(end, len(self.offsets)))
        o_start = self.offsets[start]
        o_end = self.offsets[end - 1] + 1
        # A character that expanded (emoji -> word) maps to one original character; extend the
        # end over the rest of that original character run so the span is never empty.
        return (o_start, max(o_end, o_start + 1))


#: Characters that end a line; normalised to "\n", which split_clauses treats as a boundary.
_LINE_BREAKS = frozenset("\n\r\x0b\x0c\x85\u2028\u2029")


def _clean_char(ch: str) -> str:
    """Return the replacement for one original character (may be empty or several chars)."""
    if ch in EMOJI_WORDS:
        return EMOJI_WORDS[ch]
    if _is_emoji(ch):
        return " "
    if ch in _LINE_BREAKS:
        # A line break ends what was said (chat turns, ticket lines): kept, so clauses split on it
        # and "麻烦补发\n谢谢客服" is two opinions, not one about customer service.
        return "\n"
    cat = unicodedata.category(ch)
    if cat in ("Cc", "Cs", "Co", "Cn", "Cf"):
        # Control characters, lone surrogates, private use and binary junk become a space.
        return " " if ch not in "\u200b\u200c" else ""
    if cat.startswith("Z"):
        return " "
    if ord(ch) < 128:
        return ch.lower()
    # NFKC folds full-width forms to half-width (Ａ->a, ！->!, １->1) and compatibility chars.
    return unicodedata.normalize("NFKC", ch).lower()


# Texts made only of these characters (Han, printable ASCII, full-width forms, common CJK
# punctuation, plain spaces) take the fast path below, which gives the same result as the
# character-by-character path but in a few C-level string operations.
_SIMPLE_RE = re.compile(r"[^\u4e00-\u9fff\u3400-\u4dbf\x20-\x7e\uff01-\uff5e\u3001-\u3003\u3008-\u3011]")
_FAST_TABLE = {chr(c): chr(c - 0xFEE0).lower() for c in range(0xFF01, 0xFF5F)}
_FULL_WIDTH_RE = re.compile("[\uff01-\uff5e]")
_RUN_RE = re.compile(rf"(.)\1{{{MAX_REPEAT},}}| {{2,}}")


def _half_width(m: re.Match[str]) -> str:
    """Replacement of one full-width character."""
    return _FAST_TABLE[m.group(0)]


def _fast(text: str, original: str) -> Normalized | None:
    """Normalise a text of simple characters; None when the general path is needed."""
    # Reviews hold few full-width characters: substituting matches beats str.translate here.
    return _finish(_FULL_WIDTH_RE.sub(_half_width, text.lower()), original)


def _finish(s: str, original: str) -> Normalized | None:
    """Convert, collapse runs and trim a cleaned text that maps one-to-one onto the original.

    None when conversion to Simplified changes the length (the general path handles that).
    """
    converted = _t2s(s)
    if len(converted) != len(s):
        return None
    return _collapse(converted, original)


def _collapse(s: str, original: str, base: Sequence[int] | None = None) -> Normalized:
    """Collapse runs and trim a converted text; `base` maps its characters to the original
    (None: one-to-one)."""
    keep: list[tuple[int, int]] = []
    pos = 0
    for m in _RUN_RE.finditer(s):
        limit = 1 if s[m.start()] == " " else MAX_REPEAT
        keep.append((pos, m.start() + limit))
        pos = m.end()
    keep.append((pos, len(s)))
    if base is not None:
        chars = "".join(s[a:b] for a, b in keep) if len(keep) > 1 else s
        mapped = [base[i] for a, b in keep for i in range(a, b)] if len(keep) > 1 else base
        return _trimmed(chars, mapped, original)
    if len(keep) == 1:
        # Nothing collapsed: the map is the identity, kept as a cheap range.
        chars, offsets = s, range(len(s))
        if not chars.startswith(" ") and not chars.endswith(" "):
            return Normalized(chars, offsets, original)
    else:
        chars = "".join(s[a:b] for a, b in keep)
        offsets = [i for a, b in keep for i in range(a, b)]  # type: ignore[assignment]
    return _trimmed(chars, offsets, original)


def _trimmed(chars: str, offsets: Sequence[int], original: str) -> Normalized:
    """The text without leading and trailing spaces, its offset map cut to match."""
    lo, hi = 0, len(chars)
    while lo < hi and chars[lo] in " \n":
        lo += 1
    while hi > lo and chars[hi - 1] in " \n":
        hi -= 1
    return Normalized(chars[lo:hi], offsets[lo:hi], original)


# `_clean_char` results by code point, filled as characters are met, for one `str.translate` call
# per text; characters whose replacement is not exactly one character are kept apart (texts
# holding them take the general path). The table stops growing at _TABLE_MAX characters (junk
# input could otherwise fill it with all of Unicode); new characters then get a per-text table.
_CLEAN_TABLE: dict[int, str] = {}
_NOT_ONE_TO_ONE: set[str] = set()
_TABLE_MAX = 50_000


def _table_for(text: str) -> tuple[dict[int, str], bool]:
    """A cleaning table covering the text's characters, and whether all map one-to-one."""
    chars = set(text)
    table = _CLEAN_TABLE
    missing = [ch for ch in chars if ord(ch) not in table]
    if missing and len(table) >= _TABLE_MAX:
        local = {ord(ch): _clean_char(ch) for ch in chars}
        return local, all(len(r) == 1 for r in local.values())
    for ch in missing:
        rep = _clean_char(ch)
        if len(rep) != 1:
            _NOT_ONE_TO_ONE.add(ch)
        table[ord(ch)] = rep
    return table, _NOT_ONE_TO_ONE.isdisjoint(chars)


def _translated(text: str, original: str) -> Normalized | None:
    """Normalise a text whose characters all clean to exactly one character; None otherwise."""
    table, one_to_one = _table_for(text)
    if not one_to_one:
        return None
    return _finish(text.translate(table), original)


def normalize(text: str | None) -> Normalized:
    """Normalise one text (Traditional->Simplified, width, emoji, repeats) keeping an offset map."""
    if text is None:
        return Normalized("", (), "")
    if not isinstance(text, str):
        text = str(text)
    original = text
    text = text[:MAX_CHARS]
    fast = _fast(text, original) if not _SIMPLE_RE.search(text) else _translated(text, original)
    if fast is not None and fast.text:
        return fast
    # General path: per-character replacements (from the lazily filled table) that may expand
    # (emoji -> word, "…" -> "...") or vanish, with the source offset of every output character.
    table = _table_for(text)[0]
    reps = [table[ord(ch)] for ch in text]
    joined = "".join(reps)
    offsets = [i for i, rep in enumerate(reps) for _ in rep]
    converted = _t2s(joined) if joined else joined
    if len(converted) == len(joined):
        joined = converted
    else:
        # Phrase-level conversion changed the length (rare): fall back to converting char by char,
        # which keeps a one-to-one map.
        parts = [_t2s(c) for c in joined]
        joined = "".join(parts)
        offsets = [off for part, off in zip(parts, offsets, strict=True) for _ in part]
    # Collapse long runs of one character and runs of whitespace, trim, keep the map aligned.
    out = _collapse(joined, original, offsets)
    return Normalized(out.text, tuple(out.offsets), original)


def normalize_batch(texts: Sequence[str | None]) -> list[Normalized]:
    """`normalize` every text; the same results, faster for a batch.

    Texts of simple characters (most reviews) are converted to Simplified in one OpenCC call
    (joined by newlines, which they never contain and no dictionary entry spans), and one numpy
    pass over the converted batch finds the few texts with runs to collapse.
    """
    out: list[Normalized | None] = [None] * len(texts)
    idx: list[int] = []
    cleaned: list[str] = []
    for i, t in enumerate(texts):
        if type(t) is str and t and not _SIMPLE_RE.search(t, 0, MAX_CHARS):
            idx.append(i)
            cleaned.append(_FULL_WIDTH_RE.sub(_half_width, t[:MAX_CHARS].lower()))
        else:
            out[i] = normalize(t)
    if cleaned:
        joined = "\n".join(cleaned)
        parts = _t2s(joined).split("\n")
        if len(parts) != len(cleaned):  # cannot happen (see above); stay safe
            parts = [_t2s(c) for c in cleaned]
        conv = "\n".join(parts)
        codes = np.frombuffer(conv.encode("utf-32-le"), dtype=np.uint32)
        same = codes[:-1] == codes[1:]
        # Positions starting a run of MAX_REPEAT + 1 equal characters, or of two spaces.
        run = same[: len(same) - MAX_REPEAT + 1].copy()
        for k in range(1, MAX_REPEAT):
            run &= same[k : len(same) - MAX_REPEAT + 1 + k]
        spaces = same & (codes[:-1] == 0x20)
        starts = np.cumsum([0] + [len(p) + 1 for p in parts[:-1]])
        flagged = set(np.searchsorted(starts, np.flatnonzero(run), side="right").tolist())
        flagged.update(np.searchsorted(starts, np.flatnonzero(spaces), side="right").tolist())
        for k, (i, c, p) in enumerate(zip(idx, cleaned, parts, strict=True)):
            t = texts[i]
            assert t is not None
            if len(p) != len(c):
                out[i] = normalize(t)  # phrase conversion changed the length
            elif k + 1 in flagged or p[0] == " " or p[-1] == " ":
                n = _collapse(p, t)
                out[i] = n if n.text else normalize(t)
            else:
                out[i] = Normalized(p, range(len(p)), t)
    return out  # type: ignore[return-value]
