"""Normalisation, language detection and clause splitting."""

from __future__ import annotations

from cxloop.text import detect_language, split_clauses
from cxloop.text.normalize import MAX_CHARS, normalize


def test_traditional_to_simplified_keeps_offsets() -> None:
    n = normalize("這個手機質量很好")
    assert n.text == "这个手机质量很好"
    assert list(n.offsets) == list(range(8))


def test_full_width_lowercase_and_repeats_map_back() -> None:
    raw = "ＡＢＣ好好好好好好！！！！！差"
    n = normalize(raw)
    assert n.text == "abc好好好!!!差"
    i = n.text.index("差")
    start, end = n.span(i, i + 1)
    assert raw[start:end] == "差"
    # The span of the collapsed run covers the kept characters in the original.
    s, e = n.span(3, 6)
    assert raw[s:e] == "好好好"


def test_emoji_mapped_or_dropped_with_offsets() -> None:
    raw = "很好👍🫠真的"
    n = normalize(raw)
    assert "赞" in n.text
    j = n.text.index("真")
    s, e = n.span(j, j + 2)
    assert raw[s:e] == "真的"


def test_control_chars_and_spaces() -> None:
    n = normalize("\x00\x01  ab\u200b  cd \t")
    assert n.text == "ab cd"


def test_none_and_long_input() -> None:
    assert normalize(None).text == ""
    assert len(normalize("好" * 200_000).text) <= MAX_CHARS


def test_detect_language() -> None:
    assert detect_language("这个东西很好用") == "zh"
    assert detect_language("This phone is great") == "en"
    assert detect_language("这个phone的battery life真的很一般, not good at all") == "mixed"
    assert detect_language("") == "unknown"
    assert detect_language("😀😀") == "unknown"


def test_split_clauses_on_punctuation_and_contrast() -> None:
    text = normalize("味道不错，但是送餐太慢了。不但便宜而且好吃").text
    assert [c.text for c in split_clauses(text)] == ["味道不错", "但是送餐太慢了", "不但便宜而且好吃"]
    en = [c.text for c in split_clauses("the food was great but delivery was slow")]
    assert en == ["the food was great", "but delivery was slow"]
    for c in split_clauses(text):
        assert text[c.start : c.end] == c.text
