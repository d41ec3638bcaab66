"""``cxloop surveys``: load definitions from YAML, list them, invite a customer, print links and QR codes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from sqlalchemy.orm import Session

from cxloop.db import session_scope

app = typer.Typer(help="Surveys: definitions, invitations, links. 问卷调查。", no_args_is_help=True)
console = Console()


@contextmanager
def _session() -> Iterator[Session]:
    with session_scope() as session:
        yield session


@app.command("load")
def load_command(
    path: Annotated[Path, typer.Argument(help="YAML file with one survey or `surveys: [...]`.")],
) -> None:
    """Load survey definitions from YAML; a file with any mistake is refused whole (file:line: expected)."""
    from cxloop.surveys import service

    with _session() as session:
        try:
            done = service.load_file(db_session=session, path=path)
        except service.DefinitionError as exc:
            for problem in exc.problems:
                console.print(f"[red]✗[/red] {service._problem_text(problem)}", markup=True, highlight=False)
            raise typer.Exit(1) from None
    for key, outcome in done.items():
        console.print(f"[green]✓[/green] {key}: {outcome}")


@app.command("list")
def list_command(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Every survey with its response rate and scores."""
    from cxloop.surveys import service

    with _session() as session:
        service.ensure_default_surveys(db_session=session)
        figures = service.survey_figures(db_session=session)
        rows = [
            {"key": s.key, "name": s.name_zh, "active": s.active, **figures.get(s.id, {})}
            for s in service.list_surveys(db_session=session)
        ]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for row in rows:
        rate = row.get("response_rate")
        console.print(
            f"{row['key']:<20} {row['name']:<16} invited {row.get('invited', 0):>6}  answered "
            f"{row.get('answered', 0):>6}  rate {'—' if rate is None else f'{rate:.1%}'}"
        )


@app.command("invite")
def invite_command(
    survey: Annotated[str, typer.Argument(help="Survey key, e.g. after_delivery.")],
    customer: Annotated[int, typer.Option("--customer", help="Customer id.")],
    trigger: Annotated[str, typer.Option(help="What caused it.")] = "manual",
    order: Annotated[int | None, typer.Option("--order", help="Order id.")] = None,
    case: Annotated[int | None, typer.Option("--case", help="Case id.")] = None,
    reminder: Annotated[bool, typer.Option("--reminder", help="Remind about the open invitation.")] = False,
) -> None:
    """Invite one customer (fatigue rules apply) and print the outcome and link."""
    from cxloop.surveys import service

    request = service.InviteRequest(
        customer_id=customer, trigger=trigger, order_id=order, case_id=case, reminder=reminder
    )
    with _session() as session:
        result = service.invite_customer(db_session=session, survey_key=survey, request=request)
    if result.sent:
        console.print(
            f"[green]sent[/green] invitation {result.invitation_id}: {result.link}", highlight=False
        )
    else:
        console.print(f"[yellow]skipped[/yellow]: {result.reason}")


@app.command("link")
def link_command(
    survey: Annotated[str, typer.Argument(help="Survey key.")],
    qr: Annotated[
        Path | None, typer.Option("--qr", help="Also write the QR code as SVG to this file.")
    ] = None,
) -> None:
    """Print the survey's anonymous link (parcel insert), optionally writing its QR code."""
    from cxloop.surveys import service

    with _session() as session:
        service.ensure_default_surveys(db_session=session)
        found = service.get_survey(db_session=session, key=survey)
        if found is None:
            console.print(f"[red]no survey {survey!r}[/red]")
            raise typer.Exit(1)
        url = service.anonymous_link(survey=found)
        if qr is not None:
            qr.write_text(service.qr_svg(url, title=found.name_zh), encoding="utf-8")
    typer.echo(url)
