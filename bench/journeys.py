"""Benchmark of the journey engine: due timers processed (steps/s) and event -> journey start latency.

Usage: ``.venv/bin/python bench/journeys.py [--scale quick|full] [--customers N] [--events N] [--timers N]
[--backend sqlite|postgres|both] [--workers 2] [--baseline-ref REF]``. ``--scale full`` is the issue's
scale (1,000,000 customers, 10,000,000 events, 20,000 due timers); the default ``quick`` (20,000
customers, 200,000 events, 5,000 timers) runs in a minute on a shared machine.

- The store: customers with one order each and ``--events`` journey events, so lookups run against
  tables of that size. It is built once per scale and schema with bulk loads (SQLite ``executemany``
  with the secondary indexes built afterwards, PostgreSQL ``COPY``) and kept: a file under
  ``CXLOOP_BENCH_STORE_DIR`` (default /tmp/cxloop-bench-journeys) and a PostgreSQL schema
  ``bench_journeys_store_...`` in the ``test`` database. Each run empties the journey tables and
  removes the events it added.
- Steps/s: ``--timers`` runs of a journey (``wait 15 minutes`` then ``send unpaid_reminder.new``: an exit
  check, the message rules and an outbox row per step) with their timers due. ``process_due`` fires them
  in batches. **Baseline in the same run**: the engine of ``--baseline-ref`` (default: the commit before
  batching, which ran each step's queries one by one) fires a share of the same timers in a subprocess.
  Wall and CPU seconds are both reported: the machine is shared, the wall clock also measures the others.
- Latency: 300 new ``order.placed`` events through ``emit_event`` + commit (the JSON event endpoint's
  work), p50/p95 of the time until the run and its timer are stored.
- PostgreSQL: the same, the timers fired by ``--workers`` Celery workers (Redis ``CXLOOP_BENCH_REDIS_URL``,
  default db 6) running ``journeys.tick`` at once; ``SKIP LOCKED`` splits the batches between them.
  Their CPU is read from ``/proc`` (the workers and their pool processes).
- ``--demo-dir DIR`` (a built demo, e.g. ``make demo``'s folder): delay care on the demo. A copy of its
  database gets the early-warning model trained (``cxloop.delivery.service.train_warning``) if it has
  none, the ``delivery_care`` journey is replayed over the last ``--care-days`` days (scans every 3 h),
  and the figures are: share of late orders warned before the promise passed, median warning lead time,
  share of warnings for orders that then arrived on time.
Writes bench/results/journeys.json. Goals from the issue: >= 2,000 steps/s, p95 <= 1 s.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results" / "journeys.json"
REPO = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("CXLOOP_BENCH_PG_URL", "postgresql+psycopg://root@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("CXLOOP_BENCH_REDIS_URL", "redis://127.0.0.1:6379/6")
STORE_DIR = Path(os.environ.get("CXLOOP_BENCH_STORE_DIR", "/tmp/cxloop-bench-journeys"))
#: The last commit whose engine ran each step's queries one by one (the batching came after it).
BASELINE_REF = "7b7ac14"
SCALES = {
    "quick": {"customers": 20_000, "events": 200_000, "timers": 5_000},
    "full": {"customers": 1_000_000, "events": 10_000_000, "timers": 20_000},
}
JOURNEY = (
    "key: bench\ntrigger: {event: order.placed}\nsteps:\n- wait: 15 minutes\n- send: unpaid_reminder.new\n"
)
#: Tables a run writes; emptied before each run on the kept store.
RUN_TABLES = ("journey_steps", "customer_messages", "journey_timers", "journey_runs", "journeys")
CHUNK = 50_000


def _configure(url: str, data_dir: Path) -> None:
    os.environ["CXLOOP_DATA_DIR"] = str(data_dir)
    os.environ["CXLOOP_DATABASE_URL"] = url
    os.environ["CXLOOP_SMS_PROVIDER"] = "log"
    os.environ["CXLOOP_MESSAGE_QUIET_START"] = "00:00"
    os.environ["CXLOOP_MESSAGE_QUIET_END"] = "00:00"
    os.environ.pop("CXLOOP_BROKER_URL", None)
    from cxloop.config import get_settings
    from cxloop.db import dispose_engines

    dispose_engines()
    get_settings.cache_clear()


# --- the store: built once per scale and schema, with bulk loads ------------------------------------------


def _schema_tag() -> str:
    """A short hash of every table's DDL: a store built for another schema is not reused."""
    from sqlalchemy.dialects import sqlite
    from sqlalchemy.schema import CreateTable

    import cxloop.models  # noqa: F401  (every table)
    from cxloop.db import Base

    ddl = "".join(str(CreateTable(t).compile(dialect=sqlite.dialect())) for t in Base.metadata.sorted_tables)
    return hashlib.sha256(ddl.encode()).hexdigest()[:10]


def _columns_and_defaults(table: Any, at: datetime) -> dict[str, Any]:
    """Each column's value when a row does not give one: its Python default (a bulk load skips them)."""
    out: dict[str, Any] = {}
    for column in table.columns:
        default = column.default
        if default is not None and default.is_scalar:
            out[column.name] = default.arg
        elif default is not None and default.is_callable:
            out[column.name] = at  # the timestamp defaults (business_now)
        else:
            out[column.name] = None
    return out


def _store_rows(customers: int, events: int, at: datetime) -> Iterator[tuple[str, Iterator[dict[str, Any]]]]:
    yield (
        "customers",
        (
            {
                "id": i + 1,
                "external_id": f"B{i:08d}",
                "name": f"客户{i}",
                "phone": f"13{i:09d}",
                "tier": "new",
                "consent_marketing": i % 2 == 0,
            }
            for i in range(customers)
        ),
    )
    yield (
        "orders",
        (
            {
                "id": i + 1,
                "external_id": f"BO{i:08d}",
                "customer_id": i + 1,
                "placed_at": at - timedelta(hours=1),
                "total_amount": Decimal("88.00"),
            }
            for i in range(customers)
        ),
    )
    yield (
        "journey_events",
        (
            {
                "id": i + 1,
                "kind": "feedback.received",
                "customer_id": i % customers + 1,
                # Zero-padded so the unique key grows in order: its index is appended to, not shuffled.
                "ref": f"feedback:{i:09d}",
                "dedupe_key": f"feedback.received|feedback:{i:09d}|{i % customers + 1}",
                "occurred_at": at - timedelta(days=30, seconds=i),
                "payload": {},
                "received_at": at,
            }
            for i in range(events)
        ),
    )


def _sqlite_value(value: Any) -> Any:
    # The values as SQLAlchemy writes them to SQLite (datetimes with microseconds, so they compare).
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict):
        return json.dumps(value)
    return value


def _batched(rows: Iterable[dict[str, Any]], size: int = CHUNK) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _build_sqlite_store(path: Path, customers: int, events: int) -> None:
    from sqlalchemy import create_engine

    import cxloop.models  # noqa: F401
    from cxloop.clock import now as business_now
    from cxloop.db import Base

    building = path.with_suffix(".building")
    building.unlink(missing_ok=True)
    engine = create_engine(f"sqlite:///{building}")
    Base.metadata.create_all(engine)
    engine.dispose()
    at = business_now()
    conn = sqlite3.connect(building)
    conn.execute("PRAGMA journal_mode=OFF")
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-1000000")
    for name, rows in _store_rows(customers, events, at):
        # Secondary indexes are built once after the load (a sort), not row by row.
        indexes = [
            sql
            for (sql,) in conn.execute(
                "SELECT sql FROM sqlite_master WHERE type='index' AND tbl_name=? AND sql IS NOT NULL", (name,)
            )
        ]
        for (index,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type='index' AND tbl_name=? AND sql IS NOT NULL", (name,)
        ).fetchall():
            conn.execute(f'DROP INDEX "{index}"')
        defaults = _columns_and_defaults(Base.metadata.tables[name], at)
        columns = list(defaults)
        statement = f"INSERT INTO {name} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        for batch in _batched(rows):
            conn.executemany(
                statement, [tuple(_sqlite_value(r.get(c, defaults[c])) for c in columns) for r in batch]
            )
        for sql in indexes:
            conn.execute(sql)
        conn.commit()
    conn.execute("ANALYZE")
    conn.commit()
    conn.close()
    building.rename(path)


def _build_pg_store(schema: str, customers: int, events: int) -> None:
    import psycopg
    from sqlalchemy import create_engine, text

    import cxloop.models  # noqa: F401
    from cxloop.clock import now as business_now
    from cxloop.db import Base

    building = f"{schema}_building"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{building}" CASCADE'))
        conn.execute(text(f'CREATE SCHEMA "{building}"'))
    admin.dispose()
    engine = create_engine(f"{PG_URL}?options=-csearch_path%3D{building}")
    Base.metadata.create_all(engine)
    engine.dispose()
    at = business_now()
    dsn = PG_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, options=f"-csearch_path={building}") as conn:
        # Foreign keys are not checked row by row during the load (every reference is made up to match).
        conn.execute("SET session_replication_role = replica")
        for name, rows in _store_rows(customers, events, at):
            indexes = conn.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = %s AND tablename = %s "
                "AND indexname NOT IN (SELECT conname FROM pg_constraint)",
                (building, name),
            ).fetchall()
            for index, _ in indexes:
                conn.execute(f'DROP INDEX "{index}"')
            defaults = _columns_and_defaults(Base.metadata.tables[name], at)
            columns = list(defaults)
            with conn.cursor().copy(f"COPY {name} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(
                        [
                            json.dumps(v) if isinstance(v, dict) else v
                            for v in (row.get(c, defaults[c]) for c in columns)
                        ]
                    )
            for _, definition in indexes:
                conn.execute(definition)
            conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), (SELECT max(id) FROM {name}))"
            )
            conn.execute(f"ANALYZE {name}")
        conn.commit()
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'ALTER SCHEMA "{building}" RENAME TO "{schema}"'))
    admin.dispose()


def _store(backend: str, customers: int, events: int) -> tuple[str, dict[str, Any]]:
    """The URL of the kept store for this scale (built now if missing) and how long building took."""
    name = f"c{customers}_e{events}_{_schema_tag()}"
    started, cpu = time.perf_counter(), time.process_time()
    built = False
    if backend == "sqlite":
        STORE_DIR.mkdir(parents=True, exist_ok=True)
        path = STORE_DIR / f"store_{name}.db"
        if not path.exists():
            _build_sqlite_store(path, customers, events)
            built = True
        url = f"sqlite:///{path}"
    else:
        from sqlalchemy import create_engine, text

        schema = f"bench_journeys_store_{name}"
        admin = create_engine(PG_URL)
        with admin.connect() as conn:
            exists = conn.execute(
                text("SELECT 1 FROM information_schema.schemata WHERE schema_name = :s"), {"s": schema}
            ).first()
        admin.dispose()
        if exists is None:
            _build_pg_store(schema, customers, events)
            built = True
        url = f"{PG_URL}?options=-csearch_path%3D{schema}"
    info = {"store": name, "built_now": built}
    if built:
        info |= {
            "build_s": round(time.perf_counter() - started, 1),
            "build_cpu_s": round(time.process_time() - cpu, 1),
        }
    return url, info


def _reset(events: int) -> None:
    """Empty what a previous run wrote into the kept store."""
    from sqlalchemy import delete, text

    from cxloop.db import is_postgres, session_scope
    from cxloop.journeys.models import JourneyEvent

    with session_scope() as s:
        if is_postgres(s):
            s.execute(text(f"TRUNCATE {', '.join(RUN_TABLES)} RESTART IDENTITY"))
        else:
            for table in RUN_TABLES:
                s.execute(text(f"DELETE FROM {table}"))
        s.execute(delete(JourneyEvent).where(JourneyEvent.id > events))


def _seed_runs(customers: int, timers: int) -> None:
    """The bench journey and ``timers`` runs waiting on a due timer."""
    from sqlalchemy import insert

    from cxloop.clock import now
    from cxloop.db import get_engine, session_scope
    from cxloop.journeys import service
    from cxloop.journeys.models import JourneyRun, JourneyTimer

    at = now()
    with session_scope() as s:
        service.load_file(db_session=s, path="bench.yaml", text=JOURNEY)
    with get_engine().begin() as conn:
        for start in range(0, timers, CHUNK):
            ids = range(start, min(timers, start + CHUNK))
            conn.execute(
                insert(JourneyRun),
                [
                    {
                        "id": i + 1,
                        "journey_key": "bench",
                        "entry_key": f"ref:order:{i % customers + 1}:{i}",
                        "customer_id": i % customers + 1,
                        "ref": f"order:{i % customers + 1}",
                        "order_id": i % customers + 1,
                        "status": "waiting",
                        "control": False,
                        "position": 1,
                        "context": {"payload": {}, "timed_out": False},
                        "entered_at": at - timedelta(minutes=20),
                    }
                    for i in ids
                ],
            )
            conn.execute(
                insert(JourneyTimer),
                [
                    {"run_id": i + 1, "position": 1, "due_at": at - timedelta(minutes=5), "status": "pending"}
                    for i in ids
                ],
            )
        if conn.dialect.name == "postgresql":
            from sqlalchemy import text

            # The runs were written with their ids: move the sequence past them.
            conn.execute(
                text(
                    "SELECT setval(pg_get_serial_sequence('journey_runs', 'id'), (SELECT max(id) FROM journey_runs))"
                )
            )


# --- measurements ---------------------------------------------------------------------------------------

BASELINE_SCRIPT = """
import json, sys, time
from cxloop.clock import now as business_now
from cxloop.db import session_scope
from cxloop.journeys import service
n = int(sys.argv[1])
started, cpu = time.perf_counter(), time.process_time()
with session_scope() as s:
    fired = service.fire_due(s, now=business_now(), limit=n)
print(json.dumps({"steps": fired, "wall_s": time.perf_counter() - started, "cpu_s": time.process_time() - cpu}))
"""


def _baseline(ref: str, n: int) -> dict[str, Any]:
    """The engine of commit ``ref`` (from ``git archive``) firing ``n`` of the due timers, in a subprocess."""
    source = STORE_DIR / f"baseline-{ref}"
    if not (source / "src" / "cxloop").is_dir():
        source.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(
            ["git", "-C", str(REPO), "archive", ref, "src"], capture_output=True, check=False
        )
        if archive.returncode != 0:
            return {"ref": ref, "error": archive.stderr.decode(errors="replace").strip()[:300]}
        subprocess.run(["tar", "-x", "-C", str(source)], input=archive.stdout, check=True)
    env = {**os.environ, "PYTHONPATH": str(source / "src")}
    out = subprocess.run(
        [sys.executable, "-c", BASELINE_SCRIPT, str(n)], env=env, capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        return {"ref": ref, "error": out.stderr.strip()[-300:]}
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    return {
        "ref": ref,
        "steps": figures["steps"],
        "steps_per_s": figures["steps"] / figures["wall_s"],
        "cpu_s": round(figures["cpu_s"], 2),
        "steps_per_cpu_s": figures["steps"] / max(figures["cpu_s"], 1e-9),
    }


def _steps_per_s() -> dict[str, Any]:
    from cxloop.journeys import service

    started, cpu, db0 = time.perf_counter(), time.process_time(), _db_server_cpu()
    fired = service.process_due()
    elapsed, cpu_s = time.perf_counter() - started, time.process_time() - cpu
    return {
        "steps": fired,
        "wall_s": round(elapsed, 2),
        "cpu_s": round(cpu_s, 2),
        "db_server_cpu_s": round(_db_server_cpu() - db0, 2),
        "steps_per_s": fired / elapsed,
        "steps_per_cpu_s": fired / max(cpu_s, 1e-9),
    }


def _latency(customers: int, n: int = 300) -> dict[str, float]:
    from sqlalchemy import func, select

    from cxloop.db import session_scope
    from cxloop.journeys import service
    from cxloop.journeys.models import JourneyRun

    times: list[float] = []
    token = uuid.uuid4().hex[:6]
    for i in range(n):
        cid = (i * 7919) % customers + 1
        started = time.perf_counter()
        with session_scope() as s:
            service.emit_event(
                s,
                kind="order.placed",
                customer_id=cid,
                occurred_at=service.clock(),
                ref=f"order:{cid}:lat{token}{i}",
            )
        times.append(time.perf_counter() - started)
    with session_scope() as s:
        started_runs = s.scalar(
            select(func.count(JourneyRun.id)).where(JourneyRun.entry_key.contains(f":lat{token}"))
        )
    times.sort()
    return {
        "events": n,
        "runs_started": int(started_runs or 0),
        "p50_s": statistics.median(times),
        "p95_s": times[int(0.95 * (n - 1))],
        "max_s": times[-1],
    }


def _proc_cpu() -> dict[int, tuple[int, str, float]]:
    """Every process's parent, name and CPU seconds (user + system), from /proc."""
    out: dict[int, tuple[int, str, float]] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:
            continue
        name = text[text.index("(") + 1 : text.rindex(")")]
        fields = text.rsplit(")", 1)[1].split()
        out[int(entry.name)] = (int(fields[1]), name, (int(fields[11]) + int(fields[12])) / tick)
    return out


def _db_server_cpu() -> float:
    """CPU seconds of the PostgreSQL server's processes so far (other clients' work included)."""
    return sum(cpu for _, name, cpu in _proc_cpu().values() if name == "postgres")


def _tree_cpu(roots: list[int]) -> float:
    """CPU seconds (user + system) of live processes ``roots`` and all their descendants, from /proc."""
    procs = _proc_cpu()
    parents = {pid: parent for pid, (parent, _, _) in procs.items()}
    cpu = {pid: value for pid, (_, _, value) in procs.items()}
    total = 0.0
    for pid, value in cpu.items():
        at = pid
        while at > 1:
            if at in roots:
                total += value
                break
            at = parents.get(at, 0)
    return total


def _celery_steps(timers: int, workers: int, url: str, data_dir: Path) -> dict[str, Any]:
    from sqlalchemy import func, select

    from cxloop.db import session_scope
    from cxloop.journeys.models import JourneyTimer

    with session_scope() as s:
        pending = int(
            s.scalar(select(func.count(JourneyTimer.id)).where(JourneyTimer.status == "pending")) or 0
        )
    queue = f"cxloop-bench-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "CXLOOP_DATABASE_URL": url,
        "CXLOOP_BROKER_URL": REDIS_URL,
        "CXLOOP_CELERY_QUEUE": queue,
        "CXLOOP_DATA_DIR": str(data_dir),
        "CXLOOP_JOURNEYS_BATCH_SIZE": "500",
    }
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "cxloop.cli", "worker", "--concurrency", "1"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(workers)
    ]
    try:
        from celery import Celery

        app = Celery("bench", broker=REDIS_URL, backend=REDIS_URL)
        app.conf.task_default_queue = queue
        # Both workers up: a ping answered by each before the clock starts.
        deadline = time.monotonic() + 120
        while len(app.control.ping(timeout=1.0) or []) < workers and time.monotonic() < deadline:
            time.sleep(0.5)
        cpu0, db0 = _tree_cpu([p.pid for p in procs]), _db_server_cpu()
        started = time.perf_counter()
        results = [app.send_task("journeys.tick", kwargs={}, queue=queue) for _ in range(workers * 2)]
        for result in results:
            result.get(timeout=3600)
        elapsed = time.perf_counter() - started
        cpu_s = _tree_cpu([p.pid for p in procs]) - cpu0
        db_cpu_s = _db_server_cpu() - db0
        with session_scope() as s:
            left = int(
                s.scalar(select(func.count(JourneyTimer.id)).where(JourneyTimer.status == "pending")) or 0
            )
        steps = pending - left
        return {
            "workers": workers,
            "steps": steps,
            "wall_s": round(elapsed, 2),
            "cpu_s": round(cpu_s, 2),
            "db_server_cpu_s": round(db_cpu_s, 2),
            "steps_per_s": steps / elapsed,
            "steps_per_cpu_s": steps / max(cpu_s, 1e-9),
        }
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


def _delivery_care(demo_dir: Path, days: int) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="bench-journeys-care-"))
    try:
        shutil.copy2(demo_dir / "cxloop.db", tmp / "cxloop.db")
        if (demo_dir / "models").is_dir():
            shutil.copytree(demo_dir / "models", tmp / "models")
        _configure(f"sqlite:///{tmp / 'cxloop.db'}", tmp)
        from sqlalchemy import func, select

        import cxloop.models  # noqa: F401
        from cxloop.db import Base, get_engine, session_scope
        from cxloop.delivery import service as delivery
        from cxloop.delivery import warning
        from cxloop.journeys import service
        from cxloop.orders.models import Order

        Base.metadata.create_all(get_engine())
        out: dict[str, Any] = {}
        with session_scope() as s:
            if warning.load() is None:
                started = time.perf_counter()
                delivery.train_warning(db_session=s, holdout_days=30)
                out["train_s"] = round(time.perf_counter() - started, 1)
                # Kept in the demo's folder (as `cxloop delivery train-warning` would): the next run reuses it.
                if (tmp / "models").is_dir() and not (demo_dir / "models").exists():
                    shutil.copytree(tmp / "models", demo_dir / "models")
            service.ensure_defaults(db_session=s)
            latest = s.scalar(select(func.max(Order.placed_at)))
            since = latest - timedelta(days=days)
            started = time.perf_counter()
            out["replay"] = service.replay(s, since=since, until=latest, keys=["delivery_care"])
            out["replay_s"] = round(time.perf_counter() - started, 1)
            # Promises inside the window whose outcome is known by the end of the history.
            report = service.delivery_care_report(
                s, since=since + timedelta(days=1), until=latest - timedelta(days=1)
            )
            out |= report.as_dict()
        return out
    finally:
        from cxloop.db import dispose_engines

        dispose_engines()
        shutil.rmtree(tmp, ignore_errors=True)


def _run(backend: str, args: argparse.Namespace) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix=f"bench-journeys-{backend}-"))
    try:
        url, out = _store(backend, args.customers, args.events)
        _configure(url, tmp)
        _reset(args.events)
        t0 = time.perf_counter()
        _seed_runs(args.customers, args.timers)
        out["seed_runs_s"] = round(time.perf_counter() - t0, 1)
        share = min(1000, max(100, args.timers // 10))
        out["baseline"] = _baseline(args.baseline_ref, share) if args.baseline_ref else {}
        if backend == "postgres" and args.workers:
            out["celery"] = _celery_steps(args.timers, args.workers, url, tmp)
        else:
            out |= _steps_per_s()
        out["latency"] = _latency(args.customers)
        return out
    finally:
        from cxloop.db import dispose_engines

        dispose_engines()
        shutil.rmtree(tmp, ignore_errors=True)


def _report(backend: str, r: dict[str, Any]) -> None:
    steps = r.get("celery", r)
    who = f"{r['celery']['workers']} Celery workers" if "celery" in r else "one process"
    print(
        f"{backend:>8}: {steps['steps_per_s']:8.0f} steps/s (goal >= 2000), {who}: {steps['steps']} steps in "
        f"{steps['wall_s']} s wall, {steps['cpu_s']} s CPU ({steps['steps_per_cpu_s']:.0f} steps per CPU second)"
    )
    if backend == "postgres":
        print(
            f"{'':>8}  PostgreSQL server processes meanwhile: {steps['db_server_cpu_s']} s CPU (all its clients)"
        )
    base = r.get("baseline") or {}
    if "error" in base:
        print(f"{'':>8}  baseline {base['ref']}: not measured ({base['error']})")
    elif base:
        print(
            f"{'':>8}  baseline {base['ref']} (one query at a time per step): {base['steps_per_s']:.0f} steps/s, "
            f"{base['steps']} steps, {base['cpu_s']} s CPU ({base['steps_per_cpu_s']:.0f} per CPU second)"
        )
    lat = r["latency"]
    print(
        f"{'':>8}  event -> journey start p50 {lat['p50_s'] * 1000:.1f} ms, p95 {lat['p95_s'] * 1000:.1f} ms "
        f"(goal p95 <= 1000 ms), runs started {lat['runs_started']}/{lat['events']}"
    )
    if r.get("built_now"):
        print(f"{'':>8}  store built in {r['build_s']} s ({r['build_cpu_s']} s CPU), kept as {r['store']}")


def main() -> None:
    """Run the benchmark, print the figures against the goals and the baseline, write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", choices=sorted(SCALES), default="quick")
    parser.add_argument("--customers", type=int, default=None)
    parser.add_argument("--events", type=int, default=None)
    parser.add_argument("--timers", type=int, default=None)
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--baseline-ref", default=BASELINE_REF, help="Commit whose engine is the baseline ('' for none)."
    )
    parser.add_argument("--demo-dir", type=Path, default=None, help="A built demo: measure delay care on it.")
    parser.add_argument("--care-days", type=int, default=14)
    args = parser.parse_args()
    for key, value in SCALES[args.scale].items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.demo_dir is not None:
        care = _delivery_care(args.demo_dir, args.care_days)
        print(json.dumps(care, indent=1, default=str))
        RESULTS.parent.mkdir(exist_ok=True)
        (RESULTS.parent / "journeys-delivery-care.json").write_text(json.dumps(care, indent=1, default=str))
        return
    backends = ("sqlite", "postgres") if args.backend == "both" else (args.backend,)
    results: dict[str, Any] = {
        "load_average_at_start": os.getloadavg(),
        "scale": {"customers": args.customers, "events": args.events, "timers": args.timers},
        "machine": f"{platform.machine()} {os.cpu_count()} cpus, {platform.python_version()}",
    }
    print(
        f"load average {os.getloadavg()[0]:.1f} {os.getloadavg()[1]:.1f} {os.getloadavg()[2]:.1f}; scale {results['scale']}"
    )
    for backend in backends:
        results[backend] = _run(backend, args)
        _report(backend, results[backend])
    results["load_average_at_end"] = os.getloadavg()
    print(f"load average at the end {results['load_average_at_end'][0]:.1f}")
    RESULTS.parent.mkdir(exist_ok=True)
    # A run of one backend keeps the other backend's last figures in the file.
    previous = json.loads(RESULTS.read_text(encoding="utf-8")) if RESULTS.exists() else {}
    RESULTS.write_text(json.dumps({**previous, **results}, indent=1), encoding="utf-8")
    print(f"written {RESULTS}")


if __name__ == "__main__":
    main()
