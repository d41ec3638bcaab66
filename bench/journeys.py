"""Benchmark of the journey engine: due timers processed (steps/s) and event -> journey start latency.

Usage: ``.venv/bin/python bench/journeys.py [--customers 20000] [--events 200000] [--timers 10000]
[--backend sqlite|postgres|both] [--workers 2]``. The issue's target scale is 1,000,000 customers and
10,000,000 events; the default runs in a few minutes on a shared machine, pass the larger numbers to
run the full scale.

- History: ``--customers`` customers with one order each and ``--events`` journey events (bulk inserts),
  so lookups run against a table of that size.
- Steps/s: ``--timers`` runs of a journey (``wait 15 minutes`` then ``send unpaid_reminder.new``: an exit
  check, the message rules and an outbox row per step) with their timers due; ``process_due`` fires them.
  Baseline in the same run: one transaction per step (batch size 1) on a tenth of them.
- Latency: 300 new ``order.placed`` events through ``emit_event`` + commit (the JSON event endpoint's
  work), p50/p95 of the time until the run and its timer are stored.
- PostgreSQL: the same, the timers fired by ``--workers`` Celery workers (Redis ``CXLOOP_BENCH_REDIS_URL``,
  default db 6) running ``journeys.tick`` at once; ``SKIP LOCKED`` splits the batches between them.
- ``--demo-dir DIR`` (a built demo, e.g. ``make demo``'s folder): delay care on the demo. A copy of its
  database gets the early-warning model trained (``cxloop.delivery.service.train_warning``) if it has
  none, the ``delivery_care`` journey is replayed over the last ``--care-days`` days (scans every 3 h),
  and the figures are: share of late orders warned before the promise passed, median warning lead time,
  share of warnings for orders that then arrived on time.
Writes bench/results/journeys.json. Goals from the issue: >= 2,000 steps/s, p95 <= 1 s.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results" / "journeys.json"
PG_URL = os.environ.get("CXLOOP_BENCH_PG_URL", "postgresql+psycopg://root@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("CXLOOP_BENCH_REDIS_URL", "redis://127.0.0.1:6379/6")
JOURNEY = (
    "key: bench\ntrigger: {event: order.placed}\nsteps:\n- wait: 15 minutes\n- send: unpaid_reminder.new\n"
)


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


def _seed(customers: int, events: int, timers: int) -> None:
    from sqlalchemy import insert, select

    import cxloop.models  # noqa: F401  (every table, for create_all)
    from cxloop.clock import now
    from cxloop.customers.models import Customer
    from cxloop.db import Base, get_engine, session_scope
    from cxloop.journeys import service
    from cxloop.journeys.models import JourneyEvent, JourneyRun, JourneyTimer
    from cxloop.orders.models import Order

    Base.metadata.create_all(get_engine())
    at = now()
    chunk = 20_000
    with session_scope() as s:
        service.load_file(db_session=s, path="bench.yaml", text=JOURNEY)
    with get_engine().begin() as conn:
        for start in range(0, customers, chunk):
            ids = range(start, min(customers, start + chunk))
            conn.execute(
                insert(Customer),
                [
                    {
                        "id": i + 1,
                        "external_id": f"B{i}",
                        "name": f"客户{i}",
                        "phone": f"13{i:09d}",
                        "tier": "new",
                        "consent_marketing": i % 2 == 0,
                    }
                    for i in ids
                ],
            )
            conn.execute(
                insert(Order),
                [
                    {
                        "id": i + 1,
                        "external_id": f"BO{i}",
                        "customer_id": i + 1,
                        "placed_at": at - timedelta(hours=1),
                        "total_amount": Decimal("88.00"),
                        "status": "placed",
                        "currency": "CNY",
                    }
                    for i in ids
                ],
            )
        for start in range(0, events, chunk):
            ids = range(start, min(events, start + chunk))
            conn.execute(
                insert(JourneyEvent),
                [
                    {
                        "kind": "feedback.received",
                        "customer_id": i % customers + 1,
                        "ref": f"feedback:{i}",
                        "dedupe_key": f"feedback.received|feedback:{i}|{i % customers + 1}",
                        "occurred_at": at - timedelta(days=30, seconds=i),
                        "payload": {},
                        "received_at": at,
                    }
                    for i in ids
                ],
            )
        for start in range(0, timers, chunk):
            ids = range(start, min(timers, start + chunk))
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
    with session_scope() as s:
        assert s.scalar(select(JourneyRun.id).limit(1)) is not None
        if s.bind is not None and s.bind.dialect.name == "postgresql":
            from sqlalchemy import text

            # The rows above were written with their ids: move the sequences past them.
            for table in ("customers", "orders", "journey_runs"):
                s.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
                    )
                )


def _steps_per_s(timers: int) -> dict[str, float]:
    from cxloop.config import get_settings
    from cxloop.journeys import service

    baseline_n = max(50, timers // 10)
    os.environ["CXLOOP_JOURNEYS_BATCH_SIZE"] = "10"  # settings minimum; stands for "one step per commit"
    get_settings.cache_clear()
    from cxloop.db import session_scope

    started = time.perf_counter()
    done = 0
    while done < baseline_n:
        with session_scope() as s:
            fired = service.fire_due(s, now=service.clock(), limit=1)
        if not fired:
            break
        done += fired
    baseline = done / (time.perf_counter() - started)
    os.environ["CXLOOP_JOURNEYS_BATCH_SIZE"] = "500"
    get_settings.cache_clear()
    started, cpu = time.perf_counter(), time.process_time()
    fired = service.process_due()
    elapsed, cpu_s = time.perf_counter() - started, time.process_time() - cpu
    # CPU seconds too: on a shared machine the wall clock also measures the other tenants.
    return {
        "steps": fired,
        "steps_per_s": fired / elapsed,
        "steps_per_cpu_s": fired / cpu_s,
        "baseline_one_per_commit_steps_per_s": baseline,
    }


def _latency(customers: int, n: int = 300) -> dict[str, float]:
    from sqlalchemy import select

    from cxloop.db import session_scope
    from cxloop.journeys import service
    from cxloop.journeys.models import JourneyRun

    times: list[float] = []
    for i in range(n):
        cid = (i * 7919) % customers + 1
        started = time.perf_counter()
        with session_scope() as s:
            service.emit_event(
                s,
                kind="order.placed",
                customer_id=cid,
                occurred_at=service.clock(),
                ref=f"order:{cid}:lat{i}",
            )
        times.append(time.perf_counter() - started)
    with session_scope() as s:
        started_runs = len(
            list(s.scalars(select(JourneyRun.id).where(JourneyRun.entry_key.contains(":lat"))))
        )
    times.sort()
    return {
        "events": n,
        "runs_started": started_runs,
        "p50_s": statistics.median(times),
        "p95_s": times[int(0.95 * (n - 1))],
        "max_s": times[-1],
    }


def _celery_steps(timers: int, workers: int, url: str, data_dir: Path) -> dict[str, float]:
    from sqlalchemy import func, select

    from cxloop.db import session_scope
    from cxloop.journeys.models import JourneyTimer

    queue = f"cxloop-bench-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "CXLOOP_DATABASE_URL": url,
        "CXLOOP_BROKER_URL": REDIS_URL,
        "CXLOOP_CELERY_QUEUE": queue,
        "CXLOOP_DATA_DIR": str(data_dir),
        "CXLOOP_JOURNEYS_BATCH_SIZE": "200",
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
        time.sleep(8)  # both workers connected
        from celery import Celery

        app = Celery("bench", broker=REDIS_URL, backend=REDIS_URL)
        app.conf.task_default_queue = queue
        started = time.perf_counter()
        results = [app.send_task("journeys.tick", kwargs={}, queue=queue) for _ in range(workers * 2)]
        for result in results:
            result.get(timeout=3600)
        elapsed = time.perf_counter() - started
        with session_scope() as s:
            left = s.scalar(select(func.count(JourneyTimer.id)).where(JourneyTimer.status == "pending"))
        return {
            "workers": workers,
            "steps": timers - int(left or 0),
            "steps_per_s": (timers - int(left or 0)) / elapsed,
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
    schema = None
    if backend == "sqlite":
        url = f"sqlite:///{tmp / 'bench.db'}"
    else:
        from sqlalchemy import create_engine, text

        schema = f"bench_journeys_{uuid.uuid4().hex[:8]}"
        admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        admin.dispose()
        url = f"{PG_URL}?options=-csearch_path%3D{schema}"
    _configure(url, tmp)
    try:
        t0 = time.perf_counter()
        _seed(args.customers, args.events, args.timers)
        out: dict[str, Any] = {"seed_s": round(time.perf_counter() - t0, 1)}
        if backend == "postgres" and args.workers:
            out["celery"] = _celery_steps(args.timers, args.workers, url, tmp)
        else:
            out |= _steps_per_s(args.timers)
        out["latency"] = _latency(args.customers)
        return out
    finally:
        from cxloop.db import dispose_engines

        dispose_engines()
        shutil.rmtree(tmp, ignore_errors=True)
        if schema:
            from sqlalchemy import create_engine, text

            admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


def main() -> None:
    """Run the benchmark, print the figures against the goals and the baseline, write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--timers", type=int, default=10_000)
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--demo-dir", type=Path, default=None, help="A built demo: measure delay care on it.")
    parser.add_argument("--care-days", type=int, default=14)
    args = parser.parse_args()
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
    for backend in backends:
        results[backend] = _run(backend, args)
        r = results[backend]
        steps = r.get("celery", r)
        line = f"{backend:>8}: {steps['steps_per_s']:8.0f} steps/s (goal >= 2000)"
        if "steps_per_cpu_s" in r:
            line += f" ({r['steps_per_cpu_s']:.0f} per CPU second)"
        if "baseline_one_per_commit_steps_per_s" in r:
            line += f", baseline one step per commit {r['baseline_one_per_commit_steps_per_s']:.0f} steps/s"
        if "celery" in r:
            line += f" with {r['celery']['workers']} Celery workers"
        lat = r["latency"]
        print(line)
        print(
            f"{'':>8}  event -> journey start p50 {lat['p50_s'] * 1000:.1f} ms, p95 {lat['p95_s'] * 1000:.1f} ms "
            f"(goal p95 <= 1000 ms), runs started {lat['runs_started']}/{lat['events']}"
        )
    RESULTS.parent.mkdir(exist_ok=True)
    # A run of one backend keeps the other backend's last figures in the file.
    previous = json.loads(RESULTS.read_text(encoding="utf-8")) if RESULTS.exists() else {}
    RESULTS.write_text(json.dumps({**previous, **results}, indent=1), encoding="utf-8")
    print(f"written {RESULTS}")


if __name__ == "__main__":
    main()
