"""The indicator registry: every indicator defined once, completely, and the docs equal to it."""

from __future__ import annotations

from pathlib import Path

import pytest

from cxloop.metrics.registry import (
    DIRECTIONS,
    HIGHER,
    INSUFFICIENT,
    get_indicator,
    indicator_status,
    load,
    markdown_table,
    registry,
)
from cxloop.metrics.rollup import FEEDBACK_KINDS
from cxloop.taxonomy import aspects

DOCS = Path(__file__).resolve().parents[2] / "docs" / "indicators.md"


def test_every_indicator_is_fully_defined() -> None:
    """Unit, direction, scale, base, minimum sample and both names for every indicator."""
    table = registry()
    assert len(table) == 26 + 2 * len(aspects())
    for code, ind in table.items():
        assert ind.code == code and ind.unit and ind.scale and ind.direction in DIRECTIONS, code
        assert ind.name_zh and ind.name_en and ind.base_zh and ind.base_en, code
        assert ind.description_zh and ind.description_en and ind.min_n >= 1, code
        assert ind.percentile is not None or (ind.num and ind.den), code
        assert set(ind.evidence) <= set(aspects()), (code, ind.evidence)
        good, bad = (ind.amber, ind.red) if ind.direction == HIGHER else (-ind.amber, -ind.red)
        assert good >= bad, code


def test_ces_is_higher_is_better_on_the_survey_scale() -> None:
    """Regression: the surveys (and the demo) ask CES on 1–7 with 7 = very easy."""
    ces = get_indicator("ces")
    assert ces.direction == HIGHER and "7 = very easy" in ces.scale
    assert indicator_status(ces, 6.5, 100, amber=ces.amber, red=ces.red) == "green"
    assert indicator_status(ces, 2.0, 100, amber=ces.amber, red=ces.red) == "red"
    assert indicator_status(ces, 2.0, ces.min_n - 1, amber=ces.amber, red=ces.red) == INSUFFICIENT


def test_complaint_only_aspects_are_judged_by_complaint_rate() -> None:
    """Scorecards use complaints per 1,000 orders; aspect negative shares are not on scorecards."""
    for aspect in aspects():
        assert not get_indicator(f"aspect_neg:{aspect}").scorecard
        rate = get_indicator(f"complaint_rate:{aspect}")
        assert rate.scorecard and rate.factor == 1000 and rate.den == ("orders",) and rate.unit == "‰"


def test_bad_entries_are_refused() -> None:
    """A duplicate code, a missing field or a red line better than amber is a clear error."""
    entry = (
        "indicators:\n  - {code: x, name: {zh: 甲, en: X}, group: operational, owner: it, unit: '%', "
        "direction: higher_better, scale: s, numerator: [a], denominator: [b], base: {zh: 乙, en: Y}, "
        "min_n: 1, scopes: none, target: 1, amber: 1, red: 0, description: {zh: 丙, en: Z}}\n"
    )
    assert set(load(entry)) >= {"x"}
    with pytest.raises(ValueError, match="defined twice"):
        load(entry + entry.split("\n", 1)[1])
    with pytest.raises(ValueError, match="min_n is required"):
        load(entry.replace("min_n: 1, ", ""))
    with pytest.raises(ValueError, match="red must be worse"):
        load(entry.replace("red: 0", "red: 2"))
    with pytest.raises(ValueError, match="unknown fields"):
        load(entry.replace("min_n: 1", "min_n: 1, colour: red"))


def test_rollup_scopes_cover_every_feedback_scope() -> None:
    """Every scope an indicator declares is one the rollup computes."""
    for ind in registry().values():
        for kind in ind.scopes:
            assert kind in (*FEEDBACK_KINDS, "department", "product", "supplier", "warehouse"), (
                ind.code,
                kind,
            )


def test_docs_table_is_the_registry() -> None:
    """docs/indicators.md shows the registry's own table (regenerate with markdown_table())."""
    assert markdown_table() in DOCS.read_text(encoding="utf-8")
