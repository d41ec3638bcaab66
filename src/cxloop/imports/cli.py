"""``cxloop import <kind> FILE``: import a file from the command line.

Exit codes: 0 when the file was read (rejected rows are listed and written to the rejects file),
1 when the whole file was refused (empty, unreadable, a required column missing), 2 on usage errors
(unknown kind or format, a broken mapping file, a file that does not exist).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from cxloop.imports.kinds import KINDS
from cxloop.imports.readers import FORMATS, ImportRefused
from cxloop.imports.service import ImportSummary, Mapping, MappingError, current_locale, load_mapping

#: How many rejected rows the command prints (the rejects file has all of them).
SHOWN_ERRORS = 20

app = typer.Typer(help="Import files. 导入数据文件。", add_completion=False)


def _say(zh: str, en: str) -> str:
    return zh if current_locale() == "zh" else en


def import_command(
    kind: Annotated[
        str, typer.Argument(help=f"What the file holds: {', '.join(KINDS)}.", show_default=False)
    ],
    file: Annotated[Path, typer.Argument(help="CSV, TSV, XLSX or JSONL file.", show_default=False)],
    mapping: Annotated[
        Path | None,
        typer.Option("--mapping", "-m", help="YAML mapping of the file's columns.", show_default=False),
    ] = None,
    fmt: Annotated[
        str | None,
        typer.Option("--format", "-f", help=f"One of {', '.join(FORMATS)} (default: by extension)."),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar, no error list.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    follow_up: Annotated[
        bool,
        typer.Option(
            "--follow-up/--no-follow-up",
            help="Then analyse new feedback, refresh indicators and evaluate alert rules (default) "
            "or leave that to the schedule. 导入后分析并更新指标和预警。",
        ),
    ] = True,
) -> None:
    """Import a file of feedback, orders, customers... (upsert on id). 导入数据文件（按编号新增或更新）。"""
    from sqlalchemy.orm import Session

    from cxloop.db import get_engine
    from cxloop.imports.service import import_file

    err = Console(stderr=True)
    out = Console()
    if kind not in KINDS:
        err.print(
            _say(
                f"未知的导入类型 {kind!r}，可用：{'、'.join(KINDS)}",
                f"unknown kind {kind!r}; use one of {', '.join(KINDS)}",
            )
        )
        raise typer.Exit(2)
    if not file.is_file():
        err.print(_say(f"找不到文件 {file}", f"no such file: {file}"))
        raise typer.Exit(2)
    try:
        loaded: Mapping | None = load_mapping(mapping) if mapping is not None else None
    except MappingError as exc:
        err.print(_say(exc.message_zh, exc.message))
        raise typer.Exit(2) from exc
    with Session(get_engine(), expire_on_commit=False) as session:
        try:
            summary = import_file(
                db_session=session,
                kind=kind,
                path=file,
                mapping=loaded,
                fmt=fmt,
                progress=not (quiet or as_json),
            )
        except MappingError as exc:
            err.print(_say(exc.message_zh, exc.message))
            raise typer.Exit(2) from exc
        except ImportRefused as exc:
            if as_json:
                typer.echo(
                    json.dumps(
                        {"refused": True, "message": exc.message, "message_zh": exc.message_zh},
                        ensure_ascii=False,
                    )
                )
            else:
                err.print(
                    _say(
                        f"[red]文件未导入：{exc.message_zh}[/red]", f"[red]file refused: {exc.message}[/red]"
                    )
                )
            raise typer.Exit(1) from exc
        from cxloop.pipeline import follow_up_import

        if follow_up and summary.stored and not (quiet or as_json):
            err.print(_say("正在分析反馈并更新指标……", "analysing feedback and refreshing indicators..."))
        # --no-follow-up still marks the indicators stale, so the schedule catches up later.
        report = follow_up_import(db_session=session, summary=summary, defer=not follow_up)
        after: dict[str, Any] | None = report.as_dict() if report is not None else None
    if as_json:
        typer.echo(json.dumps({**summary.as_dict(), "follow_up": after}, ensure_ascii=False, default=str))
        return
    _print_summary(out, summary, quiet)
    if after is not None and not quiet:
        loop: dict[str, Any] = after.get("loop") or {}
        out.print(
            _say(
                f"已分析 {after['analysed']} 条反馈；新预警 {len(loop.get('opened', []))} 个，"
                f"新任务 {len(loop.get('tasks_created', []))} 个",
                f"analysed {after['analysed']} feedback items; {len(loop.get('opened', []))} new alerts, "
                f"{len(loop.get('tasks_created', []))} new tasks",
            )
        )


def _print_summary(out: Console, summary: ImportSummary, quiet: bool) -> None:
    key = "message_zh" if current_locale() == "zh" else "message"
    for warning in summary.warnings:  # doubts are shown even with --quiet: the data may be wrong
        out.print(f"[yellow]![/yellow] {warning[key]}", markup=True, highlight=False)
    if not quiet:
        for error in summary.errors[:SHOWN_ERRORS]:
            out.print(f"[red]✗[/red] {error[key]}", markup=True, highlight=False)
        if summary.rejected > SHOWN_ERRORS:
            out.print(_say("……另有更多错误，见拒绝文件", "... more errors in the rejects file"))
    rate = summary.rows_total / summary.elapsed_s if summary.elapsed_s else 0
    out.print(
        _say(
            f"{summary.kind}：共 {summary.rows_total} 行，新增 {summary.inserted}，更新 {summary.updated}，"
            f"拒绝 {summary.rejected}（{summary.elapsed_s:.1f} 秒，{rate:,.0f} 行/秒）",
            f"{summary.kind}: {summary.rows_total} rows, inserted {summary.inserted}, updated {summary.updated}, "
            f"rejected {summary.rejected} ({summary.elapsed_s:.1f} s, {rate:,.0f} rows/s)",
        ),
        highlight=False,
    )
    if summary.rejects_path:
        out.print(
            _say(
                f"被拒绝的行已写入 {summary.rejects_path}（修改后可直接重新导入）",
                f"rejected rows: {summary.rejects_path} (fix and import it again as is)",
            ),
            highlight=False,
        )


app.command("import")(import_command)
