"""Aspect taxonomies: a documented YAML format (see docs/text.md) loaded into frozen dataclasses."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

STAGES: tuple[str, ...] = ("browse", "purchase", "wait", "arrival", "use", "after_sales")
DEPARTMENTS: tuple[str, ...] = (
    "warehouse",
    "logistics",
    "quality",
    "product",
    "it",
    "marketing",
    "customer_service",
)


class TaxonomyError(ValueError):
    """Raised when a taxonomy file does not follow the documented schema."""

    def __init__(self, message: str, *, aspect_index: int | None = None) -> None:
        super().__init__(message)
        #: Position of the offending aspect in the ``aspects`` list, so a loader can name its line.
        self.aspect_index = aspect_index


@dataclass(frozen=True)
class Aspect:
    """One aspect of a taxonomy with its names, owner, journey stage and matching vocabulary."""

    id: str
    name: dict[str, str]
    stage: str | None = None
    department: str | None = None
    parent: str | None = None
    keywords: dict[str, tuple[str, ...]] = field(default_factory=dict)
    examples: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def all_keywords(self) -> list[str]:
        """Return the keywords of every language."""
        return [k for words in self.keywords.values() for k in words]

    def all_examples(self) -> list[str]:
        """Return the examples of every language."""
        return [e for ex in self.examples.values() for e in ex]

    def display_name(self, lang: str = "zh") -> str:
        """Return the aspect name in a language, falling back to any name or the id."""
        return self.name.get(lang) or next(iter(self.name.values()), self.id)


@dataclass(frozen=True)
class Taxonomy:
    """A named set of aspects; `version` is a content hash used to decide on re-analysis."""

    name: str
    aspects: tuple[Aspect, ...]
    stages: tuple[str, ...] = STAGES
    declared_version: Any = None

    @property
    def version(self) -> str:
        """Return a short hash of the taxonomy content (changes whenever anything changes)."""
        payload = json.dumps(self.to_dict(), ensure_ascii=False, sort_keys=True)
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:12]

    def get(self, aspect_id: str) -> Aspect:
        """Return the aspect with this id (KeyError if absent)."""
        for a in self.aspects:
            if a.id == aspect_id:
                return a
        raise KeyError(aspect_id)

    @property
    def ids(self) -> list[str]:
        """Return the aspect ids in file order."""
        return [a.id for a in self.aspects]

    def children(self, aspect_id: str | None) -> list[Aspect]:
        """Return the aspects whose parent is `aspect_id` (None gives the roots)."""
        return [a for a in self.aspects if a.parent == aspect_id]

    def to_dict(self) -> dict[str, Any]:
        """Return the taxonomy in its YAML schema form."""
        return {
            "name": self.name,
            "version": self.declared_version,
            "stages": list(self.stages),
            "aspects": [
                {
                    "id": a.id,
                    "name": dict(a.name),
                    "stage": a.stage,
                    "department": a.department,
                    "parent": a.parent,
                    "keywords": {k: list(v) for k, v in a.keywords.items()},
                    "examples": {k: list(v) for k, v in a.examples.items()},
                }
                for a in self.aspects
            ],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Taxonomy:
        """Validate a parsed YAML mapping and build a taxonomy from it."""
        if not isinstance(data, dict) or "aspects" not in data:
            raise TaxonomyError("a taxonomy needs a mapping with an 'aspects' list")
        stages = tuple(data.get("stages") or STAGES)
        aspects: list[Aspect] = []
        seen: set[str] = set()
        for i, raw in enumerate(data["aspects"] or []):
            if not isinstance(raw, dict) or not raw.get("id"):
                raise TaxonomyError(f"aspect #{i} needs an 'id'", aspect_index=i)
            aid = str(raw["id"])
            if aid in seen:
                raise TaxonomyError(f"duplicate aspect id {aid!r}", aspect_index=i)
            seen.add(aid)
            name = raw.get("name") or {}
            if isinstance(name, str):
                name = {"zh": name, "en": name}
            stage = raw.get("stage")
            if stage is not None and stage not in stages:
                raise TaxonomyError(f"aspect {aid!r}: unknown stage {stage!r}", aspect_index=i)
            dept = raw.get("department")
            keywords = raw.get("keywords") or {}
            examples = raw.get("examples") or {}
            if isinstance(keywords, list):
                keywords = {"zh": keywords}
            if isinstance(examples, list):
                examples = {"zh": examples}
            aspects.append(
                Aspect(
                    id=aid,
                    name={str(k): str(v) for k, v in name.items()},
                    stage=stage,
                    department=str(dept) if dept is not None else None,
                    parent=raw.get("parent"),
                    keywords={str(k): tuple(str(w) for w in (v or [])) for k, v in keywords.items()},
                    examples={str(k): tuple(str(e) for e in (v or [])) for k, v in examples.items()},
                )
            )
        for i, a in enumerate(aspects):
            if a.parent is not None and a.parent not in seen:
                raise TaxonomyError(f"aspect {a.id!r}: unknown parent {a.parent!r}", aspect_index=i)
        return cls(
            name=str(data.get("name") or "custom"),
            aspects=tuple(aspects),
            stages=stages,
            declared_version=data.get("version"),
        )


def load_taxonomy(path: str | Path | None = None) -> Taxonomy:
    """Load a taxonomy YAML file; None loads the shipped default e-commerce taxonomy."""
    if path is None:
        return default_taxonomy()
    text = Path(path).read_text(encoding="utf-8")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        raise TaxonomyError(f"{path}: {where}{getattr(exc, 'problem', None) or exc}") from exc
    try:
        return Taxonomy.from_dict(data)
    except TaxonomyError as exc:
        line = _aspect_line(text, exc.aspect_index)
        where = f"line {line}: " if line else ""
        raise TaxonomyError(f"{path}: {where}{exc}", aspect_index=exc.aspect_index) from exc


def _aspect_line(text: str, index: int | None) -> int | None:
    """The 1-based line where aspect number ``index`` starts in the YAML ``text``, if it can be found."""
    if index is None:
        return None
    root = yaml.compose(text)
    if not isinstance(root, yaml.MappingNode):
        return None
    for key, value in root.value:
        if key.value == "aspects" and isinstance(value, yaml.SequenceNode) and index < len(value.value):
            return int(value.value[index].start_mark.line) + 1
    return None


_DEFAULT: Taxonomy | None = None


def default_taxonomy() -> Taxonomy:
    """Return the shipped default e-commerce taxonomy (parsed once)."""
    global _DEFAULT
    if _DEFAULT is None:
        text = resources.files("cxloop.text").joinpath("taxonomies/ecommerce.yaml").read_text("utf-8")
        _DEFAULT = Taxonomy.from_dict(yaml.safe_load(text))
    return _DEFAULT
