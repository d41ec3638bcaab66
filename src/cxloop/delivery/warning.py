"""Early warning of late orders: features of an open order at a moment, and the calibrated model.

The model is scikit-learn's HistGradientBoostingClassifier (native missing values and categorical
route codes) wrapped in CalibratedClassifierCV (isotonic), so a probability of 0.3 means about three
in ten such orders miss their promise. A HistGradientBoostingRegressor on the remaining hours gives the
expected arrival. Both are trained on the shop's own history (``cxloop delivery train-warning``) and
stored in the data folder; nothing is shipped pre-trained, since every shop's routes differ.
"""

from __future__ import annotations

import itertools
import logging
import math
import os
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.ensemble import HistGradientBoostingRegressor

from cxloop import clock
from cxloop.config import get_settings

log = logging.getLogger(__name__)

#: Events an order passes before delivery, in order (orders/outcomes.EVENT_CHAIN without delivered).
OPEN_EVENTS = ("placed", "paid", "picked", "sorted", "shipped")
FEATURES = (
    "stage",
    "hours_since_placed",
    "hours_since_last_event",
    "hours_to_promise",
    "promise_lead_hours",
    "payment_hours",
    "picking_hours",
    "sorting_hours",
    "handover_hours",
    "placed_hour",
    "placed_weekday",
    "warehouse",
    "carrier",
    "region",
    "weight_kg",
)
CATEGORICAL = ("warehouse", "carrier", "region")
#: HistGradientBoosting takes categories as small integers; rarer route values share one code.
MAX_CATEGORIES = 250
MODEL_VERSION = 1
#: Rows per predict call when scoring many open orders.
PREDICT_BATCH = 250_000


@dataclass
class Timeline:
    """What the model knows of one order: its events, promise and route."""

    order_id: int
    times: dict[str, datetime | None]
    promised: datetime
    warehouse: int | None
    carrier: int | None
    region: str | None
    weight_kg: float | None
    missed: bool | None = None  # the label, for history only


@dataclass
class WarningModel:
    """The trained bundle stored in the data folder."""

    classifier: Any
    regressor: Any
    codes: dict[str, dict[Any, int]]
    trained_at: datetime
    orders: int
    snapshots: int
    #: Late orders' blamed stage counts per route part, to name the stage most likely late.
    blame_counts: dict[str, dict[str, int]] = field(default_factory=dict)
    #: Normal hours between two events (start, end) business-wide, from the training history.
    normals: dict[tuple[str, str], float] = field(default_factory=dict)
    evaluation: dict[str, Any] = field(default_factory=dict)
    version: int = MODEL_VERSION


def model_path() -> Path:
    """Where the trained early-warning model lives: ``<data_dir>/models/delivery-warning.joblib``."""
    return get_settings().data_dir / "models" / "delivery-warning.joblib"


def save(model: WarningModel, path: Path | None = None) -> Path:
    """Write the model atomically (a half-written file must never be loaded)."""
    target = path or model_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    import joblib  # scikit-learn and joblib load only when a model is trained or read (issue 10)

    joblib.dump(model, tmp)
    tmp.replace(target)
    return target


#: Models already read, by path, with the file's identity: the journeys' delay care scores open
#: orders every few hours and should not unpickle the model each time.
_LOADED: dict[Path, tuple[tuple[int, int, int], WarningModel | None]] = {}


def load(path: Path | None = None) -> WarningModel | None:
    """The stored model, or None when none has been trained yet (read again when the file changes)."""
    target = path or model_path()
    try:
        st = target.stat()
    except FileNotFoundError:
        return None
    stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
    cached = _LOADED.get(target)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    import joblib

    model = joblib.load(target)
    found = model if isinstance(model, WarningModel) and model.version == MODEL_VERSION else None
    _LOADED[target] = (stamp, found)
    return found


def _hours(a: datetime | None, b: datetime | None) -> float:
    if a is None or b is None:
        return math.nan
    return (b - a).total_seconds() / 3600.0


def known_at(tl: Timeline, at: datetime) -> dict[str, datetime | None]:
    """The events of ``tl`` that had happened by ``at`` (later ones are unknown then)."""
    return {e: (t if t is not None and t <= at else None) for e, t in tl.times.items()}


def feature_row(tl: Timeline, at: datetime, codes: dict[str, dict[Any, int]]) -> list[float]:
    """The features of one order as seen at ``at``."""
    seen = known_at(tl, at)
    placed = tl.times["placed"]
    assert placed is not None
    stage = max(i for i, e in enumerate(OPEN_EVENTS) if seen.get(e) is not None or e == "placed")
    last = seen[OPEN_EVENTS[stage]]
    gaps = [_hours(seen.get(a), seen.get(b)) for a, b in itertools.pairwise(OPEN_EVENTS)]
    return [
        float(stage),
        _hours(placed, at),
        _hours(last, at),
        _hours(at, tl.promised),
        _hours(placed, tl.promised),
        *gaps,
        float(placed.hour) + placed.minute / 60.0,
        float(placed.weekday()),
        float(codes["warehouse"].get(tl.warehouse, 0)),
        float(codes["carrier"].get(tl.carrier, 0)),
        float(codes["region"].get(tl.region, 0)),
        math.nan if tl.weight_kg is None else float(tl.weight_kg),
    ]


def snapshot_times(tl: Timeline) -> list[datetime]:
    """Moments to learn from: each event before delivery and halfway to the next, while still open.

    Halfway points teach the model what a long silence after an event means, as it will meet open
    orders between events, not only at them.
    """
    end = min(t for t in (tl.times.get("delivered"), tl.promised) if t is not None)
    events = sorted(t for e in OPEN_EVENTS if (t := tl.times.get(e)) is not None)
    out: list[datetime] = []
    for i, t in enumerate(events):
        if t >= end:
            break
        out.append(t)
        nxt = min(events[i + 1], end) if i + 1 < len(events) else end
        if nxt > t:
            out.append(t + (nxt - t) / 2)
    return out


def build_codes(timelines: Sequence[Timeline]) -> dict[str, dict[Any, int]]:
    """Small integer codes for warehouses, carriers and regions (0 = unknown or rare)."""
    codes: dict[str, dict[Any, int]] = {}
    for name in CATEGORICAL:
        counts = Counter(getattr(tl, name) for tl in timelines if getattr(tl, name) is not None)
        codes[name] = {v: i + 1 for i, (v, _) in enumerate(counts.most_common(MAX_CATEGORIES))}
    return codes


def training_matrix(
    timelines: Sequence[Timeline], codes: dict[str, dict[Any, int]]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[tuple[int, datetime]]]:
    """Features, late labels, remaining hours to delivery (NaN if never delivered) and (order, moment)."""
    rows: list[list[float]] = []
    labels: list[int] = []
    remaining: list[float] = []
    keys: list[tuple[int, datetime]] = []
    for tl in timelines:
        for at in snapshot_times(tl):
            rows.append(feature_row(tl, at, codes))
            labels.append(1 if tl.missed else 0)
            remaining.append(_hours(at, tl.times.get("delivered")))
            keys.append((tl.order_id, at))
    x = np.asarray(rows, dtype=np.float64).reshape(-1, len(FEATURES))
    return x, np.asarray(labels, dtype=np.int8), np.asarray(remaining, dtype=np.float64), keys


def _classifier() -> CalibratedClassifierCV:
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.ensemble import HistGradientBoostingClassifier

    cats = [FEATURES.index(c) for c in CATEGORICAL]
    mask = np.zeros(len(FEATURES), dtype=bool)
    mask[cats] = True
    base = HistGradientBoostingClassifier(
        max_iter=100, learning_rate=0.1, max_leaf_nodes=31, categorical_features=mask, random_state=0
    )
    # ensemble=False: the calibrator is fitted on out-of-fold predictions, then one model is refitted on
    # everything, so scoring walks one forest instead of three.
    return CalibratedClassifierCV(base, method="isotonic", cv=3, ensemble=False)


def _regressor() -> HistGradientBoostingRegressor:
    from sklearn.ensemble import HistGradientBoostingRegressor

    mask = np.zeros(len(FEATURES), dtype=bool)
    mask[[FEATURES.index(c) for c in CATEGORICAL]] = True
    return HistGradientBoostingRegressor(max_iter=60, categorical_features=mask, random_state=0)


def fit(
    timelines: Sequence[Timeline],
    *,
    blame_counts: dict[str, dict[str, int]] | None = None,
    normals: dict[tuple[str, str], float] | None = None,
) -> WarningModel:
    """Train and calibrate on finished history (each timeline's ``missed`` known)."""
    codes = build_codes(timelines)
    x, y, remaining, _ = training_matrix(timelines, codes)
    if len(set(y.tolist())) < 2 or len(y) < 30:
        raise ValueError("the early warning needs history with both on-time and late orders (30+ moments)")
    with limited_threads():
        clf = _classifier().fit(x, y)
        ok = ~np.isnan(remaining) & (remaining >= 0)
        reg = _regressor().fit(x[ok], np.log1p(remaining[ok])) if ok.sum() >= 10 else None
    return WarningModel(
        classifier=clf, regressor=reg, codes=codes, trained_at=clock.now(), orders=len(timelines),
        snapshots=len(y), blame_counts=blame_counts or {}, normals=normals or {},
    )  # fmt: skip


def predict(model: WarningModel, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Late probability and expected remaining hours for each feature row."""
    return predict_risk(model, x), predict_hours(model, x)


def predict_risk(model: WarningModel, x: np.ndarray) -> np.ndarray:
    """Calibrated late probability for each feature row."""
    return _batched(lambda part: model.classifier.predict_proba(part)[:, 1], x)


def predict_hours(model: WarningModel, x: np.ndarray) -> np.ndarray:
    """Expected hours until delivery for each feature row (asked only for the orders reported)."""
    if model.regressor is None:
        return np.maximum(x[:, FEATURES.index("hours_to_promise")], 0.0)
    return _batched(lambda part: np.expm1(np.clip(model.regressor.predict(part), 0, 12)), x)


def _batched(fn: Callable[[np.ndarray], np.ndarray], x: np.ndarray) -> np.ndarray:
    # Batches bound the memory of sklearn's intermediate arrays; each is large enough that the
    # per-call overhead (input checks, thread start) does not count.
    out = np.zeros(len(x))
    with limited_threads():
        for lo in range(0, len(x), PREDICT_BATCH):
            out[lo : lo + PREDICT_BATCH] = fn(x[lo : lo + PREDICT_BATCH])
    return out


def openmp_threads() -> int | None:
    """OpenMP threads for fitting and scoring: the cores the load average leaves free (at least one);
    None (OpenMP's own choice) when OMP_NUM_THREADS is set.

    On a busy machine more threads than free cores make scikit-learn's threads wait on each other:
    measured on a shared 2-core machine at load 10, predicting 200,000 rows took 9.4 s with 2 threads
    and 5.0 s with 1 (CPU 2.6 s vs 1.5 s); training on the demo (seed 7, scale 0.2) took 66 s
    (48 s CPU) at load 8 with OpenMP's default and 17 s (9 s CPU) with one thread.
    """
    if os.environ.get("OMP_NUM_THREADS"):
        return None  # the operator's choice, which OpenMP already follows
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, cpus - round(os.getloadavg()[0])) if hasattr(os, "getloadavg") else cpus


@contextmanager
def limited_threads() -> Iterator[None]:
    """scikit-learn's OpenMP threads limited to :func:`openmp_threads` for the block."""
    # threadpoolctl limits only the OpenMP runtimes already loaded: load scikit-learn's first.
    import sklearn.ensemble  # noqa: F401
    from threadpoolctl import threadpool_limits  # installed with scikit-learn

    with threadpool_limits(limits=openmp_threads(), user_api="openmp"):
        yield


def evaluate(model: WarningModel, timelines: Sequence[Timeline], *, threshold: float) -> dict[str, Any]:
    """AUC, Brier, calibration bins, precision/recall at ``threshold`` and hours of warning.

    Hours of warning: for each late order caught, from the first moment its risk reached the threshold
    to its promise.
    """
    from sklearn.metrics import brier_score_loss, roc_auc_score

    x, y, _, keys = training_matrix(timelines, model.codes)
    if len(y) == 0 or len(set(y.tolist())) < 2:
        return {"snapshots": len(y)}
    proba, _ = predict(model, x)
    bins: list[dict[str, float]] = []
    edges = np.linspace(0, 1, 11)
    for lo, hi in itertools.pairwise(edges):
        sel = (proba >= lo) & ((proba < hi) if hi < 1 else (proba <= hi))
        if sel.sum():
            bins.append({"from": round(float(lo), 1), "to": round(float(hi), 1), "n": int(sel.sum()),
                         "predicted": round(float(proba[sel].mean()), 4), "observed": round(float(y[sel].mean()), 4)})  # fmt: skip
    flagged = proba >= threshold
    promised = {tl.order_id: tl.promised for tl in timelines}
    first_alarm: dict[int, datetime] = {}
    for (oid, at), p in zip(keys, proba, strict=True):
        if p >= threshold and (oid not in first_alarm or at < first_alarm[oid]):
            first_alarm[oid] = at
    late_ids = {tl.order_id for tl in timelines if tl.missed}
    lead = [_hours(at, promised[oid]) for oid, at in first_alarm.items() if oid in late_ids]
    caught_orders = len([o for o in first_alarm if o in late_ids])
    return {
        "snapshots": len(y),
        "orders": len(timelines),
        "late_orders": len(late_ids),
        "auc": round(float(roc_auc_score(y, proba)), 4),
        "brier": round(float(brier_score_loss(y, proba)), 4),
        "base_rate": round(float(y.mean()), 4),
        "threshold": threshold,
        "precision_at_threshold": round(float(y[flagged].mean()), 4) if flagged.any() else None,
        "recall_at_threshold": round(float(flagged[y == 1].mean()), 4),
        "order_precision": round(caught_orders / len(first_alarm), 4) if first_alarm else None,
        "order_recall": round(caught_orders / len(late_ids), 4) if late_ids else None,
        "median_warning_hours": round(float(np.median(lead)), 2) if lead else None,
        "calibration": bins,
    }


def blame_table(rows: Sequence[tuple[str, int | None, int | None]]) -> dict[str, dict[str, int]]:
    """Blamed-stage counts per ``carrier:<id>``, ``warehouse:<id>`` and ``all`` from (stage, wh, cr)."""
    table: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for stage, wh, cr in rows:
        table["all"][stage] += 1
        if cr is not None:
            table[f"carrier:{cr}"][stage] += 1
        if wh is not None:
            table[f"warehouse:{wh}"][stage] += 1
    return {k: dict(v) for k, v in table.items()}


def now_hours(at: datetime, promised: datetime) -> float:
    """Hours from ``at`` to ``promised`` (negative once the promise has passed)."""
    return (promised - at) / timedelta(hours=1)


@dataclass
class OpenOrders:
    """Open orders as columns (numpy), so a million are scored without a Python loop per order.

    Times are float hours since ``origin`` (NaN = has not happened); the database read computes them
    in SQL, so no datetime object is built per row. Route ids are floats (NaN = none).
    """

    origin: datetime
    order_id: np.ndarray
    events: dict[str, np.ndarray]  # OPEN_EVENTS -> hours since origin
    promised: np.ndarray
    warehouse: np.ndarray
    carrier: np.ndarray
    region: np.ndarray  # object: region names or None
    weight_kg: np.ndarray

    def __len__(self) -> int:
        return len(self.order_id)


def _id_codes(values: np.ndarray, table: dict[Any, int]) -> np.ndarray:
    """Codes of float ids (NaN = none) through ``table``: one dict lookup per distinct value."""
    if len(values) == 0:
        return np.zeros(0)
    uniq, inverse = np.unique(values, return_inverse=True)
    lookup = np.asarray([0 if math.isnan(v) else table.get(int(v), 0) for v in uniq], dtype=np.float64)
    return lookup[inverse.reshape(-1)]


def _name_codes(values: np.ndarray, table: dict[Any, int]) -> np.ndarray:
    get = table.get
    return np.fromiter((get(v, 0) for v in values), dtype=np.float64, count=len(values))


def feature_matrix(orders: OpenOrders, now: datetime, codes: dict[str, dict[Any, int]]) -> np.ndarray:
    """The same features as :func:`feature_row` for many orders at once (checked equal in the tests)."""
    n = len(orders)
    at = (now - orders.origin) / timedelta(hours=1)
    with np.errstate(invalid="ignore"):
        seen = {e: np.where(t <= at, t, np.nan) for e, t in orders.events.items()}
    stage = np.zeros(n, dtype=np.float64)
    last = seen["placed"].copy()
    for i, e in enumerate(OPEN_EVENTS[1:], start=1):
        has = ~np.isnan(seen[e])
        stage[has] = i
        last[has] = seen[e][has]
    placed = orders.events["placed"]
    gaps = [seen[b] - seen[a] for a, b in itertools.pairwise(OPEN_EVENTS)]
    # Seconds since the origin's midnight, rounded to the millisecond: SQL date arithmetic leaves float
    # noise that must not move 09:00:00 to 08:59.
    base = orders.origin.replace(hour=0, minute=0, second=0, microsecond=0)
    secs = np.round(placed * 3600.0 + (orders.origin - base).total_seconds(), 3)
    days = np.floor(secs / 86400.0)
    minutes = np.floor((secs - days * 86400.0) / 60.0)
    weekday = (days + base.weekday()) % 7
    cols = [
        stage,
        at - placed,
        at - last,
        orders.promised - at,
        orders.promised - placed,
        *gaps,
        minutes / 60.0,
        weekday,
        _id_codes(orders.warehouse, codes["warehouse"]),
        _id_codes(orders.carrier, codes["carrier"]),
        _name_codes(orders.region, codes["region"]),
        orders.weight_kg,
    ]
    return np.column_stack([np.asarray(c, dtype=np.float64) for c in cols]).reshape(n, len(FEATURES))


def _floats(values: Sequence[Any]) -> np.ndarray:
    """A column of numbers or None as float64 (None -> NaN), converted in C by numpy."""
    return np.asarray(values, dtype=np.float64).reshape(-1)


def open_orders_from_columns(origin: datetime, columns: Sequence[Any]) -> OpenOrders:
    """Columns (id, promised, warehouse, carrier, region, weight, placed..shipped), times as hours
    since ``origin`` or None, as read in bulk from the database."""
    return OpenOrders(
        origin=origin,
        order_id=np.asarray(columns[0], dtype=np.int64).reshape(-1),
        promised=_floats(columns[1]),
        warehouse=_floats(columns[2]),
        carrier=_floats(columns[3]),
        region=np.asarray(columns[4], dtype=object).reshape(-1),
        weight_kg=_floats(columns[5]),
        events={e: _floats(columns[6 + i]) for i, e in enumerate(OPEN_EVENTS)},
    )


def open_orders_from_rows(rows: Sequence[Sequence[Any]], origin: datetime | None = None) -> OpenOrders:
    """Columns from rows of (id, promised, warehouse, carrier, region, weight, placed..shipped) with
    datetimes (tests and small callers; the database read computes the hours in SQL instead)."""
    start = origin or datetime(2000, 1, 1)
    width = 6 + len(OPEN_EVENTS)
    cols = [list(c) for c in zip(*rows, strict=True)] if rows else [[] for _ in range(width)]
    for i in [1, *range(6, width)]:
        cols[i] = [None if d is None else (d - start) / timedelta(hours=1) for d in cols[i]]
    return open_orders_from_columns(start, cols)
