"""The ``cxloop`` command: a thin Typer shell over the services of each domain."""

from __future__ import annotations

import importlib
import json
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperCommand, TyperGroup

from cxloop import __version__

if TYPE_CHECKING:
    # Typer ships its own copy of Click; these are the classes its groups and commands use.
    from typer._click import Command, Context


@dataclass(frozen=True)
class LazyCommand:
    """A command whose module is imported only when it runs (or its own ``--help`` is asked for).

    ``target`` is ``"module:attribute"``: a Typer app (a group of commands) or one command
    function. ``help`` is the first paragraph of the loaded command's
    help, shown by ``cxloop --help`` without importing the domain. tests/core/test_cli.py loads
    every target and compares the help, so a missing module or a drifted help fails CI.
    """

    name: str
    target: str
    help: str

    def load(self) -> Any:
        """Import the target now and return it."""
        module, _, attribute = self.target.partition(":")
        loaded = getattr(importlib.import_module(module), attribute)
        if self.name == "report":
            _add_delivery_reports(loaded)
        return loaded


@cache
def _add_delivery_reports(reports_app: typer.Typer) -> None:
    """Delivery's monthly reports sit with the other reports (registered once: cached)."""
    from cxloop.delivery import cli as delivery_cli

    reports_app.command("delivery-experience")(delivery_cli.delivery_experience_command)
    reports_app.command("promises")(delivery_cli.promises_command)


# Each domain's commands live next to it and are wired here, imported when used, so `cxloop --help`
# and every command start without importing the domains they do not use (start-up under 1 s).
LAZY_COMMANDS: tuple[LazyCommand, ...] = (
    LazyCommand(
        "import",
        "cxloop.imports.cli:import_command",
        "Import a file of feedback, orders, customers... (upsert on id). 导入数据文件（按编号新增或更新）。",
    ),
    LazyCommand(
        "demo",
        "cxloop.demo.cli:demo_command",
        "Build the demo shop with planted problems and open it. 生成演示店铺数据并启动网页。",
    ),
)
_LOOP_HELP = "Close the loop: evaluate alert rules, deliver notifications. 闭环：预警与通知。"
_DELIVERY_HELP = "Delivery truth and decisions. 配送：准时、承诺、快递选择与延误预警。"
LAZY_GROUPS: tuple[LazyCommand, ...] = (
    LazyCommand("text", "cxloop.text.cli:app", "Sentiment and aspect analysis of feedback text."),
    LazyCommand("feedback", "cxloop.feedback.cli:app", "Stored feedback: analysis. 客户反馈：文本分析。"),
    LazyCommand("report", "cxloop.reports.cli:app", "Monthly reports. 月度报告。"),
    LazyCommand("loop", "cxloop.loop.cli:app", _LOOP_HELP),
    LazyCommand("tasks", "cxloop.loop.cli:tasks_app", "Improvement tasks. 改进任务。"),
    LazyCommand("cases", "cxloop.loop.cli:cases_app", "Complaint cases (工单). 客诉工单。"),
    LazyCommand("rules", "cxloop.loop.cli:rules_app", "Alert rules. 预警规则。"),
    LazyCommand("users", "cxloop.auth.cli:app", "Users and API tokens. 用户与接口令牌。"),
    LazyCommand("messages", "cxloop.messaging.cli:app", "Messages to customers. 客户消息。"),
    LazyCommand("journeys", "cxloop.journeys.cli:app", "Customer journeys (自动化旅程). 客户旅程。"),
    LazyCommand("delivery", "cxloop.delivery.cli:app", _DELIVERY_HELP),
    LazyCommand("surveys", "cxloop.surveys.cli:app", "Surveys: definitions, invitations, links. 问卷调查。"),
)


class _Placeholder(TyperCommand):
    """What ``cxloop --help`` lists for a lazy command: its name and help, nothing imported."""

    def __init__(self, lazy: LazyCommand) -> None:
        super().__init__(lazy.name, help=lazy.help)
        self.lazy = lazy


@cache
def load_command(lazy: LazyCommand) -> Command:
    """The real click command of ``lazy``, built exactly as ``add_typer``/``command`` would build it."""
    holder = typer.Typer(add_completion=False)

    @holder.callback()
    def _holder() -> None:  # a callback makes the holder a group, so the command keeps its own shape
        """Holds one command while it is converted."""

    loaded = lazy.load()
    if isinstance(loaded, typer.Typer):
        holder.add_typer(loaded, name=lazy.name)
    else:
        holder.command(lazy.name)(loaded)
    group = typer.main.get_command(holder)
    assert isinstance(group, TyperGroup)
    return group.commands[lazy.name]


class LazyGroup(TyperGroup):
    """The root command: lists the lazy commands by name and help, and imports one only to run it."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        # Typer lists commands before groups; keep the order `cxloop --help` always had.
        self.commands = {
            **{lazy.name: _Placeholder(lazy) for lazy in LAZY_COMMANDS},
            **self.commands,
            **{lazy.name: _Placeholder(lazy) for lazy in LAZY_GROUPS},
        }

    def resolve_command(self, ctx: Context, args: list[str]) -> tuple[str | None, Command | None, list[str]]:
        """Find the command to run, importing its domain if it is still a placeholder."""
        name, command, rest = super().resolve_command(ctx, args)
        if isinstance(command, _Placeholder):
            command = load_command(command.lazy)
        return name, command, rest


app = typer.Typer(
    name="cxloop",
    help="cxloop: closed-loop customer experience management. 闭环客户体验管理。",
    no_args_is_help=True,
    add_completion=False,
    cls=LazyGroup,
)
db_app = typer.Typer(help="Database schema. 数据库结构。", no_args_is_help=True)
app.add_typer(db_app, name="db")


@cache
def _console() -> Any:
    from rich.console import Console  # only commands that print pay for Rich

    return Console()


def _version_callback(value: bool) -> None:
    if value:
        _console().print(f"cxloop {__version__}")
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
            _console().print(
                f"[red]taxonomy 分类体系: {exc}[/red]", soft_wrap=True
            )  # a path must stay copyable
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
    _console().print(f"[green]database at revision {current_revision()}[/green] ({_redact(url)})")


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
            _console().print(f"{key}: {value}")


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
