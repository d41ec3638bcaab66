"""``cxloop delivery ...``: train the early warning, list orders at risk, carriers and promises."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.orm import Session

from cxloop.db import session_scope
from cxloop.i18n import translate
from cxloop.orders import outcomes

app = typer.Typer(
    help="Delivery truth and decisions. 配送：准时、承诺、快递选择与延误预警。", no_args_is_help=True
)
console = Console()
# Options several commands share.
FormatOpt = Annotated[str, typer.Option("--format", help="table or json.")]
LangOpt = Annotated[str, typer.Option(help="zh or en.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="JSON output.")]
T = TypeVar("T")


def _call(action: Callable[[Session, ModuleType], T], exit_code: int = 2) -> T:
    """Run ``action`` with a session and the delivery service; a refusal is one red line and ``exit_code``."""
    from cxloop.delivery import service  # numpy and scikit-learn load when a command runs, not for --help

    with session_scope() as session:
        try:
            return action(session, service)
        except ValueError as exc:
            console.print(f"[red]{exc}[/]")
            raise typer.Exit(exit_code) from None


@app.command("train-warning")
def train_warning_command(
    holdout_days: Annotated[
        int, typer.Option(help="Days of latest promises held out to measure the model before refitting.")
    ] = 30,
    out: Annotated[Path | None, typer.Option(help="Model file (default: <data_dir>/models/).")] = None,
) -> None:
    """Train and calibrate the late-order early warning on this shop's history. 训练延误预警模型。"""
    result = _call(
        lambda s, service: service.train_warning(db_session=s, holdout_days=holdout_days, path=out), 1
    )
    typer.echo(result.model_dump_json(indent=2))


@app.command("at-risk")
def at_risk_command(
    now: Annotated[
        datetime | None, typer.Option(help="Moment to score at (default: latest order placed).")
    ] = None,
    limit: Annotated[int, typer.Option(help="Rows to show.")] = 20,
    as_json: JsonOpt = False,
) -> None:
    """Open orders most likely to miss their promise. 可能延误的在途订单。"""
    from cxloop.delivery import service  # numpy and scikit-learn load when a command runs, not for --help

    with session_scope() as session:
        at = now or outcomes.as_of(session)
        if at is None:
            console.print("no orders")
            raise typer.Exit(1)
        try:
            risks = service.predict_late_risk(session, now=at, limit=limit)
        except LookupError as exc:
            console.print(f"[red]{exc}[/]")
            raise typer.Exit(1) from None
    if as_json:
        rows = [dataclasses.asdict(r) for r in risks]
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2, default=str))
        return
    table = Table(title=f"at risk at {at:%Y-%m-%d %H:%M} (threshold {service.warning_threshold():.2f})")
    for col in ("order", "risk", "promised", "expected", "stage"):
        table.add_column(col)
    for r in risks:
        table.add_row(str(r.order_id), f"{r.probability:.2f}", f"{r.promised_at:%m-%d %H:%M}",
                      f"{r.expected_arrival:%m-%d %H:%M}", outcomes.stage_label(r.late_stage))  # fmt: skip
    console.print(table)


@app.command("experience")
def delivery_experience_command(
    month: Annotated[
        str | None, typer.Option(help="YYYY-MM of orders placed (default: all periods).")
    ] = None,
    fmt: FormatOpt = "table",
    lang: LangOpt = "zh",
) -> None:
    """Rating, CSAT and negative share by delivery outcome and by how late. 按配送结果的满意度。"""
    from cxloop.metrics import service as metrics
    from cxloop.periods import Period

    try:
        period = Period.month(month) if month else None
    except ValueError as exc:
        console.print(f"[red]--month: {exc}[/]")
        raise typer.Exit(2) from None
    with session_scope() as session:
        result = metrics.delivery_experience(
            db_session=session,
            start=None if period is None else period.start_at,
            end=None if period is None else period.end_at,
        )
    if fmt == "json":
        typer.echo(result.model_dump_json(indent=2))
        return
    table = Table(title=f"{translate('delivery.experience', lang)} ({month or 'all'})")
    for col in ("outcome", "orders", "rating", "csat %", "negative %"):
        table.add_column(col)
    for r in (*result.outcomes, *result.lateness):
        table.add_row(
            r.name_en if lang == "en" else r.name_zh, str(r.orders),
            "—" if r.rating is None else f"{r.rating:.2f}", "—" if r.csat is None else f"{r.csat:.1f}",
            "—" if r.negative_share is None else f"{r.negative_share:.1f}",
        )  # fmt: skip
    console.print(table)


@app.command("promises")
def promises_command(
    target: Annotated[
        float | None, typer.Option(help="Share of orders the promise must beat, e.g. 0.95.")
    ] = None,
    fmt: FormatOpt = "table",
    limit: Annotated[int, typer.Option(help="Routes to show in the table.")] = 30,
) -> None:
    """Promises each route can beat (under-promise, over-deliver). 每条线路可兑现的承诺时效。"""
    report = _call(lambda s, service: service.promise_report(db_session=s, target=target))
    if fmt == "json":
        typer.echo(report.model_dump_json(indent=2))
        return
    table = Table(title=f"promises beaten by {report.target:.0%} (cut-off {report.cutoff_hour}:00)")
    for col in (
        "warehouse",
        "region",
        "carrier",
        "cut-off",
        "orders",
        "basis",
        "promise (days)",
        "expected %",
        "today (days)",
        "today %",
    ):
        table.add_column(col)
    for r in report.routes[:limit]:
        table.add_row(
            r.warehouse or "—", r.region or "—", r.carrier or "—", r.cutoff, str(r.orders), r.basis,
            "—" if r.recommended_days is None else str(r.recommended_days),
            "—" if r.expected_on_time is None else f"{r.expected_on_time:.1f}",
            "—" if r.current_days is None else f"{r.current_days:g}",
            "—" if r.current_on_time is None else f"{r.current_on_time:.1f}",
        )  # fmt: skip
    console.print(table)


@app.command("carriers-import")
def carriers_import_command(
    path: Annotated[
        Path, typer.Argument(help="YAML or JSON carriers file (see docs/examples/carriers.yaml).")
    ],
) -> None:
    """Import carrier coverage, prices, limits and collection times. 导入快递条款。"""
    result = _call(lambda s, service: service.import_carriers(db_session=s, path=path))
    console.print(f"{result.carriers} carriers ({result.created} new), {result.rates} prices")


@app.command("carriers")
def carriers_command(
    region: Annotated[str | None, typer.Option(help="Only orders to this region.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Carrier scorecard. 快递公司评分卡。"""
    cards = _call(lambda s, service: service.carrier_scorecard(db_session=s, region=region))
    if as_json:
        typer.echo(json.dumps([c.model_dump(mode="json") for c in cards], ensure_ascii=False, indent=2))
        return
    table = Table(title=f"carriers{f' ({region})' if region else ''}")
    for col in (
        "carrier",
        "orders",
        "median h",
        "p90 h",
        "on time %",
        "damage %",
        "loss %",
        "cost",
        "complaints/100",
    ):
        table.add_column(col)
    for c in cards:
        table.add_row(f"{c.name} ({c.carrier})", str(c.orders), *(
            "—" if v is None else f"{v:g}"
            for v in (c.median_hours, c.p90_hours, c.on_time, c.damage_rate, c.loss_rate, c.mean_cost, c.complaints_per_100)
        ))  # fmt: skip
    console.print(table)


@app.command("recommend-carrier")
def recommend_carrier_command(
    region: Annotated[str, typer.Option(help="Destination region.")],
    weight_kg: Annotated[float, typer.Option(help="Parcel weight in kg.")],
    value: Annotated[
        float | None, typer.Option(help="Parcel value (over 1,000 weighs damage double).")
    ] = None,
    urgency: Annotated[
        str, typer.Option(help="standard or urgent (urgent weighs speed double).")
    ] = "standard",
    lang: LangOpt = "zh",
) -> None:
    """Recommend a carrier for a parcel and explain why. 推荐快递并说明理由。"""
    rec = _call(
        lambda s, service: service.recommend_carrier(
            db_session=s, region=region, weight_kg=weight_kg, value=value, urgency=urgency
        )
    )
    for i, choice in enumerate(rec.ranked, start=1):
        text = choice.explanation_en if lang == "en" else choice.explanation_zh
        console.print(f"{i}. {choice.carrier} score {choice.score:.3f} — {text}")
    for key, why in rec.excluded.items():
        console.print(f"[dim]- {key}: {why}[/]")
