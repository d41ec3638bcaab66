"""The importer of one run: converts rows with the plan, checks references, upserts batches, keeps the rejects."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, Final

from sqlalchemy import Connection, Table, bindparam, case, func, insert, null, select, true, update
from sqlalchemy.orm import Session

from cxloop import vocab
from cxloop.config import get_settings
from cxloop.imports import parse
from cxloop.imports.kinds import (
    ORDER_EVENT_COLUMNS,
    REF_TABLES,
    SURVEY_SCORE_RANGES,
)
from cxloop.imports.models import ImportReject, ImportRun
from cxloop.imports.plan import _Bad, _full_converter, _Good, _joined, _Plan, _record_key
from cxloop.imports.readers import (
    RejectsWriter,
    jsonable,
)
from cxloop.imports.summary import (
    _IN_CHUNK,
    _MISSING,
    MAX_SUMMARY_ERRORS,
    ImportSummary,
    _now,
    current_locale,
    executemany,
    lookup,
    make_error,
)
from cxloop.imports.tables import TABLES
from cxloop.orders.models import Order


class _Importer:
    """Converts rows and writes batches for one import run."""

    def __init__(self, session: Session, plan: _Plan, run: ImportRun, summary: ImportSummary) -> None:
        self.session = session
        self.plan = plan
        self.spec = plan.spec
        self.run = run
        self.summary = summary
        self.table: Table = TABLES[self.spec.table]
        self.tables = TABLES
        self.caches: dict[str, dict[str, int | None]] = {}
        self.person_shift: dict[str, str | None] = {}
        self.seen: dict[Any, int] = {}
        self.rejects: RejectsWriter | None = None
        self.rejects_spec: tuple[Path, str, list[str], str, list[list[Any]]] | None = None
        self.locale = current_locale()
        settings = get_settings()
        # Insert-only defaults of columns the file does not have (the model's NOT NULL columns).
        self.insert_defaults: dict[str, Any] = {
            f.db_column: f.default
            for f in self.spec.fields
            if f.name not in plan.present and f.default is not None
        }
        if self.spec.name == "orders" and "currency" not in plan.present:
            self.insert_defaults["currency"] = settings.currency
        present_columns = {f.db_column for f in self.spec.fields if f.name in plan.present}
        for column in self.table.columns:
            # The model's plain defaults, spelled out so every insert row has the same keys.
            default = column.default
            if default is not None and default.is_scalar and column.name not in present_columns:
                self.insert_defaults.setdefault(column.name, default.arg)  # type: ignore[attr-defined]
        self.key_fields = self.spec.key
        self.key_index = [self._record_key_of(name) for name in self.key_fields]
        self.key_columns = ", ".join(self._column_of(name) for name in self.key_fields)
        self.fill_shift = self.spec.name == "feedback" and "agent" in plan.present
        self.ref_steps = [s for s in plan.steps if s.spec.type == "ref"]

    def _record_key_of(self, name: str) -> str:
        return _record_key(self.spec.field(name))

    def _column_of(self, name: str) -> str:
        step = self.plan.step(name)
        return step.column if step is not None else name

    # -- conversion (the hot loop) -----------------------------------------------------------------

    def convert_rows(self, rows: Iterable[Any]) -> Iterator[tuple[_Good | None, _Bad | None]]:
        """Convert each row; yields (good, None) or (None, bad)."""
        fast = [(s.key, s.index, _full_converter(s)) for s in self.plan.steps if s.index >= 0]
        constants = {s.key: s.constant for s in self.plan.steps if s.index < 0}
        required = [s.key for s in self.plan.steps if s.index >= 0 and s.spec.required]
        width = len(self.plan.headers)
        seen = self.seen
        key_index = self.key_index
        single_key = key_index[0] if len(key_index) == 1 else None
        validate = _VALIDATORS.get(self.spec.name)
        composites = self.plan.composites
        status_events = self.plan.status_events
        if status_events:
            times = [s.key for s in self.plan.steps if s.spec.type == "datetime" and not s.spec.end_of_day]
        for number, values, original, problem in rows:
            if problem is not None:
                yield None, (number, original, [self._error(number, None, None, None, problem)])
                continue
            if len(values) < width:  # short CSV rows: the missing trailing cells are empty
                values = [*values, *([None] * (width - len(values)))]
            if composites:
                values = [*values[:width], *(_joined(values, parts) for parts in composites)]
            record: dict[str, Any] = dict(constants) if constants else {}
            errors: list[dict[str, Any]] | None = None
            try:
                # The common case: every cell converts; one try for the whole row keeps it cheap.
                for key, index, convert in fast:
                    record[key] = convert(values[index])
                for key in required:
                    if record[key] is None:
                        raise _MISSING
            except parse.ValueProblem:
                errors = self._row_errors(number, values, fast)
            if errors is None and status_events:
                event = status_events.get(str(record.get("status") or "").strip().lower())
                if event is not None and record.get(event) is None:
                    # The export says only "canceled": the last moment the row knows of is the best
                    # time there is for it (never the promise, which lies in the future).
                    known = [record[k] for k in times if k != event and record.get(k) is not None]
                    record[event] = max(known) if known else None
            if errors is None and validate is not None:
                errors = validate(self, number, record) or None
            if errors is None:
                ident = record[single_key] if single_key is not None else tuple(record[k] for k in key_index)
                earlier = seen.get(ident)
                if earlier is not None:
                    shown = ident if single_key is not None else " / ".join(str(v) for v in ident)
                    problem = parse.ValueProblem(
                        f"repeats row {earlier}",
                        f"与第 {earlier} 行重复",
                        "each record once per file",
                        "每条记录在文件中只出现一次",
                    )
                    errors = [
                        self._error(number, self.key_columns, "+".join(self.key_fields), shown, problem)
                    ]
                else:
                    seen[ident] = number
            if errors:
                yield None, (number, original, errors)
            else:
                yield (number, original, record), None

    def _row_errors(
        self, number: int, values: list[Any], fast: list[tuple[str, int, parse.Converter]]
    ) -> list[dict[str, Any]]:
        """Every problem of a row that failed somewhere (the slow path, for bad rows only)."""
        errors = []
        for (_, index, convert), step in zip(fast, [s for s in self.plan.steps if s.index >= 0], strict=True):
            raw = values[index]
            try:
                if convert(raw) is None and step.spec.required:
                    raise _MISSING
            except parse.ValueProblem as exc:
                errors.append(self._error(number, step.column, step.spec.name, raw, exc))
        return errors

    def _error(
        self, row: int, column: str | None, fieldname: str | None, value: Any, problem: parse.ValueProblem
    ) -> dict[str, Any]:
        return make_error(row, column, fieldname, value, problem)

    # -- references -----------------------------------------------------------------------------

    def _ref_table(self, target: str) -> tuple[Table, str]:
        table = self.tables[REF_TABLES[target]]
        return table, "code" if target == "department" else "external_id"

    def resolve(self, target: str, idents: set[str]) -> dict[str, int | None]:
        """External id -> primary key for ``target``, creating inferred dimension records as needed."""
        cache = self.caches.setdefault(target, {})
        missing = [i for i in idents if i not in cache]
        if not missing:
            return cache
        table, key = self._ref_table(target)
        conn = self.session.connection()
        self._select_into(conn, table, key, missing, cache, target)
        unknown = [i for i in missing if i not in cache]
        if not unknown:
            return cache
        if target in ("order", "order_soft"):
            for ident in unknown:
                cache[ident] = None  # orders are never inferred: they carry the timeline
            return cache
        rows = self._inferred_rows(target, unknown, cache)
        if rows:
            conn.execute(insert(table), rows)
            self._select_into(conn, table, key, [r[key] for r in rows], cache, target)
        return cache

    def _select_into(
        self,
        conn: Connection,
        table: Table,
        key: str,
        idents: list[str],
        cache: dict[str, int | None],
        target: str,
    ) -> None:
        with_shift = target == "person"
        for row in lookup(conn, table, key, idents, ("shift",) if with_shift else ()):
            cache[row[0]] = row[1]
            if with_shift:
                self.person_shift[row[0]] = row[2]

    @staticmethod
    def _inferred_rows(target: str, unknown: list[str], cache: dict[str, int | None]) -> list[dict[str, Any]]:
        if target == "department":
            rows = []
            for code in unknown:
                names = vocab.DEPARTMENTS.get(code)
                if names is None:
                    cache[code] = None  # not a standard code: the row is rejected
                else:
                    rows.append({"code": code, "name_zh": names[0], "name_en": names[1]})
            return rows
        return [{"external_id": i, "name": i} for i in unknown]

    def _apply_refs(self, good: list[_Good], bad: list[_Bad]) -> list[_Good]:
        """Replace external ids by primary keys; rows naming an unknown order or department move to bad."""
        for step in self.ref_steps:
            name = step.spec.name
            target = step.spec.ref
            assert target is not None
            records = [item[2] for item in good]
            idents = {r[name] for r in records}
            idents.discard(None)
            cache: dict[str, int | None] = self.resolve(target, idents) if idents else {}
            get = cache.get
            if target == "order_soft":
                for rec in records:
                    ident = rec.pop(name)
                    rec["order_ref"] = ident
                    rec["order_id"] = get(ident)
                continue
            column = step.spec.db_column
            failed: list[int] = []
            fill_shift = self.fill_shift and name == "agent"
            for position, rec in enumerate(records):
                ident = rec.pop(name)
                pk = rec[column] = get(ident)
                if pk is None and ident is not None:
                    failed.append(position)
                    rec[name] = ident  # kept for the message
                elif fill_shift:
                    # An agent's chats count towards the shift they work unless the row says otherwise;
                    # every record gets the key so the batch's statements have one shape.
                    shift = rec.get("shift")
                    rec["shift"] = (
                        shift if shift is not None or ident is None else self.person_shift.get(ident)
                    )
            if failed:
                dropped = set(failed)
                for position in failed:
                    number, original, rec = good[position]
                    error = self._error(number, step.column, name, rec[name], _unknown_ref(target))
                    bad.append((number, original, [error]))
                good = [item for position, item in enumerate(good) if position not in dropped]
        return good

    # -- writing ----------------------------------------------------------------------------------

    def write_batch(self, good: list[_Good], bad: list[_Bad]) -> None:
        """Store one batch of converted rows and its rejects, and commit."""
        if good:
            good = self._apply_refs(good, bad)
        if good:
            writer = _WRITERS.get(self.spec.name, _Importer._write_upsert)
            writer(self, good)
            self._note_earliest(good)
        if bad:
            self._store_rejects(bad)
        run = self.run
        run.heartbeat_at = _now()
        run.rows_total = self.summary.rows_total
        run.inserted = self.summary.inserted
        run.updated = self.summary.updated
        run.rejected = self.summary.rejected
        self.session.commit()
        if self.rejects is not None:
            self.rejects.flush()

    def _note_earliest(self, good: list[_Good]) -> None:
        """Remember the earliest business date this batch touched, for the indicators' refresh."""
        field_name = _PERIOD_FIELDS.get(self.spec.name)
        if self.spec.name in {"order_lines", "order_events"}:
            # A late event changes an order placed earlier: indicators are keyed by the order's dates.
            ids = list({rec["order_id"] for _, _, rec in good})
            found = None
            for start in range(0, len(ids), _IN_CHUNK):
                chunk_min = self.session.execute(
                    select(func.min(Order.placed_at)).where(Order.id.in_(ids[start : start + _IN_CHUNK]))
                ).scalar()
                if chunk_min is not None and (found is None or chunk_min < found):
                    found = chunk_min
            dates = [found] if found is not None else []
        elif field_name is not None:
            dates = [rec[field_name] for _, _, rec in good if rec.get(field_name) is not None]
        else:
            # A changed dimension moves history only where indicators read it (a brand becoming a
            # competitor, a customer's tier, a product's brand); new records have no history yet,
            # and names, departments and staff are read live by the pages.
            if self.spec.name in _HISTORY_KINDS and self.summary.updated:
                self.summary.touches_history = True
            return
        if dates:
            low = min(dates)
            current = self.summary.earliest
            self.summary.earliest = low if current is None or low < current else current

    def _existing(
        self, conn: Connection, column: str, values: list[Any], table: Table | None = None
    ) -> dict[Any, int]:
        """Map each of these values of a unique column to its row's id (this kind's table by default)."""
        table = self.table if table is None else table
        found: dict[Any, int] = {}
        for start in range(0, len(values), _IN_CHUNK):
            chunk = values[start : start + _IN_CHUNK]
            for key, pk in conn.execute(
                select(table.c[column], table.c.id).where(table.c[column].in_(chunk))
            ):
                found[key] = pk
        return found

    def _write_upsert(self, good: list[_Good]) -> None:
        """Insert new records and update existing ones, matched on the single key column."""
        conn = self.session.connection()
        key_column = self.spec.field(self.spec.key[0]).db_column
        records = [rec for _, _, rec in good]
        existing = self._existing(conn, key_column, [r[key_column] for r in records])
        inserts = [r for r in records if r[key_column] not in existing]
        updates = [r for r in records if r[key_column] in existing]
        if self.spec.name == "departments":
            self._department_names(inserts, updates)
        self._execute(conn, inserts, updates, lambda r: existing[r[key_column]])
        if self.spec.name == "orders" and inserts:
            self._link_orders(conn, [r["external_id"] for r in inserts])

    def _write_survey_responses(self, good: list[_Good]) -> None:
        """Store survey answers, and each answer's comment as a feedback item of channel "survey".

        Comments are what customers wrote in their own words, so they go through the same
        analysis, Pareto and alert rules as reviews and chats. The copy's external id is
        "survey:<answer id>", so re-importing updates it instead of adding another.
        """
        self._write_upsert(good)
        feedback = self.tables["feedback_items"]
        conn = self.session.connection()
        copies: dict[str, dict[str, Any]] = {}
        for _, _, rec in good:
            comment = rec.get("comment")
            if not isinstance(comment, str) or not comment.strip():
                continue
            item: dict[str, Any] = {"text": comment, "channel": "survey"}
            for answer_column, item_column in _SURVEY_TO_FEEDBACK.items():
                if answer_column in rec:
                    item[item_column] = rec[answer_column]
            copies[SURVEY_FEEDBACK_PREFIX + rec["external_id"]] = item
        if not copies:
            return
        existing = self._existing(conn, "external_id", list(copies), feedback)
        inserts = [{"external_id": ext, **item} for ext, item in copies.items() if ext not in existing]
        if inserts:
            executemany(conn, insert(feedback), inserts)
        updates = [
            {"_pk": existing[ext], "_new_text": item["text"], **item}
            for ext, item in copies.items()
            if ext in existing
        ]
        if updates:
            executemany(conn, _text_update(feedback), updates)
        ids = self._existing(conn, "external_id", list(copies), feedback)
        executemany(
            conn,
            update(self.table)
            .where(self.table.c.external_id == bindparam("_ext"))
            .values(feedback_id=bindparam("_fid")),
            [{"_ext": ext[len(SURVEY_FEEDBACK_PREFIX) :], "_fid": pk} for ext, pk in ids.items()],
        )

    def _department_names(self, inserts: list[dict[str, Any]], updates: list[dict[str, Any]]) -> None:
        """Fill empty department names with the standard ones (or the code): the columns are NOT NULL."""
        present = self.plan.present
        for records, only_present in ((inserts, False), (updates, True)):
            for rec in records:
                names = vocab.DEPARTMENTS.get(rec["code"], (rec["code"], rec["code"]))
                for column, default in (("name_zh", names[0]), ("name_en", names[1])):
                    # An update leaves a name the file does not have alone.
                    if rec.get(column) is None and (column in present or not only_present):
                        rec[column] = default

    def _execute(
        self,
        conn: Connection,
        inserts: list[dict[str, Any]],
        updates: list[dict[str, Any]],
        pk_of: Callable[[dict[str, Any]], int],
    ) -> None:
        table = self.table
        if inserts:
            defaults = {k: v for k, v in self.insert_defaults.items() if v is not None}
            if defaults:
                for rec in inserts:
                    for k, v in defaults.items():
                        rec.setdefault(k, v)
            executemany(conn, insert(table), inserts)
            self.summary.inserted += len(inserts)
        if updates:
            stmt = update(table).where(table.c.id == bindparam("_pk"))
            if self.spec.name == "feedback" and "text" in updates[0]:
                stmt = _text_update(table)
                for rec in updates:
                    rec["_new_text"] = rec["text"]
            for rec in updates:
                rec["_pk"] = pk_of(rec)
            executemany(conn, stmt, updates)
            self.summary.updated += len(updates)

    def _link_orders(self, conn: Connection, new_orders: list[str]) -> None:
        """Point feedback and survey answers that named these orders at them."""
        orders = self.tables["orders"]
        for name in ("feedback_items", "survey_responses"):
            table = self.tables[name]
            lookup = select(orders.c.id).where(orders.c.external_id == table.c.order_ref).scalar_subquery()
            for start in range(0, len(new_orders), _IN_CHUNK):
                chunk = new_orders[start : start + _IN_CHUNK]
                conn.execute(
                    update(table)
                    .where(table.c.order_id.is_(None), table.c.order_ref.in_(chunk))
                    .values(order_id=lookup)
                )

    def _write_order_lines(self, good: list[_Good]) -> None:
        conn = self.session.connection()
        records = [rec for _, _, rec in good]
        existing = self._existing_by_order(conn, records, ("line_no",))
        inserts = [r for r in records if (r["order_id"], r["line_no"]) not in existing]
        updates = [r for r in records if (r["order_id"], r["line_no"]) in existing]
        self._execute(conn, inserts, updates, lambda r: existing[(r["order_id"], r["line_no"])])

    def _existing_by_order(
        self, conn: Connection, records: list[dict[str, Any]], rest: tuple[str, ...]
    ) -> dict[tuple[Any, ...], int]:
        table = self.table
        order_ids = list({r["order_id"] for r in records})
        columns = [table.c.order_id, *(table.c[c] for c in rest), table.c.id]
        found: dict[tuple[Any, ...], int] = {}
        for start in range(0, len(order_ids), _IN_CHUNK):
            chunk = order_ids[start : start + _IN_CHUNK]
            # Through SQLAlchemy: occurred_at must come back as a datetime to compare with the file's.
            for row in conn.execute(select(*columns).where(table.c.order_id.in_(chunk))):
                found[tuple(row[:-1])] = row[-1]
        return found

    def _write_order_events(self, good: list[_Good]) -> None:
        conn = self.session.connection()
        records = [rec for _, _, rec in good]
        existing = self._existing_by_order(conn, records, ("kind", "occurred_at"))

        def key(r: dict[str, Any]) -> tuple[Any, ...]:
            return (r["order_id"], r["kind"], r["occurred_at"])

        inserts = [r for r in records if key(r) not in existing]
        updates = [r for r in records if key(r) in existing]
        self._execute(conn, inserts, updates, lambda r: existing[key(r)])
        self._apply_events_to_orders(conn, records)

    def _apply_events_to_orders(self, conn: Connection, records: list[dict[str, Any]]) -> None:
        """Mirror each event on its order (``*_at`` column or flag), then re-derive the order status."""
        orders = self.tables["orders"]
        by_kind: dict[str, list[dict[str, Any]]] = {}
        for rec in records:
            by_kind.setdefault(rec["kind"], []).append({"_oid": rec["order_id"], "_at": rec["occurred_at"]})
        for kind, params in by_kind.items():
            column = ORDER_EVENT_COLUMNS[kind]
            target = orders.c[column]
            if not column.endswith("_at"):
                stmt = update(orders).where(orders.c.id == bindparam("_oid")).values({column: true()})
                conn.execute(stmt, [{"_oid": p["_oid"]} for p in params])
                continue
            at = bindparam("_at", type_=target.type)
            # Keep the latest time (the earliest for "placed"), whatever order events arrive in.
            newer = target > at if kind == "placed" else target < at
            stmt = (
                update(orders)
                .where(orders.c.id == bindparam("_oid"))
                .values({column: case((target.is_(None) | newer, at), else_=target)})
            )
            conn.execute(stmt, params)
        touched = list({rec["order_id"] for rec in records})
        status = case(
            (orders.c.refunded_at.is_not(None), "refunded"),
            (orders.c.returned_at.is_not(None), "returned"),
            (orders.c.refund_requested_at.is_not(None), "refund_requested"),
            (orders.c.cancelled_at.is_not(None), "cancelled"),
            (orders.c.delivered_at.is_not(None), "delivered"),
            (orders.c.lost == true(), "lost"),
            (orders.c.delivery_failed_at.is_not(None), "delivery_failed"),
            (orders.c.shipped_at.is_not(None), "shipped"),
            (orders.c.sorted_at.is_not(None), "sorted"),
            (orders.c.picked_at.is_not(None), "picked"),
            (orders.c.paid_at.is_not(None), "paid"),
            else_="placed",
        )
        for start in range(0, len(touched), _IN_CHUNK):
            chunk = touched[start : start + _IN_CHUNK]
            conn.execute(update(orders).where(orders.c.id.in_(chunk)).values(status=status))

    # -- rejects ----------------------------------------------------------------------------------

    def _store_rejects(self, bad: list[_Bad]) -> None:
        bad.sort(key=lambda item: item[0])
        summary = self.summary
        summary.rejected += len(bad)
        text_key = "message_zh" if self.locale == "zh" else "message"
        headers = self.plan.headers
        rows = []
        for number, original, errors in bad:
            room = MAX_SUMMARY_ERRORS - len(summary.errors)
            if room > 0:
                summary.errors.extend(errors[:room])
            if self.rejects is None and self.rejects_spec is not None:
                self.rejects = RejectsWriter(*self.rejects_spec)
            if self.rejects is not None:
                self.rejects.write(original, "; ".join(e[text_key] for e in errors))
            data = original if isinstance(original, dict) else dict(zip(headers, original, strict=False))
            rows.append(
                {"run_id": self.run.id, "row_number": number, "data": jsonable(data), "errors": errors}
            )
        self.session.connection().execute(insert(self.tables[ImportReject.__tablename__]), rows)


def _unknown_ref(target: str) -> parse.ValueProblem:
    if target == "order":
        return parse.ValueProblem(
            "unknown order {value}",
            "未知订单 {value}",
            "the id of an order imported before (import the orders file first)",
            "已导入订单的订单号（请先导入订单文件）",
        )
    return parse.ValueProblem(
        "is not a known department",
        "不是已知部门",
        "one of " + ", ".join(vocab.DEPARTMENTS) + ", or a code imported with the departments kind",
        "以下之一：" + "、".join(vocab.DEPARTMENTS) + "，或已通过部门导入的代码",
    )


def _validate_survey(importer: _Importer, number: int, record: dict[str, Any]) -> list[dict[str, Any]]:
    score = record.get("score")
    bounds = SURVEY_SCORE_RANGES.get(record.get("kind") or "")
    if score is None or bounds is None:
        return []
    low, high = bounds
    if low <= score <= high:
        return []
    step = importer.plan.step("score")
    problem = parse.ValueProblem(
        f"is out of range for a {record['kind']} answer",
        f"超出 {record['kind']} 的分值范围",
        f"a whole number from {low} to {high}",
        f"{low} 到 {high} 之间的整数",
    )
    return [importer._error(number, step.column if step else "score", "score", score, problem)]


_VALIDATORS: dict[str, Callable[[_Importer, int, dict[str, Any]], list[dict[str, Any]]]] = {
    "survey_responses": _validate_survey,
}
#: The business date of each fact kind; dimension kinds have none (a change may touch all history).
_PERIOD_FIELDS: dict[str, str] = {
    "orders": "placed_at",
    "feedback": "occurred_at",
    "survey_responses": "responded_at",
    "customer_events": "occurred_at",
}

#: Dimension kinds whose updates change indicator history (rollups are keyed by them).
_HISTORY_KINDS: Final = frozenset({"brands", "customers", "products"})

_WRITERS: dict[str, Callable[[_Importer, list[_Good]], None]] = {
    "order_lines": _Importer._write_order_lines,
    "order_events": _Importer._write_order_events,
    "survey_responses": _Importer._write_survey_responses,
}

#: External id prefix of the feedback item that holds a survey answer's comment.
SURVEY_FEEDBACK_PREFIX: Final = "survey:"
#: Survey answer column -> feedback item column, for the comment's copy. The score is not a
#: rating (an NPS of 7 is no 7-star review), so it stays with the answer.
_SURVEY_TO_FEEDBACK: Final = {
    "responded_at": "occurred_at",
    "customer_id": "customer_id",
    "order_ref": "order_ref",
    "order_id": "order_id",
    "brand_id": "brand_id",
    "touchpoint": "touchpoint",
    "survey": "title",
}


def _text_update(table: Table) -> Any:
    """UPDATE of feedback rows by ``_pk`` that clears the analysis only where ``_new_text`` differs.

    New words need a new analysis; unchanged text keeps the one it has.
    """
    return (
        update(table)
        .where(table.c.id == bindparam("_pk"))
        .values(
            analysis_key=case(
                (table.c.text.is_distinct_from(bindparam("_new_text", type_=table.c.text.type)), null()),
                else_=table.c.analysis_key,
            )
        )
    )
