"""``cxloop demo``: build the demo shop, load it like users' data, and open the dashboard."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

console = Console()


def _use_data_dir(data_dir: Path | None) -> Path:
    """Point the settings at ``data_dir`` (its SQLite file unless CXLOOP_DATABASE_URL is set)."""
    from cxloop.config import get_settings
    from cxloop.db import dispose_engines

    if data_dir is not None:
        os.environ["CXLOOP_DATA_DIR"] = str(data_dir)
        get_settings.cache_clear()
        dispose_engines()  # an engine opened before the switch must not be reused for the new folder
    return get_settings().data_dir


def _database_has_orders() -> bool:
    from sqlalchemy.exc import SQLAlchemyError

    from cxloop.db import session_scope
    from cxloop.orders.service import has_orders

    try:
        with session_scope() as session:
            return has_orders(db_session=session)
    except SQLAlchemyError:
        return False  # no database or no schema yet


def _drop_own_sqlite(data_dir: Path) -> None:
    """Delete the demo's SQLite file for a clean rebuild; never touches a database given by URL."""
    from cxloop.config import get_settings
    from cxloop.db import dispose_engines

    settings = get_settings()
    if settings.database_url:
        return
    dispose_engines()
    for suffix in ("", "-wal", "-shm"):
        (data_dir / f"cxloop.db{suffix}").unlink(missing_ok=True)


def demo_command(
    seed: Annotated[int, typer.Option(help="Random seed: the same seed builds the same shop.")] = 42,
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", help="Folder for the demo files and SQLite database (default: settings)."),
    ] = None,
    scale: Annotated[float, typer.Option(min=0.01, max=10.0, help="Size factor; 1.0 ≈ 32,000 orders.")] = 1.0,
    end_month: Annotated[
        str, typer.Option("--end-month", help="Last month of the period (YYYY-MM).")
    ] = "2026-10",
    months: Annotated[int, typer.Option(min=3, max=36, help="Number of months generated.")] = 6,
    serve: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Start the web server afterwards.")
    ] = True,
    force: Annotated[
        bool, typer.Option("--force", help="Rebuild even if the folder already has a demo.")
    ] = False,
    host: Annotated[str, typer.Option(help="Address the web server listens on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port of the web server.")] = 8000,
) -> None:
    """Build the demo shop with planted problems and open it. 生成演示店铺数据并启动网页。"""
    from cxloop.demo.flows import build_demo, has_demo

    folder = _use_data_dir(data_dir)
    _use_mail_files()
    if has_demo(folder) and _database_has_orders() and not force:
        console.print(
            f"[yellow]{folder} already has a demo; use --force to rebuild it.[/yellow] "
            f"该目录已有演示数据，如需重建请加 --force。"
        )
    else:
        if force and has_demo(folder):
            _drop_own_sqlite(folder)
        try:
            result = build_demo(
                data_dir=folder, seed=seed, scale=scale, end_month=end_month, months=months, console=console
            )
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from exc
        rejected = sum(summary["rejected"] for summary in result.imports.values())
        total = sum(result.timings.values())
        console.print(
            f"[bold green]demo ready[/bold green] 演示数据已就绪: {result.counts['orders']} orders, "
            f"{result.counts['feedback']} feedback items, {result.counts['survey_responses']} survey answers "
            f"(their comments analysed as feedback too), {rejected} rejected rows, {total:.0f}s"
        )
        if rejected:
            raise typer.Exit(code=1)
    _print_accounts()
    if serve:
        from cxloop.app import serve as serve_app

        console.print(f"open 打开 [bold]http://{host}:{port}[/bold]  (Ctrl+C to stop 停止)")
        serve_app(host=host, port=port)


def _use_mail_files() -> None:
    """The demo has no mail server: unless CXLOOP_MAIL_SINK says otherwise, mails become .eml files."""
    from cxloop.config import get_settings
    from cxloop.loop.notifications.service import mail_folder

    if "CXLOOP_MAIL_SINK" not in os.environ:
        os.environ["CXLOOP_MAIL_SINK"] = "file"
        get_settings.cache_clear()
    if get_settings().mail_sink == "file":
        console.print(f"mail is written to 邮件写入 [bold]{mail_folder()}[/bold] (*.eml)")


def _print_accounts() -> None:
    """Show the demo logins: a new user's first question after the build."""
    from rich.table import Table

    from cxloop.auth.service import DEMO_USERS

    table = Table(title="demo accounts 演示账号", title_justify="left")
    for column in ("user 用户名", "password 密码", "role 角色"):
        table.add_column(column)
    for username, password, role, department in DEMO_USERS:
        table.add_row(username, password, role + (f" ({department})" if department else ""))
    console.print(table)
