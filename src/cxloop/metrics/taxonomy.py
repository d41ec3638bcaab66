"""Aspect -> (names, journey stage, department), read from the active taxonomy (there is no other copy)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cxloop.taxonomy import active_taxonomy
from cxloop.text.taxonomy import Taxonomy


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
