"""The audit trail: every change to rules, tasks, cases and webhooks, with who, when, before and after."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from cxloop.clock import now
from cxloop.loop.models import AuditLog


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def snapshot(obj: Any) -> dict[str, Any]:
    """The row's column values as JSON-safe data (for the before/after of an audit entry)."""
    mapper = inspect(obj).mapper
    data = {attr.key: _plain(getattr(obj, attr.key)) for attr in mapper.column_attrs}
    data.pop("created_at", None)
    data.pop("updated_at", None)
    return data


def record(
    *,
    db_session: Session,
    entity: str,
    entity_id: int,
    action: str,
    actor: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditLog | None:
    """Add an audit entry (only the changed keys are kept when both states are given)."""
    if before is not None and after is not None:
        changed = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
        if not changed and action == "update":
            return None  # nothing changed: no noise in the trail
        before = {k: before.get(k) for k in sorted(changed)}
        after = {k: after.get(k) for k in sorted(changed)}
    entry = AuditLog(
        entity=entity, entity_id=entity_id, action=action, actor=actor, at=now(), before=before, after=after
    )
    db_session.add(entry)
    return entry


def record_created(*, db_session: Session, entity: str, row: Any, actor: str) -> AuditLog | None:
    """Audit a new row of ``entity`` (flushed first, so it has its id) with its state as the after."""
    db_session.flush()
    return record(
        db_session=db_session,
        entity=entity,
        entity_id=row.id,
        action="create",
        actor=actor,
        after=snapshot(row),
    )


def delete_audited(
    *, db_session: Session, entity: str, row: Any, actor: str, before: dict[str, Any] | None = None
) -> None:
    """Delete ``row`` of ``entity`` with an audit entry whose before is ``before`` (default: the row's state)."""
    record(
        db_session=db_session,
        entity=entity,
        entity_id=row.id,
        action="delete",
        actor=actor,
        before=snapshot(row) if before is None else before,
    )
    db_session.delete(row)


@dataclass
class Change:
    """An audited change in progress: ``extra`` joins the after-state, ``entry`` is what was recorded."""

    extra: dict[str, Any] = field(default_factory=dict)
    #: None until the block ends, and after it when an update changed nothing.
    entry: AuditLog | None = None


@contextmanager
def change(
    *, db_session: Session, entity: str, row: Any, action: str, actor: str, commit: bool = True
) -> Iterator[Change]:
    """Audit what the block changes in ``row`` (before and after), then commit unless ``commit=False``.

    A block that raises records and commits nothing; a batch passes ``commit=False`` and commits once.
    """
    before = snapshot(row)
    done = Change()
    yield done
    db_session.flush()
    done.entry = record(
        db_session=db_session,
        entity=entity,
        entity_id=row.id,
        action=action,
        actor=actor,
        before=before,
        after={**snapshot(row), **done.extra},
    )
    if commit:
        db_session.commit()


def history(
    *, db_session: Session, entity: str | None = None, entity_id: int | None = None
) -> list[AuditLog]:
    """Audit entries, newest first, optionally of one entity (kind, or kind and id)."""
    query = select(AuditLog).order_by(AuditLog.id.desc())
    if entity is not None:
        query = query.where(AuditLog.entity == entity)
    if entity_id is not None:
        query = query.where(AuditLog.entity_id == entity_id)
    return list(db_session.scalars(query.limit(1000)))
