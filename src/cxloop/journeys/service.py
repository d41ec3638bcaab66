"""The journey engine: events start runs, runs advance through waits, conditions and actions.

- ``emit_event`` (CONTRACTS.md) records an event once and at once starts the journeys it triggers
  (in the caller's transaction) and wakes runs waiting for it.
- ``process_due`` fires due timers, one batch per transaction: a worker killed mid-batch commits
  nothing, so every due step runs exactly once (``SKIP LOCKED`` lets several workers share the work on
  PostgreSQL).
- ``capture_events`` turns what imports and other domains wrote (orders, cart events, feedback, cases)
  into events; ``replay`` runs journeys over history with the clock set to each event's time (the demo
  and ``simulate`` use it; ``simulate`` rolls everything back).

Times are naive, in the business time zone, like every timestamp in cxloop. Live processing uses the
current time; a replay uses the time of the event or timer it is at.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import logging
import re
import uuid
from bisect import bisect_right
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cxloop.catalog.models import Product
from cxloop.clock import now as clock
from cxloop.config import get_settings
from cxloop.customers.models import Customer, CustomerEvent, CustomerTag
from cxloop.db import is_postgres, session_scope
from cxloop.feedback.models import FeedbackItem
from cxloop.journeys import definition as jdef
from cxloop.journeys.models import Journey, JourneyEvent, JourneyRun, JourneyStep, JourneyTimer
from cxloop.journeys.prefetch import BATCH_KEY, TimerBatch, batch_of, load_runs, write_runs
from cxloop.logistics.models import Carrier
from cxloop.loop.models import OPEN_CASE_STATUSES, Case
from cxloop.messaging import service as messaging
from cxloop.messaging.models import CustomerMessage
from cxloop.messaging.yamlspan import ConfigFileError
from cxloop.orders.models import Order, OrderLine
from cxloop.surveys.models import SurveyInvitation

log = logging.getLogger(__name__)

DEFAULTS_DIR = Path(__file__).with_name("defaults")
DEFAULT_FILES: tuple[Path, ...] = (DEFAULTS_DIR / "journeys.yaml",)
TIPS_FILE = DEFAULTS_DIR / "tips.yaml"
#: Order columns that are order events, by event kind.
ORDER_EVENT_COLUMNS = {
    "order.placed": "placed_at",
    "order.paid": "paid_at",
    "order.shipped": "shipped_at",
    "order.delivered": "delivered_at",
    "order.cancelled": "cancelled_at",
}
CHAT_CHANNELS = ("chat", "im", "wechat")
#: Set while a replay runs in one private transaction: no concurrent writer exists there, so the
#: savepoints that guard live inserts against races are skipped (they cost a round trip each).
_REPLAYING: contextvars.ContextVar[bool] = contextvars.ContextVar("journeys_replaying", default=False)


def _guard(db_session: Session) -> contextlib.AbstractContextManager[Any]:
    return contextlib.nullcontext() if _REPLAYING.get() else db_session.begin_nested()


# --- definitions ----------------------------------------------------------------------------------------


def _known(db_session: Session, exclude: Iterable[str] = ()) -> dict[str, dict[str, Any]]:
    skip = set(exclude)
    return {j.key: j.definition for j in db_session.scalars(select(Journey)) if j.key not in skip}


def _upsert(db_session: Session, spec: dict[str, Any], source: str, file: str, at: datetime) -> Journey:
    journey = db_session.scalar(select(Journey).where(Journey.key == spec["key"]))
    if journey is None:
        journey = Journey(key=spec["key"], created_at=at, version=0)
        db_session.add(journey)
    journey.name_zh, journey.name_en = spec["name"]["zh"], spec["name"]["en"]
    journey.trigger = spec["trigger"]["event"]
    journey.enabled = spec["enabled"]
    journey.control_share = spec["control_group"]
    journey.definition = spec
    journey.source_yaml = source
    journey.source_file = file
    journey.version = (journey.version or 0) + 1
    journey.updated_at = at
    return journey


def _split_sources(text: str, specs: list[dict[str, Any]]) -> dict[str, str]:
    """The YAML text of each journey in a file (from its line to the next one's), for the editor."""
    lines = text.splitlines(keepends=True)
    starts = sorted((spec["line"], spec["key"]) for spec in specs)
    out: dict[str, str] = {}
    for i, (line, key) in enumerate(starts):
        end = starts[i + 1][0] - 1 if i + 1 < len(starts) else len(lines)
        chunk = "".join(lines[line - 1 : end])
        if len(specs) > 1:
            # An item of a list: drop the "- " (or "  ") indentation so it stands alone.
            chunk = "".join(
                row[2:] if row[:2] in ("- ", "  ") else row for row in chunk.splitlines(keepends=True)
            )
        out[key] = chunk.rstrip() + "\n"
    return out


def load_file(*, db_session: Session, path: Path | str, text: str | None = None) -> list[Journey]:
    """Load every journey of a YAML file, all or none (``ConfigFileError`` with file and line)."""
    source = Path(path).read_text(encoding="utf-8") if text is None else text
    specs = jdef.parse_journeys(source, str(path), known=_known(db_session))
    chunks = _split_sources(source, specs)
    at = clock()
    saved = [_upsert(db_session, spec, chunks[spec["key"]], str(path), at) for spec in specs]
    db_session.flush()
    return saved


#: The keys of a packaged journeys file (``- key: name`` at the top of each entry).
_DEFAULT_KEY = re.compile(r"^- key: *([A-Za-z0-9_]+) *$", re.MULTILINE)


def ensure_defaults(*, db_session: Session) -> list[Journey]:
    """Load the packaged journeys that are not in the database yet (edited ones are left alone)."""
    have = set(db_session.scalars(select(Journey.key)))
    added: list[Journey] = []
    for path in DEFAULT_FILES:
        text = path.read_text(encoding="utf-8")
        listed = set(_DEFAULT_KEY.findall(text))
        if listed and listed <= have:
            continue  # all loaded already: no need to parse and compile the file (every page and command)
        specs = jdef.parse_journeys(text, str(path), known=_known(db_session))
        chunks = _split_sources(text, specs)
        at = clock()
        added += [
            _upsert(db_session, s, chunks[s["key"]], str(path), at) for s in specs if s["key"] not in have
        ]
    db_session.flush()
    return added


def save_journey(*, db_session: Session, key: str, text: str, commit: bool = True) -> Journey:
    """Replace one journey from its YAML (the web editor, the API); its key must stay ``key``.

    An invalid text raises ``ConfigFileError`` and changes nothing."""
    specs = jdef.parse_journeys(text, f"journey:{key}", known=_known(db_session, exclude=[key]))
    if len(specs) != 1 or specs[0]["key"] != key:
        raise ConfigFileError([f"journey:{key}:1: expected exactly one journey with key {key!r}"])
    journey = _upsert(db_session, specs[0], text, f"journey:{key}", clock())
    db_session.flush()
    if commit:
        db_session.commit()
    return journey


def get_journey(*, db_session: Session, key: str) -> Journey:
    """The journey ``key`` (``KeyError`` when unknown)."""
    journey = db_session.scalar(select(Journey).where(Journey.key == key))
    if journey is None:
        raise KeyError(f"no journey {key!r}")
    return journey


def list_journeys(*, db_session: Session) -> list[Journey]:
    """Every journey, by key."""
    return list(db_session.scalars(select(Journey).order_by(Journey.key)))


def overview(*, db_session: Session) -> tuple[list[Journey], dict[str, dict[str, int]]]:
    """Every journey (the packaged ones loaded and committed on first use) with its live figures."""
    ensure_defaults(db_session=db_session)
    db_session.commit()
    return list_journeys(db_session=db_session), figures(db_session=db_session)


def set_enabled(
    *, db_session: Session, key: str, enabled: bool | None = None, commit: bool = True
) -> Journey:
    """Switch a journey on or off (``None``: the other way); running runs continue, no new ones start
    while off. ``KeyError`` for an unknown journey."""
    journey = get_journey(db_session=db_session, key=key)
    enabled = not journey.enabled if enabled is None else enabled
    journey.enabled = enabled
    journey.definition = {**journey.definition, "enabled": enabled}
    db_session.flush()
    if commit:
        db_session.commit()
    return journey


# --- events ---------------------------------------------------------------------------------------------


def _dedupe_key(kind: str, ref: str | None, customer_id: int | None) -> str:
    return f"{kind}|{ref}|{customer_id}" if ref else f"{kind}|{uuid.uuid4().hex}"


def _record_event(
    db_session: Session,
    *,
    kind: str,
    customer_id: int | None,
    occurred_at: datetime,
    ref: str | None,
    payload: dict[str, Any] | None,
) -> JourneyEvent | None:
    key = _dedupe_key(kind, ref, customer_id)
    with db_session.no_autoflush:
        if db_session.scalar(select(JourneyEvent.id).where(JourneyEvent.dedupe_key == key)) is not None:
            return None
    what = {"kind": kind, "customer_id": customer_id, "ref": ref, "occurred_at": occurred_at}
    event = JourneyEvent(**what, payload=payload or {}, dedupe_key=key, received_at=clock())
    try:
        with _guard(db_session):
            db_session.add(event)
            db_session.flush()
    except IntegrityError:
        return None  # a concurrent sender recorded it first
    return event


def record_event(
    db_session: Session,
    *,
    kind: str,
    customer_id: int | None,
    occurred_at: datetime,
    ref: str | None = None,
    payload: dict[str, Any] | None = None,
) -> bool:
    """Record an event once without starting anything (a replay visits it in time order); False when
    it was recorded already."""
    event = _record_event(
        db_session, kind=kind, customer_id=customer_id, occurred_at=occurred_at, ref=ref, payload=payload
    )
    return event is not None


def emit_event(
    session: Session,
    *,
    kind: str,
    customer_id: int | None,
    occurred_at: datetime,
    ref: str | None = None,
    payload: dict[str, Any] | None = None,
) -> None:
    """Record an event once; start the journeys it triggers and wake the runs waiting for it."""
    event = _record_event(
        session, kind=kind, customer_id=customer_id, occurred_at=occurred_at, ref=ref, payload=payload
    )
    if event is None:
        return
    at = clock()
    stale = at - timedelta(hours=get_settings().journeys_max_event_age_hours)
    dispatch(session, event, now=max(at, occurred_at), start=occurred_at >= stale)


def receive_event(
    *, db_session: Session, kind: str, customer: str, occurred_at: datetime | None = None, **event: Any
) -> None:
    """An event from the shop's systems (the JSON endpoint, the CLI) for the customer with external id
    ``customer``: emitted and committed; ``event`` may give its ``ref`` and ``payload``. ``ValueError``
    for an unknown kind, ``LookupError`` for an unknown customer; ``occurred_at`` with a time zone is
    moved to the business one (default: now)."""
    from cxloop.customers.service import get_by_external_id

    if kind not in jdef.EVENT_KINDS:
        raise ValueError(f"unknown event kind {kind!r}; expected one of {', '.join(jdef.EVENT_KINDS)}")
    found = get_by_external_id(db_session=db_session, external_id=customer)
    if found is None:
        raise LookupError(f"no customer {customer!r}")
    at = clock()
    if occurred_at is not None:
        # Stored naive in the business time zone, like every timestamp.
        tz = get_settings().tz
        at = occurred_at.astimezone(tz).replace(tzinfo=None) if occurred_at.tzinfo else occurred_at
    emit_event(db_session, kind=kind, customer_id=found.id, occurred_at=at, **event)
    db_session.commit()


@dataclass
class DispatchResult:
    """What one event did: runs started (by journey) and waits woken."""

    started: list[int] = field(default_factory=list)
    woken: int = 0


def _enabled_by_trigger(db_session: Session) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for journey in db_session.scalars(select(Journey).where(Journey.enabled.is_(True))):
        out[journey.trigger].append(journey.definition)
    return out


def dispatch(
    db_session: Session,
    event: JourneyEvent,
    *,
    now: datetime,
    start: bool = True,
    journeys: dict[str, list[dict[str, Any]]] | None = None,
    entry_prefix: str = "",
) -> DispatchResult:
    """Start the journeys ``event`` triggers (when ``start``) and wake runs waiting for it."""
    result = DispatchResult()
    by_trigger = _enabled_by_trigger(db_session) if journeys is None else journeys
    if start and event.customer_id is not None:
        for spec in by_trigger.get(event.kind, []):
            run = start_run(db_session, spec, event=event, now=now, entry_prefix=entry_prefix)
            if run is not None:
                result.started.append(run.id)
    matches = [m for m in (event.ref, f"customer:{event.customer_id}" if event.customer_id else None) if m]
    if matches:
        waiting = list(
            db_session.scalars(
                select(JourneyTimer).where(
                    JourneyTimer.status == "pending",
                    JourneyTimer.wait_event == event.kind,
                    JourneyTimer.wait_match.in_(matches),
                )
            )
        )
        for timer in waiting:
            timer.due_at, timer.fired_by = min(timer.due_at, now), "event"
            result.woken += 1
    return result


# --- runs -----------------------------------------------------------------------------------------------


def _order_id(ref: str | None) -> int | None:
    if ref and ref.startswith("order:"):
        try:
            return int(ref.split(":", 1)[1])
        except ValueError:
            return None
    return None


def in_control_group(key: str, customer_id: int, share: float) -> bool:
    """Whether a customer is held out of a journey: a stable hash, so one customer stays on one side."""
    if share <= 0:
        return False
    digest = hashlib.sha256(f"{key}:{customer_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < share


def start_run(
    db_session: Session,
    spec: dict[str, Any],
    *,
    event: JourneyEvent | None = None,
    customer_id: int | None = None,
    ref: str | None = None,
    now: datetime,
    entry_key: str | None = None,
    entry_prefix: str = "",
) -> JourneyRun | None:
    """Enter a customer into a journey (None when not in its audience or already entered)."""
    customer_id = customer_id if customer_id is not None else (event.customer_id if event else None)
    ref = ref if ref is not None else (event.ref if event else None)
    if customer_id is None:
        return None
    key = spec["key"]
    if entry_key is None:
        if spec["reentry"] == "per_customer":
            entry_key = f"customer:{customer_id}"
        elif spec["reentry"] == "window":
            since = now - timedelta(seconds=float(spec["reentry_s"] or 0))
            recent = db_session.scalar(
                select(JourneyRun.id).where(
                    JourneyRun.journey_key == key,
                    JourneyRun.customer_id == customer_id,
                    JourneyRun.entered_at > since,
                    JourneyRun.entry_key.startswith(entry_prefix) if entry_prefix else JourneyRun.id > 0,
                )
            )
            if recent is not None:
                return None
            entry_key = f"customer:{customer_id}:{now.isoformat()}"
        else:
            entry_key = f"ref:{ref}" if ref else f"event:{event.id if event else uuid.uuid4().hex}"
    entry_key = entry_prefix + entry_key
    with db_session.no_autoflush:
        if db_session.scalar(
            select(JourneyRun.id).where(JourneyRun.journey_key == key, JourneyRun.entry_key == entry_key)
        ):
            return None
    run = JourneyRun(
        journey_key=key,
        entry_key=entry_key,
        customer_id=customer_id,
        ref=ref,
        order_id=_order_id(ref),
        event_id=event.id if event else None,
        status="active",
        control=False,
        position=0,
        context={"payload": dict(event.payload) if event else {}, "timed_out": False},
        entered_at=now,
    )
    facts = Facts(db_session, run, now)
    if spec.get("audience") and not facts.holds(spec["audience"]):
        return None
    try:
        with _guard(db_session):
            db_session.add(run)
            db_session.flush()
    except IntegrityError:
        return None  # entered concurrently by another worker
    if in_control_group(key, customer_id, spec["control_group"]):
        run.control, run.status, run.finished_at = True, "control", now
        return run
    advance(db_session, run, spec, now=now)
    return run


def _next_clock(now: datetime, hhmm: str) -> datetime:
    hour, minute = (int(x) for x in hhmm.split(":"))
    at = datetime.combine(now.date(), time(hour, minute))
    return at if at > now else at + timedelta(days=1)


def advance(db_session: Session, run: JourneyRun, spec: dict[str, Any], *, now: datetime) -> None:
    """Run instructions from the run's position until a wait, the end, or an exit."""
    program: list[dict[str, Any]] = spec["instructions"]
    facts = Facts(db_session, run, now)
    while run.position < len(program):
        step = program[run.position]
        op = step["op"]
        if op == "wait":
            if "delay_s" in step:
                due = now + timedelta(seconds=float(step["delay_s"]))
                event, match = None, None
            elif "until" in step:
                due, event, match = _next_clock(now, step["until"]), None, None
            else:
                due = now + timedelta(seconds=float(step["timeout_s"]))
                event = step["event"]
                match = run.ref if step["match"] == "ref" and run.ref else f"customer:{run.customer_id}"
            db_session.add(
                JourneyTimer(
                    run_id=run.id,
                    position=run.position + 1,
                    due_at=due,
                    status="pending",
                    wait_event=event,
                    wait_match=match,
                )
            )
            run.status = "waiting"
            return
        if op == "branch":
            run.position = run.position + 1 if facts.holds(step["cond"]) else int(step["else"])
            continue
        if op == "jump":
            run.position = int(step["to"])
            continue
        if op == "stop":
            break
        reason = facts.exit_reason(spec.get("exit_when") or [])
        if reason is not None:
            run.status, run.exit_reason, run.finished_at = "exited", reason, now
            return
        if step.get("when") and not facts.holds(step["when"]):
            run.position += 1
            continue
        # Sending and tagging validate before they write; the other actions (other domains' code) run in a
        # savepoint so that one failing leaves the rest of the batch intact.
        guard = contextlib.nullcontext() if step["type"] in ("send", "tag") else _guard(db_session)
        batch = batch_of(db_session)
        if batch is not None and step["type"] not in ("send", "tag"):
            # Another domain's code reads and writes by query: it sees the batch's rows so far, and this
            # customer's facts are read again afterwards.
            messaging.forget(db_session, run.customer_id)
            db_session.flush()
            write_runs(db_session, batch.touched.values())
            batch.forget(run.customer_id)
        try:
            with guard:
                _act(db_session, run, spec, step, facts, now)
        except Exception as exc:  # an action that fails stops this run only; the page shows why
            log.exception("journey %s run %s failed at step %s", spec["key"], run.id, run.position)
            run.status, run.error, run.finished_at = "error", f"{type(exc).__name__}: {exc}"[:2000], now
            return
        run.position += 1
    run.status, run.finished_at = "done", now


#: The columns of a step row, in the order ``_log`` writes them.
_STEP_COLUMNS = (
    "run_id",
    "journey_key",
    "position",
    "action",
    "outcome",
    "at",
    "detail",
    "task_id",
    "message_id",
)


def _log(
    db_session: Session, run: JourneyRun, action: str, outcome: str, now: datetime, **extra: Any
) -> None:
    """Record what a step did; ``extra``: ``detail``, ``task_id``, ``message`` (the row or its id)."""
    message = extra.get("message")
    message_id = message if isinstance(message, int) else None
    row = [
        run.id,
        run.journey_key,
        run.position,
        action,
        outcome,
        now,
        extra.get("detail"),
        extra.get("task_id"),
    ]
    row.append(message_id)
    batch = batch_of(db_session)
    if batch is not None:
        # Written with the batch, once its messages have ids.
        batch.steps.append((row, message if isinstance(message, CustomerMessage) else None))
        return
    if isinstance(message, CustomerMessage):
        row[-1] = message.id
    db_session.add(JourneyStep(**dict(zip(_STEP_COLUMNS, row, strict=True))))


def _fmt(text: str, values: dict[str, Any]) -> str:
    class Missing(dict[str, Any]):
        def __missing__(self, key: str) -> str:
            return "{" + key + "}"

    return text.format_map(Missing(values))


def _act(
    db_session: Session,
    run: JourneyRun,
    spec: dict[str, Any],
    step: dict[str, Any],
    facts: Facts,
    now: datetime,
) -> None:
    kind, args = step["type"], step["args"]
    source = f"journey:{spec['key']}"
    if kind == "send":
        context = {**facts.variables(), **args.get("vars", {})}
        message = messaging.send_to_customer(
            db_session,
            customer_id=run.customer_id,
            template=args["template"],
            context=context,
            purpose=args["purpose"],
            source=source,
            dedupe_key=f"journey:{run.id}:{run.position}",
            channel=args.get("channel"),
            case_id=facts.case_id,
            now=now,
            # In a batch the row is written with the others at its end; alone, at once.
            flush=batch_of(db_session) is None,
        )
        _log(db_session, run, kind, message.status, now, message=message, detail=message.reason)
        return
    if kind in ("create_task", "create_case"):
        values = facts.variables()
        locale = get_settings().default_locale
        title = _fmt(args["title"][locale], values)
        description = _fmt(args.get("description", {}).get(locale, ""), values)
        department = args["department"]
        if department == jdef.DEPARTMENT_FROM_EVENT:
            department = str(run.context.get("payload", {}).get("department") or "customer_service")
        customer = facts.customer
        if kind == "create_task":
            from cxloop.loop.tasks.service import create_task

            assignee = customer.owner_id if args.get("assign") == "owner" and customer else None
            task = create_task(
                db_session=db_session,
                title=title,
                department=department,
                actor=source,
                description=description,
                severity=args["severity"],
                assignee_id=assignee,
                scope={"customer": customer.external_id if customer else None, "order": values.get("order")},
                due_at=now + timedelta(seconds=float(args.get("due_s") or 86400)),
            )
            _log(
                db_session, run, kind, "created", now, detail=f"{department}: {title}"[:300], task_id=task.id
            )
        else:
            from cxloop.loop.cases.service import create_case

            case = create_case(
                db_session=db_session,
                title=title,
                actor=source,
                description=description,
                order_id=run.order_id,
                customer_id=run.customer_id,
                priority=args["severity"],
                department=department,
                source="journey",
                opened_at=now,
            )
            _log(db_session, run, kind, "created", now, detail=title[:300], task_id=case.id)
        return
    if kind == "tag":
        batch = batch_of(db_session)
        if batch is not None:
            tags = batch.tags_of(run.customer_id)
            exists: Any = args["tag"] if args["tag"] in tags else None
        else:
            exists = db_session.scalar(
                select(CustomerTag.id).where(
                    CustomerTag.customer_id == run.customer_id, CustomerTag.tag == args["tag"]
                )
            )
        if exists is None:
            db_session.add(
                CustomerTag(customer_id=run.customer_id, tag=args["tag"], source=source, created_at=now)
            )
            if batch is not None:
                tags.append(args["tag"])
        _log(db_session, run, kind, "tagged", now, detail=args["tag"])
        return
    if kind == "start_journey":
        target = db_session.scalar(select(Journey).where(Journey.key == args["journey"]))
        if target is None or not target.enabled:
            _log(db_session, run, kind, "skipped", now, detail=f"{args['journey']} is off or missing")
            return
        child = start_run(
            db_session,
            target.definition,
            customer_id=run.customer_id,
            ref=run.ref,
            now=now,
            entry_key=f"from:{run.id}:{run.position}",
        )
        _log(db_session, run, kind, "started" if child else "skipped", now, detail=args["journey"])
        return
    if kind == "send_survey":
        from cxloop.surveys.service import invite

        result = invite(
            db_session,
            survey_key=args["survey"],
            customer_id=run.customer_id,
            trigger=source,
            now=now,
            order_id=run.order_id,
            case_id=facts.case_id,
            reminder=bool(args.get("reminder")),
        )
        # InviteResult (surveys): sent, reason, message_id.
        sent = bool(getattr(result, "sent", False))
        _log(
            db_session,
            run,
            kind,
            "sent" if sent else "skipped",
            now,
            detail=str(getattr(result, "reason", "") or "")[:300] or None,
            message=getattr(result, "message_id", None),
        )
        return
    raise ValueError(f"unknown action {kind!r}")


# --- facts about a run: conditions, exits and template variables ------------------------------------------


class Facts:
    """What a run's conditions, exits and messages see, as of ``now`` (so a replay sees no future)."""

    def __init__(self, db_session: Session, run: JourneyRun, now: datetime) -> None:
        self.db = db_session
        self.run = run
        self.now = now
        self._customer: Customer | None = None
        self._order: Order | bool | None = False
        self.batch = batch_of(db_session)

    @property
    def customer(self) -> Customer | None:
        """The run's customer."""
        if self._customer is None and self.batch is not None:
            self._customer = self.batch.customers.get(self.run.customer_id)
        if self._customer is None:
            self._customer = self.db.get(Customer, self.run.customer_id)
        return self._customer

    @property
    def order(self) -> Order | None:
        """The run's order, if its trigger was about one."""
        if self._order is False and self.batch is not None and self.run.order_id:
            self._order = self.batch.orders.get(self.run.order_id, False)
        if self._order is False:
            self._order = self.db.get(Order, self.run.order_id) if self.run.order_id else None
        return self._order  # type: ignore[return-value]

    @property
    def case_id(self) -> int | None:
        """The case the run is about (its ref is ``case:<id>``)."""
        ref = self.run.ref or ""
        return int(ref[5:]) if ref.startswith("case:") and ref[5:].isdigit() else None

    def _at(self, value: datetime | None) -> bool:
        return value is not None and value <= self.now

    def _orders_before(self, moment: datetime) -> int:
        if self.batch is not None:
            return sum(
                o.placed_at is not None and o.placed_at < moment
                for o in self.batch.orders_of(self.run.customer_id)
            )
        return int(
            self.db.scalar(
                select(func.count(Order.id)).where(
                    Order.customer_id == self.run.customer_id, Order.placed_at < moment
                )
            )
            or 0
        )

    def _spend(self) -> float:
        if self.batch is not None:
            return float(
                sum(
                    Decimal(o.total_amount)
                    for o in self.batch.orders_of(self.run.customer_id)
                    if o.total_amount is not None
                    and o.placed_at is not None
                    and o.placed_at <= self.now
                    and o.cancelled_at is None
                )
            )
        total = self.db.scalar(
            select(func.sum(Order.total_amount)).where(
                Order.customer_id == self.run.customer_id,
                Order.placed_at <= self.now,
                Order.cancelled_at.is_(None),
            )
        )
        return float(total or 0)

    def _products(self) -> list[Product]:
        if self.run.order_id and self.batch is not None:
            return list(self.batch.products_of(self.run.order_id))
        if self.run.order_id:
            return list(
                self.db.scalars(
                    select(Product)
                    .join(OrderLine, OrderLine.product_id == Product.id)
                    .where(OrderLine.order_id == self.run.order_id)
                    .order_by(OrderLine.line_no)
                )
            )
        pid = self.run.context.get("payload", {}).get("product_id")
        product = self.db.get(Product, pid) if pid else None
        return [product] if product else []

    def holds(self, cond: dict[str, Any]) -> bool:
        """Whether every part of ``cond`` holds."""
        return all(self._one(name, value) for name, value in cond.items())

    def _one(self, name: str, value: Any) -> bool:
        customer, order = self.customer, self.order
        if name == "any":
            return any(self.holds(c) for c in value)
        if name == "not":
            return not self.holds(value)
        if name == "timed_out":
            return bool(self.run.context.get("timed_out")) == value
        if customer is None:
            return False
        if name == "customer":
            moment = order.placed_at if order else self.run.entered_at
            return (self._orders_before(moment) == 0) == (value == "new")
        if name == "tier":
            return customer.tier in value
        if name in ("amount_at_least", "amount_below"):
            if order is None or order.total_amount is None:
                return False
            amount = Decimal(order.total_amount)
            return (
                amount >= Decimal(str(value)) if name == "amount_at_least" else amount < Decimal(str(value))
            )
        if name == "region":
            return (order.region if order and order.region else customer.region) in value
        if name == "channel":
            return order is not None and order.sales_channel in value
        if name == "preferred_channel":
            return customer.preferred_channel in value
        if name == "marketing_consent":
            consent = customer.consent_marketing and not self._at(customer.unsubscribed_at)
            return bool(consent) == value
        if name == "products":
            return any(p.external_id in value for p in self._products())
        if name == "categories":
            return any(p.category in value for p in self._products())
        if name == "open_case" and self.batch is not None:
            now = self.now
            has_open = any(
                c.opened_at is not None
                and c.opened_at <= now
                and (c.status in OPEN_CASE_STATUSES or (c.resolved_at is not None and c.resolved_at > now))
                for c in self.batch.cases_of(customer.id)
            )
            return has_open == value
        if name == "open_case":
            found = self.db.scalar(
                select(Case.id)
                .where(
                    Case.customer_id == customer.id,
                    Case.opened_at <= self.now,
                    or_(Case.status.in_(OPEN_CASE_STATUSES), Case.resolved_at > self.now),
                )
                .limit(1)
            )
            return (found is not None) == value
        if name == "high_value":
            high = customer.tier == "vip" or self._spend() >= get_settings().journeys_high_value_spend
            return high == value
        if name == "tag" and self.batch is not None:
            return any(t in value for t in self.batch.tags_of(customer.id))
        if name == "tag":
            found = self.db.scalar(
                select(CustomerTag.id).where(
                    CustomerTag.customer_id == customer.id, CustomerTag.tag.in_(value)
                )
            )
            return found is not None
        raise ValueError(f"unknown condition {name!r}")

    def exit_reason(self, exits: Sequence[str]) -> str | None:
        """The first exit condition that holds now, or None."""
        order, customer = self.order, self.customer
        for name in exits:
            if name.startswith("order.") and order is not None:
                column = ORDER_EVENT_COLUMNS.get(name)
                if column and self._at(getattr(order, column)):
                    return name
            elif name == "customer.ordered" and self.batch is not None:
                entered, now = self.run.entered_at, self.now
                if any(
                    o.placed_at is not None and entered < o.placed_at <= now
                    for o in self.batch.orders_of(self.run.customer_id)
                ):
                    return name
            elif name == "customer.ordered":
                found = self.db.scalar(
                    select(Order.id)
                    .where(
                        Order.customer_id == self.run.customer_id,
                        Order.placed_at > self.run.entered_at,
                        Order.placed_at <= self.now,
                    )
                    .limit(1)
                )
                if found is not None:
                    return name
            elif (
                name == "customer.unsubscribed"
                and customer is not None
                and self._at(customer.unsubscribed_at)
            ):
                return name
            elif name == "case.resolved" and self.case_id is not None:
                case = self.db.get(Case, self.case_id)
                if case is not None and self._at(case.resolved_at):
                    return name
            elif name in ("survey.answered", "chat.replied"):
                match = [JourneyEvent.customer_id == self.run.customer_id]
                if name == "chat.replied" and self.run.ref:
                    match = [JourneyEvent.ref == self.run.ref]
                found = self.db.scalar(
                    select(JourneyEvent.id)
                    .where(
                        JourneyEvent.kind == name,
                        *match,
                        JourneyEvent.occurred_at >= self.run.entered_at,
                        JourneyEvent.occurred_at <= self.now,
                    )
                    .limit(1)
                )
                if found is not None:
                    return name
        return None

    def variables(self) -> dict[str, Any]:
        """Template variables of the run: its order, product, dates, links and the event's payload."""
        s = get_settings()
        shop = s.shop_url.rstrip("/")
        payload: dict[str, Any] = dict(self.run.context.get("payload") or {})
        customer = self.customer
        locale = customer.locale if customer and customer.locale in ("zh", "en") else s.default_locale
        out: dict[str, Any] = {"link": shop, "cart_link": f"{shop}/cart", "tips": _tip(None, locale)}
        products = self._products()
        if products:
            out["product"] = products[0].name
            out["products"] = "、".join(p.name for p in products[:3])
            out["tips"] = _tip(products[0].category, locale)
        order = self.order
        if order is not None:
            if not order.carrier_id:
                carrier = None
            elif self.batch is not None:
                carrier = self.batch.carrier(order.carrier_id)
            else:
                carrier = self.db.get(Carrier, order.carrier_id)
            out |= {
                "order": order.external_id,
                "amount": f"{Decimal(order.total_amount or 0):.2f}",
                "placed_date": _day(order.placed_at),
                "shipped_date": _day(order.shipped_at),
                "delivered_date": _day(order.delivered_at),
                "promised_date": _day(order.promised_delivery_at),
                "carrier": carrier.name if carrier else "",
                "link": f"{shop}/orders/{order.external_id}",
                "pay_link": f"{shop}/pay/{order.external_id}",
            }
            out.setdefault("product", order.external_id)
            out.setdefault("products", out["product"])
        case_id = self.case_id
        if case_id is not None:
            out["case"] = f"C{case_id}"
        for key in ("festival", "festival_date", "question", "expected_date", "case"):
            if key in payload:
                out[key] = payload[key]
        if locale == "en" and "festival_en" in payload:
            out["festival"] = payload["festival_en"]
        out.setdefault("product", "")
        return out


def _day(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d") if value else ""


_TIPS: dict[str, dict[str, str]] | None = None


def _tip(category: str | None, locale: str) -> str:
    global _TIPS
    if _TIPS is None:
        import yaml

        _TIPS = yaml.safe_load(TIPS_FILE.read_text(encoding="utf-8")) or {}
    entry = _TIPS.get(category or "") or _TIPS.get("default") or {}
    return str(entry.get(locale) or entry.get("zh") or "")


# --- timers ---------------------------------------------------------------------------------------------


def fire_due(
    db_session: Session, *, now: datetime, limit: int = 500, journeys: dict[str, dict[str, Any]] | None = None
) -> int:
    """Fire up to ``limit`` due timers in this session; returns how many. The caller commits.

    One batch reads its timers, runs, customers, orders and the message rules in a few queries, decides
    each step in Python, and writes its messages, step log, run changes and next timers together.
    """
    query = (
        select(
            JourneyTimer.id,
            JourneyTimer.run_id,
            JourneyTimer.position,
            JourneyTimer.due_at,
            JourneyTimer.wait_event,
            JourneyTimer.fired_by,
        )
        .where(JourneyTimer.status == "pending", JourneyTimer.due_at <= now)
        .order_by(JourneyTimer.due_at, JourneyTimer.id)
        .limit(limit)
    )
    if is_postgres(db_session):
        # Several workers share the due timers: each locks its own batch and skips the others'.
        query = query.with_for_update(skip_locked=True, of=JourneyTimer)
    timers = db_session.execute(query).all()
    if not timers:
        return 0
    # The claim: these timers are done in this transaction (rolled back whole if the worker dies).
    for chunk in _chunks([t.id for t in timers]):
        db_session.execute(
            update(JourneyTimer)
            .where(JourneyTimer.id.in_(chunk))
            .values(status="done", fired_at=now, fired_by=func.coalesce(JourneyTimer.fired_by, "time")),
            execution_options={"synchronize_session": False},
        )
    specs = (
        journeys
        if journeys is not None
        else {j.key: j.definition for j in db_session.scalars(select(Journey))}
    )
    # One query each for the batch's runs, orders and customers: the steps find them in the batch.
    runs = load_runs(db_session, sorted({t.run_id for t in timers}))
    order_ids = sorted({r.order_id for r in runs.values() if r.order_id})
    customer_ids = sorted({r.customer_id for r in runs.values()})
    batch = TimerBatch(db_session, set(customer_ids), set(order_ids))
    for chunk in _chunks(order_ids):
        batch.orders.update((o.id, o) for o in db_session.scalars(select(Order).where(Order.id.in_(chunk))))
    for chunk in _chunks(customer_ids):
        batch.customers.update(
            (c.id, c) for c in db_session.scalars(select(Customer).where(Customer.id.in_(chunk)))
        )
    # The message each send step of the batch would write: one query tells which exist already.
    dedupe_keys = {
        f"journey:{run.id}:{position}"
        for t in timers
        if (run := runs.get(t.run_id)) is not None and (spec := specs.get(run.journey_key)) is not None
        for position, step in enumerate(spec["instructions"])
        if position >= t.position and step["op"] == "action" and step["type"] == "send"
    }
    since = min(min(t.due_at for t in timers), now) - timedelta(days=7)
    db_session.info[BATCH_KEY] = batch
    try:
        # The batch is one transaction; its writes are flushed together rather than before every read.
        with (
            db_session.no_autoflush,
            messaging.rules_prefetched(
                db_session,
                customer_ids=set(customer_ids),
                since=since,
                dedupe_keys=dedupe_keys,
                customers=batch.customers,
            ),
        ):
            for timer in timers:
                fired_by = timer.fired_by or "time"
                run = runs.get(timer.run_id)
                spec = specs.get(run.journey_key) if run else None
                if run is None or spec is None or run.status != "waiting":
                    continue
                run.position = timer.position
                run.context = {**run.context, "timed_out": bool(timer.wait_event) and fired_by != "event"}
                run.status = "active"
                step_now = min(max(timer.due_at, run.entered_at), now) if fired_by == "time" else now
                batch.touched[run.id] = run
                # A RunState reads and changes like a JourneyRun (the engine sees no difference).
                advance(db_session, cast(JourneyRun, run), spec, now=step_now)
            db_session.flush()
            write_runs(db_session, batch.touched.values())
    finally:
        db_session.info.pop(BATCH_KEY, None)
    rows = []
    for row, message in batch.steps:
        if message is not None:
            row[-1] = message.id
        rows.append(dict(zip(_STEP_COLUMNS, row, strict=True)))
    for chunk in _chunks(rows, 500):
        db_session.execute(insert(JourneyStep), chunk)
    return len(timers)


def process_due(*, url: str | None = None, now: datetime | None = None, max_batches: int = 1000) -> int:
    """Fire every due timer, one batch per transaction (the scheduler's and workers' job)."""
    total = 0
    batch = get_settings().journeys_batch_size
    for _ in range(max_batches):
        with session_scope(url) as s:
            fired = fire_due(s, now=now or clock(), limit=batch)
        total += fired
        if fired < batch:
            break
    return total


# --- capturing events from what other domains wrote -------------------------------------------------------


def _captured(db_session: Session, since: datetime | None, until: datetime) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []

    def window(column: Any) -> Any:
        return and_(column <= until, column >= since) if since else column <= until

    for kind, column_name in ORDER_EVENT_COLUMNS.items():
        column = getattr(Order, column_name)
        for oid, cid, at in db_session.execute(
            select(Order.id, Order.customer_id, column).where(window(column), Order.customer_id.is_not(None))
        ):
            rows.append(
                {"kind": kind, "customer_id": cid, "ref": f"order:{oid}", "occurred_at": at, "payload": {}}
            )
    for eid, cid, pid, at in db_session.execute(
        select(
            CustomerEvent.id, CustomerEvent.customer_id, CustomerEvent.product_id, CustomerEvent.occurred_at
        ).where(
            CustomerEvent.kind == "add_to_cart",
            window(CustomerEvent.occurred_at),
            CustomerEvent.customer_id.is_not(None),
        )
    ):
        rows.append(
            {
                "kind": "cart.added",
                "customer_id": cid,
                "ref": f"cart:{eid}",
                "occurred_at": at,
                "payload": {"product_id": pid},
            }
        )
    for cid, at in db_session.execute(
        select(Customer.id, Customer.first_seen_at).where(window(Customer.first_seen_at))
    ):
        rows.append(
            {
                "kind": "customer.created",
                "customer_id": cid,
                "ref": f"customer:{cid}",
                "occurred_at": at,
                "payload": {},
            }
        )
    for fid, cid, channel, at in db_session.execute(
        select(
            FeedbackItem.id, FeedbackItem.customer_id, FeedbackItem.channel, FeedbackItem.occurred_at
        ).where(window(FeedbackItem.occurred_at), FeedbackItem.customer_id.is_not(None))
    ):
        rows.append(
            {
                "kind": "feedback.received",
                "customer_id": cid,
                "ref": f"feedback:{fid}",
                "occurred_at": at,
                "payload": {"channel": channel},
            }
        )
        if channel in CHAT_CHANNELS:
            rows.append(
                {
                    "kind": "chat.ended",
                    "customer_id": cid,
                    "ref": f"chat:{fid}",
                    "occurred_at": at,
                    "payload": {},
                }
            )
    for case_id, cid, opened, resolved in db_session.execute(
        select(Case.id, Case.customer_id, Case.opened_at, Case.resolved_at).where(
            Case.customer_id.is_not(None), or_(window(Case.opened_at), window(Case.resolved_at))
        )
    ):
        if opened and (since is None or opened >= since) and opened <= until:
            rows.append(
                {
                    "kind": "case.opened",
                    "customer_id": cid,
                    "ref": f"case:{case_id}",
                    "occurred_at": opened,
                    "payload": {},
                }
            )
        if resolved and (since is None or resolved >= since) and resolved <= until:
            rows.append(
                {
                    "kind": "case.resolved",
                    "customer_id": cid,
                    "ref": f"case:{case_id}",
                    "occurred_at": resolved,
                    "payload": {},
                }
            )
    # Survey answers: surveys is below journeys, so journeys reads them rather than being told.
    for iid, cid, survey_id, oid, case_ref, at in db_session.execute(
        select(
            SurveyInvitation.id,
            SurveyInvitation.customer_id,
            SurveyInvitation.survey_id,
            SurveyInvitation.order_id,
            SurveyInvitation.case_id,
            SurveyInvitation.answered_at,
        ).where(window(SurveyInvitation.answered_at), SurveyInvitation.customer_id.is_not(None))
    ):
        rows.append(
            {
                "kind": "survey.answered",
                "customer_id": cid,
                "ref": str(iid),
                "occurred_at": at,
                "payload": {"survey_id": survey_id, "order_id": oid, "case_id": case_ref},
            }
        )
    rows.sort(key=lambda r: (r["occurred_at"], r["kind"]))
    return rows


def capture_events(
    db_session: Session, *, since: datetime | None, until: datetime | None = None, dispatch_new: bool = True
) -> int:
    """Record the events found in orders, cart events, feedback and cases between two times; new ones
    start their journeys at once (unless ``dispatch_new`` is false). Returns how many were new."""
    end = until or clock()
    query = select(JourneyEvent.dedupe_key)
    existing = set(db_session.scalars(query.where(JourneyEvent.occurred_at >= since) if since else query))
    received = clock()
    fresh: list[dict[str, Any]] = []
    for row in _captured(db_session, since, end):
        key = _dedupe_key(row["kind"], row["ref"], row["customer_id"])
        if key not in existing:
            existing.add(key)
            fresh.append({**row, "dedupe_key": key, "received_at": received})
    if not fresh:
        return 0
    db_session.flush()
    # One multi-row INSERT per chunk; a key another writer stored meanwhile is simply not stored again.
    insert = pg_insert if is_postgres(db_session) else sqlite_insert
    for chunk in _chunks(fresh, 500):
        db_session.execute(
            insert(JourneyEvent).values(chunk).on_conflict_do_nothing(index_elements=["dedupe_key"])
        )
    if dispatch_new:
        journeys = _enabled_by_trigger(db_session)
        stale = clock() - timedelta(hours=get_settings().journeys_max_event_age_hours)
        keys = [row["dedupe_key"] for row in fresh]
        for chunk in _chunks(keys, 500):
            for event in db_session.scalars(
                select(JourneyEvent)
                .where(JourneyEvent.dedupe_key.in_(chunk))
                .order_by(JourneyEvent.occurred_at)
            ):
                dispatch(
                    db_session,
                    event,
                    now=max(clock(), event.occurred_at),
                    start=event.occurred_at >= stale,
                    journeys=journeys,
                )
    return len(fresh)


def capture_recent(*, url: str | None = None) -> int:
    """The scheduler's capture: events of the last ``journeys_max_event_age_hours``."""
    with session_scope(url) as s:
        since = clock() - timedelta(hours=get_settings().journeys_max_event_age_hours)
        return capture_events(s, since=since)


# --- calendar -------------------------------------------------------------------------------------------


def festival_dates(year: int) -> dict[str, tuple[date, str, str]]:
    """Each festival's first day in ``year`` with its zh and en name, from the `holidays` library."""
    import holidays

    en = holidays.China(years=year)
    zh = holidays.China(years=year, language="zh_CN")
    out: dict[str, tuple[date, str, str]] = {}
    for key, name in jdef.FESTIVALS.items():
        days = sorted(d for d, n in en.items() if n == name)
        if days:
            out[key] = (
                days[0],
                str(zh.get(days[0]) or name),
                name.replace("Chinese New Year (Spring Festival)", "Spring Festival"),
            )
    return out


def calendar_events(db_session: Session, *, day: date, replay: bool = False, entry_prefix: str = "") -> int:
    """Start the calendar journeys due on ``day`` (festival greetings, quarterly surveys) for their audience."""
    started = 0
    moment = datetime.combine(day, time(0, 0))
    for journey in db_session.scalars(select(Journey).where(Journey.enabled.is_(True))):
        spec = journey.definition
        trigger = spec["trigger"]
        occasions: list[tuple[str, dict[str, Any]]] = []
        if trigger["event"] == "calendar.festival":
            for year in (day.year, day.year + 1):
                for key, (fday, zh_name, en_name) in festival_dates(year).items():
                    if (
                        key in trigger["festivals"]
                        and fday - timedelta(days=int(trigger["days_before"])) == day
                    ):
                        occasions.append(
                            (
                                f"festival:{key}:{fday.isoformat()}",
                                {
                                    "festival": zh_name,
                                    "festival_en": en_name,
                                    "festival_date": fday.isoformat(),
                                },
                            )
                        )
        elif trigger["event"] == "calendar.quarterly" and day.day == 1 and day.month in (1, 4, 7, 10):
            occasions.append((f"quarter:{day.isoformat()}", {}))
        for ref, payload in occasions:
            ids = db_session.scalars(select(Order.customer_id).where(Order.placed_at <= moment).distinct())
            for customer_id in ids:
                if customer_id is None:
                    continue
                event = _record_event(
                    db_session,
                    kind=trigger["event"],
                    customer_id=customer_id,
                    occurred_at=moment,
                    ref=ref,
                    payload=payload,
                )
                if event is None and not replay:
                    continue
                if event is None:
                    event = JourneyEvent(
                        kind=trigger["event"],
                        customer_id=customer_id,
                        ref=ref,
                        occurred_at=moment,
                        payload=payload,
                    )
                if start_run(db_session, spec, event=event, now=moment, entry_prefix=entry_prefix):
                    started += 1
    return started


# --- replay (demo, simulate) ----------------------------------------------------------------------------


#: How often the delay-care scan looks at open orders in a replay (live: the job's interval).
DELIVERY_CARE_EVERY = timedelta(hours=3)


def _warning_model_ready() -> bool:
    from cxloop.delivery import warning

    return warning.load() is not None


def _relevant_kinds(rows: list[Journey]) -> set[str]:
    kinds: set[str] = set()
    for journey in rows:
        spec = journey.definition
        kinds.add(spec["trigger"]["event"])
        kinds.update(e for e in spec.get("exit_when") or [] if e in ("survey.answered", "chat.replied"))
        kinds.update(i["event"] for i in spec["instructions"] if i["op"] == "wait" and "event" in i)
    return kinds


def replay(
    db_session: Session,
    *,
    since: datetime,
    until: datetime,
    keys: Iterable[str] | None = None,
    entry_prefix: str = "",
) -> dict[str, int]:
    """Run the enabled journeys (or ``keys``) over the events between two times, in time order, in this
    session. Timers due before each event fire first, as they would have live."""
    token = _REPLAYING.set(True)
    try:
        return _replay(db_session, since=since, until=until, keys=keys, entry_prefix=entry_prefix)
    finally:
        _REPLAYING.reset(token)


def _replay(
    db_session: Session, *, since: datetime, until: datetime, keys: Iterable[str] | None, entry_prefix: str
) -> dict[str, int]:
    capture_events(db_session, since=since, until=until, dispatch_new=False)
    wanted = set(keys) if keys is not None else None
    rows = [
        j for j in db_session.scalars(select(Journey)) if (j.enabled if wanted is None else j.key in wanted)
    ]
    journeys: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for j in rows:
        journeys[j.trigger].append(j.definition)
    specs = {j.key: j.definition for j in db_session.scalars(select(Journey))}
    # Only events some journey starts on or waits for matter; the others need no visit.
    kinds = _relevant_kinds(rows)
    events = list(
        db_session.scalars(
            select(JourneyEvent)
            .where(
                JourneyEvent.occurred_at >= since,
                JourneyEvent.occurred_at <= until,
                JourneyEvent.kind.in_(sorted(kinds)),
            )
            .order_by(JourneyEvent.occurred_at, JourneyEvent.id)
        )
    )
    counts: Counter[str] = Counter()
    calendar = any(j.trigger.startswith("calendar.") for j in rows)
    # Delay care looks at the open orders every few hours, as its job does live.
    care = any(j.trigger == "order.late_risk" for j in rows) and _warning_model_ready()
    next_scan = since
    day = since.date()
    for event in events:
        while care and next_scan <= event.occurred_at:
            counts["steps"] += _fire_all(db_session, next_scan, specs)
            counts["late_risk"] += scan_late_risk(
                db_session, now=next_scan, journeys=journeys, entry_prefix=entry_prefix
            )
            next_scan += DELIVERY_CARE_EVERY
        while day <= event.occurred_at.date():
            if calendar:
                counts["calendar_runs"] += calendar_events(
                    db_session, day=day, replay=True, entry_prefix=entry_prefix
                )
            day += timedelta(days=1)
        counts["steps"] += _fire_all(db_session, event.occurred_at, specs)
        result = dispatch(
            db_session, event, now=event.occurred_at, journeys=journeys, entry_prefix=entry_prefix
        )
        counts["events"] += 1
        counts["runs"] += len(result.started)
    while care and next_scan <= until:
        counts["steps"] += _fire_all(db_session, next_scan, specs)
        counts["late_risk"] += scan_late_risk(
            db_session, now=next_scan, journeys=journeys, entry_prefix=entry_prefix
        )
        next_scan += DELIVERY_CARE_EVERY
    while day <= until.date():
        if calendar:
            counts["calendar_runs"] += calendar_events(
                db_session, day=day, replay=True, entry_prefix=entry_prefix
            )
        day += timedelta(days=1)
    counts["steps"] += _fire_all(db_session, until, specs)
    db_session.flush()
    return dict(counts)


def _fire_all(db_session: Session, now: datetime, specs: dict[str, dict[str, Any]]) -> int:
    total = 0
    while True:
        # In a replay each timer fires at its own due time, so quiet hours and caps see that time.
        due = db_session.scalar(
            select(func.min(JourneyTimer.due_at)).where(
                JourneyTimer.status == "pending", JourneyTimer.due_at <= now
            )
        )
        if due is None:
            return total
        total += fire_due(db_session, now=due, limit=200, journeys=specs)


@dataclass
class Simulation:
    """What a journey would have done over a period; nothing was sent or kept."""

    journey: str
    start: datetime
    end: datetime
    entered: int = 0
    control: int = 0
    customers_messaged: int = 0
    messages: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    quiet_hours: int = 0
    frequency_cap: int = 0
    tasks: int = 0
    exited: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """As plain data."""
        return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in self.__dict__.items()}


def simulate(db_session: Session, *, key: str, start: datetime, end: datetime) -> Simulation:
    """Replay past events through one journey and report what it would have sent; rolls everything back."""
    get_journey(db_session=db_session, key=key)
    db_session.commit()
    prefix = f"sim:{uuid.uuid4().hex[:8]}:"
    try:
        replay(db_session, since=start, until=end, keys=[key], entry_prefix=prefix)
        runs = list(
            db_session.scalars(
                select(JourneyRun).where(
                    JourneyRun.journey_key == key, JourneyRun.entry_key.startswith(prefix)
                )
            )
        )
        ids = [r.id for r in runs]
        out = Simulation(journey=key, start=start, end=end)
        out.entered = sum(not r.control for r in runs)
        out.control = sum(r.control for r in runs)
        out.exited = dict(Counter(r.exit_reason for r in runs if r.status == "exited" and r.exit_reason))
        steps = (
            list(db_session.scalars(select(JourneyStep).where(JourneyStep.run_id.in_(ids)))) if ids else []
        )
        message_ids = [s.message_id for s in steps if s.message_id]
        messages = (
            list(db_session.scalars(select(CustomerMessage).where(CustomerMessage.id.in_(message_ids))))
            if message_ids
            else []
        )
        would_send = [m for m in messages if m.status in messaging.COUNTED]
        out.messages = dict(Counter(m.template for m in would_send))
        out.customers_messaged = len({m.customer_id for m in would_send})
        out.skipped = dict(Counter(m.reason or "" for m in messages if m.status == "skipped"))
        out.quiet_hours = sum(m.reason == "quiet_hours" for m in would_send)
        out.frequency_cap = out.skipped.get("frequency_cap", 0)
        out.tasks = sum(s.action in ("create_task", "create_case") for s in steps)
        return out
    finally:
        db_session.rollback()


# --- figures and the control-group result -----------------------------------------------------------------


def figures(*, db_session: Session) -> dict[str, dict[str, int]]:
    """Live figures of every journey: entered, control, waiting, done, exited, errors, sent, skipped, failed."""
    out: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for key, status, control, n in db_session.execute(
        select(
            JourneyRun.journey_key, JourneyRun.status, JourneyRun.control, func.count(JourneyRun.id)
        ).group_by(JourneyRun.journey_key, JourneyRun.status, JourneyRun.control)
    ):
        row = out[key]
        row["control" if control else "entered"] += int(n)
        if not control:
            row[status] += int(n)
    for source, status, n in db_session.execute(
        select(CustomerMessage.source, CustomerMessage.status, func.count(CustomerMessage.id))
        .where(CustomerMessage.source.startswith("journey:"))
        .group_by(CustomerMessage.source, CustomerMessage.status)
    ):
        key = source.split(":", 1)[1]
        bucket = "sent" if status in ("sent", "queued", "sending") else status
        out[key][bucket] += int(n)
    for key, _action, n in db_session.execute(
        select(JourneyStep.journey_key, JourneyStep.action, func.count(JourneyStep.id))
        .where(JourneyStep.action.in_(("create_task", "create_case")))
        .group_by(JourneyStep.journey_key, JourneyStep.action)
    ):
        out[key]["tasks"] += int(n)
    return {k: dict(v) for k, v in out.items()}


@dataclass
class ControlResult:
    """The goal rate with and without the journey, and the difference with a 95% confidence interval."""

    goal: str
    label: dict[str, str]
    treated: int
    treated_hits: int
    control: int
    control_hits: int
    treated_rate: float | None
    control_rate: float | None
    treated_ci: tuple[float, float] | None
    control_ci: tuple[float, float] | None
    lift: float | None
    lift_ci: tuple[float, float] | None

    def as_dict(self) -> dict[str, Any]:
        """As plain data."""
        return dict(self.__dict__)


def _wilson(hits: int, n: int) -> tuple[float, float] | None:
    if n == 0:
        return None
    from scipy.stats import binomtest

    ci = binomtest(hits, n).proportion_ci(confidence_level=0.95, method="wilson")
    return float(ci.low), float(ci.high)


def control_result(*, db_session: Session, key: str) -> ControlResult | None:
    """The journey's goal reached within its window by treated vs held-out customers (None: no goal)."""
    spec = get_journey(db_session=db_session, key=key).definition
    goal = spec.get("goal")
    if not goal:
        return None
    within = timedelta(seconds=float(goal["within_s"]))
    runs = list(
        db_session.execute(
            select(
                JourneyRun.id,
                JourneyRun.customer_id,
                JourneyRun.order_id,
                JourneyRun.ref,
                JourneyRun.entered_at,
                JourneyRun.control,
            ).where(JourneyRun.journey_key == key, ~JourneyRun.entry_key.startswith("sim:"))
        )
    )
    hit = _goal_hits(db_session, goal["event"], runs, within)
    treated = [r for r in runs if not r.control]
    control = [r for r in runs if r.control]
    t_hits = sum(hit[r.id] for r in treated)
    c_hits = sum(hit[r.id] for r in control)
    t_rate = t_hits / len(treated) if treated else None
    c_rate = c_hits / len(control) if control else None
    t_ci, c_ci = _wilson(t_hits, len(treated)), _wilson(c_hits, len(control))
    lift = lift_ci = None
    if t_rate is not None and c_rate is not None and t_ci and c_ci:
        lift = t_rate - c_rate
        # Newcombe's hybrid score interval for a difference of two proportions (from the Wilson limits).
        low = lift - ((t_rate - t_ci[0]) ** 2 + (c_ci[1] - c_rate) ** 2) ** 0.5
        high = lift + ((t_ci[1] - t_rate) ** 2 + (c_rate - c_ci[0]) ** 2) ** 0.5
        lift_ci = (low, high)
    return ControlResult(
        goal["event"],
        goal["label"],
        len(treated),
        t_hits,
        len(control),
        c_hits,
        t_rate,
        c_rate,
        t_ci,
        c_ci,
        lift,
        lift_ci,
    )


def _goal_hits(db_session: Session, goal: str, runs: list[Any], within: timedelta) -> dict[int, bool]:
    hit: dict[int, bool] = {}
    if goal.startswith("order."):
        column = getattr(Order, ORDER_EVENT_COLUMNS[goal])
        ids = {r.order_id for r in runs if r.order_id}
        times: dict[int, datetime | None] = {}
        for chunk in _chunks(sorted(ids)):
            times.update(dict(db_session.execute(select(Order.id, column).where(Order.id.in_(chunk))).all()))
        for r in runs:
            at = times.get(r.order_id) if r.order_id else None
            hit[r.id] = at is not None and r.entered_at <= at <= r.entered_at + within
        return hit
    by_customer: dict[int, list[datetime]] = defaultdict(list)
    customers = sorted({r.customer_id for r in runs})
    for chunk in _chunks(customers):
        if goal == "customer.ordered":
            query = select(Order.customer_id, Order.placed_at).where(Order.customer_id.in_(chunk))
        else:
            query = select(JourneyEvent.customer_id, JourneyEvent.occurred_at).where(
                JourneyEvent.kind == goal, JourneyEvent.customer_id.in_(chunk)
            )
        for cid, at in db_session.execute(query):
            if cid is not None:
                by_customer[cid].append(at)
    for times_list in by_customer.values():
        times_list.sort()
    for r in runs:
        times_list = by_customer.get(r.customer_id, [])
        i = bisect_right(times_list, r.entered_at)
        hit[r.id] = i < len(times_list) and times_list[i] <= r.entered_at + within
    return hit


def _chunks(items: list[Any], size: int = 900) -> Iterable[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def runs_of(*, db_session: Session, key: str, limit: int = 100) -> list[JourneyRun]:
    """The latest runs of a journey."""
    return list(
        db_session.scalars(
            select(JourneyRun)
            .where(JourneyRun.journey_key == key)
            .order_by(JourneyRun.id.desc())
            .limit(limit)
        )
    )


def steps_summary(*, db_session: Session, key: str) -> dict[int, dict[str, int]]:
    """For each instruction of a journey: how often each outcome happened."""
    out: dict[int, dict[str, int]] = defaultdict(dict)
    for position, outcome, detail, n in db_session.execute(
        select(JourneyStep.position, JourneyStep.outcome, JourneyStep.detail, func.count(JourneyStep.id))
        .where(JourneyStep.journey_key == key)
        .group_by(JourneyStep.position, JourneyStep.outcome, JourneyStep.detail)
    ):
        label = f"{outcome}:{detail}" if outcome == "skipped" and detail else outcome
        out[int(position)][label] = out[int(position)].get(label, 0) + int(n)
    return dict(out)


#: Days of history the demo's journeys replay (the demo's survey step invites only before them).
DEMO_REPLAY_DAYS = 10


def run_demo_history(*, db_session: Session, days: int = DEMO_REPLAY_DAYS) -> dict[str, int]:
    """Load the default journeys and run them over the last ``days`` of the store's history (the demo)."""
    ensure_defaults(db_session=db_session)
    latest = db_session.scalar(select(func.max(Order.placed_at)))
    if latest is None:
        return {}
    counts = replay(db_session, since=latest - timedelta(days=days), until=latest)
    counts["delivered_to_log"] = messaging.deliver_to_log(
        db_session=db_session, until=latest + timedelta(days=1)
    )
    return counts


# --- proactive delivery care ------------------------------------------------------------------------------


def scan_late_risk(
    db_session: Session,
    *,
    now: datetime | None = None,
    order_ids: Sequence[int] | None = None,
    journeys: dict[str, list[dict[str, Any]]] | None = None,
    entry_prefix: str = "",
) -> int:
    """Emit ``order.late_risk`` for open orders likely to miss a promise that has not passed yet.

    The estimate is the delivery domain's (``predict_late_risk``); the journey ``delivery_care`` sends the
    notice and tells the department owning the late stage. Returns how many orders were newly flagged.
    """
    from cxloop.delivery.service import predict_late_risk, warning_threshold

    at = now or clock()
    threshold = warning_threshold()
    flagged = 0
    try:
        # replay: at the clock's now no order is delivered later; in the demo's replay of the past, those
        # delivered after ``at`` were still on their way then.
        risks = predict_late_risk(db_session, now=at, order_ids=order_ids, replay=True)
    except LookupError as exc:  # no early-warning model trained yet: nothing to warn about
        log.info("delivery care skipped: %s", exc)
        return 0
    for risk in risks:
        if risk.probability < threshold or risk.promised_at is None or risk.promised_at <= at:
            continue
        order = db_session.get(Order, risk.order_id)
        if order is None or order.customer_id is None:
            continue
        payload = {
            "expected_date": _day(risk.expected_arrival),
            "expected_at": risk.expected_arrival.isoformat() if risk.expected_arrival else None,
            "promised_at": risk.promised_at.isoformat(),
            "late_stage": risk.late_stage,
            "department": _department_code(db_session, risk.department_id),
            "probability": round(float(risk.probability), 3),
        }
        event = _record_event(
            db_session,
            kind="order.late_risk",
            customer_id=order.customer_id,
            occurred_at=at,
            ref=f"order:{order.id}",
            payload=payload,
        )
        if event is not None:
            dispatch(db_session, event, now=at, journeys=journeys, entry_prefix=entry_prefix)
            flagged += 1
    return flagged


def _department_code(db_session: Session, department_id: Any) -> str:
    if department_id is None:
        return "logistics"
    if isinstance(department_id, str):
        return department_id
    from cxloop.org.models import Department

    department = db_session.get(Department, department_id)
    return str(getattr(department, "code", None) or "logistics")


@dataclass
class DeliveryCareReport:
    """How well delay care warned: late orders warned before their promise, lead time, false alarms."""

    late_orders: int
    late_warned_before_promise: int
    share_late_warned: float | None
    median_lead_hours: float | None
    warnings: int
    warnings_on_time: int
    share_warnings_on_time: float | None

    def as_dict(self) -> dict[str, Any]:
        """As plain data."""
        return dict(self.__dict__)


def delivery_care_report(db_session: Session, *, since: datetime, until: datetime) -> DeliveryCareReport:
    """Delay care over orders promised between two times (from the delay notices sent to customers)."""
    orders = list(
        db_session.execute(
            select(Order.id, Order.promised_delivery_at, Order.delivered_at).where(
                Order.promised_delivery_at >= since,
                Order.promised_delivery_at <= until,
                Order.cancelled_at.is_(None),
            )
        )
    )
    warned: dict[int, datetime] = {}
    for run_order, at in db_session.execute(
        select(JourneyRun.order_id, CustomerMessage.created_at)
        .join(JourneyStep, JourneyStep.run_id == JourneyRun.id)
        .join(CustomerMessage, CustomerMessage.id == JourneyStep.message_id)
        .where(JourneyRun.journey_key == "delivery_care", CustomerMessage.template == "delay_notice")
    ):
        if run_order is not None:
            warned[run_order] = min(at, warned.get(run_order, at))
    late = [o for o in orders if (o.delivered_at or until) > o.promised_delivery_at]
    late_warned = [o for o in late if o.id in warned and warned[o.id] < o.promised_delivery_at]
    leads = sorted((o.promised_delivery_at - warned[o.id]).total_seconds() / 3600 for o in late_warned)
    in_window = [o for o in orders if o.id in warned]
    on_time = [
        o for o in in_window if o.delivered_at is not None and o.delivered_at <= o.promised_delivery_at
    ]
    return DeliveryCareReport(
        late_orders=len(late),
        late_warned_before_promise=len(late_warned),
        share_late_warned=len(late_warned) / len(late) if late else None,
        median_lead_hours=leads[len(leads) // 2] if leads else None,
        warnings=len(in_window),
        warnings_on_time=len(on_time),
        share_warnings_on_time=len(on_time) / len(in_window) if in_window else None,
    )
