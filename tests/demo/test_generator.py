"""The demo generator: deterministic files, the import formats, and planted problems visible in raw data."""

from __future__ import annotations

import csv
import json
import statistics
from collections import Counter, defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

import opencc
import pytest

from cxloop import vocab
from cxloop.demo.generator import COLUMNS, LOAD_ORDER, DemoManifest, file_digest, generate, month_range

TS = "%Y-%m-%d %H:%M:%S"


def _ts(value: str) -> datetime:
    return datetime.strptime(value, TS)


def _csv(manifest: DemoManifest, kind: str) -> list[dict[str, str]]:
    with manifest.files[kind].open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _feedback(manifest: DemoManifest) -> list[dict[str, Any]]:
    with manifest.files["feedback"].open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def _problem(manifest: DemoManifest, problem_id: str) -> dict[str, Any]:
    return next(p for p in manifest.truth["problems"] if p["id"] == problem_id)


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> DemoManifest:
    """Scale 0.2 (the size the shared test demo uses): planted problems must be findable here."""
    return generate(data_dir=tmp_path_factory.mktemp("demo-small"), seed=7, scale=0.2)


def test_same_seed_gives_identical_files_and_another_seed_does_not(tmp_path: Path) -> None:
    a = generate(data_dir=tmp_path / "a", seed=3, scale=0.05)
    b = generate(data_dir=tmp_path / "b", seed=3, scale=0.05)
    c = generate(data_dir=tmp_path / "c", seed=4, scale=0.05)
    digest_a = file_digest([*a.files.values(), a.truth_path])
    assert digest_a == file_digest([*b.files.values(), b.truth_path])
    assert digest_a != file_digest([*c.files.values(), c.truth_path])
    # Not only the order of draws: the content itself differs with the seed.
    assert a.files["feedback"].read_bytes() != c.files["feedback"].read_bytes()


def test_every_kind_is_written_with_its_columns(small: DemoManifest) -> None:
    assert list(small.files) == list(LOAD_ORDER)
    for kind in LOAD_ORDER:
        path = small.files[kind]
        assert path.parent == small.data_dir / "demo"
        if kind == "feedback":
            first = json.loads(path.read_text(encoding="utf-8").splitlines()[0])
            assert tuple(first) == COLUMNS[kind]
        else:
            with path.open(encoding="utf-8", newline="") as fh:
                assert tuple(next(csv.reader(fh))) == COLUMNS[kind]
        assert small.counts[kind] > 0


def test_truth_file_schema(small: DemoManifest) -> None:
    truth = json.loads(small.truth_path.read_text(encoding="utf-8"))
    assert small.truth_path == small.data_dir / "demo-truth.json"
    assert truth["seed"] == 7
    assert truth["period"] == {"start": "2026-05", "end": "2026-10"}
    ids = [p["id"] for p in truth["problems"]]
    assert ids == ["warehouse_picking_slow", "supplier_quality_defect", "carrier_damage", "cs_shift_slow"]
    for problem in truth["problems"]:
        assert problem["department"] in vocab.DEPARTMENTS
        assert {"aspect", "indicator"} <= set(problem)
    picking = _problem(small, "warehouse_picking_slow")
    assert picking["stage"] == "picking" and picking["month"] == "2026-08"
    assert _problem(small, "supplier_quality_defect")["from_month"] == "2026-07"
    assert _problem(small, "cs_shift_slow")["shift"] == "晚班"
    assert truth["pareto"] == {"month": "2026-08", "top_aspect": "dispatch_speed"}
    assert truth["counts"] == small.counts
    # Every reference in the truth exists in the generated master data.
    assert picking["warehouse"] in {r["id"] for r in _csv(small, "warehouses")}
    assert _problem(small, "carrier_damage")["carrier"] in {r["id"] for r in _csv(small, "carriers")}
    products = {r["id"]: r for r in _csv(small, "products")}
    defect = _problem(small, "supplier_quality_defect")
    assert defect["products"]
    assert all(products[p]["supplier"] == defect["supplier"] for p in defect["products"])


def test_master_data_is_complete(small: DemoManifest) -> None:
    departments = _csv(small, "departments")
    assert {d["code"] for d in departments} == set(vocab.DEPARTMENTS)
    people = {p["id"]: p for p in _csv(small, "people")}
    assert all(people[d["head"]]["is_head"] == "true" for d in departments)
    shifts = Counter(
        p["shift"] for p in people.values() if p["department"] == "customer_service" and p["shift"]
    )
    assert set(shifts) == {"早班", "中班", "晚班"} and sum(shifts.values()) >= 15
    brands = {b["id"]: b["is_own"] for b in _csv(small, "brands")}
    assert brands == {"OWN": "true", "COMP-A": "false", "COMP-B": "false"}
    products = _csv(small, "products")
    assert len(products) >= 120 and len({p["category"] for p in products}) >= 8
    customers = _csv(small, "customers")
    assert {c["tier"] for c in customers} == set(vocab.CUSTOMER_TIERS)
    assert all(c["phone"].startswith("+861") and len(c["phone"]) == 14 for c in customers)


def test_orders_are_consistent(small: DemoManifest) -> None:
    orders = _csv(small, "orders")
    lines = _csv(small, "order_lines")
    start, cutoff = datetime(2026, 5, 1), datetime(2026, 11, 1)
    stages = ("placed_at", "paid_at", "picked_at", "sorted_at", "shipped_at")
    totals: dict[str, int] = defaultdict(int)
    for line in lines:
        totals[line["order"]] += round(float(line["amount"]) * 100)
        assert round(float(line["unit_price"]) * int(line["quantity"]) * 100) == round(
            float(line["amount"]) * 100
        )
    for o in orders:
        times = [_ts(o[c]) for c in stages if o[c]]
        assert times == sorted(times), o["id"]
        assert all(start <= t < cutoff for t in times)
        if o["delivered_at"]:
            assert _ts(o["delivered_at"]) > _ts(o["shipped_at"])
        if o["damaged"] == "true":
            assert o["delivered_at"]
        assert totals[o["id"]] == round(float(o["total_amount"]) * 100)
        assert _ts(o["promised_delivery_at"]) > _ts(o["placed_at"])
    statuses = Counter(o["status"] for o in orders)
    assert statuses["delivered"] > 0.75 * len(orders)
    assert {"cancelled", "refunded"} <= set(statuses)
    assert set(statuses) <= set(vocab.ORDER_EVENT_KINDS)


def test_planted_slow_picking_in_one_warehouse_and_month(small: DemoManifest) -> None:
    truth = _problem(small, "warehouse_picking_slow")
    hours: dict[tuple[str, str], list[float]] = defaultdict(list)
    late: dict[tuple[str, str], list[bool]] = defaultdict(list)
    for o in _csv(small, "orders"):
        if o["paid_at"] and o["picked_at"]:
            key = (o["warehouse"], o["paid_at"][:7])
            hours[key].append((_ts(o["picked_at"]) - _ts(o["paid_at"])).total_seconds() / 3600)
            if o["delivered_at"]:
                late[key].append(_ts(o["delivered_at"]) > _ts(o["promised_delivery_at"]))
    planted = (truth["warehouse"], truth["month"])
    assert 20 <= statistics.median(hours[planted]) <= 40
    assert sum(late[planted]) / len(late[planted]) > 0.5
    for key, values in hours.items():
        if key != planted:
            assert statistics.median(values) < 8, key
            assert sum(late[key]) / max(1, len(late[key])) < 0.25, key


def test_planted_carrier_damage(small: DemoManifest) -> None:
    truth = _problem(small, "carrier_damage")
    delivered: Counter[str] = Counter()
    damaged: Counter[str] = Counter()
    for o in _csv(small, "orders"):
        if o["delivered_at"]:
            delivered[o["carrier"]] += 1
            damaged[o["carrier"]] += o["damaged"] == "true"
    rates = {c: damaged[c] / delivered[c] for c in delivered}
    assert 0.045 <= rates.pop(truth["carrier"]) <= 0.10
    assert all(rate < 0.02 for rate in rates.values()), rates


def test_planted_slow_shift_first_response(small: DemoManifest) -> None:
    truth = _problem(small, "cs_shift_slow")
    waits: dict[str, list[float]] = defaultdict(list)
    for item in _feedback(small):
        if item["channel"] in ("chat", "ticket"):
            assert item["agent"] and item["shift"] and item["first_response_at"]
            waits[item["shift"]].append(
                (_ts(item["first_response_at"]) - _ts(item["occurred_at"])).seconds / 60
            )
    assert 15 <= statistics.median(waits.pop(truth["shift"])) <= 40
    assert waits and all(1 <= statistics.median(w) <= 3 for w in waits.values())


def test_planted_supplier_defect(small: DemoManifest) -> None:
    truth = _problem(small, "supplier_quality_defect")
    defective = set(truth["products"])
    bad: dict[tuple[bool, bool], list[bool]] = defaultdict(list)
    for item in _feedback(small):
        if item["channel"] == "review" and item["brand"] == "OWN" and item["product"]:
            key = (item["product"] in defective, item["occurred_at"][:7] >= truth["from_month"])
            bad[key].append(item["rating"] <= 2)
    share = {k: sum(v) / len(v) for k, v in bad.items()}
    assert share[(True, True)] > 0.5
    assert share[(True, False)] < 0.3 and share[(False, True)] < 0.3 and share[(False, False)] < 0.3
    # More returns and refunds for orders with the defective products after the start month.
    lines = _csv(small, "order_lines")
    with_defect = {ln["order"] for ln in lines if ln["product"] in defective}
    refunded: dict[bool, list[bool]] = defaultdict(list)
    for o in _csv(small, "orders"):
        if o["delivered_at"] and o["placed_at"][:7] >= truth["from_month"]:
            refunded[o["id"] in with_defect].append(bool(o["returned_at"]))
    assert sum(refunded[True]) / len(refunded[True]) > 3 * sum(refunded[False]) / len(refunded[False])


def test_pareto_of_negative_mentions_peaks_in_the_planted_month(small: DemoManifest) -> None:
    pareto = small.truth["negative_mentions"]
    month = small.truth["pareto"]["month"]
    for m, counts in pareto.items():
        top = max(counts, key=counts.get)
        if m == month:
            assert top == "dispatch_speed"
            runner_up = sorted(counts.values())[-2]
            assert counts["dispatch_speed"] > 1.5 * runner_up
        else:
            assert top in ("delivery_speed", "product_quality"), (m, top)


def test_planted_complaints_appear_in_texts(small: DemoManifest) -> None:
    items = _feedback(small)
    orders = {o["id"]: o for o in _csv(small, "orders")}
    picking = _problem(small, "warehouse_picking_slow")
    slow_orders = {
        oid
        for oid, o in orders.items()
        if o["warehouse"] == picking["warehouse"] and o["paid_at"][:7] == picking["month"]
    }
    about_slow = [i for i in items if i["order"] in slow_orders and i["language"] == "zh"]
    assert sum("发货" in i["text"] for i in about_slow) > 0.4 * len(about_slow)
    late_shift = [i for i in items if i["shift"] == "晚班" and i["channel"] == "chat"]
    assert sum(("没人" in i["text"] or "回复" in i["text"]) for i in late_shift) > 0.2 * len(late_shift)


def test_languages_and_scripts(small: DemoManifest) -> None:
    items = _feedback(small)
    own = [i for i in items if i["channel"] != "social"]
    english = sum(i["language"] == "en" for i in own) / len(own)
    assert 0.02 <= english <= 0.10
    assert {i["language"] for i in items} <= set(vocab.LANGUAGES)
    t2s = opencc.OpenCC("t2s")
    chinese = [i["text"] for i in items if i["language"] == "zh"]
    traditional = sum(t2s.convert(t) != t for t in chinese) / len(chinese)
    assert 0.02 <= traditional <= 0.10
    assert {i["channel"] for i in items} == {"review", "chat", "ticket", "call", "app", "social"}
    assert {i["brand"] for i in items} == {"OWN", "COMP-A", "COMP-B"}
    texts = [i["text"] for i in items]
    assert len(set(texts)) > 0.6 * len(texts)  # varied, not a handful of templates


def test_surveys_after_delivery(small: DemoManifest) -> None:
    orders = {o["id"]: o for o in _csv(small, "orders")}
    rows = _csv(small, "survey_responses")
    kinds = Counter(r["kind"] for r in rows)
    assert set(kinds) == set(vocab.SURVEY_KINDS)
    ranges = {"csat": (1, 5), "nps": (0, 10), "ces": (1, 7)}
    for r in rows:
        if r["kind"] == "open":
            assert r["score"] == "" and r["comment"]
        else:
            lo, hi = ranges[r["kind"]]
            assert lo <= int(r["score"]) <= hi
        if r["survey"] == "post_delivery":
            assert _ts(r["responded_at"]) > _ts(orders[r["order"]]["delivered_at"])


def test_events_sample(small: DemoManifest) -> None:
    rows = _csv(small, "customer_events")
    assert {r["kind"] for r in rows} == set(vocab.CUSTOMER_EVENT_KINDS)
    loads = [int(r["load_ms"]) for r in rows]
    assert 300 < statistics.median(loads) < 2000
    assert len({r["session_id"] for r in rows}) < len(rows)


def test_period_options(tmp_path: Path) -> None:
    manifest = generate(data_dir=tmp_path, seed=1, end_month="2027-01", months=4, scale=0.02)
    assert manifest.period == ("2026-10", "2027-01")
    placed = [o["placed_at"] for o in _csv(manifest, "orders")]
    assert min(placed) >= "2026-10-01" and max(placed) < "2027-02-01"
    assert month_range("2026-10", 6) == ["2026-05", "2026-06", "2026-07", "2026-08", "2026-09", "2026-10"]
    with pytest.raises(ValueError):
        month_range("2026-13", 6)
    with pytest.raises(ValueError):
        month_range("2026-10", 2)
    with pytest.raises(ValueError):
        generate(data_dir=tmp_path, scale=0)


def test_files_do_not_depend_on_the_process_hash_seed(tmp_path: Path) -> None:
    # Set and dict iteration must never leak into the output: another process, another hash seed.
    import os
    import subprocess
    import sys

    code = (
        "import sys; from pathlib import Path; from cxloop.demo.generator import generate, file_digest; "
        "m = generate(data_dir=Path(sys.argv[1]), seed=2, scale=0.03); "
        "print(file_digest([*m.files.values(), m.truth_path]))"
    )
    digests = set()
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        out = subprocess.run(
            [sys.executable, "-c", code, str(tmp_path / hash_seed)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        digests.add(out.stdout.strip())
    local = generate(data_dir=tmp_path / "local", seed=2, scale=0.03)
    digests.add(file_digest([*local.files.values(), local.truth_path]))
    assert len(digests) == 1
