"""cxloop.text: sentiment and aspect-level sentiment for customer feedback (Chinese-first, English too).

Quick start::

    from cxloop.text import Analyzer
    [a] = Analyzer().analyze(["味道不错，但是送餐太慢了"])
    a.sentiment, a.score, [(m.aspect, m.sentiment, m.start, m.end) for m in a.aspects]

See docs/text.md for the pipeline, the taxonomy format and how to retrain.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

# The public names are imported on first use (PEP 562), not here: importing any cxloop.text
# submodule (the taxonomy, the CLI) must not load scikit-learn, scipy and numba, which cost
# seconds at every `cxloop` start (issue 10).
_LAZY: dict[str, str] = {
    "Analysis": "analyzer",
    "Analyzer": "analyzer",
    "AspectMention": "analyzer",
    "aspect_sentiment": "analyzer",
    "default_analyzer": "analyzer",
    "AspectModel": "aspects",
    "AspectSentimentModel": "aspects",
    "Clause": "clauses",
    "split_clauses": "clauses",
    "detect_language": "language",
    "Normalized": "normalize",
    "normalize": "normalize",
    "NEG_THRESHOLD": "sentiment",
    "POS_THRESHOLD": "sentiment",
    "SentimentModel": "sentiment",
    "Aspect": "taxonomy",
    "Taxonomy": "taxonomy",
    "TaxonomyError": "taxonomy",
    "default_taxonomy": "taxonomy",
    "load_taxonomy": "taxonomy",
    "AspectPoints": "topics",
    "EmergingTopic": "topics",
    "Keyword": "topics",
    "Point": "topics",
    "emerging_topics": "topics",
    "extract_keywords": "topics",
    "pain_and_delight_points": "topics",
}

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
    """Import a public name's module on first access; MODEL_VERSION hashes the shipped model file."""
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(f"cxloop.text.{_LAZY[name]}"), name)
        globals()[name] = value
        return value
    if name == "MODEL_VERSION":
        from cxloop.text.bundle import MODEL_FILE, file_version

        value = file_version(MODEL_FILE) if MODEL_FILE.exists() else "untrained"
        globals()["MODEL_VERSION"] = value
        return value
    raise AttributeError(name)
