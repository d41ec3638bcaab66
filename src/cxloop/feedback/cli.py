"""``cxloop feedback``: analyse stored feedback."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from cxloop.db import session_scope
from cxloop.feedback.service import analyse_pending, count_pending

app = typer.Typer(help="Stored feedback: analysis. 客户反馈：文本分析。", no_args_is_help=True)
console = Console(stderr=True)


@app.command("analyse")
def analyse_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar.")] = False,
) -> None:
    """Analyse items that have no analysis by the current model and taxonomy. 分析未分析的反馈。"""
    with session_scope() as session:
        pending = count_pending(db_session=session)
        with Progress(
            TextColumn("[bold]analysing 分析中"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=console,
            disable=quiet or as_json,
        ) as bar:
            task = bar.add_task("analyse", total=pending)
            run = analyse_pending(db_session=session, progress=lambda n: bar.advance(task, n))
    result = {
        "analysed": run.analysed,
        "aspects": run.aspects,
        "analysis_key": run.analysis_key,
        "elapsed_s": round(run.elapsed_s, 2),
    }
    if as_json:
        typer.echo(json.dumps(result))
    else:
        rate = run.analysed / run.elapsed_s if run.elapsed_s else 0.0
        console.print(
            f"analysed {run.analysed} items 条, {run.aspects} aspect mentions 个方面, "
            f"{rate:,.0f} items/s ({run.analysis_key})"
        )
