"""Masking personal data in text: phones, emails, names, addresses and WeChat ids.

Pure functions with no framework behind them, so services (feedback search, case titles) mask text
without importing the web stack; who sees what unmasked is cxloop.auth.policy's decision
(``can_see_contact``, ``redact_for``).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from functools import cache, lru_cache
from itertools import pairwise
from typing import Any, NamedTuple

from cxloop.auth.namedata import (
    COMMON_SURNAMES,
    COMPOUND_SURNAMES,
    HONORIFICS,
    NOT_A_SHORT_GIVEN_NAME,
    NOT_IN_GIVEN_NAME,
    NOT_NAMES,
    SURNAMES,
)

_DIGITS = re.compile(r"\d")


def mask_phone(value: str | None) -> str | None:
    """138****1234: the first three and last four digits stay, for recognising a number."""
    if not value:
        return value
    digits = "".join(_DIGITS.findall(value))
    if len(digits) >= 11:
        local = digits[-11:]
        return f"{local[:3]}****{local[-4:]}"
    if len(digits) >= 7:
        return f"{digits[:2]}****{digits[-2:]}"
    return "****"


def mask_email(value: str | None) -> str | None:
    """z***@example.com."""
    if not value:
        return value
    local, at, domain = value.partition("@")
    if not at:
        return "***"
    return f"{local[:1]}***@{domain}"


def mask_name(value: str | None) -> str | None:
    """张* / 张** ; Chen L. -> C***: the first character only."""
    if not value:
        return value
    value = value.strip()
    return value[:1] + "*" * max(1, min(len(value) - 1, 3))


def mask_address(value: str | None) -> str | None:
    """The first few characters (province or city) stay; the street is hidden."""
    if not value:
        return value
    return value[:6] + "****" if len(value) > 6 else value[:2] + "****"


def mask_wechat(value: str | None) -> str | None:
    """wx****: two characters stay."""
    if not value:
        return value
    return value[:2] + "****"


# Mainland mobiles (optionally +86 / 86, with spaces or dashes), landlines with area code, emails,
# WeChat ids after a label, and street addresses (路/街/道/巷/弄 + 号, or an English street line; the
# province, city and district before the street stay, like mask_address keeps them).
_PHONE_RE = re.compile(r"(?<!\d)(?:\+?86[\s-]?)?1[3-9]\d(?:[\s-]?\d){8}(?!\d)")
_LANDLINE_RE = re.compile(r"(?<!\d)0\d{2,3}[\s-]\d{7,8}(?!\d)")
# ASCII only: `\w` would take the Chinese word before an address into it ("邮箱li@x.com").
_EMAIL_RE = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_WECHAT_RE = re.compile(r"(?i)(微信号?|wechat|weixin|vx|wx)(\s*(?:id)?\s*[:：]?\s*)([A-Za-z][\w-]{4,19})")
_ADDRESS_RE = re.compile(
    r"(?:(?![省市区县])[\u4e00-\u9fff]){1,8}(?:路|街|道|巷|弄|大道)\s*\d{1,5}\s*号(?:[\u4e00-\u9fff\d\-#]{0,12}(?:室|楼|层|单元|座))?"
    r"|(?i:\b\d{1,5}\s+(?:[A-Z][a-z]+\s+){1,3}(?:Street|St|Road|Rd|Avenue|Ave|Lane|Ln|Boulevard|Blvd)\b\.?)"
)
ADDRESS_PLACEHOLDER = "[地址]"


def _mask_contacts(text: str) -> str:
    text = _EMAIL_RE.sub(lambda m: mask_email(m.group(0)) or "", text)
    text = _WECHAT_RE.sub(lambda m: m.group(1) + m.group(2) + (mask_wechat(m.group(3)) or ""), text)
    text = _PHONE_RE.sub(lambda m: mask_phone(m.group(0)) or "", text)
    text = _LANDLINE_RE.sub(lambda m: mask_phone(m.group(0)) or "", text)
    return _ADDRESS_RE.sub(ADDRESS_PLACEHOLDER, text)


# --- names in free text -----------------------------------------------------------------------------
#
# Four ways a name is found, cheapest first; each keeps the first letter of every word of the name and
# stars the rest, length for length (张伟 -> 张*, 陈先生 -> 陈**, 小刘 -> 小*, John Smith -> J*** S****):
# 1. after a label: 我叫/我是/本人/姓名/名字/收件人/收货人/联系人/签收人 …, "my name is", "name:", Mr./Ms. …;
# 2. a surname with a form of address: 张先生, 李女士, 刘师傅, 王总, and 小刘 / 老王;
# 3. jieba's part-of-speech tagger (``nr``) for a name without either, when it starts with a surname;
# 4. names the caller knows (the review's author, the linked customer), wherever they appear.
# 2 and 3 need jieba's words: a surname character inside another word (关于老师, 一周总是) is no name.

_CJK = "\u4e00-\u9fff"
_CJK_RUN = re.compile(f"[{_CJK}]+")
_HAS_CJK = re.compile(f"[{_CJK}]")
_SURNAME = "(?:{}|[{}])".format("|".join(sorted(COMPOUND_SURNAMES)), "".join(sorted(SURNAMES)))
_GIVEN = "(?:(?![{}])[{}])".format("".join(sorted(NOT_IN_GIVEN_NAME)), _CJK)
_ZH_NAME = f"{_SURNAME}{_GIVEN}{{1,2}}"
_EN_WORD = r"[A-Z](?:[a-z]+|'[A-Z][a-z]+)(?:-[A-Z][a-z]+)?"
_EN_NAME = rf"{_EN_WORD}(?: {_EN_WORD}){{0,2}}\b"


class _NamePatterns(NamedTuple):
    """Rule 1 (label, title) and rule 2 (honorific, familiar) patterns."""

    label: re.Pattern[str]
    title: re.Pattern[str]
    honorific: re.Pattern[str]
    familiar: re.Pattern[str]


@cache
def _name_patterns() -> _NamePatterns:
    """The name rules' patterns, compiled on first use: their surname alternations take ~15 ms to
    compile, which every command importing the policy would pay for otherwise (start-up rule)."""
    label = re.compile(
        r"(?:我叫|我是|本人|姓名|名字|收件人|收件者|收货人|收貨人|联系人|聯繫人|联络人|聯絡人|签收人|簽收人"
        r"|(?i:\bmy\s+name\s+is|\bname\s*[:：]|\bcall\s+me))"
        rf"[ \t]*[:：]?[ \t]*(?:是|叫|为|為)?[ \t]*[:：]?[ \t]*(?:(?P<zh>{_ZH_NAME})|(?P<en>{_EN_NAME}))"
    )
    return _NamePatterns(
        label=label,
        title=re.compile(rf"\b(?:Mr|Mrs|Ms|Miss|Mx|MR|MRS|MS)\.?[ \t]+(?P<en>{_EN_NAME})"),
        honorific=re.compile("{}(?:{})".format(_SURNAME, "|".join(HONORIFICS))),
        familiar=re.compile("[小老][{}]".format("".join(sorted(COMMON_SURNAMES)))),
    )


_LETTERS = re.compile(r"[^\W\d_]+")
#: A word of jieba's dictionary heard this often is a known person or a common word, not a customer
#: (张爱玲 147, 段时间 154; customers' names in it: 张建国 13, 王小明 3).
_FAMOUS = 30
#: A form of address that jieba's dictionary knows this often as another word is that word (班主任).
_COMMON_WORD = 100
#: Given names in jieba's dictionary (海燕 87, 红梅 189, 志强 15) are heard less often than the
#: everyday words it also tags as names (古老 2695, 顾客 1365, 阳光 3451).
_EVERYDAY = 500

_lock = threading.Lock()
_tagger: Any = None
_taxonomy_words: tuple[object, frozenset[str]] | None = None


def _pos_tagger() -> Any:
    """jieba's part-of-speech tagger on the dictionary cxloop.text already uses, made once per process.

    Imported here, not at the top: loading jieba and its dictionary takes about a second, which the
    CLI must not pay for commands that never see Chinese text.
    """
    global _tagger
    if _tagger is None:
        with _lock:
            if _tagger is None:
                import jieba.posseg

                # Shared with word segmentation, so a process that analyses and masks loads one dictionary.
                from cxloop.text.segment import _get_tokenizer

                _tagger = jieba.posseg.POSTokenizer(_get_tokenizer())
    return _tagger


@lru_cache(maxsize=16384)
def _tag_run(run: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """A run of Chinese characters in Simplified script, and jieba's words of it with their tags.

    Traditional script is converted first (when that keeps its length, as it nearly always does): to
    jieba's Simplified dictionary every Traditional character is unknown, which makes the tagger slow
    (tens of milliseconds a sentence) and blind. Words of the dictionary come from its route, tagged
    by the dictionary; the tagger's model, the slow part, runs only on the stretches of characters the
    route leaves single (where an unknown name hides) that hold a common surname with a character
    after it. ``jieba.posseg`` on the whole run tags those stretches on their own as well, so the
    words and tags are much the same, in about a fifth of the time. Cached: pages and evidence repeat.
    """
    from cxloop.text.normalize import _t2s  # OpenCC, loaded once by cxloop.text as well

    simple = _t2s(run)
    if len(simple) != len(run):
        simple = run
    tagger = _pos_tagger()
    tags, freq = tagger.word_tag_tab, tagger.tokenizer.FREQ
    out: list[tuple[str, str]] = []
    single: list[str] = []

    def flush() -> None:
        chars = "".join(single)
        single.clear()
        if len(chars) > 1 and chars[-1] in COMMON_SURNAMES:
            # A surname closing the stretch starts the next word's name (快递员 + 宋 + 海燕): it is
            # not joined to the characters before it.
            single.append(chars[:-1])
            flush()
            out.append((chars[-1], tags.get(chars[-1], "x")))
            return
        if len(chars) < 2 or freq.get(chars):
            out.extend((c, tags.get(c, "x")) for c in chars)
        elif not any(a in COMMON_SURNAMES and b not in NOT_IN_GIVEN_NAME for a, b in pairwise(chars)):
            # No surname with a name after it, but the words still matter (宿管 + 阿姨, not 宿 +
            # 管阿姨): jieba's cheaper model for unknown words joins them as its plain segmenter would.
            out.extend((w, tags.get(w, "x")) for w in tagger.tokenizer.lcut(chars, HMM=True))
        else:
            out.extend((pair.word, pair.flag) for pair in tagger.cut(chars))

    for word in tagger.tokenizer.lcut(simple, HMM=False):
        if len(word) == 1:
            single.append(word)
        else:
            flush()
            out.append((word, tags.get(word, "x")))
    flush()
    return simple, tuple(out)


_SURNAME_CHARS = frozenset(SURNAMES)


def _shop_words() -> frozenset[str]:
    """The active taxonomy's keywords (物流, 客服 …): words of the trade, never a name."""
    global _taxonomy_words
    from cxloop.taxonomy import active_taxonomy
    from cxloop.text.taxonomy import TaxonomyError

    try:
        taxonomy = active_taxonomy()
    except (TaxonomyError, OSError):  # a broken file stops the start with its line; masking goes on
        return frozenset()
    if _taxonomy_words is None or _taxonomy_words[0] is not taxonomy:
        _taxonomy_words = (taxonomy, frozenset(k for a in taxonomy.aspects for k in a.all_keywords()))
    return _taxonomy_words[1]


@lru_cache(maxsize=64)
def _never_names(shop_words: frozenset[str], keep: frozenset[str]) -> frozenset[str]:
    """Brands and everyday words, the taxonomy's keywords and the caller's words: never a name."""
    return NOT_NAMES | shop_words | keep


class _Words:
    """jieba's words of the Chinese runs of one text: where words start and end, the tagged names,
    and the text with its Chinese in Simplified script (same length, so offsets hold in both)."""

    def __init__(self, text: str) -> None:
        self.starts: set[int] = set()
        self.ends: set[int] = set()
        self.names: list[tuple[int, int]] = []
        pieces: list[str] = []
        done = 0
        for run in _CJK_RUN.finditer(text):
            if len(run.group()) < 2 or _SURNAME_CHARS.isdisjoint(run.group()):
                continue  # no surname, no name
            at = run.start()
            simple, tagged = _tag_run(run.group())
            pieces += [text[done:at], simple]
            done = run.end()
            previous = ""
            freq = _pos_tagger().tokenizer.FREQ
            for word, flag in tagged:
                self.starts.add(at)
                if flag.startswith("nr") and 2 <= len(word) <= 4:
                    self.names.append((at, at + len(word)))
                    # A surname standing alone before a given name the dictionary knows as one
                    # (王 + 海燕, 李 + 志强, 欧阳 + 娜娜): the tagger sees two words, not the name.
                    # Not 于 + 古老: everyday words the dictionary also tags as names are frequent.
                    if (
                        len(word) == 2
                        and (previous in COMMON_SURNAMES or previous in COMPOUND_SURNAMES)
                        and freq.get(word, 0) < _EVERYDAY
                    ):
                        self.names.append((at - len(previous), at + len(word)))
                previous = word
                at += len(word)
                self.ends.add(at)
        self.simple = "".join(pieces) + text[done:]

    def is_word(self, start: int, end: int) -> bool:
        """Whether ``text[start:end]`` begins and ends where jieba's words do."""
        return start in self.starts and end in self.ends


def _plausible(word: str, *, labelled: bool, excluded: frozenset[str]) -> bool:
    """Whether a run of Chinese characters reads as a person's name (surname + one or two characters).

    ``labelled``: a label stands before it (我叫, 收件人), so any known surname will do; without one
    (the tagger's guess) only the common surnames count, and jieba's dictionary must not know the word
    as something else.
    """
    if word in excluded or word[:2] in excluded or len(set(word)) == 1:
        return False  # a brand, or a brand and the next character (潘婷来, 华为的); 湯湯湯
    if len(word) >= 3 and word[:2] in COMPOUND_SURNAMES:
        given = word[2:]
    elif word[0] in (SURNAMES if labelled else COMMON_SURNAMES):
        given = word[1:]
    else:
        return False
    if not 1 <= len(given) <= 2 or not NOT_IN_GIVEN_NAME.isdisjoint(given) or given in excluded:
        return False  # 白 + 华为 is a colour and a brand
    if len(given) == 1 and given in NOT_A_SHORT_GIVEN_NAME:
        return False  # 马家, 张记, 王府: a shop or a place
    tagger = _pos_tagger()
    tags, freq = tagger.word_tag_tab, tagger.tokenizer.FREQ
    tag = tags.get(word)
    if tag is not None and not tag.startswith("nr"):
        # A word of the dictionary that is no name: after a label only a rare one may be (高军 yes,
        # 江苏, 黄金 and 信息 no).
        if not labelled or freq.get(word, 0) >= _COMMON_WORD:
            return False
    elif tag is not None:
        # jieba's dictionary calls many everyday two-character words names (华为, 顾客, 师傅, 谢谢):
        # they count only after a label.
        if len(word) == 2 and not labelled:
            return False
        if len(word) >= 3 and freq.get(word, 0) >= _FAMOUS:
            return False
    if len(word) == 3:
        head = tags.get(word[:2])
        if head is not None and not head.startswith("nr") and freq.get(word[:2], 0) >= _COMMON_WORD:
            return False  # 江苏人, 南瓜饼: a common word and one more character
    return True


def _other_word(word: str) -> bool:
    """Whether jieba's dictionary knows ``word`` (a surname and a title) as a word of its own:
    a place or brand (安哥拉's 安哥), or a common word (班主任)."""
    tagger = _pos_tagger()
    tag = tagger.word_tag_tab.get(word)
    if not tag or tag.startswith("nr"):
        return False
    return tag[:2] in ("ns", "nt", "nz") or tagger.tokenizer.FREQ.get(word, 0) >= _COMMON_WORD


def _detected_spans(text: str, keep: frozenset[str]) -> list[tuple[int, int]]:
    """Where ``text`` names someone, by label, form of address or the tagger (rules 1-3 above)."""
    patterns = _name_patterns()
    spans = [m.span("en") for m in patterns.title.finditer(text)]
    spans += [m.span("en") for m in patterns.label.finditer(text) if m.group("en")]
    if not _HAS_CJK.search(text):
        return spans  # no Chinese: no jieba
    excluded = _never_names(_shop_words(), keep)
    words = _Words(text)
    # The Chinese rules read the Simplified text (same offsets), as jieba's dictionary and the word
    # lists do; the spans apply to the text as written.
    simple = words.simple
    for m in patterns.label.finditer(simple):
        if not m.group("zh"):
            continue
        start, end = m.span("zh")
        # The pattern took up to two given-name characters; the name ends where jieba's word does
        # (收件人刘洋家里 -> 刘洋).
        shortest = start + (3 if simple[start : start + 2] in COMPOUND_SURNAMES else 2)
        while end > shortest and end not in words.ends:
            end -= 1
        if _plausible(simple[start:end], labelled=True, excluded=excluded):
            spans.append((start, end))
    for m in patterns.honorific.finditer(simple):
        if words.is_word(*m.span()) and m.group() not in excluded and not _other_word(m.group()):
            spans.append(m.span())
    # 小刘 as one word or as 小 + 刘, but not 小时 or 小米 (excluded), nor the 小 of 小程序 or the 老 of
    # 老顾客 (the surname character starts another word).
    for m in patterns.familiar.finditer(simple):
        if words.is_word(*m.span()) and m.group() not in excluded:
            spans.append(m.span())
    for start, end in words.names:
        if _plausible(simple[start:end], labelled=False, excluded=excluded):
            spans.append((start, end))
    return spans


def _known_spans(text: str, names: Iterable[str]) -> list[tuple[int, int]]:
    """Where the names the caller knows appear (Latin ones as whole words, in any case)."""
    wanted = frozenset(n.strip() for n in names if n and n.strip())
    pattern = _known_pattern(wanted) if wanted else None
    return [m.span() for m in pattern.finditer(text)] if pattern else []


@lru_cache(maxsize=1024)
def _known_pattern(names: frozenset[str]) -> re.Pattern[str] | None:
    """One pattern for a set of names, longest first; cached, since a page asks for the same ones."""
    patterns = []
    for name in sorted(names, key=lambda n: (-len(n), n)):
        if len(name) < 2 or "*" in name or name in NOT_NAMES:
            continue  # too short to mean one person, or already masked
        escaped = re.escape(name)
        patterns.append(escaped if _HAS_CJK.search(name) else rf"(?i:\b{escaped}\b)")
    return re.compile("|".join(patterns)) if patterns else None


def _star(word: str) -> str:
    """The first letter of each word stays, the rest is starred (张伟 -> 张*, John Smith -> J*** S****)."""
    return _LETTERS.sub(lambda m: m.group()[0] + "*" * (len(m.group()) - 1), word)


def _mask_names(text: str, names: Iterable[str], keep: frozenset[str], detect: bool) -> tuple[str, set[str]]:
    """``text`` with names masked, and the names masked (as written)."""
    spans = _known_spans(text, names)
    if detect:
        found = {text[a:b] for a, b in _detected_spans(text, keep)}
        # A name found once is masked wherever it appears, which also keeps mask_spans' pieces in step.
        spans += _known_spans(text, found)
    if not spans:
        return text, set()
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    pieces, at, masked = [], 0, set()
    for start, end in merged:
        pieces += [text[at:start], _star(text[start:end])]
        masked.add(text[start:end])
        at = end
    pieces.append(text[at:])
    return "".join(pieces), masked


#: Masking once more never changes a masked text; a text that changed is tried again until it holds,
#: since a masked name can change how jieba reads the words next to it. Two passes are the rule.
_MAX_PASSES = 6


def redact_text_and_names(
    text: str, names: Iterable[str | None] = (), *, keep: Iterable[str] = (), detect_names: bool = True
) -> tuple[str, frozenset[str]]:
    """``text`` masked as :func:`redact_text` masks it, and the names it masked (as written in it)."""
    known = [n for n in names if n]
    kept = frozenset(keep)
    masked: set[str] = set()
    for _ in range(_MAX_PASSES):
        done, found = _mask_names(_mask_contacts(text), known, kept, detect_names)
        masked |= found
        if done == text:
            break
        text = done
    return text, frozenset(masked)


def redact_text(
    text: str | None, names: Iterable[str | None] = (), *, keep: Iterable[str] = (), detect_names: bool = True
) -> str | None:
    """``text`` with phones, emails, WeChat ids, street addresses and people's names masked.

    ``names``: names known to be in it (the customer's, the review's author), masked wherever they
    appear; ``keep``: words that are never a name here (product names); ``detect_names=False`` masks
    only contacts and ``names``. Used for titles, subjects, previews and what customers wrote.
    """
    if not text:
        return text
    return redact_text_and_names(text, names, keep=keep, detect_names=detect_names)[0]
