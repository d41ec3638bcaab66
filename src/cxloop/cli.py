"""The ``cxloop`` command: a thin Typer shell over the services of each domain."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from cxloop import __version__
from cxloop.plugins import optional_import

app = typer.Typer(
    name="cxloop",
    help="cxloop: closed-loop customer experience management. 闭环客户体验管理。",
    no_args_is_help=True,
    add_completion=False,
)
db_app = typer.Typer(help="Database schema. 数据库结构。", no_args_is_help=True)
app.add_typer(db_app, name="db")
console = Console()

#: Sub-command groups that live next to their domain: (module, attribute, command name).
SUB_APPS: tuple[tuple[str, str, str], ...] = (
    ("cxloop.text.cli", "app", "text"),
    ("cxloop.feedback.cli", "app", "feedback"),
    ("cxloop.reports.cli", "app", "report"),
    ("cxloop.loop.cli", "app", "loop"),
    ("cxloop.loop.cli", "tasks_app", "tasks"),
    ("cxloop.loop.cli", "cases_app", "cases"),
    ("cxloop.loop.cli", "rules_app", "rules"),
    ("cxloop.auth.cli", "app", "users"),
)
#: Single commands that live next to their domain: (module, function, command name).
SUB_COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("cxloop.imports.cli", "import_command", "import"),
    ("cxloop.demo.cli", "demo_command", "demo"),
)


def _optional(module_name: str, attribute: str) -> Any:
    module = optional_import(module_name)  # a domain that is not there yet has no command
    return None if module is None else getattr(module, attribute, None)


for _module, _attr, _name in SUB_APPS:
    _sub = _optional(_module, _attr)
    if _sub is not None:
        app.add_typer(_sub, name=_name)
for _module, _attr, _name in SUB_COMMANDS:
    _func = _optional(_module, _attr)
    if _func is not None:
        app.command(_name)(_func)


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
    if data_dir is not None:
        from cxloop.config import get_settings

        os.environ["CXLOOP_DATA_DIR"] = str(data_dir)
        get_settings.cache_clear()
    if ctx.invoked_subcommand not in NO_DATABASE_COMMANDS and not ctx.resilient_parsing:
        from cxloop.migrate import upgrade

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
