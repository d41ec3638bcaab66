"""A 50 MB file with a few bad rows: only those are rejected, everything else is stored."""

from __future__ import annotations

import csv
import random
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cxloop.db import Base
from cxloop.imports.service import import_file

BAD_ROWS = {1234: "2026-02-30", 77_777: "yesterday", 150_001: ""}  # data row index -> bad occurred_at


@pytest.mark.slow
def test_50_mb_file(db_session: Session, tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    rng = random.Random(7)
    words = "物流太慢包装破损客服很好质量不错尺码偏小价格便宜发错货味道很好颜色有色差赠品没有收到"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "channel", "text", "rating", "occurred_at", "customer"])
        index = 0
        while handle.tell() < 50_000_000:
            text = "".join(rng.choice(words) for _ in range(rng.randint(30, 120)))
            when = BAD_ROWS.get(index, f"2026-{1 + index % 11:02d}-{1 + index % 28:02d} 10:00")
            writer.writerow([f"F{index}", "review", text, 1 + index % 5, when, f"C{index % 500}"])
            index += 1
    total = index
    summary = import_file(db_session=db_session, kind="feedback", path=path)
    assert summary.rows_total == total
    assert summary.rejected == len(BAD_ROWS)
    # Data row i is file row i + 2 (the header is row 1).
    assert sorted(e["row"] for e in summary.errors) == sorted(i + 2 for i in BAD_ROWS)
    assert summary.inserted == total - len(BAD_ROWS)
    table = Base.metadata.tables["feedback_items"]
    assert db_session.execute(select(func.count()).select_from(table)).scalar_one() == total - len(BAD_ROWS)
