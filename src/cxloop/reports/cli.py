"""``cxloop report ...``: Pareto, root cause, scorecards and overview as Rich tables or JSON."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import Annotated, Any

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.table import Table
from sqlalchemy.orm import Session

from cxloop.db import session_scope
from cxloop.i18n import department_name, translate
from cxloop.metrics import schemas as s

app = typer.Typer(help="Monthly reports. 月度报告。", no_args_is_help=True)
console = Console()

_STATUS_STYLE = {"green": "green", "amber": "yellow", "red": "bold red", "grey": "dim", "insufficient": "dim"}


class Format(StrEnum):
    """Output format."""

    table = "table"
    json = "json"


class Lang(StrEnum):
    """Language of names in tables."""

    zh = "zh"
    en = "en"


MonthOpt = Annotated[
    str | None, typer.Option("--month", help="YYYY-MM (default: the latest complete month with data).")
]
FormatOpt = Annotated[Format, typer.Option("--format", help="table or json.")]
LangOpt = Annotated[Lang, typer.Option("--lang", help="zh or en.")]
DeptOpt = Annotated[str | None, typer.Option("--department", help="Department code, e.g. warehouse.")]


def _t(key: str, lang: Lang) -> str:
    return translate(f"reports.column.{key}", lang.value)


def _num(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def _status(status: str) -> str:
    return f"[{_STATUS_STYLE.get(status, '')}]{status}[/]"


def _dept(code: str, lang: Lang) -> str:
    return department_name(code, lang.value)


@contextmanager
def _session() -> Iterator[Session]:
    with session_scope() as session:
        yield session


def _monthly(report: str, month: str | None, department: str | None, lang: Lang) -> BaseModel:
    """A monthly report of the metrics service (overview, scorecards, indicators), in its own session."""
    # The metrics service (and the delivery scoring it reads, with numpy) loads when a report runs,
    # not for `cxloop report --help`.
    from cxloop.metrics import service

    with _session() as session:
        result: BaseModel = getattr(service, report)(
            db_session=session, month=month, department=department, lang=lang.value
        )
        return result


#: The columns every indicator table starts with, and their cells.
_INDICATOR_COLUMNS = ("indicator", "unit", "value", "previous", "target", "status")


def _indicator_table(title: str, lang: Lang, *more: str) -> Table:
    """A table with the indicator columns and then ``more`` (headers as given)."""
    table = Table(title=title)
    for key in _INDICATOR_COLUMNS:
        table.add_column(_t(key, lang))
    for header in more:
        table.add_column(header)
    return table


def _indicator_cells(value: s.IndicatorValue | s.ScorecardIndicator) -> list[str]:
    """The cells of the indicator columns for one indicator's value."""
    return [
        value.name,
        value.unit,
        _num(value.value),
        _num(value.previous),
        _num(value.target),
        _status(value.status),
    ]


def _emit(result: BaseModel, fmt: Format, render: Callable[[Any], None]) -> None:
    if fmt is Format.json:
        typer.echo(result.model_dump_json(indent=2))
    else:
        render(result)


@app.command("pareto")
def pareto_command(month: MonthOpt = None, fmt: FormatOpt = Format.table, lang: LangOpt = Lang.zh) -> None:
    """Monthly complaint Pareto with the focus items. 月度投诉帕累托。"""
    from cxloop.metrics import service  # loads when the report runs, not for --help

    with _session() as session:
        result = service.pareto(db_session=session, month=month)

    def render(p: s.Pareto) -> None:
        table = Table(title=f"Pareto {p.month} (n={p.total}, {p.previous_month}: {p.previous_total})")
        for key in ("aspect", "department", "count", "share", "cum", "change", "focus"):
            table.add_column(
                _t(key, lang), justify="right" if key in ("count", "share", "cum", "change") else "left"
            )
        for i in p.items:
            table.add_row(
                i.name_en if lang is Lang.en else i.name_zh, _dept(i.department, lang), str(i.count),
                _num(i.share, 1), _num(i.cumulative_share, 1), f"{i.change:+d}", "★" if i.focus else "",
            )  # fmt: skip
        console.print(table)

    _emit(result, fmt, render)


@app.command("root-cause")
def root_cause_command(
    month: MonthOpt = None, fmt: FormatOpt = Format.table, lang: LangOpt = Lang.zh
) -> None:
    """Late orders by the stage that was late, by warehouse and carrier. 延误根因分解。"""
    from cxloop.metrics import service  # loads when the report runs, not for --help

    with _session() as session:
        result = service.root_cause(db_session=session, month=month, lang=lang.value)

    def render(r: s.RootCause) -> None:
        console.print(f"{r.month}: {r.late_orders} / {r.orders} late ({_num(r.late_rate, 1)}%)")
        table = Table(title=_t("stage", lang))
        for key in ("stage", "department", "late", "share", "excess"):
            table.add_column(_t(key, lang))
        for row in r.by_stage:
            table.add_row(row.label or row.stage, _dept(row.department, lang), str(row.late_orders), _num(row.share, 1),
                          _num(row.mean_excess_hours, 1))  # fmt: skip
        console.print(table)
        table = Table(title=_t("scope", lang))
        for key in ("stage", "scope", "late", "rate", "excess"):
            table.add_column(_t(key, lang))
        for row in r.by_scope:
            table.add_row(row.stage, f"{row.label} ({row.key})", str(row.late_orders), _num(row.rate, 1),
                          _num(row.mean_excess_hours, 1))  # fmt: skip
        console.print(table)
        table = Table(title=f"{_t('complaints', lang)} (n={r.complaints_total})")
        for key in ("stage", "department", "count", "share"):
            table.add_column(_t(key, lang))
        for c in r.complaints:
            table.add_row(c.stage, _dept(c.department, lang), str(c.complaints), _num(c.share, 1))
        console.print(table)

    _emit(result, fmt, render)


def _monthly_command(name: str, help_text: str, report: str, render: Callable[[Any, Lang], None]) -> None:
    """Register ``cxloop report <name>``: the metrics service's function ``report`` as a table or JSON."""

    def command(
        month: MonthOpt = None,
        department: DeptOpt = None,
        fmt: FormatOpt = Format.table,
        lang: LangOpt = Lang.zh,
    ) -> None:
        result = _monthly(report, month, department, lang)
        _emit(result, fmt, lambda data: render(data, lang))

    command.__doc__ = help_text
    app.command(name)(command)


def _render_scorecards(cards: s.Scorecards, lang: Lang) -> None:
    for card in cards.departments:
        name = card.name_en if lang is Lang.en else card.name_zh
        score = f"{_t('score', lang)} {_num(card.score, 0)} {_status(card.status)}"
        table = _indicator_table(f"{name} {cards.month} — {score}", lang, "6m")
        for i in card.indicators:
            table.add_row(*_indicator_cells(i), " ".join(_num(p.value, 1) for p in i.trend))
        console.print(table)


def _render_overview(o: s.Overview, lang: Lang) -> None:
    table = _indicator_table(f"{o.month} vs {o.previous_month}", lang)
    for v in o.indicators:
        table.add_row(*_indicator_cells(v))
    console.print(table)
    focus = ", ".join(i.name_en if lang is Lang.en else i.name_zh for i in o.pareto.items if i.focus)
    console.print(f"{_t('focus', lang)}: {focus or '—'}")


def _render_indicators(data: s.IndicatorTable, lang: Lang) -> None:
    title = data.month + (" (month to date / 本月至今)" if data.month_to_date else "")
    table = _indicator_table(title, lang, "n")
    for v in data.indicators:
        table.add_row(*_indicator_cells(v), f"{v.n}/{v.min_n}")
    console.print(table)


_monthly_command(
    "scorecards",
    "Department scorecards for the monthly review. 部门计分卡。",
    "scorecards",
    _render_scorecards,
)
_monthly_command(
    "overview",
    "The month at a glance: indicators, reds and focus complaints. 月度概览。",
    "overview",
    _render_overview,
)
_monthly_command(
    "indicators",
    "Every indicator of the registry for a month, with base and status. 全部指标。",
    "indicator_page",
    _render_indicators,
)
