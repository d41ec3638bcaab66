"""The active aspect taxonomy: the one every part of cxloop reads (CXLOOP_TAXONOMY, else the shipped one).

Analysis, the indicator registry, rollups, pages and case root causes all ask :func:`active_taxonomy`,
so a business that switches to its own taxonomy sees its own aspects everywhere, owned by the
departments its file names. A broken file raises :class:`~cxloop.text.taxonomy.TaxonomyError`
naming the file and line, at start (:func:`check_taxonomy`) rather than on the first page.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

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


@dataclass(frozen=True)
class AspectInfo:
    """What metrics needs to know about one aspect of the taxonomy."""

    id: str
    name_zh: str
    name_en: str
    stage: str
    department: str


def _text(value: Any, lang: str, default: str) -> str:
    if isinstance(value, dict):
        return str(value.get(lang) or value.get("zh") or value.get("en") or default)
    return str(value or default)


def _aspects_of(taxonomy: Taxonomy) -> dict[str, AspectInfo]:
    return {
        aspect.id: AspectInfo(
            id=aspect.id,
            name_zh=_text(aspect.name, "zh", aspect.id),
            name_en=_text(aspect.name, "en", aspect.id),
            stage=aspect.stage or "use",
            department=aspect.department or "customer_service",
        )
        for aspect in taxonomy.aspects
    }


#: The last taxonomy seen and its aspects: rollups ask for every row, and the accessor returns the
#: same object until the configured file changes.
_last: tuple[Taxonomy, dict[str, AspectInfo]] | None = None


def aspects() -> dict[str, AspectInfo]:
    """Every aspect of the active taxonomy (``cxloop.taxonomy.active_taxonomy``) by id."""
    global _last
    taxonomy = active_taxonomy()
    if _last is None or _last[0] is not taxonomy:
        _last = (taxonomy, _aspects_of(taxonomy))
    return _last[1]


def aspect_info(aspect: str) -> AspectInfo:
    """The info of ``aspect``, or a neutral placeholder for an id the taxonomy no longer has."""
    return aspects().get(aspect) or AspectInfo(aspect, aspect, aspect, "use", "customer_service")
