"""A small hand-written sentiment lexicon with negation, used as extra model features.

The n-gram models learn the vocabulary of their training reviews; the lexicon carries general
opinion words (and negation) into domains and phrasings those reviews never covered.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache
from typing import NamedTuple

import numpy as np

from cxloop.text import kernels

ZH_POSITIVE = [
    "好",
    "很好",
    "不错",
    "挺好",
    "满意",
    "喜欢",
    "推荐",
    "值得",
    "划算",
    "实惠",
    "便宜",
    "优惠",
    "超值",
    "物美价廉",
    "性价比高",
    "好用",
    "耐用",
    "结实",
    "牢固",
    "精致",
    "漂亮",
    "好看",
    "美观",
    "大气",
    "舒服",
    "舒适",
    "柔软",
    "方便",
    "快捷",
    "迅速",
    "及时",
    "准时",
    "神速",
    "很快",
    "快速",
    "给力",
    "靠谱",
    "放心",
    "安心",
    "贴心",
    "热情",
    "耐心",
    "周到",
    "礼貌",
    "友好",
    "专业",
    "负责",
    "认真",
    "细心",
    "用心",
    "好吃",
    "美味",
    "可口",
    "香",
    "鲜",
    "新鲜",
    "正宗",
    "入味",
    "嫩",
    "脆",
    "爽",
    "好喝",
    "干净",
    "卫生",
    "整洁",
    "安静",
    "严实",
    "完好",
    "无损",
    "正品",
    "清晰",
    "流畅",
    "灵敏",
    "稳定",
    "省电",
    "持久",
    "强大",
    "惊喜",
    "开心",
    "高兴",
    "愉快",
    "完美",
    "优秀",
    "出色",
    "一流",
    "棒",
    "赞",
    "好评",
    "五星",
    "满分",
    "点赞",
    "超赞",
    "回购",
    "还会再来",
    "物超所值",
    "无可挑剔",
    "无敌",
    "很值",
    "喜爱",
    "感谢",
    "谢谢",
    "辛苦",
    "宝贝",
    "可爱",
    "合身",
    "合适",
    "正好",
    "舒心",
    "顺利",
    "顺畅",
    "高效",
    "优质",
    "上乘",
    "厚实",
    "扎实",
    "新颖",
]

ZH_NEGATIVE = [
    "差",
    "很差",
    "太差",
    "不好",
    "糟糕",
    "垃圾",
    "失望",
    "后悔",
    "上当",
    "骗人",
    "欺骗",
    "坑",
    "坑人",
    "黑心",
    "无良",
    "恶心",
    "难吃",
    "难喝",
    "难看",
    "难用",
    "难闻",
    "不值",
    "贵",
    "太贵",
    "偏贵",
    "坏",
    "坏了",
    "破",
    "破了",
    "破损",
    "碎",
    "碎了",
    "裂",
    "裂了",
    "烂",
    "烂了",
    "漏",
    "漏了",
    # Wrong or missing items: complaints however calmly put ("少发了一件"), and rare enough in
    # the review data that the n-gram models learn them poorly.
    "少发",
    "漏发",
    "发错",
    "错发",
    "送错",
    "拿错",
    "少送",
    "漏送",
    "少给",
    "漏给",
    "缺件",
    "少件",
    "配件不全",
    "脏",
    "不干净",
    "发霉",
    "变质",
    "过期",
    "馊",
    "臭",
    "腥",
    "咸",
    "淡",
    "油腻",
    "凉了",
    "冷了",
    "硬",
    "柴",
    "生",
    "夹生",
    "慢",
    "太慢",
    "很慢",
    "超时",
    "延迟",
    "迟迟",
    "拖",
    "拖延",
    "磨蹭",
    "等了半天",
    "久",
    "敷衍",
    "冷漠",
    "冷淡",
    "傲慢",
    "粗鲁",
    "无礼",
    "态度差",
    "恶劣",
    "嚣张",
    "不理",
    "不回",
    "没人理",
    "推脱",
    "推卸",
    "扯皮",
    "忽悠",
    "不负责",
    "不专业",
    "不耐烦",
    "骂人",
    "吵",
    "吵闹",
    "嘈杂",
    "拥挤",
    "简陋",
    "粗糙",
    "劣质",
    "次品",
    "瑕疵",
    "假货",
    "山寨",
    "翻新",
    "缩水",
    "掉色",
    "起球",
    "变形",
    "卡",
    "卡顿",
    "死机",
    "闪退",
    "黑屏",
    "发热",
    "发烫",
    "耗电",
    "异味",
    "刺鼻",
    "噪音",
    "故障",
    "毛病",
    "问题",
    "麻烦",
    "退货",
    "退款",
    "投诉",
    "差评",
    "一星",
    "无语",
    "郁闷",
    "生气",
    "气死",
    "崩溃",
    "坑爹",
    "呵呵",
    "坑货",
    "不行",
    "不满",
    "不满意",
    "不推荐",
    "不喜欢",
    "不舒服",
    "不合适",
    "不合身",
    "不新鲜",
    "不好吃",
    "不值得",
    "少",
    "缺",
    "错",
    "丢",
    "丢了",
    "晚",
    "迟到",
    "弱",
]

EN_POSITIVE = [
    "good",
    "great",
    "excellent",
    "amazing",
    "awesome",
    "perfect",
    "love",
    "loved",
    "like",
    "liked",
    "nice",
    "best",
    "fantastic",
    "wonderful",
    "happy",
    "pleased",
    "recommend",
    "recommended",
    "fast",
    "quick",
    "friendly",
    "helpful",
    "polite",
    "clean",
    "fresh",
    "delicious",
    "tasty",
    "comfortable",
    "easy",
    "reliable",
    "sturdy",
    "solid",
    "beautiful",
    "worth",
    "value",
    "impressed",
    "satisfied",
    "superb",
    "brilliant",
    "enjoy",
    "enjoyed",
    "favorite",
    "works",
]

EN_NEGATIVE = [
    "bad",
    "poor",
    "terrible",
    "awful",
    "horrible",
    "worst",
    "hate",
    "hated",
    "disappointed",
    "disappointing",
    "disappointment",
    "broken",
    "broke",
    "defective",
    "faulty",
    "useless",
    "waste",
    "cheap",
    "flimsy",
    "slow",
    "late",
    "rude",
    "unhelpful",
    "dirty",
    "stale",
    "rotten",
    "bland",
    "cold",
    "wrong",
    "missing",
    "damaged",
    "problem",
    "problems",
    "issue",
    "issues",
    "refund",
    "return",
    "returned",
    "junk",
    "garbage",
    "crap",
    "fail",
    "failed",
    "fails",
    "unreliable",
    "annoying",
    "overpriced",
    "expensive",
    "difficult",
    "hard",
    "noisy",
    "uncomfortable",
    "sucks",
    "sucked",
    "mediocre",
    "boring",
    "dull",
    "lame",
    "avoid",
    "never",
]

_ZH_NEGATORS = ("不", "没", "没有", "别", "无", "未", "非", "并不", "毫不", "不是", "不太", "不够", "不怎么")
_EN_NEGATORS = {
    "not",
    "no",
    "never",
    "n't",
    "dont",
    "don't",
    "didn't",
    "doesn't",
    "isn't",
    "wasn't",
    "aren't",
    "without",
    "hardly",
}

# Words already negative on their own ("不好") are in the lexicon whole, and a word that starts
# with a negator is not flipped by the negator before it.
_ZH_POLARITY = {w: 1 for w in ZH_POSITIVE} | {w: -1 for w in ZH_NEGATIVE}
_ZH_SELF_NEGATED = ("不", "没")
_EN_POLARITY = {w: 1 for w in EN_POSITIVE} | {w: -1 for w in EN_NEGATIVE}
_EN_TOKEN_RE = re.compile(r"[a-z]+(?:'[a-z]+)?")

N_FEATURES = 3


class _ZhLexicon(NamedTuple):
    """The Chinese lexicon as `kernels.lexicon_counts` takes it."""

    trie: kernels.Trie
    polarity: np.ndarray
    self_negated: np.ndarray
    negators: np.ndarray
    negator_len: np.ndarray


@cache
def _zh_lexicon() -> _ZhLexicon:
    """Compile the Chinese words and negators once per process."""
    words = sorted(_ZH_POLARITY)
    return _ZhLexicon(
        kernels.build_trie([words]),
        np.array([_ZH_POLARITY[w] for w in words], dtype=np.int64),
        np.array([w.startswith(_ZH_SELF_NEGATED) for w in words], dtype=np.bool_),
        *kernels.padded_codes(_ZH_NEGATORS),
    )


def lexicon_counts_batch(texts: Sequence[str]) -> np.ndarray:
    """(n, 2) positive / negative opinion-word counts of normalised texts, negation applied.

    Chinese: the longest lexicon word at each position, left to right; a negator ending within
    the three characters before a word flips it (`kernels.lexicon_counts`). English: the tokens
    of the lexicon, flipped by a negator among the three tokens before.
    """
    lex = _zh_lexicon()
    codes, starts = kernels.code_points(texts)
    counts, latin = kernels.lexicon_counts(
        codes, starts, lex.trie, lex.polarity, lex.self_negated, lex.negators, lex.negator_len
    )
    for i in np.flatnonzero(latin).tolist():
        counts[i] += _en_counts(texts[i])
    return counts


def lexicon_counts(text: str) -> tuple[float, float]:
    """Return (positive, negative) opinion-word counts of a normalised text, negation applied."""
    pos, neg = lexicon_counts_batch([text])[0].tolist()
    return pos, neg


def _en_counts(text: str) -> tuple[float, float]:
    """Return (positive, negative) English opinion-word counts, negation applied."""
    pos = neg = 0.0
    tokens = _EN_TOKEN_RE.findall(text)
    for i, tok in enumerate(tokens):
        pol = _EN_POLARITY.get(tok, 0)
        if not pol:
            continue
        if any(t in _EN_NEGATORS or t.endswith("n't") for t in tokens[max(0, i - 3) : i]):
            pol = -pol
        if pol > 0:
            pos += 1
        else:
            neg += 1
    return pos, neg


def lexicon_features(texts: Sequence[str]) -> np.ndarray:
    """Return an (n, 3) float32 array: squashed positive count, negative count and their balance."""
    out = np.zeros((len(texts), N_FEATURES), dtype=np.float32)
    if not texts:
        return out
    counts = lexicon_counts_batch(texts)
    p, n = counts[:, 0], counts[:, 1]
    out[:, 0] = np.tanh(p / 2.0)
    out[:, 1] = np.tanh(n / 2.0)
    out[:, 2] = np.tanh((p - n) / 2.0)
    return out
