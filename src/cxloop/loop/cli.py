"""Commands ``cxloop loop``, ``cxloop tasks``, ``cxloop cases`` and ``cxloop rules``: thin shells over the services."""

from __future__ import annotations

import getpass
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy.orm import Session

app = typer.Typer(
    help="Close the loop: evaluate alert rules, deliver notifications. 闭环：预警与通知。",
    no_args_is_help=True,
)
tasks_app = typer.Typer(help="Improvement tasks. 改进任务。", no_args_is_help=True)
cases_app = typer.Typer(help="Complaint cases (工单). 客诉工单。", no_args_is_help=True)
rules_app = typer.Typer(help="Alert rules. 预警规则。", no_args_is_help=True)
console = Console()
T = TypeVar("T")

Format = Annotated[str, typer.Option("--format", help="table or json.")]
Actor = Annotated[str | None, typer.Option("--actor", help="Who does it (default: the OS user).")]


@contextmanager
def _session() -> Iterator[Session]:
    from cxloop.db import session_scope

    with session_scope() as session:
        yield session


def _actor(actor: str | None) -> str:
    return actor or f"cli:{getpass.getuser()}"


def _check(
    session: Session,
    actor: str | None,
    resource: str,
    action: str,
    *,
    department: str | None = None,
    task_id: int | None = None,
    case_id: int | None = None,
) -> None:
    """``--actor`` naming a cxloop user acts for that user, so the policy decides as on pages and API.

    Without --actor (or with a label that is no user's name) the command runs with the operator's
    rights: whoever runs the CLI holds the database anyway (docs/security.md).
    """
    from cxloop.auth.policy import authorize
    from cxloop.auth.service import get_user

    user = get_user(db_session=session, username=actor) if actor else None
    if user is None:
        return
    try:
        if task_id is not None:
            from cxloop.loop.tasks.service import get_task

            department = get_task(db_session=session, task_id=task_id).department
        if case_id is not None:
            from cxloop.loop.cases.service import get_case

            department = get_case(db_session=session, case_id=case_id).department
        authorize(user, resource, action, department)
    except KeyError as exc:
        _fail(exc)
    except Exception as exc:  # policy.Forbidden: say it like the API does, exit 1
        detail = getattr(exc, "detail", None)
        if detail is None:
            raise
        console.print(f"[red]403 {detail}[/red]")
        raise typer.Exit(code=1) from None


@dataclass
class _Acting:
    """A session in which the CLI acts for one actor (the audit trail's "who")."""

    session: Session
    actor: str

    def do(self, action: Callable[..., T], **kwargs: Any) -> T:
        """Call the service ``action`` in this session, as this actor."""
        return action(db_session=self.session, actor=self.actor, **kwargs)


@contextmanager
def _failing_on(*errors: type[Exception]) -> Iterator[None]:
    """End the command with the message of these service errors (exit 1) instead of a traceback."""
    try:
        yield
    except errors as exc:
        _fail(exc)


@contextmanager
def _acting(
    actor: str | None,
    resource: str,
    *,
    errors: tuple[type[Exception], ...] = (KeyError, ValueError),
    **scope: Any,
) -> Iterator[_Acting]:
    """A session acting for ``actor`` once the policy lets it write ``resource`` (``scope``: its
    department, task or case); the service's ``errors`` end the command with their message."""
    with _session() as session:
        _check(session, actor, resource, "write", **scope)
        with _failing_on(*errors):
            yield _Acting(session, _actor(actor))


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat(sep=" ") if isinstance(value, datetime) else value.isoformat()
    return value


def _attrs(obj: Any, *names: str) -> dict[str, Any]:
    """The named attributes of ``obj`` as a row, in that order."""
    return {name: getattr(obj, name) for name in names}


def _emit(rows: list[dict[str, Any]], fmt: str, columns: list[str]) -> None:
    if fmt == "json":
        typer.echo(
            json.dumps([{k: _plain(v) for k, v in r.items()} for r in rows], ensure_ascii=False, indent=2)
        )
        return
    table = Table()
    for col in columns:
        table.add_column(col)
    for row in rows:
        table.add_row(*("" if row.get(c) is None else str(_plain(row.get(c))) for c in columns))
    console.print(table)


def _show(describe: Callable[[Session], dict[str, Any]]) -> None:
    """Print as JSON what ``describe`` reads in a session; an unknown id ends the command (exit 1)."""
    with _session() as session, _failing_on(KeyError):
        data = describe(session)
    typer.echo(json.dumps({k: _plain(v) for k, v in data.items()}, ensure_ascii=False, indent=2))


def _fail(exc: Exception) -> None:
    console.print(f"[red]{exc}[/red]")
    raise typer.Exit(code=1)


# --- loop ---------------------------------------------------------------------------------------------


@app.command("run")
def run_command(
    as_of: Annotated[str | None, typer.Option("--as-of", help="Evaluate as if today were this date.")] = None,
    rule: Annotated[list[str] | None, typer.Option("--rule", help="Only these rule codes.")] = None,
    fmt: Format = "table",
) -> None:
    """Evaluate the alert rules now. 立即评估预警规则。"""
    from cxloop.loop.service import evaluate_rules

    with _session() as session:
        report = evaluate_rules(
            db_session=session, as_of=date.fromisoformat(as_of) if as_of else None, codes=rule or None
        )
        data = report.as_dict()
    if fmt == "json":
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    for action in ("opened", "updated", "resolved"):
        console.print(f"[bold]alerts {action}: {len(data[action])}[/bold]")
        for row in data[action] if action != "updated" else []:
            console.print(
                f"  #{row['alert_id']} {row['rule']} {row['scope'] or '(all)'} {row['period']}: {row['message']}"
            )
    console.print(f"[bold]tasks created: {len(data['tasks_created'])}[/bold]")
    for row in data["tasks_created"]:
        console.print(f"  #{row['task_id']} {escape('[' + row['department'] + ']')} {escape(row['title'])}")
    console.print(
        f"tasks verified: {len(data['verified'])}, reopened: {len(data['reopened'])}, "
        f"cases created: {len(data['cases_created'])}"
    )
    for error in data["errors"]:
        console.print(f"[red]{error}[/red]")


@app.command("tick")
def tick_command() -> None:
    """Escalate overdue tasks, check case SLAs, send reminders and the outbox. 定时检查。"""
    from cxloop.loop.service import tick

    with _session() as session:
        typer.echo(json.dumps(tick(db_session=session), ensure_ascii=False))


@app.command("send")
def send_command(
    limit: Annotated[int | None, typer.Option(help="At most this many messages.")] = None,
) -> None:
    """Deliver the notification outbox now. 立即发送通知。"""
    from cxloop.loop.notifications.service import deliver_pending

    report = deliver_pending(limit=limit)
    console.print(f"sent {report.sent}, retrying {report.retried}, failed {report.failed}")
    for error in report.errors:
        console.print(f"[yellow]{error}[/yellow]")


@app.command("retry")
def retry_command(
    notification_id: Annotated[int, typer.Argument(help="Outbox message id (see `cxloop loop send`).")],
) -> None:
    """Queue a failed outbox message again. 重新发送失败的通知。"""
    from cxloop.loop.notifications.service import retry_message

    with _session() as session, _failing_on(KeyError, ValueError):
        message = retry_message(db_session=session, notification_id=notification_id)
        console.print(f"message #{message.id} queued again (attempts so far: {message.attempts})")


@app.command("alerts")
def alerts_command(
    status: Annotated[str | None, typer.Option(help="open or resolved.")] = "open", fmt: Format = "table"
) -> None:
    """List alerts. 预警列表。"""
    from cxloop.loop.alerts.service import list_alerts

    with _session() as session:
        rows = [
            _attrs(a, "id", "rule_id")
            | {"scope": a.scope_key}
            | _attrs(a, "status", "department", "value", "baseline", "p_value", "task_id", "message")
            for a in list_alerts(db_session=session, status=status)
        ]
    _emit(rows, fmt, ["id", "scope", "status", "department", "task_id", "message"])


@app.command("audit")
def audit_command(
    entity: Annotated[str | None, typer.Option(help="rule, task, case or webhook.")] = None,
    entity_id: Annotated[int | None, typer.Option("--id")] = None,
    fmt: Format = "table",
) -> None:
    """Show the audit trail. 审计记录。"""
    from cxloop.loop.audit import history

    fields = ["id", "at", "actor", "entity", "entity_id", "action", "before", "after"]
    with _session() as session:
        entries = history(db_session=session, entity=entity, entity_id=entity_id)
        rows = [_attrs(e, *fields) for e in entries]
    _emit(rows, fmt, fields[:6])


@app.command("webhook-add")
def webhook_add(
    name: str,
    kind: Annotated[str, typer.Option(help="dingtalk, wecom, feishu or slack.")],
    url: Annotated[str, typer.Option(help="The robot's webhook URL.")],
    secret: Annotated[
        str | None, typer.Option(help="Signing secret (DingTalk/Feishu/Slack), WeCom key.")
    ] = None,
    event: Annotated[list[str] | None, typer.Option(help="Events to send (default: all).")] = None,
    department: Annotated[str | None, typer.Option(help="Only this department's events.")] = None,
    locale: Annotated[str, typer.Option(help="zh or en.")] = "zh",
    actor: Actor = None,
) -> None:
    """Add or change a chat webhook. 配置群机器人。"""
    from cxloop.loop.webhooks import save_webhook

    with _acting(actor, "webhooks", errors=(ValueError,)) as acting:
        hook = acting.do(
            save_webhook,
            events=event or [],
            name=name,
            kind=kind,
            url=url,
            secret=secret,
            department=department,
            locale=locale,
        )
        console.print(f"webhook #{hook.id} {hook.name} ({hook.kind}) saved")


@app.command("webhooks")
def webhooks_command(fmt: Format = "table") -> None:
    """List chat webhooks. 群机器人列表。"""
    from cxloop.loop.webhooks import list_webhooks, webhook_dict

    with _session() as session:
        rows = [webhook_dict(h) for h in list_webhooks(db_session=session)]
    _emit(rows, fmt, ["id", "name", "kind", "department", "events", "enabled"])


# --- tasks --------------------------------------------------------------------------------------------


def _task_row(task: Any) -> dict[str, Any]:
    row = _attrs(task, "id", "title", "department", "status", "severity", "assignee_id", "due_at")
    row |= _attrs(task, "escalated_at", "indicator")
    return row | {"scope": (task.scope or {}).get("key")} | _attrs(task, "alert_id", "outcome")


@tasks_app.command("list")
def tasks_list(
    department: Annotated[str | None, typer.Option(help="Department code.")] = None,
    status: Annotated[str | None, typer.Option(help="open, in_progress, done, verified, reopened.")] = None,
    fmt: Format = "table",
) -> None:
    """List improvement tasks. 任务列表。"""
    from cxloop.loop.tasks.service import list_tasks

    with _session() as session:
        rows = [_task_row(t) for t in list_tasks(db_session=session, department=department, status=status)]
    _emit(rows, fmt, ["id", "department", "status", "severity", "due_at", "assignee_id", "title"])


@tasks_app.command("show")
def tasks_show(task_id: int) -> None:
    """Show one task with its evidence and comments (JSON). 任务详情。"""
    from cxloop.loop.tasks.service import comments, get_task

    def describe(session: Session) -> dict[str, Any]:
        task = get_task(db_session=session, task_id=task_id)
        notes = comments(db_session=session, task_id=task_id)
        return _task_row(task) | {
            "description": task.description,
            "evidence": task.evidence,
            "comments": [{"author": c.author, "at": _plain(c.created_at), "body": c.body} for c in notes],
        }

    _show(describe)


@tasks_app.command("create")
def tasks_create(
    title: Annotated[str, typer.Option(help="What to improve.")],
    department: Annotated[str, typer.Option(help="Owning department code.")],
    severity: Annotated[str, typer.Option(help="critical, high, medium, low.")] = "medium",
    description: Annotated[str, typer.Option()] = "",
    actor: Actor = None,
) -> None:
    """Create a task by hand. 新建任务。"""
    from cxloop.loop.tasks.service import create_task

    with _acting(actor, "tasks", department=department, errors=(ValueError,)) as acting:
        task = acting.do(
            create_task, title=title, department=department, severity=severity, description=description
        )
        console.print(f"task #{task.id} created, due {task.due_at}")


@tasks_app.command("update")
def tasks_update(
    task_id: int,
    status: Annotated[str | None, typer.Option(help="New status.")] = None,
    assignee: Annotated[int | None, typer.Option(help="Person id.")] = None,
    outcome: Annotated[str | None, typer.Option(help="What was done.")] = None,
    due: Annotated[str | None, typer.Option(help="New due time (ISO).")] = None,
    actor: Actor = None,
) -> None:
    """Change a task's status, assignee, due time or outcome. 更新任务。"""
    from cxloop.loop.tasks.service import update_task

    with _acting(actor, "tasks", task_id=task_id) as acting:
        if status == "verified":
            _check(acting.session, actor, "tasks", "verify", task_id=task_id)
        task = acting.do(
            update_task,
            task_id=task_id,
            due_at=datetime.fromisoformat(due) if due else None,
            status=status,
            assignee_id=assignee,
            outcome=outcome,
        )
        console.print(f"task #{task.id}: {task.status}")


@tasks_app.command("comment")
def tasks_comment(task_id: int, body: str, actor: Actor = None) -> None:
    """Comment on a task. 评论任务。"""
    from cxloop.loop.tasks.service import add_comment

    with _acting(actor, "tasks", task_id=task_id) as acting:
        add_comment(db_session=acting.session, task_id=task_id, author=acting.actor, body=body)
        console.print(f"comment added to task #{task_id}")


# --- cases --------------------------------------------------------------------------------------------


def _case_row(case: Any) -> dict[str, Any]:
    from cxloop.loop.cases.service import sla_clocks

    clocks = sla_clocks(case)
    row = _attrs(case, "id", "title", "status", "priority", "assignee_id", "feedback_id", "opened_at")
    row |= {clock: clocks[clock]["state"] for clock in ("first_response", "resolution")}
    row |= _attrs(case, "promise", "promised_at")
    return row | {"resolution_kind": case.resolution, "root_cause": case.root_cause}


@cases_app.command("list")
def cases_list(
    status: Annotated[str | None, typer.Option(help="open, in_progress, resolved, closed.")] = None,
    fmt: Format = "table",
) -> None:
    """List complaint cases with their SLA clocks. 工单列表。"""
    from cxloop.loop.cases.service import list_cases

    with _session() as session:
        rows = [_case_row(c) for c in list_cases(db_session=session, status=status)]
    _emit(rows, fmt, ["id", "status", "priority", "first_response", "resolution", "assignee_id", "title"])


@cases_app.command("create")
def cases_create(
    title: Annotated[str, typer.Option()],
    description: Annotated[str, typer.Option()] = "",
    priority: Annotated[str, typer.Option(help="critical, high, medium, low.")] = "medium",
    feedback_id: Annotated[int | None, typer.Option(help="The feedback item it answers.")] = None,
    actor: Actor = None,
) -> None:
    """Open a case by hand. 新建工单。"""
    from cxloop.loop.cases.service import create_case

    with _acting(actor, "cases", department="customer_service", errors=(ValueError,)) as acting:
        case = acting.do(
            create_case, title=title, description=description, priority=priority, feedback_id=feedback_id
        )
        console.print(
            f"case #{case.id}: first response due {case.first_response_due_at}, "
            f"resolution due {case.resolution_due_at}"
        )


@cases_app.command("show")
def cases_show(case_id: int) -> None:
    """Show a case with its checklist and SLA clocks (JSON). 工单详情。"""
    from cxloop.loop.cases.service import get_case, sla_clocks, steps

    def describe(session: Session) -> dict[str, Any]:
        case = get_case(db_session=session, case_id=case_id)
        return _case_row(case) | {
            "description": case.description,
            "clocks": sla_clocks(case),
            "steps": [
                {"step": s.step, "done_at": _plain(s.done_at), "done_by": s.done_by, "note": s.note}
                for s in steps(db_session=session, case_id=case_id)
            ],
        }

    _show(describe)


@cases_app.command("step")
def cases_step(
    case_id: int,
    step: Annotated[str, typer.Argument(help="apologise, investigate, solve or record.")],
    note: Annotated[str | None, typer.Option()] = None,
    actor: Actor = None,
) -> None:
    """Tick a service-recovery step. 完成处理步骤。"""
    from cxloop.loop.cases.service import complete_step

    with _acting(actor, "cases", case_id=case_id) as acting:
        acting.do(complete_step, case_id=case_id, step=step, note=note)
        console.print(f"case #{case_id}: {step} done")


@cases_app.command("promise")
def cases_promise(
    case_id: int,
    promise: Annotated[str, typer.Argument(help="Template: 30min, 2h, today, 1day, 3days.")],
    actor: Actor = None,
) -> None:
    """Record the feedback time promised to the customer. 承诺反馈时间。"""
    from cxloop.loop.cases.service import set_promise

    with _acting(actor, "cases", case_id=case_id) as acting:
        case = acting.do(set_promise, case_id=case_id, promise=promise)
        console.print(f"case #{case_id}: follow up by {case.promised_at}")


@cases_app.command("follow-up")
def cases_follow_up(
    case_id: int, note: Annotated[str | None, typer.Option()] = None, actor: Actor = None
) -> None:
    """Record that the customer was followed up. 记录回访。"""
    from cxloop.loop.cases.service import record_follow_up

    with _acting(actor, "cases", case_id=case_id, errors=(KeyError,)) as acting:
        acting.do(record_follow_up, case_id=case_id, note=note)
        console.print(f"case #{case_id}: followed up")


@cases_app.command("resolve")
def cases_resolve(
    case_id: int,
    resolution: Annotated[str, typer.Option(help="resend, refund, coupon, explanation, other.")],
    root_cause: Annotated[str, typer.Option(help="Aspect id from the taxonomy.")],
    note: Annotated[str | None, typer.Option()] = None,
    actor: Actor = None,
) -> None:
    """Resolve a case with its resolution and root cause. 结案。"""
    from cxloop.loop.cases.service import resolve_case

    with _acting(actor, "cases", case_id=case_id) as acting:
        acting.do(resolve_case, case_id=case_id, resolution=resolution, root_cause=root_cause, note=note)
        console.print(f"case #{case_id}: resolved ({resolution}, root cause {root_cause})")


# --- rules --------------------------------------------------------------------------------------------


@rules_app.command("list")
def rules_list(fmt: Format = "table") -> None:
    """List alert rules. 规则列表。"""
    from cxloop.loop.rules.service import list_rules, rule_dict

    with _session() as session:
        rows = [rule_dict(r) for r in list_rules(db_session=session)]
    _emit(rows, fmt, ["code", "kind", "indicator", "scope_kind", "per_scope", "severity", "enabled", "name"])


@rules_app.command("load")
def rules_load(
    file: Annotated[
        Path | None, typer.Argument(help="YAML file (default: the packaged default rules).")
    ] = None,
    actor: Actor = None,
) -> None:
    """Load rules from YAML, upserting by code. 从 YAML 导入规则。"""
    from cxloop.loop.rules.service import load_rules

    with _acting(actor, "rules", errors=(OSError, ValueError)) as acting:
        result = acting.do(load_rules, path=file)
    for code, outcome in result.items():
        console.print(f"{code}: {outcome}")


@rules_app.command("show")
def rules_show(code: str) -> None:
    """Show one rule (JSON). 规则详情。"""
    from cxloop.loop.rules.service import get_rule, rule_dict

    _show(lambda session: rule_dict(get_rule(db_session=session, code=code)))


def _set_enabled(code: str, enabled: bool, actor: str | None) -> None:
    from cxloop.loop.rules.service import upsert_rule

    with _acting(actor, "rules") as acting:
        acting.do(upsert_rule, code=code, data={"enabled": enabled})
    console.print(f"{code}: {'enabled' if enabled else 'disabled'}")


@rules_app.command("enable")
def rules_enable(code: str, actor: Actor = None) -> None:
    """Enable a rule. 启用规则。"""
    _set_enabled(code, True, actor)


@rules_app.command("disable")
def rules_disable(code: str, actor: Actor = None) -> None:
    """Disable a rule. 停用规则。"""
    _set_enabled(code, False, actor)


@rules_app.command("delete")
def rules_delete(code: str, actor: Actor = None) -> None:
    """Delete a rule. 删除规则。"""
    from cxloop.loop.rules.service import delete_rule

    with _acting(actor, "rules", errors=(KeyError,)) as acting:
        acting.do(delete_rule, code=code)
    console.print(f"{code}: deleted")
