"""``cxloop users``: create users, list them, set passwords and issue API tokens."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from cxloop.auth import service
from cxloop.auth.models import ROLES
from cxloop.db import session_scope

app = typer.Typer(help="Users and API tokens. 用户与接口令牌。", no_args_is_help=True)
console = Console()


def _fail(message: str) -> None:
    console.print(f"[red]{message}[/red]")
    raise typer.Exit(1)


@app.command("create")
def create(
    username: Annotated[str, typer.Argument(help="Login name.")],
    role: Annotated[str, typer.Option(help=f"One of: {', '.join(ROLES)}.")] = "analyst",
    department: Annotated[
        str | None, typer.Option(help="Department code (required for department_member).")
    ] = None,
    password: Annotated[
        str | None, typer.Option(help="Password; asked for (hidden) when left out.", show_default=False)
    ] = None,
    display_name: Annotated[str | None, typer.Option("--name", help="Display name.")] = None,
    email: Annotated[
        str | None, typer.Option(help="E-mail address (links the staff record with it).")
    ] = None,
    person: Annotated[
        str | None, typer.Option(help="Staff record id to link (e.g. E001); default: by e-mail.")
    ] = None,
) -> None:
    """Create a user. 创建用户。"""
    if password is None:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    with session_scope() as db_session:
        try:
            user = service.create_user(
                db_session=db_session,
                username=username,
                password=password,
                role=role,
                department=department,
                display_name=display_name,
                email=email,
                person=person,
            )
        except service.AuthError as exc:
            _fail(str(exc))
            return
        linked = service.linked_person(db_session=db_session, user=user)
        console.print(
            f"[green]created {user.username}[/green] ({user.role})"
            + (f", linked to {linked.external_id} {linked.name}" if linked else "")
        )


@app.command("list")
def list_command(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """List users. 列出用户。"""
    with session_scope() as db_session:
        rows: list[dict[str, str | bool | None]] = [
            {
                "username": u.username,
                "role": u.role,
                "department": service.user_department_code(u, db_session=db_session),
                "active": u.active,
                "person": _person_id(db_session, u),
                "last_login_at": u.last_login_at.isoformat() if u.last_login_at else None,
            }
            for u in service.list_users(db_session=db_session)
        ]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False))
        return
    table = Table("username", "role", "department", "person", "active", "last login")
    for row in rows:
        table.add_row(
            *(str(row[key] or "") for key in ("username", "role", "department", "person")),
            str(row["active"]),
            str(row["last_login_at"] or ""),
        )
    console.print(table)


def _person_id(db_session: Any, user: Any) -> str | None:
    person = service.linked_person(db_session=db_session, user=user)
    return person.external_id if person is not None else None


@app.command("link")
def link(
    username: Annotated[str | None, typer.Argument(help="Login name (leave out with --by-email).")] = None,
    person: Annotated[
        str | None, typer.Argument(help="Staff record id (e.g. E001); '-' unlinks.", show_default=False)
    ] = None,
    by_email: Annotated[
        bool,
        typer.Option("--by-email", help="Link every unlinked user to the staff record with their e-mail."),
    ] = False,
) -> None:
    """Link a user to a staff record, so task and case notices reach their inbox. 关联员工。"""
    with session_scope() as db_session:
        if by_email:
            count = service.link_users_by_email(db_session=db_session)
            console.print(f"[green]linked {count} users by e-mail[/green]")
            return
        if username is None or person is None:
            _fail("give USERNAME PERSON, or --by-email")
            return
        user = service.get_user(db_session=db_session, username=username)
        if user is None:
            _fail(f"no user {username!r}")
            return
        try:
            target = (
                None
                if person == "-"
                else service.person_by_external_id(db_session=db_session, external_id=person)
            )
        except service.AuthError as exc:
            _fail(str(exc))
            return
        service.link_person(db_session=db_session, user=user, person=target)
        console.print(
            f"[green]{username} → {target.external_id + ' ' + target.name if target else 'unlinked'}[/green]"
        )


@app.command("set-password")
def set_password(
    username: Annotated[str, typer.Argument(help="Login name.")],
    password: Annotated[
        str | None, typer.Option(help="New password; asked for (hidden) when left out.", show_default=False)
    ] = None,
) -> None:
    """Set a user's password (their open sessions end). 重设密码。"""
    if password is None:
        password = typer.prompt("New password", hide_input=True, confirmation_prompt=True)
    with session_scope() as db_session:
        user = service.get_user(db_session=db_session, username=username)
        if user is None:
            _fail(f"no user {username!r}")
            return
        try:
            service.set_password(db_session=db_session, user=user, password=password)
        except service.AuthError as exc:
            _fail(str(exc))
            return
    console.print(f"[green]password of {username} changed[/green]")


@app.command("token")
def token(
    username: Annotated[str, typer.Argument(help="Login name.")],
    name: Annotated[str, typer.Option(help="Label of the token.")] = "cli",
    read_only: Annotated[bool, typer.Option("--read-only", help="Scope 'read': safe methods only.")] = False,
    days: Annotated[
        int, typer.Option(help="Days until it expires.", min=1, max=service.TOKEN_MAX_DAYS)
    ] = service.TOKEN_DEFAULT_DAYS,
) -> None:
    """Create an API token for a user and print it once. 生成接口令牌（只显示一次）。"""
    with session_scope() as db_session:
        user = service.get_user(db_session=db_session, username=username)
        if user is None:
            _fail(f"no user {username!r}")
            return
        scopes = ["read"] if read_only else ["read", "write"]
        new = service.create_token(
            db_session=db_session, user=user, name=name, scopes=scopes, expires_days=days
        )
    # Plain stdout so scripts can capture it: TOKEN=$(cxloop users token alice)
    typer.echo(new.secret)
