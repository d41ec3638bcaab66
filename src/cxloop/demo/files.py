"""The demo's import files: their kinds in load order, their columns, and how rows are written."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

#: Import kinds in load order; each is written to ``<kind>.csv`` except feedback (JSON lines).
LOAD_ORDER: tuple[str, ...] = (
    "departments",
    "people",
    "brands",
    "suppliers",
    "products",
    "warehouses",
    "carriers",
    "customers",
    "orders",
    "order_lines",
    "customer_events",
    "feedback",
    "survey_responses",
)

COLUMNS: dict[str, tuple[str, ...]] = {
    "departments": ("code", "name_zh", "name_en", "head"),
    "people": ("id", "name", "email", "phone", "department", "shift", "is_head", "active"),
    "brands": ("id", "name", "is_own"),
    "suppliers": ("id", "name"),
    "products": ("id", "name", "category", "supplier", "brand", "price"),
    "warehouses": ("id", "name", "region"),
    "carriers": ("id", "name"),
    "customers": (
        "id",
        "name",
        "phone",
        "email",
        "wechat",
        "tier",
        "preferred_channel",
        "consent_marketing",
        "region",
        "city",
        "first_seen_at",
    ),
    "orders": (
        "id",
        "customer",
        "brand",
        "warehouse",
        "carrier",
        "sales_channel",
        "region",
        "city",
        "status",
        "total_amount",
        "currency",
        "weight_kg",
        "placed_at",
        "promised_delivery_at",
        "paid_at",
        "picked_at",
        "sorted_at",
        "shipped_at",
        "delivered_at",
        "delivery_failed_at",
        "cancelled_at",
        "refund_requested_at",
        "refunded_at",
        "returned_at",
        "damaged",
        "lost",
        "spilled",
    ),
    "order_lines": ("order", "line_no", "product", "quantity", "unit_price", "amount", "stockout_qty"),
    "customer_events": (
        "id",
        "customer",
        "product",
        "kind",
        "occurred_at",
        "quantity",
        "page",
        "load_ms",
        "session_id",
    ),
    "feedback": (
        "id",
        "channel",
        "text",
        "title",
        "rating",
        "language",
        "occurred_at",
        "customer",
        "order",
        "product",
        "brand",
        "touchpoint",
        "agent",
        "shift",
        "first_response_at",
        "resolved_at",
        "author",
        "url",
    ),
    "survey_responses": (
        "id",
        "survey",
        "kind",
        "score",
        "comment",
        "responded_at",
        "customer",
        "order",
        "brand",
        "touchpoint",
    ),
}

#: The customer-service shift whose first responses are slow (planted problem 4).

TS_FORMAT = "%Y-%m-%d %H:%M:%S"


def file_name(kind: str) -> str:
    """The file name an import kind is written to."""
    return f"{kind}.jsonl" if kind == "feedback" else f"{kind}.csv"


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.strftime(TS_FORMAT)
    return str(value)


def write_csv(path: Path, columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> None:
    """Write ``rows`` as UTF-8 CSV with a header of ``columns``."""
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_cell(row.get(c)) for c in columns])


def write_jsonl(path: Path, columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> None:
    """Write ``rows`` as JSON lines of ``columns`` (times as text, Chinese unescaped)."""
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        for row in rows:
            obj = {}
            for c in columns:
                v = row.get(c)
                obj[c] = v.strftime(TS_FORMAT) if isinstance(v, datetime) else v
            fh.write(json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n")
