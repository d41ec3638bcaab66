"""Benchmark of the early warning: score every open order of a store for its late risk.

Usage: ``.venv/bin/python bench/delivery.py [--orders 1000000] [--baseline-orders 50000] [--history 20000]``.

1. A model is trained on ``--history`` synthetic finished orders (routes with slow carriers and a slow
   warehouse), as ``cxloop delivery train-warning`` would on a shop's history (cached under /tmp).
2. A SQLite store of ``--orders`` open orders is built with bulk inserts (numpy columns, one
   ``executemany``) and cached under /tmp, so a rerun starts at once.
3. ``service.predict_late_risk`` scores every open order of the store, as the at-risk list and the
   journeys' delay care call it (orders at or above the warning threshold returned), with wall and CPU
   seconds for (a) read, (b) features, (c) predict (calibrated risk of every order, likely late stage)
   and (d) results (expected arrival predicted for the orders returned, sort, OrderRisk rows; the
   product stores no scores, so there is no database write). Also: rows for every open order (the
   unfiltered API).
4. Baseline, in the same run, on a ``--baseline-orders`` store: the previous path, frozen below
   (rows with datetimes through the ORM's type processing, per-value datetime conversion, one predict
   call, a Python loop building an OrderRisk per order), against the new path on the same store.

Writes bench/results/delivery.json. Goal: 1,000,000 open orders in under 60 s.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import random
import sqlite3
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

RESULTS = Path(__file__).parent / "results" / "delivery.json"
CACHE = Path(tempfile.gettempdir())
STORE_VERSION = 1  # bump when the synthetic store changes
NOW = datetime(2026, 9, 1, 12, 0)
WAREHOUSES = list(range(1, 6))
CARRIERS = list(range(1, 6))
REGIONS = ["上海", "北京", "广东", "江苏", "浙江", "四川", "湖北", "山东"]
DEPARTMENTS = [("warehouse", "仓储部", "Warehouse"), ("logistics", "物流部", "Logistics"),
               ("finance", "财务部", "Finance")]  # fmt: skip


# ------------------------------------------------------------------------------------ synthetic data


def _timeline(rng: random.Random, i: int, placed: datetime) -> Any:
    """One finished order of the training history (slow warehouse 5, slow carrier 5)."""
    from cxloop.delivery import warning

    wh, cr, region = rng.choice(WAREHOUSES), rng.choice(CARRIERS), rng.choice(REGIONS)
    paid = placed + timedelta(minutes=rng.uniform(1, 60))
    picked = paid + timedelta(hours=rng.lognormvariate(1.5, 0.5) * (3 if wh == 5 else 1))
    sorted_ = picked + timedelta(hours=rng.uniform(0.5, 3))
    shipped = sorted_ + timedelta(hours=rng.uniform(1, 6))
    delivered = shipped + timedelta(hours=rng.lognormvariate(3.3, 0.4) * (1.8 if cr == 5 else 1))
    promised = datetime.combine((placed + timedelta(days=3)).date(), datetime.max.time())
    times = {"placed": placed, "paid": paid, "picked": picked, "sorted": sorted_, "shipped": shipped,
             "delivered": delivered}  # fmt: skip
    return warning.Timeline(i, times, promised, wh, cr, region, rng.uniform(0.2, 20), delivered > promised)


def _model(history: int, data_dir: Path) -> tuple[Any, float]:
    """The trained model (cached under /tmp by history size) saved where the service reads it."""
    from cxloop.delivery import warning

    cached = CACHE / f"cxloop-bench-delivery-model-{history}-v{warning.MODEL_VERSION}.joblib"
    train_s = 0.0
    model = warning.load(cached)
    if model is None:
        rng = random.Random(7)
        start = NOW - timedelta(days=120)
        tls = [
            _timeline(rng, i, start + timedelta(minutes=rng.uniform(0, 110 * 24 * 60)))
            for i in range(history)
        ]
        t = time.perf_counter()
        model = warning.fit(tls, blame_counts={"all": {"carrier": 10, "picking": 5}, "carrier:5": {"carrier": 9},
                                               "warehouse:5": {"picking": 7}},
                            normals={("placed", "paid"): 0.5, ("paid", "picked"): 5.0, ("picked", "sorted"): 1.5,
                                     ("sorted", "shipped"): 3.5, ("shipped", "delivered"): 30.0})  # fmt: skip
        train_s = time.perf_counter() - t
        warning.save(model, cached)
    warning.save(model, data_dir / "models" / "delivery-warning.joblib")
    return model, train_s


def _stamp(values: np.ndarray) -> list[str | None]:
    """datetime64[us] as SQLAlchemy stores a DateTime in SQLite ('YYYY-MM-DD HH:MM:SS.ffffff')."""
    text = np.char.replace(np.datetime_as_string(values, unit="us"), "T", " ").astype(object)
    text[np.isnat(values)] = None
    return list(text)


def _open_columns(n: int, seed: int = 11) -> dict[str, Any]:
    """``n`` open orders somewhere along their way at NOW, as numpy columns (events after NOW unknown)."""
    rng = np.random.default_rng(seed)
    hour = np.timedelta64(3_600_000_000, "us")
    now = np.datetime64(NOW, "us")
    wh = rng.integers(1, 6, n)
    cr = rng.integers(1, 6, n)
    placed = now - (rng.uniform(1, 70, n) * hour).astype("timedelta64[us]")
    paid = placed + (rng.uniform(1, 60, n) / 60 * hour).astype("timedelta64[us]")
    picked = paid + (rng.lognormal(1.5, 0.5, n) * np.where(wh == 5, 3, 1) * hour).astype("timedelta64[us]")
    sorted_ = picked + (rng.uniform(0.5, 3, n) * hour).astype("timedelta64[us]")
    shipped = sorted_ + (rng.uniform(1, 6, n) * hour).astype("timedelta64[us]")
    # Promise: the end of the day three days after placing (a date-only promise).
    promised = (placed.astype("datetime64[D]") + np.timedelta64(4, "D")).astype(
        "datetime64[us]"
    ) - np.timedelta64(1, "us")
    events = {
        "placed_at": placed,
        "paid_at": paid,
        "picked_at": picked,
        "sorted_at": sorted_,
        "shipped_at": shipped,
    }
    events = {k: np.where(v <= now, v, np.datetime64("NaT")) for k, v in events.items()}
    return {"warehouse_id": wh, "carrier_id": cr, "region": rng.choice(np.asarray(REGIONS, dtype=object), n),
            "weight_kg": np.round(rng.uniform(0.2, 20, n), 2), "promised_delivery_at": promised, **events}  # fmt: skip


def _store(n: int) -> tuple[Path, float]:
    """A SQLite store of ``n`` open orders, built with bulk inserts and cached under /tmp."""
    path = CACHE / f"cxloop-bench-delivery-{n}-v{STORE_VERSION}.db"
    if path.exists():
        return path, 0.0
    from sqlalchemy import create_engine

    import cxloop.models  # noqa: F401  (every table on the metadata)
    from cxloop.db import Base

    t = time.perf_counter()
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    engine = create_engine(f"sqlite:///{tmp}")
    Base.metadata.create_all(engine)
    engine.dispose()
    cols = _open_columns(n)
    con = sqlite3.connect(tmp)
    con.execute("PRAGMA journal_mode=OFF")
    con.execute("PRAGMA synchronous=OFF")
    con.executemany("INSERT INTO warehouses (id, external_id, name) VALUES (?, ?, ?)",
                    [(w, f"W{w}", f"W{w}") for w in WAREHOUSES])  # fmt: skip
    con.executemany("INSERT INTO carriers (id, external_id, name) VALUES (?, ?, ?)",
                    [(c, f"C{c}", f"C{c}") for c in CARRIERS])  # fmt: skip
    con.executemany("INSERT INTO departments (code, name_zh, name_en) VALUES (?, ?, ?)", DEPARTMENTS)
    ids = np.arange(1, n + 1)
    names = ["id", "external_id", "status", "currency", "damaged", "lost", "spilled", *cols]
    values = [ids.tolist(), [f"O{i}" for i in ids.tolist()], ["shipped"] * n, ["CNY"] * n, [0] * n, [0] * n,
              [0] * n]  # fmt: skip
    for col in cols.values():
        values.append(_stamp(col) if col.dtype.kind == "M" else col.tolist())
    con.executemany(
        f"INSERT INTO orders ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
        zip(*values, strict=True),
    )
    con.commit()
    con.close()
    tmp.replace(path)
    return path, time.perf_counter() - t


# ------------------------------------------------------------------------------ the previous path
# Frozen copy of predict_late_risk as it was before the columnar read (commit 7b7ac14), for comparison.

_NAT = np.iinfo(np.int64).min
_EPOCH_DAYS = datetime(1970, 1, 1).toordinal()


def _old_times(values: Sequence[Any]) -> np.ndarray:
    secs = np.fromiter(
        (_NAT if d is None else (d.toordinal() - _EPOCH_DAYS) * 86400 + d.hour * 3600 + d.minute * 60 + d.second
         for d in values),
        dtype=np.int64, count=len(values),
    )  # fmt: skip
    return secs.view("datetime64[s]")


def _old_codes(values: Sequence[Any], table: dict[Any, int]) -> np.ndarray:
    return np.fromiter((table.get(v, 0) for v in values), dtype=np.float64, count=len(values))


def _old_features(cols: list[Any], now: datetime, codes: dict[str, dict[Any, int]]) -> np.ndarray:
    from cxloop.delivery.warning import FEATURES, OPEN_EVENTS

    n = len(cols[0])
    events = {e: _old_times(cols[6 + i]) for i, e in enumerate(OPEN_EVENTS)}
    promised = _old_times(cols[1])
    at = np.datetime64(now.replace(microsecond=0), "s")
    hour: Any = np.timedelta64(1, "h")
    seen = {e: np.where(t <= at, t, np.datetime64("NaT")) for e, t in events.items()}
    stage = np.zeros(n, dtype=np.float64)
    last = seen["placed"].copy()
    for i, e in enumerate(OPEN_EVENTS[1:], start=1):
        has = ~np.isnat(seen[e])
        stage[has] = i
        last[has] = seen[e][has]
    placed = events["placed"]
    gaps = [(seen[b] - seen[a]) / hour for a, b in itertools.pairwise(OPEN_EVENTS)]
    day = placed.astype("datetime64[D]")
    minutes = (placed - day).astype("timedelta64[m]").astype(np.float64)
    weekday = ((day.astype(np.int64) + 3) % 7).astype(np.float64)
    weight = np.array([np.nan if w is None else w for w in cols[5]], dtype=np.float64)
    out = [stage, (at - placed) / hour, (at - last) / hour, (promised - at) / hour, (promised - placed) / hour,
           *gaps, minutes / 60.0, weekday, _old_codes(cols[2], codes["warehouse"]),
           _old_codes(cols[3], codes["carrier"]), _old_codes(cols[4], codes["region"]), weight]  # fmt: skip
    return np.column_stack([np.asarray(c, dtype=np.float64) for c in out]).reshape(n, len(FEATURES))


def _old_predict_late_risk(session: Any, now: datetime) -> list[Any]:
    from sqlalchemy import select

    from cxloop.delivery import service, warning
    from cxloop.delivery.schemas import OrderRisk
    from cxloop.orders import outcomes
    from cxloop.orders.models import Order
    from cxloop.org.models import Department

    model = warning.load()
    o = Order
    where = [outcomes.outcome_case(session, now).in_(("open", "late_open")), o.placed_at <= now]
    sel: list[Any] = [o.id, o.promised_delivery_at, o.warehouse_id, o.carrier_id, o.region, o.weight_kg]
    sel += [outcomes.EVENT_COLUMNS[e] for e in warning.OPEN_EVENTS]
    rows = [
        tuple(r) for r in session.execute(select(*sel).where(o.promised_delivery_at.is_not(None), *where))
    ]
    cols = list(zip(*rows, strict=True))
    owners = {code: did for code, did in session.execute(select(Department.code, Department.id))}
    x = _old_features(cols, now, model.codes)
    proba = model.classifier.predict_proba(x)[:, 1]
    hours = np.expm1(np.clip(model.regressor.predict(x), 0, 12))
    promised = _old_times(cols[1])
    proba = np.where(promised < np.datetime64(now.replace(microsecond=0), "s"), 1.0, np.round(proba, 4))
    stage_idx = x[:, warning.FEATURES.index("stage")].astype(np.int64)
    in_stage = x[:, warning.FEATURES.index("hours_since_last_event")]
    guesser = service._StageGuess(model)
    cache: dict[Any, str] = {}
    promised_dt = promised.astype("datetime64[us]").astype(datetime)
    out = []
    for i in range(len(rows)):
        last = int(stage_idx[i])
        seg = guesser.current(last)
        normal = None if seg is None else model.normals.get((seg.start, seg.end))
        stuck = seg is not None and normal is not None and float(in_stage[i]) > normal
        key = (cols[3][i], cols[2][i], last, stuck)
        if key not in cache:
            cache[key] = guesser._guess(cols[3][i], cols[2][i], last, stuck, seg)
        stage = cache[key]
        out.append(OrderRisk(order_id=int(cols[0][i]), probability=float(proba[i]), promised_at=promised_dt[i],
                             expected_arrival=now + timedelta(hours=float(hours[i])), late_stage=stage,
                             department_id=owners.get(outcomes.stage_owner(stage))))  # fmt: skip
    out.sort(key=lambda r: (-r.probability, r.promised_at))
    return out


# ------------------------------------------------------------------------------------------ timing


def _use_store(path: Path) -> None:
    from cxloop.config import get_settings
    from cxloop.db import dispose_engines

    dispose_engines()
    os.environ["CXLOOP_DATABASE_URL"] = f"sqlite:///{path}"
    get_settings.cache_clear()


def _timed(fn: Any) -> tuple[Any, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def _run_new(n: int) -> dict[str, Any]:
    """predict_late_risk on the store of ``n`` orders, phase by phase (wall, CPU)."""
    from cxloop.db import session_scope
    from cxloop.delivery import service

    threshold = service.warning_threshold()
    timings: dict[str, tuple[float, float]] = {}
    with session_scope() as s:
        risks, wall, cpu = _timed(
            lambda: service.predict_late_risk(s, now=NOW, min_probability=threshold, timings=timings)
        )
        scores = service.score_late_risk(s, now=NOW)
        _, all_wall, all_cpu = _timed(lambda: scores.records(scores.select()))
    phases = {k: {"wall_s": round(w, 2), "cpu_s": round(c, 2)} for k, (w, c) in timings.items()}
    return {"orders": len(scores), "at_risk": len(risks), "wall_s": round(wall, 2), "cpu_s": round(cpu, 2),
            "phases": phases, "rows_for_all_wall_s": round(all_wall, 2), "rows_for_all_cpu_s": round(all_cpu, 2)}  # fmt: skip


def _run_compare(n: int) -> dict[str, Any]:
    """The previous path and the new one (every order's row, as the old one built) on one store."""
    from cxloop.db import session_scope
    from cxloop.delivery import service

    with session_scope() as s:
        old, old_wall, old_cpu = _timed(lambda: _old_predict_late_risk(s, NOW))
        new, new_wall, new_cpu = _timed(lambda: service.predict_late_risk(s, now=NOW))
    threshold = service.warning_threshold()
    a = np.asarray([r.probability for r in sorted(old, key=lambda r: r.order_id)])
    b = np.asarray([r.probability for r in sorted(new, key=lambda r: r.order_id)])
    stages = sum(x.late_stage == y.late_stage for x, y in zip(sorted(old, key=lambda r: r.order_id),
                                                              sorted(new, key=lambda r: r.order_id), strict=True))  # fmt: skip
    # The previous path cut times to the second; the new one keeps them (as the training features do),
    # so a few orders near a tree's split or a calibration step move.
    return {"orders": n, "baseline_wall_s": round(old_wall, 2), "baseline_cpu_s": round(old_cpu, 2),
            "new_wall_s": round(new_wall, 2), "new_cpu_s": round(new_cpu, 2),
            "mean_abs_risk_diff": round(float(np.abs(a - b).mean()), 6),
            "same_at_risk_flag_share": round(float(((a >= threshold) == (b >= threshold)).mean()), 4),
            "same_late_stage_share": round(stages / max(n, 1), 4)}  # fmt: skip


def main() -> None:
    """Run the benchmark and write bench/results/delivery.json."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000, help="open orders in the scored store")
    parser.add_argument("--baseline-orders", type=int, default=50_000, help="store size for the baseline")
    parser.add_argument("--history", type=int, default=20_000, help="finished orders to train on")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).parents[1] / "src"))
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["CXLOOP_DATA_DIR"] = tmp
        from cxloop.config import get_settings

        get_settings.cache_clear()
        model, train_s = _model(args.history, Path(tmp))
        print(f"model: {args.history:,} orders, {model.snapshots:,} moments"
              + (f", trained in {train_s:.1f} s" if train_s else " (cached)"))  # fmt: skip
        small, small_build = _store(args.baseline_orders)
        big, big_build = _store(args.orders)
        print(f"stores: {small} ({small_build:.1f} s), {big} ({big_build:.1f} s; 0 = cached)")
        _use_store(small)
        cmp = _run_compare(args.baseline_orders)
        print(f"{cmp['orders']:,} open orders, every order's row: baseline {cmp['baseline_wall_s']} s wall / "
              f"{cmp['baseline_cpu_s']} s CPU; new {cmp['new_wall_s']} s / {cmp['new_cpu_s']} s CPU "
              f"(mean |risk diff| {cmp['mean_abs_risk_diff']}, same at-risk flag {cmp['same_at_risk_flag_share']:.2%}, "
              f"same late stage {cmp['same_late_stage_share']:.1%})")  # fmt: skip
        _use_store(big)
        new = _run_new(args.orders)
    load_after = os.getloadavg()
    print(f"{new['orders']:,} open orders scored, {new['at_risk']:,} at risk: {new['wall_s']} s wall, "
          f"{new['cpu_s']} s CPU")  # fmt: skip
    for name, label in (("read", "(a) read"), ("features", "(b) features"), ("predict", "(c) predict"),
                        ("results", "(d) results")):  # fmt: skip
        p = new["phases"].get(name, {})
        print(f"  {label:<13} {p.get('wall_s')} s wall, {p.get('cpu_s')} s CPU")
    print(f"  rows for all {new['orders']:,} (unfiltered API): {new['rows_for_all_wall_s']} s wall, "
          f"{new['rows_for_all_cpu_s']} s CPU")  # fmt: skip
    print(f"load average before {load_before[0]:.1f}, after {load_after[0]:.1f} ({os.cpu_count()} CPUs)")
    result = {"machine": platform.platform(), "cpus": os.cpu_count(), "load_before": load_before,
              "load_after": load_after, "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
              "compare": cmp, "scored": new, "goal": "1,000,000 open orders in under 60 s"}  # fmt: skip
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
