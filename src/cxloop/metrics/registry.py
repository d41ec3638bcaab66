"""The indicator registry: each indicator defined once in ``indicators.yaml``, read by everything else.

The YAML is the single definition of code, names, unit, direction, scale, numerator/denominator,
minimum sample, scopes, default targets, evidence aspects and whether a department's scorecard uses
it. Pages, API routes, report commands, alert rules and scorecards all read :func:`registry`.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml

from cxloop.taxonomy import AspectInfo, aspects

# Which scope kinds each data source can be cut by (see rollup.py for how each key is found).
ORDER_SCOPES = ("warehouse", "carrier", "region", "channel", "brand", "tier")
LINE_SCOPES = (*ORDER_SCOPES, "product", "supplier")
FEEDBACK_SCOPES = (
    "channel",
    "brand",
    "product",
    "supplier",
    "region",
    "tier",
    "warehouse",
    "carrier",
    "shift",
)
ASPECT_SCOPES = (*FEEDBACK_SCOPES, "department")
SURVEY_SCOPES = ("brand", "region", "tier")
#: The named scope sets an entry of indicators.yaml may use.
SCOPE_SETS: dict[str, tuple[str, ...]] = {
    "none": (),
    "order": ORDER_SCOPES,
    "line": LINE_SCOPES,
    "feedback": FEEDBACK_SCOPES,
    "aspect": ASPECT_SCOPES,
    # Per-aspect rollups are not kept per product (products × aspects × days would dwarf the rest).
    "aspect_item": tuple(s for s in FEEDBACK_SCOPES if s != "product"),
    # Feedback counted against orders: only where both sides are keyed the same way.
    "order_feedback": ("warehouse", "carrier", "brand"),
    "survey": SURVEY_SCOPES,
}

HIGHER = "higher_better"
LOWER = "lower_better"
DIRECTIONS = (HIGHER, LOWER)
GROUPS = ("operational", "experience", "aspect", "complaint_rate")
#: Status of a value whose denominator is below the indicator's minimum sample.
INSUFFICIENT = "insufficient"
#: Statuses in order of how urgently they need a look.
STATUSES = ("red", "amber", "green", INSUFFICIENT, "grey")


@dataclass(frozen=True, kw_only=True)
class Indicator:
    """One indicator: value = factor × Σnum / Σden of daily components (or a histogram percentile)."""

    code: str
    name_zh: str
    name_en: str
    group: str
    owner: str
    unit: str
    direction: str
    scale: str
    num: tuple[str, ...] = ()
    den: tuple[str, ...] = ()
    factor: float = 1.0
    #: For page-load percentiles: the percentile (0..100) read from the ``load_b:`` histogram.
    percentile: float | None = None
    base_zh: str = ""
    base_en: str = ""
    #: The smallest denominator a status may rest on; below it the status is ``insufficient``.
    min_n: int = 1
    scopes: tuple[str, ...] = ()
    target: float = 0.0
    amber: float = 0.0
    red: float = 0.0
    #: Aspects whose negative mentions are the voice behind this number (alert and task evidence).
    evidence: tuple[str, ...] = ()
    #: True when a department may fairly be judged by it (department scorecards).
    scorecard: bool = True
    description_zh: str = ""
    description_en: str = ""

    @property
    def components(self) -> tuple[str, ...]:
        """Every rollup component the formula reads (signs stripped)."""
        return tuple(c.lstrip("-") for c in (*self.num, *self.den))

    @property
    def description(self) -> str:
        """The English description (kept for callers that show one language)."""
        return self.description_en

    def name(self, lang: str = "zh") -> str:
        """The display name in ``lang``."""
        return self.name_en if lang == "en" else self.name_zh

    def base(self, lang: str = "zh") -> str:
        """What one unit of the denominator is, in ``lang``."""
        return self.base_en if lang == "en" else self.base_zh


def _pair(entry: dict[str, Any], field: str, where: str) -> tuple[str, str]:
    value = entry.get(field) or {}
    if not isinstance(value, dict) or not value.get("zh") or not value.get("en"):
        raise ValueError(f"indicators.yaml {where}: {field} needs both zh and en")
    return str(value["zh"]), str(value["en"])


def _fill(value: Any, slots: dict[str, str]) -> Any:
    """Fill ``{id}``-style slots in every string of a per-aspect template."""
    if isinstance(value, str):
        return value.format(**slots)
    if isinstance(value, list):
        return [_fill(v, slots) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, slots) for k, v in value.items()}
    return value


_KNOWN = {
    "code", "name", "group", "owner", "unit", "direction", "scale", "numerator", "denominator", "factor",
    "percentile", "base", "min_n", "scopes", "target", "amber", "red", "evidence", "scorecard",
    "description",
}  # fmt: skip


def _indicator(entry: dict[str, Any]) -> Indicator:
    """One validated entry of indicators.yaml."""
    code = str(entry.get("code") or "")
    where = code or repr(entry)[:60]
    unknown = set(entry) - _KNOWN
    if unknown:
        raise ValueError(f"indicators.yaml {where}: unknown fields {sorted(unknown)}")
    for field in ("code", "group", "owner", "unit", "direction", "scale", "min_n", "scopes"):
        if entry.get(field) in (None, ""):
            raise ValueError(f"indicators.yaml {where}: {field} is required")
    if entry["direction"] not in DIRECTIONS:
        raise ValueError(f"indicators.yaml {where}: direction must be one of {DIRECTIONS}")
    if entry["group"] not in GROUPS:
        raise ValueError(f"indicators.yaml {where}: group must be one of {GROUPS}")
    if entry["scopes"] not in SCOPE_SETS:
        raise ValueError(f"indicators.yaml {where}: scopes must be one of {sorted(SCOPE_SETS)}")
    percentile = entry.get("percentile")
    if percentile is None and not (entry.get("numerator") and entry.get("denominator")):
        raise ValueError(f"indicators.yaml {where}: numerator and denominator (or percentile) are required")
    name_zh, name_en = _pair(entry, "name", where)
    base_zh, base_en = _pair(entry, "base", where)
    desc_zh, desc_en = _pair(entry, "description", where)
    amber, red = float(entry["amber"]), float(entry["red"])
    if (amber < red) if entry["direction"] == HIGHER else (amber > red):
        raise ValueError(f"indicators.yaml {where}: red must be worse than amber")
    return Indicator(
        code=code, name_zh=name_zh, name_en=name_en, group=str(entry["group"]), owner=str(entry["owner"]),
        unit=str(entry["unit"]), direction=str(entry["direction"]), scale=str(entry["scale"]),
        num=tuple(str(c) for c in entry.get("numerator") or ()),
        den=tuple(str(c) for c in entry.get("denominator") or ()),
        factor=float(entry.get("factor", 1.0)),
        percentile=None if percentile is None else float(percentile),
        base_zh=base_zh, base_en=base_en, min_n=int(entry["min_n"]), scopes=SCOPE_SETS[entry["scopes"]],
        target=float(entry["target"]), amber=amber, red=red,
        evidence=tuple(str(a) for a in entry.get("evidence") or ()), scorecard=bool(entry.get("scorecard", True)),
        description_zh=desc_zh, description_en=desc_en,
    )  # fmt: skip


def load(text: str) -> dict[str, Indicator]:
    """Every indicator of an indicators.yaml text (per-aspect entries expanded over the taxonomy)."""
    data = yaml.safe_load(text) or {}
    out: dict[str, Indicator] = {}
    entries: list[dict[str, Any]] = list(data.get("indicators") or [])
    for info in aspects().values():
        slots = {
            "id": info.id,
            "name_zh": info.name_zh,
            "name_en": info.name_en,
            "department": info.department,
        }
        entries += [_fill(template, slots) for template in data.get("per_aspect") or []]
    for entry in entries:
        ind = _indicator(entry)
        if ind.code in out:
            raise ValueError(f"indicators.yaml: {ind.code} is defined twice")
        out[ind.code] = ind
    return out


#: The registry and the taxonomy it was built from (aspect indicators follow the active taxonomy).
_REGISTRY: tuple[dict[str, AspectInfo], dict[str, Indicator]] | None = None


def registry() -> dict[str, Indicator]:
    """Every indicator by code, from indicators.yaml (rebuilt when the active taxonomy changes)."""
    global _REGISTRY
    current = aspects()
    if _REGISTRY is None or _REGISTRY[0] is not current:
        _REGISTRY = (current, load(_yaml_text()))
    return _REGISTRY[1]


def get_indicator(code: str) -> Indicator:
    """The indicator ``code``; KeyError when it does not exist."""
    try:
        return registry()[code]
    except KeyError:
        raise KeyError(f"unknown indicator {code!r}") from None


def status_of(
    value: float | None, *, direction: str, amber: float, red: float, n: float | None = None, min_n: int = 0
) -> str:
    """green when at least as good as ``amber``, red when worse than ``red``, amber between.

    grey: no data; ``insufficient``: a value resting on fewer than ``min_n`` cases (「样本不足」).
    """
    if value is None:
        return "grey"
    if n is not None and n < min_n:
        return INSUFFICIENT
    if direction == HIGHER:
        return "green" if value >= amber else ("amber" if value >= red else "red")
    return "green" if value <= amber else ("amber" if value <= red else "red")


def indicator_status(ind: Indicator, value: float | None, n: float, *, amber: float, red: float) -> str:
    """The status of ``value`` resting on ``n`` cases, by the indicator's direction and minimum sample."""
    return status_of(value, direction=ind.direction, amber=amber, red=red, n=n, min_n=ind.min_n)


def _yaml_text() -> str:
    return resources.files("cxloop.metrics").joinpath("indicators.yaml").read_text(encoding="utf-8")


def markdown_table() -> str:
    """The registry as the Markdown table of docs/indicators.md (a test keeps the docs equal to it)."""
    data = yaml.safe_load(_yaml_text()) or {}
    slots = {"id": "<aspect>", "name_zh": "〈方面〉", "name_en": "<aspect>", "department": "(aspect's)"}
    entries = list(data.get("indicators") or []) + [_fill(t, slots) for t in data.get("per_aspect") or []]
    lines = [
        "| code | 名称 / name | unit | direction | scale | numerator / denominator | base (denominator) "
        "| min sample | default target (amber / red) | owner | on scorecards | evidence aspects |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for entry in entries:
        ind = _indicator(entry)
        arrow = "↑ higher better" if ind.direction == HIGHER else "↓ lower better"
        if ind.percentile is not None:
            formula = f"p{ind.percentile:g} of the page-load histogram"
        else:
            factor = "" if ind.factor == 1 else f"{ind.factor:g} × "
            formula = f"{factor}Σ{' + '.join(ind.num)} / Σ{' + '.join(ind.den)}".replace("+ -", "− ")
        lines.append(
            f"| `{ind.code}` | {ind.name_zh} / {ind.name_en} | {ind.unit} | {arrow} | {ind.scale} | {formula} "
            f"| {ind.base_zh} / {ind.base_en} | {ind.min_n} | {ind.target:g} ({ind.amber:g} / {ind.red:g}) "
            f"| {ind.owner} | {'yes' if ind.scorecard else 'no'} | {', '.join(ind.evidence) or '—'} |"
        )
    return "\n".join(lines) + "\n"
