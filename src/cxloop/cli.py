"""The ``cxloop`` command: a thin Typer shell over the services of each domain."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from cxloop import __version__
from cxloop.auth import cli as auth_cli
from cxloop.delivery import cli as delivery_cli
from cxloop.demo import cli as demo_cli
from cxloop.feedback import cli as feedback_cli
from cxloop.imports import cli as imports_cli
from cxloop.journeys import cli as journeys_cli
from cxloop.loop import cli as loop_cli
from cxloop.messaging import cli as messaging_cli
from cxloop.reports import cli as reports_cli
from cxloop.surveys import cli as surveys_cli
from cxloop.text import cli as text_cli

app = typer.Typer(
    name="cxloop",
    help="cxloop: closed-loop customer experience management. 闭环客户体验管理。",
    no_args_is_help=True,
    add_completion=False,
)
db_app = typer.Typer(help="Database schema. 数据库结构。", no_args_is_help=True)
app.add_typer(db_app, name="db")
console = Console()

# Each domain's commands live next to it and are wired here by explicit import, so a missing module
# is an ImportError at start rather than a command that silently disappears.
app.add_typer(text_cli.app, name="text")
app.add_typer(feedback_cli.app, name="feedback")
app.add_typer(reports_cli.app, name="report")
app.add_typer(loop_cli.app, name="loop")
app.add_typer(loop_cli.tasks_app, name="tasks")
app.add_typer(loop_cli.cases_app, name="cases")
app.add_typer(loop_cli.rules_app, name="rules")
app.add_typer(auth_cli.app, name="users")
app.add_typer(messaging_cli.app, name="messages")
app.add_typer(journeys_cli.app, name="journeys")
app.add_typer(delivery_cli.app, name="delivery")
reports_cli.app.command("delivery-experience")(delivery_cli.delivery_experience_command)
reports_cli.app.command("promises")(delivery_cli.promises_command)
app.add_typer(surveys_cli.app, name="surveys")
app.command("import")(imports_cli.import_command)
app.command("demo")(demo_cli.demo_command)


def _version_callback(value: bool) -> None:
    if value:
        console.print(f"cxloop {__version__}")
        raise typer.Exit()


#: Commands that never open the database, so they must not create or migrate one.
NO_DATABASE_COMMANDS = frozenset({"db", "text", "worker"})


@app.callback()
def main(
    ctx: typer.Context,
    version: Annotated[
        bool, typer.Option("--version", callback=_version_callback, is_eager=True, help="Print the version.")
    ] = False,
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="Data folder (CXLOOP_DATA_DIR).", show_default=False)
    ] = None,
) -> None:
    """cxloop: hear every customer, find the few causes that matter, close the loop."""
    from cxloop.config import get_settings

    if data_dir is not None:
        os.environ["CXLOOP_DATA_DIR"] = str(data_dir)
    # Settings are read when a command starts (the environment it was given), not when first cached.
    get_settings.cache_clear()
    if ctx.invoked_subcommand not in NO_DATABASE_COMMANDS and not ctx.resilient_parsing:
        from cxloop.migrate import upgrade
        from cxloop.taxonomy import check_taxonomy
        from cxloop.text.taxonomy import TaxonomyError

        try:
            check_taxonomy()  # a broken CXLOOP_TAXONOMY file stops here, naming its line
        except TaxonomyError as exc:
            console.print(f"[red]taxonomy 分类体系: {exc}[/red]")
            raise typer.Exit(2) from exc

        # The first command run against a new data folder creates its schema; later ones migrate it.
        upgrade()


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="Target revision.")] = "head") -> None:
    """Apply the database migrations (also done on every start). 升级数据库结构。"""
    from cxloop.config import get_settings
    from cxloop.migrate import current_revision, upgrade

    upgrade(revision=revision)
    url = get_settings().sqlalchemy_url
    console.print(f"[green]database at revision {current_revision()}[/green] ({_redact(url)})")


@db_app.command("status")
def db_status(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Show the database URL and whether its schema is current. 显示数据库状态。"""
    from cxloop.config import get_settings
    from cxloop.migrate import current_revision, head_revision

    info = {
        "url": _redact(get_settings().sqlalchemy_url),
        "current": current_revision(),
        "head": head_revision(),
    }
    if as_json:
        typer.echo(json.dumps(info))
    else:
        for key, value in info.items():
            console.print(f"{key}: {value}")


@app.command("serve")
def serve_command(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    reload: Annotated[bool, typer.Option(help="Reload on code changes (development).")] = False,
) -> None:
    """Serve the dashboard and the API. 启动网页和接口服务。"""
    from cxloop.app import serve

    serve(host=host, port=port, reload=reload)


@app.command("worker")
def worker_command(
    concurrency: Annotated[int, typer.Option(help="Worker processes.")] = 2,
    beat: Annotated[bool, typer.Option(help="Also run the periodic schedule.")] = False,
) -> None:
    """Run a Celery worker (needs CXLOOP_BROKER_URL). 启动后台任务进程。"""
    from cxloop.worker import celery_app

    argv = ["worker", "--loglevel=INFO", f"--concurrency={concurrency}"]
    if beat:
        argv.append("--beat")
    celery_app().worker_main(argv)


def _redact(url: str) -> str:
    # Never print a password that came in through the database URL.
    if "://" in url and "@" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}" if ":" in creds else url
    return url


if __name__ == "__main__":  # pragma: no cover
    app()
