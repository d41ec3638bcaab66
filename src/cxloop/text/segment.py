"""Word segmentation with jieba, initialised once and lazily, with its logging silenced."""

from __future__ import annotations

import logging
import re
import threading
from functools import lru_cache
from typing import Any

_lock = threading.Lock()
_tokenizer: Any = None

_LATIN_RE = re.compile(r"[a-z][a-z'\-]*|\d+(?:\.\d+)?")

# Stop words for keyword and phrase extraction: function words and review boilerplate that
# carry no topic. Kept short on purpose; sentiment words are not stop words.
STOPWORDS: frozenset[str] = frozenset(
    [
        "的",
        "了",
        "是",
        "我",
        "也",
        "就",
        "都",
        "和",
        "很",
        "在",
        "还",
        "有",
        "这",
        "那",
        "个",
        "吧",
        "啊",
        "呢",
        "吗",
        "哦",
        "呀",
        "嘛",
        "么",
        "着",
        "与",
        "及",
        "或",
        "而",
        "被",
        "把",
        "给",
        "让",
        "对",
        "从",
        "到",
        "又",
        "再",
        "才",
        "只",
        "但",
        "但是",
        "不过",
        "可是",
        "然而",
        "所以",
        "因为",
        "如果",
        "虽然",
        "还是",
        "就是",
        "一个",
        "这个",
        "那个",
        "这样",
        "那样",
        "什么",
        "怎么",
        "我们",
        "你们",
        "他们",
        "她们",
        "它",
        "他",
        "她",
        "你",
        "您",
        "自己",
        "大家",
        "东西",
        "感觉",
        "觉得",
        "真的",
        "非常",
        "比较",
        "有点",
        "一点",
        "一下",
        "一些",
        "已经",
        "现在",
        "之前",
        "以后",
        "时候",
        "没有",
        "不是",
        "可以",
        "应该",
        "还有",
        "而且",
        "并且",
        "然后",
        "下次",
        "这次",
        "这家",
        "一直",
        "其实",
        "确实",
        "挺",
        "太",
        "更",
        "最",
        "又是",
        "上",
        "下",
        "里",
        "中",
        "后",
        "前",
        "说",
        "看",
        "用",
        "买",
        "次",
        "点",
        "过",
        "去",
        "来",
        "得",
        "地",
        "之",
        "其",
        "及其",
        "等",
        "等等",
        "啦",
        "哈",
        "哈哈",
        "呵呵",
        "嗯",
        "the",
        "a",
        "an",
        "and",
        "or",
        "but",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "it",
        "this",
        "that",
        "to",
        "of",
        "in",
        "on",
        "for",
        "with",
        "as",
        "at",
        "by",
        "i",
        "you",
        "he",
        "she",
        "we",
        "they",
        "my",
        "your",
        "our",
        "its",
        "me",
        "so",
        "very",
        "just",
        "not",
        "no",
        "too",
        "also",
        "have",
        "has",
        "had",
        "do",
        "does",
        "did",
        "will",
        "would",
        "can",
        "could",
        "should",
        "than",
        "then",
        "there",
        "here",
        "from",
        "about",
        "into",
        "out",
        "up",
        "down",
        "if",
    ]
)


def _get_tokenizer() -> Any:
    """Create the jieba tokenizer on first use, with its log output silenced."""
    global _tokenizer
    if _tokenizer is None:
        with _lock:
            if _tokenizer is None:
                import jieba

                jieba.setLogLevel(logging.WARNING)
                logging.getLogger("jieba").setLevel(logging.WARNING)
                tok = jieba.Tokenizer()
                tok.initialize()
                _tokenizer = tok
    return _tokenizer


@lru_cache(maxsize=8192)
def _cut_cached(text: str) -> tuple[str, ...]:
    """Cut a short text into words (cached because clauses repeat a lot)."""
    return tuple(w for w in _get_tokenizer().lcut(text, HMM=True) if w.strip())


def tokenize(text: str) -> list[str]:
    """Split a normalised text into words: jieba for Chinese, letter runs for Latin script."""
    if not text:
        return []
    if len(text) <= 200:
        return list(_cut_cached(text))
    return [w for w in _get_tokenizer().lcut(text, HMM=True) if w.strip()]


def content_words(text: str) -> list[str]:
    """Return the words of a text that are not stop words, punctuation or single Latin letters."""
    out = []
    for w in tokenize(text):
        w = w.strip().lower()
        if not w or w in STOPWORDS:
            continue
        if not any(ch.isalnum() for ch in w):
            continue
        if w.isdigit():
            continue
        if w.isascii() and len(w) < 3:
            continue
        out.append(w)
    return out
