"""ECharts option dictionaries built from metrics results (JSON only: no functions, no HTML)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

PALETTE = ["#1d4ed8", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#4b5563"]
STATUS_COLOURS = {"green": "#16a34a", "amber": "#d97706", "red": "#dc2626", "grey": "#9ca3af"}


def sparkline(points: Sequence[tuple[str, float | None]], status: str = "grey") -> dict[str, Any]:
    """A tiny line chart of a few periods (no axes), coloured by the current status."""
    colour = STATUS_COLOURS.get(status, STATUS_COLOURS["grey"])
    return {
        "animation": False,
        "grid": {"left": 2, "right": 2, "top": 6, "bottom": 2},
        "tooltip": {"trigger": "axis", "confine": True},
        "xAxis": {"type": "category", "show": False, "data": [p[0] for p in points], "boundaryGap": False},
        "yAxis": {"type": "value", "show": False, "scale": True},
        "series": [
            {
                "type": "line",
                "data": [p[1] for p in points],
                "smooth": True,
                "symbol": "circle",
                "symbolSize": 4,
                "lineStyle": {"color": colour, "width": 2},
                "itemStyle": {"color": colour},
                "areaStyle": {"color": colour, "opacity": 0.08},
                "connectNulls": True,
            }
        ],
    }


def pareto(
    labels: Sequence[str],
    counts: Sequence[int],
    cumulative: Sequence[float],
    urls: Sequence[str],
    focus: Sequence[bool],
    count_label: str,
    cumulative_label: str,
) -> dict[str, Any]:
    """Bars of complaint counts (focus items in red) with the cumulative share line on a 0–100% axis."""
    bars = [
        {"value": count, "url": url, "itemStyle": {"color": "#dc2626" if is_focus else "#1d4ed8"}}
        for count, url, is_focus in zip(counts, urls, focus, strict=True)
    ]
    return {
        "animationDuration": 300,
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}, "confine": True},
        "legend": {"data": [count_label, cumulative_label], "top": 0},
        "grid": {"left": 44, "right": 44, "top": 36, "bottom": 8, "containLabel": True},
        "xAxis": {
            "type": "category",
            "data": list(labels),
            "axisLabel": {"interval": 0, "rotate": 35, "fontSize": 11},
        },
        "yAxis": [
            {"type": "value", "name": count_label, "minInterval": 1},
            {"type": "value", "name": "%", "min": 0, "max": 100, "axisLabel": {"formatter": "{value}%"}},
        ],
        "series": [
            {"name": count_label, "type": "bar", "data": bars, "barMaxWidth": 42, "cursor": "pointer"},
            {
                "name": cumulative_label,
                "type": "line",
                "yAxisIndex": 1,
                "data": [round(v, 1) for v in cumulative],
                "symbol": "circle",
                "itemStyle": {"color": "#d97706"},
                "markLine": {
                    "silent": True,
                    "symbol": "none",
                    "lineStyle": {"type": "dashed", "color": "#9ca3af"},
                    "data": [{"yAxis": 80}],
                },
            },
        ],
    }


def bars(
    labels: Sequence[str], values: Sequence[float | None], name: str, horizontal: bool = False
) -> dict[str, Any]:
    """A simple bar chart."""
    category = {"type": "category", "data": list(labels), "axisLabel": {"interval": 0, "fontSize": 11}}
    value = {"type": "value"}
    return {
        "animationDuration": 300,
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}, "confine": True},
        "grid": {"left": 8, "right": 16, "top": 16, "bottom": 8, "containLabel": True},
        "xAxis": value if horizontal else category,
        "yAxis": category if horizontal else value,
        "series": [
            {
                "name": name,
                "type": "bar",
                "data": list(values),
                "itemStyle": {"color": PALETTE[0]},
                "barMaxWidth": 36,
            }
        ],
    }


def emotion_line(
    labels: Sequence[str],
    positive: Sequence[float | None],
    negative: Sequence[float | None],
    weights: Sequence[float],
    names: tuple[str, str, str],
) -> dict[str, Any]:
    """The emotion map: positive and negative share per journey stage, stage weight as bars."""
    positive_name, negative_name, weight_name = names
    return {
        "animationDuration": 300,
        "tooltip": {"trigger": "axis", "confine": True},
        "legend": {"data": [positive_name, negative_name, weight_name], "top": 0},
        "grid": {"left": 8, "right": 8, "top": 36, "bottom": 8, "containLabel": True},
        "xAxis": {"type": "category", "data": list(labels), "axisLabel": {"interval": 0}},
        "yAxis": [
            {"type": "value", "name": "%", "min": 0, "max": 100},
            {"type": "value", "name": weight_name, "min": 0, "max": 100, "show": False},
        ],
        "series": [
            {
                "name": weight_name,
                "type": "bar",
                "yAxisIndex": 1,
                "data": [round(w * 100, 1) for w in weights],
                "itemStyle": {"color": "#e5e7eb"},
                "barMaxWidth": 48,
            },
            {
                "name": positive_name,
                "type": "line",
                "data": list(positive),
                "smooth": True,
                "itemStyle": {"color": "#16a34a"},
                "connectNulls": True,
            },
            {
                "name": negative_name,
                "type": "line",
                "data": list(negative),
                "smooth": True,
                "itemStyle": {"color": "#dc2626"},
                "connectNulls": True,
            },
        ],
    }


def grouped_bars(
    categories: Sequence[str], series: Sequence[tuple[str, Sequence[float | None]]], axis_name: str = ""
) -> dict[str, Any]:
    """Bars per category for several series (competitor comparison)."""
    return {
        "animationDuration": 300,
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}, "confine": True},
        "legend": {"top": 0, "type": "scroll"},
        "grid": {"left": 8, "right": 8, "top": 36, "bottom": 8, "containLabel": True},
        "xAxis": {"type": "category", "data": list(categories), "axisLabel": {"interval": 0, "rotate": 30}},
        "yAxis": {"type": "value", "name": axis_name},
        "color": PALETTE,
        "series": [
            {"name": name, "type": "bar", "data": list(values), "barMaxWidth": 22} for name, values in series
        ],
    }
