"""The loop's commands: rules, tasks and cases from the command line."""

from __future__ import annotations

import json

from sqlalchemy.orm import Session
from typer.testing import CliRunner

from cxloop.cli import app
from cxloop.db import get_engine
from cxloop.org.models import Department, Person

runner = CliRunner()


def _ok(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_cli_round_trip(sqlite_url: str) -> None:
    with Session(get_engine(sqlite_url)) as s:
        dept = Department(code="warehouse", name_zh="仓储部", name_en="Warehouse")
        s.add(dept)
        s.flush()
        s.add(Person(external_id="W1", name="老李", department_id=dept.id))
        s.commit()
    assert "damage-rate-per-carrier: created" in _ok("rules", "load")
    rules = json.loads(_ok("rules", "list", "--format", "json"))
    assert {r["code"] for r in rules} >= {"damage-rate-per-carrier", "picking-time-per-warehouse"}
    _ok("rules", "disable", "loss-rate-per-carrier", "--actor", "ops")
    assert json.loads(_ok("rules", "show", "loss-rate-per-carrier"))["enabled"] is False
    _ok("tasks", "create", "--title", "复盘拣货", "--department", "warehouse", "--severity", "high")
    tasks = json.loads(
        _ok("tasks", "list", "--format", "json", "--department", "warehouse", "--status", "open")
    )
    assert len(tasks) == 1 and tasks[0]["assignee_id"] is not None
    task_id = str(tasks[0]["id"])
    _ok("tasks", "update", task_id, "--status", "in_progress")
    _ok("tasks", "comment", task_id, "加了一个班次")
    shown = json.loads(_ok("tasks", "show", task_id))
    assert shown["status"] == "in_progress" and shown["comments"][0]["body"] == "加了一个班次"
    bad = runner.invoke(app, ["tasks", "update", task_id, "--status", "verified"])
    assert bad.exit_code == 1
    _ok("cases", "create", "--title", "少发一件")
    _ok("cases", "step", "1", "apologise", "--note", "已致歉")
    _ok("cases", "promise", "1", "1day")
    _ok("cases", "resolve", "1", "--resolution", "resend", "--root-cause", "wrong_missing_item")
    case = json.loads(_ok("cases", "show", "1"))
    assert case["status"] == "resolved" and case["steps"][0]["done_by"]
    assert "alerts opened: 0" in _ok("loop", "run")
    assert "sent 0" in _ok("loop", "send")  # no SMTP recipients here: nothing to deliver
    audit = json.loads(_ok("loop", "audit", "--format", "json", "--entity", "rule"))
    assert any(e["actor"] == "ops" for e in audit)


def test_retry_requeues_a_failed_message_and_refuses_a_sent_one(sqlite_url: str) -> None:
    from cxloop.loop.models import Notification
    from cxloop.loop.notifications.service import enqueue

    with Session(get_engine(sqlite_url)) as s:
        failed = enqueue(
            db_session=s, channel="email", event="test", subject="s", body="b", recipient="a@example.com"
        )
        sent = enqueue(
            db_session=s, channel="email", event="test", subject="s", body="b", recipient="b@example.com"
        )
        assert failed is not None and sent is not None
        failed.status, failed.attempts, sent.status = "failed", 8, "sent"
        s.commit()
        failed_id, sent_id = failed.id, sent.id
    assert f"message #{failed_id} queued again" in _ok("loop", "retry", str(failed_id))
    refused = runner.invoke(app, ["loop", "retry", str(sent_id)])
    assert refused.exit_code == 1 and "sent already" in refused.output
    assert runner.invoke(app, ["loop", "retry", "999999"]).exit_code == 1
    with Session(get_engine(sqlite_url)) as s:
        assert s.get(Notification, failed_id).status == "pending"  # type: ignore[union-attr]
        assert s.get(Notification, sent_id).status == "sent"  # type: ignore[union-attr]
