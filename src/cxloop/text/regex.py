"""Regex helpers."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any


def trie_regex(words: Sequence[str]) -> str:
    """Build a regex from a character trie of the words; greedy optionals prefer the longest match.

    A flat alternation of hundreds of keywords makes `re` try every alternative at every
    position; the trie form rejects a position after one character class test.
    """
    trie: dict[str, Any] = {}
    for w in words:
        node = trie
        for ch in w:
            node = node.setdefault(ch, {})
        node[""] = True

    def build(node: dict[str, Any]) -> str:
        ends = "" in node
        branches = [re.escape(ch) + build(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = (
            branches[0] if len(branches) == 1 and len(branches[0]) == 1 else "(?:" + "|".join(branches) + ")"
        )
        return f"{body}?" if ends else body

    return build(trie)
