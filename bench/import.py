"""Benchmark of the feedback import: N generated rows into SQLite and PostgreSQL, then a re-import.

Usage: ``.venv/bin/python bench/import.py [--rows 1000000] [--batch-size 5000] [--skip-postgres]``.
Prints rows/s per database and writes the figures to bench/results/import.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert, text
from sqlalchemy.orm import Session

import cxloop.models  # noqa: F401  (registers every table)
from cxloop.config import get_settings
from cxloop.db import Base, dispose_engines, get_engine

PG_URL = os.environ.get("CXLOOP_BENCH_PG_URL", "postgresql+psycopg://root@127.0.0.1:5432/test")
PG_SCHEMA = "cxbench_imports"
RESULTS = Path(__file__).parent / "results" / "import.json"
N_CUSTOMERS = 20_000
N_ORDERS = 50_000

_PHRASES = (
    "物流太慢了，等了一个星期才到",
    "包装破损，瓶子漏了一半",
    "客服回复很及时，态度也很好",
    "商品和描述一致，质量不错",
    "尺码偏小，建议买大一号",
    "快递员态度差，直接放在门口",
    "价格比别家便宜，性价比高",
    "发错货了，联系客服换货很麻烦",
    "味道很好，家里人都喜欢",
    "页面加载很慢，下单卡了好几次",
    "退款一直没到账，已经催了三次",
    "赠品没有收到",
    "第二次购买了，还是一样满意",
    "颜色和图片有色差",
    "用了两天就坏了，质量堪忧",
)


def _text(rng: random.Random) -> str:
    # Realistic lengths: 30..120 characters of review-like sentences.
    target = rng.randint(30, 120)
    parts: list[str] = []
    length = 0
    while length < target:
        phrase = rng.choice(_PHRASES)
        parts.append(phrase)
        length += len(phrase) + 1
    return "，".join(parts)[:target] + "。"


def generate(path: Path, rows: int, seed: int = 20261122) -> None:
    """Write a deterministic feedback CSV of ``rows`` rows."""
    rng = random.Random(seed)
    channels = ("review", "chat", "ticket", "call", "app", "social")
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "channel", "text", "rating", "occurred_at", "customer", "order", "brand"])
        for i in range(rows):
            order = f"O{rng.randrange(N_ORDERS * 2):07d}" if rng.random() < 0.6 else ""  # half of them known
            writer.writerow(
                [
                    f"F{i:08d}",
                    channels[i % len(channels)],
                    _text(rng),
                    rng.randint(1, 5),
                    f"2026-{rng.randint(1, 11):02d}-{rng.randint(1, 28):02d} {rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00",
                    f"C{rng.randrange(N_CUSTOMERS):06d}",
                    order,
                    "OWN" if rng.random() < 0.8 else "RIVAL",
                ]
            )


def preload(url: str) -> None:
    """Create the schema and the customers and orders the feedback refers to."""
    engine = get_engine(url)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    customers = [{"external_id": f"C{i:06d}", "name": f"客户{i}", "tier": "new"} for i in range(N_CUSTOMERS)]
    orders = [
        {
            "external_id": f"O{i:07d}",
            "customer_id": 1 + i % N_CUSTOMERS,
            "placed_at": datetime(2026, 1 + i % 11, 1, 10),
            "status": "delivered",
            "currency": "CNY",
        }
        for i in range(N_ORDERS)
    ]
    tables = Base.metadata.tables
    with engine.begin() as conn:
        conn.execute(insert(tables["customers"]), customers)
        conn.execute(
            insert(tables["orders"]),
            orders,
        )


def run_once(url: str, path: Path) -> dict[str, Any]:
    """Import the file once into ``url`` and report the counts and speed."""
    from cxloop.imports.service import import_file

    with Session(get_engine(url), expire_on_commit=False) as session:
        summary = import_file(db_session=session, kind="feedback", path=path)
    return {
        "rows": summary.rows_total,
        "inserted": summary.inserted,
        "updated": summary.updated,
        "rejected": summary.rejected,
        "seconds": round(summary.elapsed_s, 2),
        "rows_per_s": round(summary.rows_total / summary.elapsed_s),
    }


def bench(name: str, url: str, path: Path) -> dict[str, Any]:
    """Fresh import then re-import (all updates) into one database."""
    preload(url)
    first = run_once(url, path)
    print(
        f"{name:10s} import   : {first['rows']:>9,} rows in {first['seconds']:7.2f} s = {first['rows_per_s']:>8,} rows/s"
    )
    again = run_once(url, path)
    print(
        f"{name:10s} re-import: {again['rows']:>9,} rows in {again['seconds']:7.2f} s = {again['rows_per_s']:>8,} rows/s"
    )
    dispose_engines()
    return {"import": first, "reimport": again}


def _postgres_url() -> str | None:
    try:
        admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{PG_SCHEMA}" CASCADE'))
            conn.execute(text(f'CREATE SCHEMA "{PG_SCHEMA}"'))
        admin.dispose()
    except Exception as exc:  # any connection failure means: skip, and say why
        print(f"postgresql: skipped ({type(exc).__name__}: {str(exc).splitlines()[0]})")
        return None
    return f"{PG_URL}?options=-csearch_path%3D{PG_SCHEMA}"


def main() -> int:
    """Run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--batch-size", type=int, default=None, help="CXLOOP_IMPORT_BATCH_SIZE for the run")
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cxbench-") as tmp:
        workdir = Path(tmp)
        os.environ["CXLOOP_DATA_DIR"] = str(workdir / "data")
        if args.batch_size:
            os.environ["CXLOOP_IMPORT_BATCH_SIZE"] = str(args.batch_size)
        get_settings.cache_clear()
        source = workdir / "feedback.csv"
        started = time.perf_counter()
        generate(source, args.rows)
        size_mb = source.stat().st_size / 1e6
        print(f"generated {args.rows:,} rows ({size_mb:.0f} MB) in {time.perf_counter() - started:.1f} s")
        results: dict[str, Any] = {
            "rows": args.rows,
            "file_mb": round(size_mb, 1),
            "batch_size": get_settings().import_batch_size,
            "python": sys.version.split()[0],
            "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
            # Shared machines: the load when the run started says how much CPU the figures had.
            "load_average_at_start": round(os.getloadavg()[0], 2),
        }
        results["sqlite"] = bench("sqlite", f"sqlite:///{workdir / 'bench.db'}", source)
        pg_url = None if args.skip_postgres else _postgres_url()
        if pg_url is not None:
            results["postgresql"] = bench("postgresql", pg_url, source)
            admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{PG_SCHEMA}" CASCADE'))
            admin.dispose()
        else:
            results["postgresql"] = {"skipped": "unreachable or --skip-postgres"}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"results written to {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
