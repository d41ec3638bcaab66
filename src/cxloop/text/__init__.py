"""cxloop.text: sentiment and aspect-level sentiment for customer feedback (Chinese-first, English too).

Quick start::

    from cxloop.text import Analyzer
    [a] = Analyzer().analyze(["味道不错，但是送餐太慢了"])
    a.sentiment, a.score, [(m.aspect, m.sentiment, m.start, m.end) for m in a.aspects]

See docs/text.md for the pipeline, the taxonomy format and how to retrain.
"""

from __future__ import annotations

from typing import Any

from cxloop.text.analyzer import Analysis, Analyzer, AspectMention, aspect_sentiment, default_analyzer
from cxloop.text.aspects import AspectModel, AspectSentimentModel
from cxloop.text.clauses import Clause, split_clauses
from cxloop.text.language import detect_language
from cxloop.text.normalize import Normalized, normalize
from cxloop.text.sentiment import NEG_THRESHOLD, POS_THRESHOLD, SentimentModel
from cxloop.text.taxonomy import Aspect, Taxonomy, TaxonomyError, default_taxonomy, load_taxonomy
from cxloop.text.topics import (
    AspectPoints,
    EmergingTopic,
    Keyword,
    Point,
    emerging_topics,
    extract_keywords,
    pain_and_delight_points,
)

__all__ = [
    "MODEL_VERSION",
    "NEG_THRESHOLD",
    "POS_THRESHOLD",
    "Analysis",
    "Analyzer",
    "Aspect",
    "AspectMention",
    "AspectModel",
    "AspectPoints",
    "AspectSentimentModel",
    "Clause",
    "EmergingTopic",
    "Keyword",
    "Normalized",
    "Point",
    "SentimentModel",
    "Taxonomy",
    "TaxonomyError",
    "aspect_sentiment",
    "default_analyzer",
    "default_taxonomy",
    "detect_language",
    "emerging_topics",
    "extract_keywords",
    "load_taxonomy",
    "normalize",
    "pain_and_delight_points",
    "split_clauses",
]


def __getattr__(name: str) -> Any:
    """Compute MODEL_VERSION (a hash of the shipped model file) on first access only."""
    if name == "MODEL_VERSION":
        from cxloop.text.bundle import MODEL_FILE, file_version

        value = file_version(MODEL_FILE) if MODEL_FILE.exists() else "untrained"
        globals()["MODEL_VERSION"] = value
        return value
    raise AttributeError(name)
