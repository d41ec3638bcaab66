"""The ``cxloop`` command loads each domain's commands lazily, yet shows and runs them as before."""

from __future__ import annotations

import inspect
import subprocess
import sys

import pytest
import typer.main
from typer.testing import CliRunner

from cxloop import cli


def _first_paragraph(text: str | None) -> str:
    return inspect.cleandoc(text or "").split("\n\n")[0]


@pytest.mark.parametrize("lazy", cli.LAZY_COMMANDS + cli.LAZY_GROUPS, ids=lambda lazy: lazy.name)
def test_the_listed_help_is_the_loaded_commands_help(lazy: cli.LazyCommand) -> None:
    """`cxloop --help` shows, without importing, what the real command says about itself."""
    command = cli.load_command(lazy)
    assert command.name == lazy.name
    assert _first_paragraph(command.help) == lazy.help


def test_root_help_lists_every_command_in_order() -> None:
    result = CliRunner().invoke(cli.app, ["--help"])
    assert result.exit_code == 0, result.output
    names = [lazy.name for lazy in cli.LAZY_COMMANDS] + ["serve", "worker", "db"]
    names += [lazy.name for lazy in cli.LAZY_GROUPS]
    group = typer.main.get_command(cli.app)
    assert isinstance(group, cli.LazyGroup)
    assert group.list_commands(None) == names  # type: ignore[arg-type]
    positions = [result.output.index(f" {name} ") for name in names]
    assert positions == sorted(positions)


def test_a_lazy_group_runs_its_commands() -> None:
    result = CliRunner().invoke(cli.app, ["report", "--help"])
    assert result.exit_code == 0, result.output
    assert "delivery-experience" in result.output and "promises" in result.output


def test_help_imports_no_domain_and_no_heavy_library() -> None:
    """Start-up rule: `cxloop --help` imports neither the domains nor the heavy libraries."""
    code = (
        "import sys; sys.argv = ['cxloop', '--help']\n"
        "from cxloop.cli import app\n"
        "try:\n    app()\nexcept SystemExit:\n    pass\n"
        "sys.stderr.write(' '.join(sorted(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stderr
    loaded = set(out.split())
    heavy = {"numpy", "sklearn", "scipy", "numba", "pandas", "httpx", "jinja2", "sqlalchemy", "celery"}
    assert not heavy & loaded
    domains = {"auth", "loop", "metrics", "imports", "journeys", "surveys", "delivery", "feedback", "text"}
    assert not {name for name in loaded if name.split(".")[:2] in [["cxloop", d] for d in domains]}
