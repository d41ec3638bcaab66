"""Readers for the shared training data (review CSVs, English sentences, aspect-polarity files)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from cxloop.text.aspects import clause_of, to_normalized_span
from cxloop.text.clauses import Clause, split_clauses
from cxloop.text.normalize import normalize

ABSA_DOMAINS = ("phone", "camera", "notebook")
#: The English labelled sentence files, under reviews/english/.
ENGLISH_FILES = ("amazon_cells_labelled.txt", "imdb_labelled.txt")


def read_reviews(path: str | Path) -> tuple[list[str], list[int]]:
    """Read a review CSV with `label` and `review` columns."""
    texts: list[str] = []
    labels: list[int] = []
    with open(path, encoding="utf-8-sig", newline="") as fh:
        for row in csv.DictReader(fh):
            texts.append(row.get("review") or "")
            labels.append(int(row["label"]))
    return texts, labels


def read_english(data_dir: str | Path) -> tuple[list[str], list[int]]:
    """Read the UCI English labelled sentences (amazon + imdb)."""
    texts: list[str] = []
    labels: list[int] = []
    for name in ENGLISH_FILES:
        path = Path(data_dir) / "reviews" / "english" / name
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            if "\t" not in line:
                continue
            sent, _, lab = line.rpartition("\t")
            if lab.strip() in ("0", "1"):
                texts.append(sent.strip())
                labels.append(int(lab.strip()))
    return texts, labels


@dataclass(frozen=True)
class AbsaItem:
    """One aspect-polarity example: normalised text, its clause, the term span and the label."""

    text: str
    clause: Clause
    term_start: int
    term_end: int
    label: str  # Positive / Negative / Neutral

    def as_tuple(self) -> tuple[str, Clause, int, int]:
        """Return the (text, clause, start, end) tuple used by AspectSentimentModel."""
        return (self.text, self.clause, self.term_start, self.term_end)


def read_absa(path: str | Path) -> list[AbsaItem]:
    """Read an aspect-polarity file (3 lines per example, characters space-separated)."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    items: list[AbsaItem] = []
    for i in range(0, len(lines) - 2, 3):
        sent, term, label = lines[i].strip(), lines[i + 1].strip(), lines[i + 2].strip()
        term = term.replace(" ", "")
        left, _, right = sent.partition("$T$")
        left, right = left.replace(" ", ""), right.replace(" ", "")
        raw = left + term + right
        norm = normalize(raw)
        span = to_normalized_span(norm.offsets, len(left), len(left) + len(term))
        if span is None:
            continue
        clause = clause_of(split_clauses(norm.text), span[0], span[1], norm.text)
        items.append(AbsaItem(norm.text, clause, span[0], span[1], label))
    return items


def absa_sentences(items: list[AbsaItem]) -> tuple[list[str], list[int]]:
    """Sentence-level labels from aspect-polarity items: sentences whose aspects all agree.

    The review model never sees these product domains (phones, cameras, laptops) in training,
    so they measure how it carries over to reviews of other businesses.
    """
    polarity: dict[str, set[str]] = {}
    for it in items:
        polarity.setdefault(it.text, set()).add(it.label)
    texts = [t for t, labs in polarity.items() if labs in ({"Positive"}, {"Negative"})]
    return texts, [1 if polarity[t] == {"Positive"} else 0 for t in texts]
