"""The active aspect taxonomy: the one every part of cxloop reads (CXLOOP_TAXONOMY, else the shipped one).

Analysis, the indicator registry, rollups, pages and case root causes all ask :func:`active_taxonomy`,
so a business that switches to its own taxonomy sees its own aspects everywhere, owned by the
departments its file names. A broken file raises :class:`~cxloop.text.taxonomy.TaxonomyError`
naming the file and line, at start (:func:`check_taxonomy`) rather than on the first page.
"""

from __future__ import annotations

from functools import lru_cache

from cxloop.config import get_settings
from cxloop.text.taxonomy import Taxonomy, default_taxonomy, load_taxonomy


@lru_cache(maxsize=4)
def _load(path: str | None) -> Taxonomy:
    return load_taxonomy(path) if path else default_taxonomy()


def active_taxonomy() -> Taxonomy:
    """The configured taxonomy (parsed once per file; a settings change picks the new one)."""
    path = get_settings().taxonomy
    return _load(str(path) if path else None)


def check_taxonomy() -> None:
    """Load the configured taxonomy now, so a broken file stops the start with its line number."""
    active_taxonomy()
