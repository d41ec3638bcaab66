"""Command ``cxloop messages``: templates, preview, a customer's history, sending and delivery."""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from cxloop.db import session_scope

app = typer.Typer(help="Messages to customers. 客户消息。", no_args_is_help=True)
console = Console()


def _rows(messages: list[Any]) -> list[dict[str, Any]]:
    return [
        {
            "id": m.id,
            "created_at": m.created_at.isoformat(sep=" "),
            "source": m.source,
            "template": m.template,
            "channel": m.channel,
            "status": m.status,
            "reason": m.reason,
            "body": m.body,
        }
        for m in messages
    ]


def _show(rows: list[dict[str, Any]], fmt: str) -> None:
    if fmt == "json":
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=1))
        return
    columns = ("id", "created_at", "source", "template", "channel", "status", "reason")
    table = Table()
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*(escape(str(row[c] if row[c] is not None else "")) for c in columns))
    console.print(table)


@app.command("templates")
def templates_command() -> None:
    """List the message templates. 列出消息模板。"""
    from cxloop.messaging.service import list_templates

    for t in list_templates():
        console.print(f"{t.key:<28} {t.purpose:<10} {', '.join(t.variables)}")


@app.command("preview")
def preview_command(
    template: str,
    locale: Annotated[str, typer.Option(help="zh or en.")] = "zh",
) -> None:
    """Render a template on sample data. 用示例数据预览模板。"""
    from cxloop.messaging.service import preview

    try:
        out = preview(template=template, locale=locale)
    except KeyError as exc:
        console.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(2) from None
    if out["subject"]:
        console.print(f"[bold]{escape(out['subject'])}[/bold]")
    console.print(escape(out["body"]))


@app.command("history")
def history_command(
    customer: Annotated[str, typer.Argument(help="The customer's external id.")],
    fmt: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
) -> None:
    """A customer's message history (sent, skipped and why, failed). 客户消息记录。"""
    from cxloop.customers.service import get_by_external_id
    from cxloop.messaging.service import history

    with session_scope() as s:
        found = get_by_external_id(db_session=s, external_id=customer)
        if found is None:
            console.print(f"[red]no customer {escape(customer)}[/red]")
            raise typer.Exit(2)
        _show(_rows(history(db_session=s, customer_id=found.id)), fmt)


@app.command("list")
def list_command(
    status: Annotated[str | None, typer.Option(help="queued, sent, skipped, failed, unknown.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
) -> None:
    """Customer messages, newest first. 客户消息列表。"""
    from cxloop.messaging.service import list_messages

    with session_scope() as s:
        _show(_rows(list_messages(db_session=s, status=status)), fmt)


@app.command("send")
def send_command(
    customer: Annotated[str, typer.Argument(help="The customer's external id.")],
    template: str,
    context: Annotated[str, typer.Option(help="Template variables as JSON.")] = "{}",
    purpose: Annotated[str, typer.Option(help="service or marketing.")] = "service",
) -> None:
    """Queue one message to a customer under the usual rules. 给客户发送一条消息。"""
    from cxloop.messaging.service import send_by_staff

    with session_scope() as s:
        try:
            row = send_by_staff(
                db_session=s,
                customer=customer,
                dedupe_key=f"cli:{uuid.uuid4().hex}",
                template=template,
                context=json.loads(context),
                purpose="marketing" if purpose == "marketing" else "service",
            )
        except (KeyError, ValueError) as exc:
            console.print(f"[red]{escape(str(exc.args[0] if exc.args else exc))}[/red]")
            raise typer.Exit(2) from None
        console.print(f"message {row.id}: {row.status} {row.reason or ''}")


@app.command("deliver")
def deliver_command() -> None:
    """Send every due queued message now. 立即发送待发消息。"""
    from cxloop.messaging.service import deliver_pending

    console.print(deliver_pending().as_dict())
