"""Rule evaluation on fixture indicators: statistics, one open alert per rule and scope, tasks, audit."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cxloop.loop.audit import history
from cxloop.loop.indicators import Cell, IndicatorInfo
from cxloop.loop.models import Alert, AuditLog, Notification, Task
from cxloop.loop.rules import service as rule_service
from cxloop.loop.service import evaluate_rules
from cxloop.loop.tasks import service as task_service
from cxloop.org.models import Department, Person

START = date(2026, 3, 2)  # a Monday
DAYS = 16 * 7


class FakeSource:
    """Daily numerator/denominator per scope key, generated per indicator."""

    def __init__(self) -> None:
        self.data: dict[tuple[str, str], dict[str, dict[date, tuple[float, float]]]] = {}
        self.infos = {
            "damage_rate": IndicatorInfo("damage_rate", "logistics", False, "proportion", 100.0, 1.5),
            "picking_hours": IndicatorInfo("picking_hours", "warehouse", False, "mean", 1.0, 16.0),
        }

    def info(self, code: str) -> IndicatorInfo:
        return self.infos[code]

    def put(self, indicator: str, kind: str, key: str, day: date, num: float, den: float) -> None:
        self.data.setdefault((indicator, kind), {}).setdefault(key, {})[day] = (num, den)

    def cells(
        self, *, indicator: str, start: date, end: date, scope_kind: str | None, scope_key: str | None = None
    ) -> dict[str, Cell]:
        out: dict[str, Cell] = {}
        for key, days in self.data.get((indicator, scope_kind or "all"), {}).items():
            if scope_key is not None and key != scope_key:
                continue
            cell = Cell()
            for day, (n, d) in days.items():
                if start <= day < end:
                    cell.num += n
                    cell.den += d
                    cell.daily[day] = (n, d)
            if cell.daily:
                out[key] = cell
        return out

    def data_bounds(self) -> tuple[date, date] | None:
        return START, START + timedelta(days=DAYS - 1)


def _carriers(source: FakeSource, rng: random.Random, bad: str | None, rates: dict[str, float]) -> None:
    for i in range(DAYS):
        day = START + timedelta(days=i)
        for key, rate in rates.items():
            shipped = rng.randint(40, 60)
            p = 0.07 if key == bad else rate
            damaged = sum(rng.random() < p for _ in range(shipped))
            source.put("damage_rate", "carrier", key, day, damaged, shipped)


def _warehouses(source: FakeSource, rng: random.Random, slow: tuple[str, date, date] | None) -> None:
    for i in range(DAYS):
        day = START + timedelta(days=i)
        for key in ("WH-SH", "WH-GZ", "WH-BJ"):
            n = rng.randint(30, 50)
            total = 0.0
            for _ in range(n):
                hours = rng.lognormvariate(1.0, 0.4) * (1.3 if day.weekday() >= 5 else 1.0)
                if slow and key == slow[0] and slow[1] <= day < slow[2]:
                    hours = rng.uniform(20, 40)
                total += hours
            source.put("picking_hours", "warehouse", key, day, total, n)


@pytest.fixture
def people(db_session: Session) -> dict[str, list[Person]]:
    out: dict[str, list[Person]] = {}
    for code in ("logistics", "warehouse"):
        dept = Department(code=code, name_zh=code, name_en=code)
        db_session.add(dept)
        db_session.flush()
        head = Person(
            external_id=f"{code}-head",
            name=f"{code} head",
            email=f"{code}-head@example.com",
            department_id=dept.id,
            is_head=True,
        )
        members = [
            Person(
                external_id=f"{code}-{i}",
                name=f"{code} {i}",
                email=f"{code}{i}@example.com",
                department_id=dept.id,
            )
            for i in range(3)
        ]
        db_session.add_all([head, *members])
        db_session.flush()
        dept.head_id = head.id
        out[code] = [head, *members]
    db_session.commit()
    return out


DAMAGE_RULE = {
    "name": "damage",
    "kind": "threshold",
    "indicator": "damage_rate",
    "scope_kind": "carrier",
    "per_scope": True,
    "severity": "high",
    "params": {"grain": "month", "status": "red", "confidence": 0.99, "min_n": 200},
}
PICKING_RULE = {
    "name": "picking",
    "kind": "change",
    "indicator": "picking_hours",
    "scope_kind": "warehouse",
    "per_scope": True,
    "severity": "high",
    "params": {
        "grain": "week",
        "baseline": "previous",
        "baseline_periods": 4,
        "test": "welch",
        "alpha": 0.001,
        "min_effect": 0.5,
        "min_n": 30,
        "min_days": 5,
    },
}


def test_threshold_per_carrier_fires_only_for_the_bad_one(db_session: Session, people: dict) -> None:
    source = FakeSource()
    rates = {"CR-A": 0.007, "CR-B": 0.007, "CR-C": 0.012, "CR-D": 0.007}
    _carriers(source, random.Random(1), "CR-B", rates)
    rule_service.upsert_rule(db_session=db_session, code="damage", data=DAMAGE_RULE, actor="test")
    report = evaluate_rules(db_session=db_session, source=source, as_of=date(2026, 7, 1))
    assert [r["scope"] for r in report.opened] == ["carrier:CR-B"]
    tasks = list(db_session.scalars(select(Task)))
    assert len(tasks) == 1 and tasks[0].department == "logistics"
    assert tasks[0].assignee_id in {p.id for p in people["logistics"][1:]}  # a member, not the head
    assert tasks[0].evidence["series"] and tasks[0].evidence["series"][-1][1] > 1.5
    # second run: nothing new (each period is evaluated once), still one open alert
    again = evaluate_rules(db_session=db_session, source=source, as_of=date(2026, 7, 1))
    assert not again.opened and not again.tasks
    assert db_session.scalar(select(Alert).where(Alert.status == "open")) is not None
    # the task and the alert notifications went to the outbox
    assert db_session.scalars(select(Notification).where(Notification.channel == "email")).first() is not None


def test_no_alert_from_noise(db_session: Session, people: dict) -> None:
    source = FakeSource()
    _carriers(source, random.Random(2), None, {"CR-A": 0.007, "CR-B": 0.012, "CR-C": 0.013, "CR-D": 0.01})
    _warehouses(source, random.Random(3), None)
    rule_service.upsert_rule(db_session=db_session, code="damage", data=DAMAGE_RULE, actor="test")
    rule_service.upsert_rule(db_session=db_session, code="picking", data=PICKING_RULE, actor="test")
    report = evaluate_rules(db_session=db_session, source=source, as_of=date(2026, 7, 1))
    assert report.opened == [] and report.tasks == [], report.opened


def test_change_rule_opens_updates_and_resolves_one_alert(db_session: Session, people: dict) -> None:
    source = FakeSource()
    _warehouses(source, random.Random(4), ("WH-GZ", date(2026, 5, 4), date(2026, 5, 25)))
    rule_service.upsert_rule(db_session=db_session, code="picking", data=PICKING_RULE, actor="test")
    report = evaluate_rules(db_session=db_session, source=source, as_of=date(2026, 7, 1))
    assert [r["scope"] for r in report.opened] == ["warehouse:WH-GZ"]
    assert report.resolved and report.resolved[0]["scope"] == "warehouse:WH-GZ"
    alerts = list(db_session.scalars(select(Alert)))
    assert len(alerts) == 1 and alerts[0].status == "resolved" and alerts[0].open_key is None
    assert alerts[0].occurrences >= 2  # updated, not duplicated, while the slowdown lasted
    tasks = list(db_session.scalars(select(Task)))
    assert len(tasks) == 1 and tasks[0].department == "warehouse"


def test_open_key_is_unique_in_the_database(db_session: Session) -> None:
    rule, _ = rule_service.upsert_rule(db_session=db_session, code="picking", data=PICKING_RULE, actor="t")
    at = datetime(2026, 5, 1)
    kwargs = {
        "rule_id": rule.id,
        "scope_key": "warehouse:WH-SH",
        "open_key": f"{rule.id}|warehouse:WH-SH",
        "first_seen_at": at,
        "last_seen_at": at,
        "message": "",
        "details": {},
    }
    db_session.add(Alert(**kwargs))
    db_session.commit()
    db_session.add(Alert(**kwargs))
    with pytest.raises(IntegrityError):
        db_session.commit()
    db_session.rollback()
    # resolved alerts (open_key NULL) may be many
    db_session.add_all([Alert(**{**kwargs, "open_key": None, "status": "resolved"}) for _ in range(2)])
    db_session.commit()


def test_round_robin_escalation_and_verification(db_session: Session, people: dict) -> None:
    members = people["warehouse"][1:]
    made = [
        task_service.create_task(db_session=db_session, title=f"t{i}", department="warehouse", actor="u")
        for i in range(4)
    ]
    db_session.commit()
    assert [t.assignee_id for t in made] == [members[0].id, members[1].id, members[2].id, members[0].id]
    task = made[0]
    task.due_at = datetime(2020, 1, 1)
    db_session.commit()
    escalated = task_service.escalate_overdue(db_session=db_session)
    assert [t.id for t in escalated] == [task.id]
    assert task.escalated_to_id == people["warehouse"][0].id
    assert task_service.escalate_overdue(db_session=db_session) == []  # once
    head_mail = db_session.scalars(
        select(Notification).where(
            Notification.recipient == "warehouse-head@example.com", Notification.event == "task_escalated"
        )
    ).all()
    assert len(head_mail) == 1
    # lifecycle and audit
    task_service.update_task(db_session=db_session, task_id=task.id, actor="alice", status="in_progress")
    with pytest.raises(ValueError):
        task_service.update_task(db_session=db_session, task_id=task.id, actor="alice", status="verified")
    task_service.add_comment(db_session=db_session, task_id=task.id, author="alice", body="补了两名拣货员")
    task_service.update_task(
        db_session=db_session, task_id=task.id, actor="alice", status="done", outcome="ok"
    )
    entries = history(db_session=db_session, entity="task", entity_id=task.id)
    actions = [e.action for e in entries][::-1]
    assert actions[:1] == ["create"] and "escalate" in actions and "comment" in actions
    update = next(e for e in entries if e.action == "update" and (e.after or {}).get("status") == "done")
    assert update.actor == "alice" and update.before == {**update.before, "status": "in_progress"}


def test_done_task_reopens_when_the_indicator_does_not_recover(db_session: Session, people: dict) -> None:
    source = FakeSource()
    _carriers(source, random.Random(5), "CR-B", {"CR-A": 0.007, "CR-B": 0.007})
    rule_service.upsert_rule(db_session=db_session, code="damage", data=DAMAGE_RULE, actor="test")
    evaluate_rules(db_session=db_session, source=source, as_of=date(2026, 5, 1))
    task = db_session.scalars(select(Task)).one()
    task_service.update_task(db_session=db_session, task_id=task.id, actor="bob", status="done")
    task.verify_after = datetime(2026, 5, 1)  # done at the end of April: May is the next period
    db_session.commit()
    report = evaluate_rules(db_session=db_session, source=source, as_of=date(2026, 6, 1))
    assert report.reopened == [task.id]
    db_session.refresh(task)
    assert task.status == "reopened" and task.reopen_count == 1
    assert db_session.scalar(select(AuditLog).where(AuditLog.action == "reopen")) is not None


def test_rules_yaml_load_upserts_by_code_and_validates(db_session: Session, tmp_path: Path) -> None:
    result = rule_service.load_rules(db_session=db_session)
    assert set(result.values()) == {"created"}
    again = rule_service.load_rules(db_session=db_session)
    assert set(again.values()) == {"unchanged"}
    custom = tmp_path / "rules.yaml"
    custom.write_text(
        "rules:\n  - code: damage-rate-per-carrier\n    name: changed\n    kind: threshold\n"
        "    indicator: damage_rate\n    scope_kind: carrier\n    per_scope: true\n    severity: critical\n",
        encoding="utf-8",
    )
    assert rule_service.load_rules(db_session=db_session, path=custom) == {
        "damage-rate-per-carrier": "updated"
    }
    rule = rule_service.get_rule(db_session=db_session, code="damage-rate-per-carrier")
    assert rule.severity == "critical"
    entry = history(db_session=db_session, entity="rule", entity_id=rule.id)[0]
    assert entry.before == {"name": entry.before["name"], "severity": "high"} | {
        k: v for k, v in entry.before.items() if k not in ("name", "severity")
    }
    assert entry.after and entry.after["severity"] == "critical"
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "rules:\n  - code: x\n    name: x\n    kind: change\n    indicator: nope\n", encoding="utf-8"
    )
    with pytest.raises(ValueError, match="nope"):
        rule_service.load_rules(db_session=db_session, path=bad)


def test_emerging_topic_rule_opens_a_task_for_the_aspect_department(db_session: Session) -> None:
    from cxloop.feedback.models import FeedbackAspect, FeedbackItem

    dept = Department(code="quality", name_zh="品控", name_en="Quality")
    db_session.add(dept)
    db_session.flush()
    db_session.add(Person(external_id="q1", name="q1", department_id=dept.id))
    rng = random.Random(9)
    last = START + timedelta(days=DAYS - 1)
    fillers = ("快递太慢了", "客服态度不好", "包装一般", "价格有点贵", "颜色和图片不一样")
    n = 0
    for i in range(35):
        day = last - timedelta(days=i)
        for _ in range(6):
            n += 1
            db_session.add(
                FeedbackItem(
                    external_id=f"x{n}",
                    channel="review",
                    text=rng.choice(fillers),
                    occurred_at=datetime.combine(day, datetime.min.time()) + timedelta(hours=10),
                    sentiment="negative",
                )
            )
        if i < 5:  # the last five days: a new complaint about exploding power banks
            for _ in range(4):
                n += 1
                item = FeedbackItem(
                    external_id=f"x{n}",
                    channel="review",
                    text="充电宝鼓包发烫，差点爆炸",
                    occurred_at=datetime.combine(day, datetime.min.time()) + timedelta(hours=11),
                    sentiment="negative",
                )
                db_session.add(item)
                db_session.flush()
                db_session.add(
                    FeedbackAspect(
                        feedback_id=item.id,
                        aspect="product_quality",
                        sentiment="negative",
                        score=0.1,
                        start=0,
                        end=3,
                        occurred_at=item.occurred_at,
                        channel="review",
                    )
                )
    db_session.commit()
    rule_service.upsert_rule(
        db_session=db_session,
        code="topics",
        actor="t",
        data={
            "name": "topics",
            "kind": "emerging_topic",
            "params": {"window_days": 7, "baseline_days": 28, "min_count": 10, "z_threshold": 3.0},
        },
    )
    report = evaluate_rules(db_session=db_session, source=FakeSource(), as_of=last)
    assert report.opened and all(r["scope"].startswith("topic:") for r in report.opened)
    assert any("充电宝" in r["scope"] for r in report.opened), report.opened
    tasks = list(db_session.scalars(select(Task)))
    assert tasks and {t.department for t in tasks} == {"quality"}
    assert tasks[0].evidence["complaints"] and "充电宝" in tasks[0].evidence["complaints"][0]["text"]
    # the same day again: nothing new
    assert not evaluate_rules(db_session=db_session, source=FakeSource(), as_of=last).opened
