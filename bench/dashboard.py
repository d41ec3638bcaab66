"""Dashboard query benchmark: 1,000,000 orders and 1,000,000 feedback items on SQLite.

Builds (or reuses) a SQLite database with core bulk inserts (not the importer), refreshes the metrics
rollups, then times every dashboard query and prints p50/p95 in ms, flagging any p95 over 300 ms.
Results go to bench/results/dashboard.json.

    .venv/bin/python bench/dashboard.py [--db /tmp/cxloop-bench/dashboard.db] [--orders N] [--feedback N]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

import cxloop.models  # noqa: F401  (registers every table)
from cxloop.catalog.models import Brand, Product, Supplier
from cxloop.customers.models import Customer, CustomerEvent
from cxloop.db import Base, get_engine
from cxloop.feedback.models import FeedbackAspect, FeedbackItem, SurveyResponse
from cxloop.logistics.models import Carrier, Warehouse
from cxloop.metrics import service
from cxloop.metrics.models import MetricsDaily
from cxloop.metrics.rollup import refresh
from cxloop.orders.models import Order, OrderLine
from cxloop.periods import Period

LIMIT_MS = 300.0
START = datetime(2025, 11, 1)
DAYS = 365
CHUNK = 50_000
ASPECTS = (
    "product_quality", "description_match", "price_value", "dispatch_speed", "delivery_speed", "packaging",
    "damage_loss", "wrong_missing_item", "courier_service", "cs_attitude", "cs_response", "returns_refunds",
    "app_usability", "payment", "taste", "freshness",
)  # fmt: skip
CHANNELS = ("review", "review", "review", "chat", "ticket", "call", "app", "social")
TOUCHPOINTS = ("browse", "purchase", "wait", "arrival", "use", "after_sales")


def _chunks(rows: Iterator[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= CHUNK:
            yield batch
            batch = []
    if batch:
        yield batch


def _bulk(session: Session, table: Any, rows: Iterator[dict[str, Any]]) -> int:
    n = 0
    for batch in _chunks(rows):
        session.execute(insert(table), batch)
        n += len(batch)
    session.commit()
    return n


def build_orders(session: Session, *, orders: int, seed: int = 1) -> None:
    """Fill an empty database with master data and a year of synthetic orders."""
    rnd = random.Random(seed)
    session.execute(insert(Brand), [
        {"id": 1, "external_id": "OWN", "name": "优选生活", "is_own": True},
        {"id": 2, "external_id": "COMP-A", "name": "悦享家", "is_own": False},
        {"id": 3, "external_id": "COMP-B", "name": "品乐购", "is_own": False},
    ])  # fmt: skip
    session.execute(
        insert(Supplier), [{"id": i, "external_id": f"SUP{i:02d}", "name": f"供应商{i}"} for i in range(1, 9)]
    )
    session.execute(insert(Product), [
        {"id": i, "external_id": f"P{i:04d}", "name": f"商品{i}", "supplier_id": 1 + i % 8, "brand_id": 1}
        for i in range(1, 201)
    ])  # fmt: skip
    session.execute(
        insert(Warehouse), [{"id": i, "external_id": f"WH{i}", "name": f"仓库{i}"} for i in range(1, 5)]
    )
    session.execute(
        insert(Carrier), [{"id": i, "external_id": f"CR{i}", "name": f"快递{i}"} for i in range(1, 5)]
    )
    n_customers = max(1000, orders // 20)
    _bulk(session, Customer, ({
        "id": i, "external_id": f"CU{i}", "tier": rnd.choice(("new", "returning", "vip")),
        "region": rnd.choice(("华东", "华南", "华北", "西南")), "consent_marketing": False,
    } for i in range(1, n_customers + 1)))  # fmt: skip
    h = timedelta(hours=1)

    def order_rows() -> Iterator[dict[str, Any]]:
        for i in range(1, orders + 1):
            placed = START + timedelta(seconds=int(DAYS * 86400 * i / orders))
            wh, cr = rnd.randint(1, 4), rnd.randint(1, 4)
            paid = placed + h * rnd.uniform(0.01, 1.0)
            picked = paid + h * rnd.uniform(2, 8) * (2.5 if wh == 3 and placed.month == 8 else 1.0)
            sorted_ = picked + h * rnd.uniform(0.5, 3)
            shipped = sorted_ + h * rnd.uniform(0.5, 4)
            delivered = shipped + h * rnd.uniform(18, 60)
            failed = rnd.random() < 0.01
            yield {
                "id": i, "external_id": f"O{i}", "customer_id": rnd.randint(1, n_customers), "brand_id": 1,
                "warehouse_id": wh, "carrier_id": cr, "region": rnd.choice(("华东", "华南", "华北", "西南")),
                "sales_channel": rnd.choice(("app", "web", "mini")), "status": "delivered", "currency": "CNY",
                "placed_at": placed, "promised_delivery_at": placed + h * 72, "paid_at": paid, "picked_at": picked,
                "sorted_at": sorted_, "shipped_at": shipped, "delivered_at": None if failed else delivered,
                "delivery_failed_at": delivered if failed else None, "cancelled_at": None,
                "refund_requested_at": delivered if i % 50 == 0 else None,
                "refunded_at": delivered + h * rnd.uniform(2, 48) if i % 50 == 0 else None,
                "damaged": rnd.random() < (0.03 if cr == 2 else 0.004), "lost": rnd.random() < 0.001,
                "spilled": rnd.random() < 0.002,
            }  # fmt: skip

    _bulk(session, Order, order_rows())
    _bulk(session, OrderLine, ({
        "order_id": i, "line_no": 1, "product_id": 1 + (i * 7) % 200, "quantity": 1 + i % 3,
        "stockout_qty": 1 if i % 40 == 0 else 0,
    } for i in range(1, orders + 1)))  # fmt: skip


def build_feedback(session: Session, *, orders: int, feedback: int, seed: int = 2) -> None:
    """A year of feedback items with their aspects, survey answers and page loads."""
    rnd = random.Random(seed)
    n_customers = max(1000, orders // 20)
    h = timedelta(hours=1)
    aspects_out: list[dict[str, Any]] = []

    def feedback_rows() -> Iterator[dict[str, Any]]:
        for i in range(1, feedback + 1):
            at = START + timedelta(seconds=int(DAYS * 86400 * i / feedback))
            channel = rnd.choice(CHANNELS)
            brand = 1 if rnd.random() < 0.85 else rnd.choice((2, 3))
            score = rnd.random()
            sentiment = "negative" if score < 0.3 else ("positive" if score > 0.6 else "neutral")
            cs = channel in ("chat", "ticket", "call")
            shift = rnd.choice(("早班", "晚班", "夜班")) if cs else None
            text = "发货太慢了，包装也破了，客服回复很慢"
            for k in range(1 + i % 2):
                aspect = ASPECTS[(i * 3 + k * 5 + (3 if at.month == 8 else 0)) % len(ASPECTS)]
                aspects_out.append({
                    "feedback_id": i, "aspect": aspect, "sentiment": sentiment, "score": score, "start": 0,
                    "end": 4, "occurred_at": at, "brand_id": brand, "channel": channel,
                })  # fmt: skip
            yield {
                "id": i, "external_id": f"F{i}", "channel": channel, "text": text, "rating": rnd.randint(1, 5),
                "occurred_at": at, "customer_id": rnd.randint(1, n_customers),
                "order_id": rnd.randint(1, orders) if rnd.random() < 0.6 else None,
                "product_id": rnd.randint(1, 200), "brand_id": brand,
                "touchpoint": rnd.choice(TOUCHPOINTS) if rnd.random() < 0.3 else None, "shift": shift,
                "first_response_at": at + timedelta(minutes=rnd.uniform(0.2, 30 if shift == "夜班" else 6)) if cs else None,
                "resolved_at": at + h * rnd.uniform(0.5, 30) if cs else None,
                "sentiment": sentiment, "sentiment_score": score, "analysis_key": "bench|bench",
            }  # fmt: skip

    # Items first, then their aspects, chunk by chunk (aspects reference items by foreign key).
    for batch in _chunks(feedback_rows()):
        session.execute(insert(FeedbackItem), batch)
        session.execute(insert(FeedbackAspect), aspects_out)
        aspects_out.clear()
    session.commit()
    n_surveys = max(1000, orders // 10)
    _bulk(session, SurveyResponse, ({
        "external_id": f"S{i}", "survey": "post_delivery", "kind": ("csat", "nps", "ces")[i % 3],
        "score": rnd.randint(1, 5) if i % 3 == 0 else (rnd.randint(0, 10) if i % 3 == 1 else rnd.randint(1, 7)),
        "responded_at": START + timedelta(seconds=int(DAYS * 86400 * i / n_surveys)), "brand_id": 1,
        "customer_id": rnd.randint(1, n_customers),
    } for i in range(1, n_surveys + 1)))  # fmt: skip
    n_events = max(1000, orders // 5)
    _bulk(session, CustomerEvent, ({
        "external_id": f"E{i}", "kind": "view", "occurred_at": START + timedelta(seconds=int(DAYS * 86400 * i / n_events)),
        "load_ms": int(rnd.lognormvariate(6.5, 0.5)),
    } for i in range(1, n_events + 1)))  # fmt: skip


def _time(fn: Callable[[], Any], repeat: int) -> dict[str, float]:
    fn()  # warm the page cache and the engine's statement cache, as a running server would be
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000.0)
    samples.sort()
    p95 = samples[min(len(samples) - 1, max(0, round(0.95 * len(samples)) - 1))]
    return {
        "p50_ms": round(statistics.median(samples), 1),
        "p95_ms": round(p95, 1),
        "max_ms": round(samples[-1], 1),
    }


def main() -> int:
    """Build or reuse the database, time every dashboard query, print and save the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="/tmp/cxloop-bench/dashboard.db")
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--feedback", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--rebuild", action="store_true", help="Delete and rebuild the database.")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "dashboard.json"))
    args = parser.parse_args()
    path = Path(args.db)
    if args.rebuild and path.exists():
        path.unlink()
    path.parent.mkdir(parents=True, exist_ok=True)
    engine = get_engine(f"sqlite:///{path}")
    Base.metadata.create_all(engine)
    timings: dict[str, Any] = {}
    with Session(engine) as session:
        have = session.scalar(select(func.count()).select_from(Order)) or 0
        have_fb = session.scalar(select(func.count()).select_from(FeedbackItem)) or 0
        if (have and have != args.orders) or (have_fb and have_fb != args.feedback):
            raise SystemExit(f"{path} holds {have} orders and {have_fb} feedback items: use --rebuild")
        t0 = time.perf_counter()
        if not have:
            build_orders(session, orders=args.orders)
        if not have_fb:
            build_feedback(session, orders=args.orders, feedback=args.feedback)
        if not have or not have_fb:
            timings["build_s"] = round(time.perf_counter() - t0, 1)
            print(f"built {args.orders} orders, {args.feedback} feedback items in {timings['build_s']} s")
        if session.scalar(select(func.count()).select_from(MetricsDaily)) == 0:
            t0 = time.perf_counter()
            result = refresh(db_session=session)
            timings["refresh_s"] = round(time.perf_counter() - t0, 1)
            print(
                f"refresh: {result.rows} rollup rows, {result.late_orders} late orders in {timings['refresh_s']} s"
            )
        month = "2026-10"  # the last full month (the generator's last rows fall on 2026-11-01)
        period = Period.month("2026-08")
        top = service.pareto(db_session=session, month="2026-08").items[0].aspect
        queries: dict[str, Callable[[], Any]] = {
            "overview": lambda: service.overview(db_session=session, month=month),
            "pareto": lambda: service.pareto(db_session=session, month="2026-08"),
            "pareto_items": lambda: service.pareto_items(
                db_session=session, month="2026-08", aspect=top, limit=50
            ),
            "pareto_items_page_10": lambda: service.pareto_items(
                db_session=session, month="2026-08", aspect=top, limit=50, offset=500
            ),
            "root_cause": lambda: service.root_cause(db_session=session, month="2026-08"),
            "emotion_map": lambda: service.emotion_map(db_session=session, month=month),
            "scorecards": lambda: service.scorecards(db_session=session, month=month),
            "competitors": lambda: service.competitors(db_session=session, month=month),
            "compute": lambda: service.compute(db_session=session, indicator="on_time_rate", period=period),
            "breakdown_carrier": lambda: service.breakdown(
                db_session=session, indicator="damage_rate", period=period, by="carrier"
            ),
            "breakdown_product": lambda: service.breakdown(
                db_session=session, indicator="negative_share", period=period, by="product"
            ),
            "breakdown_shift": lambda: service.breakdown(
                db_session=session, indicator="cs_first_response_minutes", period=period, by="shift"
            ),
            "series_daily_90d": lambda: service.series(
                db_session=session,
                indicator="on_time_rate",
                start=date(2026, 6, 1),
                end=date(2026, 9, 1),
                grain="day",
            ),
            "series_monthly_12m": lambda: service.series(
                db_session=session,
                indicator="page_load_p90_ms",
                start=date(2025, 11, 1),
                end=date(2026, 11, 1),
            ),
        }
        results = {}
        print(f"{'query':<24}{'p50 ms':>10}{'p95 ms':>10}")
        for name, fn in queries.items():
            r = _time(fn, args.repeat)
            results[name] = r
            flag = "  SLOW (> 300 ms)" if r["p95_ms"] > LIMIT_MS else ""
            print(f"{name:<24}{r['p50_ms']:>10.1f}{r['p95_ms']:>10.1f}{flag}")
    slow = [n for n, r in results.items() if r["p95_ms"] > LIMIT_MS]
    out = {
        "database": "sqlite", "orders": args.orders, "feedback": args.feedback, "repeat": args.repeat,
        "limit_ms": LIMIT_MS, **timings, "queries": results, "slow": slow,
    }  # fmt: skip
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print("all queries under 300 ms" if not slow else f"over 300 ms: {', '.join(slow)}")
    return 1 if slow else 0


if __name__ == "__main__":
    raise SystemExit(main())
