"""Command ``cxloop journeys``: list, show, load, edit, switch on/off, simulate, emit events, tick."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from cxloop.db import session_scope
from cxloop.messaging.yamlspan import ConfigFileError

app = typer.Typer(help="Customer journeys (自动化旅程). 客户旅程。", no_args_is_help=True)
console = Console()
Fmt = Annotated[str, typer.Option("--format", help="table or json.")]


def _refuse(exc: ConfigFileError) -> None:
    console.print("[red]refused, nothing was loaded / 文件被拒绝，未加载任何内容:[/red]")
    for problem in exc.problems:
        console.print(f"  {escape(problem)}")
    raise typer.Exit(2)


@app.command("list")
def list_command(fmt: Fmt = "table") -> None:
    """Every journey with its live figures. 列出旅程及实时数据。"""
    from cxloop.journeys import service

    with session_scope() as s:
        journeys, figures = service.overview(db_session=s)
        rows = [
            {
                "key": j.key,
                "name": j.name_zh,
                "enabled": j.enabled,
                "trigger": j.trigger,
                **figures.get(j.key, {}),
            }
            for j in journeys
        ]
    if fmt == "json":
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=1))
        return
    columns = (
        "key",
        "name",
        "enabled",
        "trigger",
        "entered",
        "waiting",
        "sent",
        "skipped",
        "tasks",
        "control",
    )
    table = Table()
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*(escape(str(row.get(c, 0))) for c in columns))
    console.print(table)


@app.command("show")
def show_command(key: str, fmt: Fmt = "table") -> None:
    """A journey's definition, figures and control-group result. 查看旅程。"""
    from cxloop.journeys import service

    with session_scope() as s:
        service.ensure_defaults(db_session=s)
        try:
            journey = service.get_journey(db_session=s, key=key)
        except KeyError as exc:
            console.print(f"[red]{escape(str(exc))}[/red]")
            raise typer.Exit(2) from None
        control = service.control_result(db_session=s, key=key)
        info: dict[str, Any] = {
            "key": journey.key,
            "enabled": journey.enabled,
            "figures": service.figures(db_session=s).get(key, {}),
            "control": control.as_dict() if control else None,
        }
        source = journey.source_yaml
    if fmt == "json":
        typer.echo(json.dumps({**info, "yaml": source}, ensure_ascii=False, indent=1, default=str))
        return
    console.print(escape(source))
    console.print(info)


@app.command("load")
def load_command(file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)]) -> None:
    """Load (create or replace) the journeys of a YAML file, all or none. 从文件加载旅程。"""
    from cxloop.journeys import service

    with session_scope() as s:
        service.ensure_defaults(db_session=s)
        try:
            saved = service.load_file(db_session=s, path=file)
        except ConfigFileError as exc:
            s.rollback()
            _refuse(exc)
            return
        console.print(f"[green]loaded {len(saved)} journeys:[/green] {', '.join(j.key for j in saved)}")


@app.command("enable")
def enable_command(key: str) -> None:
    """Switch a journey on. 启用旅程。"""
    _switch(key, True)


@app.command("disable")
def disable_command(key: str) -> None:
    """Switch a journey off (running customers continue). 停用旅程。"""
    _switch(key, False)


def _switch(key: str, enabled: bool) -> None:
    from cxloop.journeys import service

    with session_scope() as s:
        service.ensure_defaults(db_session=s)
        try:
            service.set_enabled(db_session=s, key=key, enabled=enabled)
        except KeyError as exc:
            console.print(f"[red]{escape(str(exc))}[/red]")
            raise typer.Exit(2) from None
    console.print(f"{key}: {'enabled' if enabled else 'disabled'}")


def _when(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        console.print(f"[red]not a date: {escape(text)} (expected YYYY-MM-DD or YYYY-MM-DDTHH:MM)[/red]")
        raise typer.Exit(2) from None


@app.command("simulate")
def simulate_command(
    key: str,
    start: Annotated[str, typer.Option("--from", help="Start date (YYYY-MM-DD).")],
    end: Annotated[str, typer.Option("--to", help="End date (YYYY-MM-DD, inclusive).")],
    fmt: Fmt = "table",
) -> None:
    """Dry run: what a journey would have sent over past events; nothing is sent. 模拟运行。"""
    from cxloop.journeys import service

    since, until = _when(start), _when(end)
    if len(end) == 10:
        until = until.replace(hour=23, minute=59, second=59)
    with session_scope() as s:
        service.ensure_defaults(db_session=s)
        try:
            result = service.simulate(s, key=key, start=since, end=until)
        except KeyError as exc:
            console.print(f"[red]{escape(str(exc))}[/red]")
            raise typer.Exit(2) from None
    data = result.as_dict()
    if fmt == "json":
        typer.echo(json.dumps(data, ensure_ascii=False, indent=1))
        return
    console.print(f"[bold]{key}[/bold] {start} → {end} (dry run / 模拟，未发送)")
    console.print(f"entered 进入: {result.entered}   control 对照组: {result.control}")
    console.print(
        f"customers messaged 触达客户: {result.customers_messaged}   would send 将发送: {result.messages}"
    )
    console.print(f"skipped 跳过: {result.skipped}")
    console.print(
        f"quiet hours 免打扰延后: {result.quiet_hours}   frequency cap 频次上限: {result.frequency_cap}"
    )
    console.print(f"tasks 任务: {result.tasks}   exited 退出: {result.exited}")


@app.command("emit")
def emit_command(
    kind: str,
    customer: Annotated[str, typer.Option(help="The customer's external id.")],
    ref: Annotated[str | None, typer.Option(help="What the event is about, e.g. order:12.")] = None,
    payload: Annotated[str, typer.Option(help="JSON payload.")] = "{}",
) -> None:
    """Send one event to the journeys now. 发送一个事件。"""
    from cxloop.clock import now
    from cxloop.customers.service import get_by_external_id
    from cxloop.journeys import service

    with session_scope() as s:
        service.ensure_defaults(db_session=s)
        found = get_by_external_id(db_session=s, external_id=customer)
        if found is None:
            console.print(f"[red]no customer {escape(customer)}[/red]")
            raise typer.Exit(2)
        service.emit_event(
            s, kind=kind, customer_id=found.id, occurred_at=now(), ref=ref, payload=json.loads(payload)
        )
    console.print("ok")


@app.command("tick")
def tick_command() -> None:
    """Fire due timers and capture new events now (the scheduler does this on its own). 立即处理到期步骤。"""
    from cxloop.journeys import service

    with session_scope() as s:
        service.ensure_defaults(db_session=s)
    console.print({"events": service.capture_recent(), "steps": service.process_due()})
