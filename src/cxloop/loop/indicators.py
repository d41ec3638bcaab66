"""What rules read about an indicator: additive numerator/denominator per scope and day.

Rules test statistics, so they need more than the value a dashboard shows: the sample behind it.
``IndicatorSource`` is the small protocol the evaluator uses; ``RollupSource`` reads the metrics
registry (formula, owner, direction, red limit) and its daily rollup of additive components.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session


@dataclass(frozen=True)
class IndicatorInfo:
    """An indicator as the rules see it."""

    code: str
    owner: str
    higher_is_better: bool
    #: "proportion" (num and den are counts; value = factor × num/den) or "mean" (value = num/den).
    kind: str
    factor: float = 1.0
    red: float | None = None
    name_zh: str = ""
    name_en: str = ""
    unit: str = ""
    scopes: tuple[str, ...] = ()


@dataclass
class Cell:
    """Numerator and denominator sums for one scope key over a window, with the same per day."""

    num: float = 0.0
    den: float = 0.0
    daily: dict[date, tuple[float, float]] = field(default_factory=dict)

    def value(self, factor: float = 1.0) -> float | None:
        """factor × num / den, or None without data."""
        return factor * self.num / self.den if self.den > 0 else None

    def daily_values(self, factor: float = 1.0) -> list[float]:
        """The value of each day that has data (day-level samples for tests robust to overdispersion)."""
        return [factor * num / den for _, (num, den) in sorted(self.daily.items()) if den > 0]

    def add(self, other: Cell) -> None:
        """Add another cell's sums into this one (pooling peers)."""
        self.num += other.num
        self.den += other.den
        for day, (n, d) in other.daily.items():
            on, od = self.daily.get(day, (0.0, 0.0))
            self.daily[day] = (on + n, od + d)


class IndicatorSource(Protocol):
    """Where the evaluator reads indicators from (the metrics rollup, or a fixture in tests)."""

    def info(self, code: str) -> IndicatorInfo:
        """The indicator ``code`` (KeyError when unknown)."""
        ...

    def cells(
        self, *, indicator: str, start: date, end: date, scope_kind: str | None, scope_key: str | None = None
    ) -> dict[str, Cell]:
        """Sums per scope key over [start, end); the whole business is the key ``""``."""
        ...

    def data_bounds(self) -> tuple[date, date] | None:
        """First and last day with data, or None when there is none."""
        ...


class RollupSource:
    """Indicators from ``cxloop.metrics``: registry formulas over the ``metrics_daily`` rollup."""

    def __init__(self, *, db_session: Session) -> None:
        self.db_session = db_session

    def info(self, code: str) -> IndicatorInfo:
        """The indicator from the metrics registry, reduced to what rules need."""
        from cxloop.metrics.registry import HIGHER, get_indicator

        ind = get_indicator(code)
        if ind.percentile is not None:
            raise KeyError(f"{code} is a percentile: rules need an additive indicator")
        is_mean = any(c.startswith("-") for c in ind.num) or any("sum" in c.split(":", 1)[0] for c in ind.num)
        return IndicatorInfo(
            code=ind.code,
            owner=ind.owner,
            higher_is_better=ind.direction == HIGHER,
            kind="mean" if is_mean else "proportion",
            factor=ind.factor,
            red=ind.red,
            name_zh=ind.name_zh,
            name_en=ind.name_en,
            unit=ind.unit,
            scopes=ind.scopes,
        )

    def cells(
        self, *, indicator: str, start: date, end: date, scope_kind: str | None, scope_key: str | None = None
    ) -> dict[str, Cell]:
        """Sum the indicator's components per scope key and day from the rollup."""
        from cxloop.metrics.models import MetricsDaily
        from cxloop.metrics.registry import get_indicator

        ind = get_indicator(indicator)
        signs: dict[str, list[tuple[str, float]]] = defaultdict(list)
        for comp in ind.num:
            signs[comp.lstrip("-")].append(("num", -1.0 if comp.startswith("-") else 1.0))
        for comp in ind.den:
            signs[comp.lstrip("-")].append(("den", -1.0 if comp.startswith("-") else 1.0))
        kind = scope_kind or _WHOLE_KIND
        query = (
            select(
                MetricsDaily.scope_key, MetricsDaily.day, MetricsDaily.component, func.sum(MetricsDaily.value)
            )
            .where(
                MetricsDaily.scope_kind == kind,
                MetricsDaily.component.in_(list(signs)),
                MetricsDaily.day >= start,
                MetricsDaily.day < end,
            )
            .group_by(MetricsDaily.scope_key, MetricsDaily.day, MetricsDaily.component)
        )
        if scope_key is not None:
            query = query.where(MetricsDaily.scope_key == scope_key)
        out: dict[str, Cell] = {}
        for key, day, comp, total in self.db_session.execute(query):
            cell = out.setdefault("" if scope_kind is None else key, Cell())
            num, den = cell.daily.get(day, (0.0, 0.0))
            for part, sign in signs[comp]:
                if part == "num":
                    num += sign * float(total)
                    cell.num += sign * float(total)
                else:
                    den += sign * float(total)
                    cell.den += sign * float(total)
            cell.daily[day] = (num, den)
        return out

    def data_bounds(self) -> tuple[date, date] | None:
        """The first and last day in the rollup."""
        from cxloop.metrics.models import MetricsDaily

        low, high = self.db_session.execute(
            select(func.min(MetricsDaily.day), func.max(MetricsDaily.day))
        ).one()
        if low is None or high is None:
            return None
        return _as_date(low), _as_date(high)


#: The rollup's scope kind for the whole business.
_WHOLE_KIND = "all"


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
