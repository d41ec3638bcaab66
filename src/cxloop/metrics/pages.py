"""Dashboard pages: overview, Pareto with drill-down, root cause, journey, scorecards, indicators, competitors.

Handlers stay thin: resolve the user and month, call ``cxloop.metrics.service``, shape rows for the
templates (``Table`` doubles as the CSV/XLSX export), render. No database queries here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, HTTPException, Query, Request, status
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from cxloop.auth.models import User
from cxloop.auth.policy import allow, can, can_see_contact, department_filter, department_path
from cxloop.deps import SessionDep
from cxloop.i18n import department_name, translate
from cxloop.metrics import schemas as s
from cxloop.metrics import service as metrics
from cxloop.metrics.schemas import MonthChoice, TargetIn
from cxloop.metrics.views import (
    AspectReader,
    DepartmentReader,
    MetricsConfigurer,
    MetricsReader,
)
from cxloop.orders.outcomes import stage_parts
from cxloop.periods import Period
from cxloop.vocab import DEPARTMENTS
from cxloop.web import charts
from cxloop.web.tables import Column, Table, export_response, rows_of
from cxloop.web.templating import NavItem, get_locale, is_htmx, page_router, render

#: /departments/{code}: the department in the path (members may open only their own).
DepartmentPageReader = Annotated[User, allow("metrics", "read", scope=department_path)]

# Months 1-12 only: 2026-13 is a 400 naming the parameter, not a 500 from date().
MonthParam = Annotated[
    str | None, Query(pattern=r"^\d{4}-(0?[1-9]|1[0-2])$", description="YYYY-MM (month 01-12)")
]
ExportParam = Annotated[str | None, Query(alias="format", pattern="^(csv|xlsx)$")]
PICKER_MONTHS = 12
COMPLAINTS_PAGE = 20
EXPORT_LIMIT = 500

#: The overview and the scorecards stay in the bar; the other analyses share one drop-down.
router = page_router(
    __file__,
    *(
        NavItem(key, path, order=10 + order, group=None if key in ("overview", "departments") else "analysis")
        for order, (key, path) in enumerate(
            [
                ("overview", "/"),
                ("pareto", "/pareto"),
                ("root_cause", "/root-cause"),
                ("journey", "/journey"),
                ("departments", "/departments"),
                ("indicators", "/indicators"),
                ("competitors", "/competitors"),
            ]
        )
    ),
)


# --- helpers --------------------------------------------------------------------------------------


def _t(request: Request) -> Callable[..., str]:
    locale = get_locale(request)
    return lambda key, **kw: translate(key, locale, **kw)


def _scope_department(user: User) -> str | None:
    """Department members see their own department's numbers; everyone else the whole shop (the policy)."""
    return department_filter(user, "metrics")


def _department_name(code: str, locale: str) -> str:
    return department_name(code, locale)


def _months(db_session: Session, month: str) -> list[MonthChoice]:
    """The month picker: the latest month with data and the eleven before it, the running one marked."""
    return metrics.month_choices(db_session=db_session, month=month, count=PICKER_MONTHS)


@dataclass
class Dashboard:
    """What every dashboard page is asked: the month (``?month=``), an export (``?format=``), the locale."""

    request: Request
    db_session: Session
    month: str | None
    export: str | None
    locale: str
    t: Callable[..., str]

    def page(self, template: str, month: str, tables: list[Table], filename: str, **context: Any) -> Response:
        """Render ``template`` for ``month`` with its month picker, or download a table on ``?format=``.

        The download is the table named by ``?table=`` (default: the first), named after ``filename-month``.
        """
        if self.export:
            return export_response(
                tables, self.export, self.request.query_params.get("table"), f"{filename}-{month}"
            )
        context |= {
            "month": month,
            "months": _months(self.db_session, month),
            "tables": {table.key: table for table in tables},
        }
        return render(self.request, template, context)


def _dashboard(
    request: Request, db_session: SessionDep, month: MonthParam = None, export: ExportParam = None
) -> Dashboard:
    return Dashboard(request, db_session, month, export, get_locale(request), _t(request))


DashboardDep = Annotated[Dashboard, Depends(_dashboard)]

#: Columns that mean the same on every dashboard table: row key -> (label key, kind, digits).
_COLUMNS: dict[str, tuple[str, str, int]] = {
    "value": ("col.value", "number", 2),
    "unit": ("col.unit", "text", 1),
    "target": ("col.target", "number", 2),
    "amber": ("col.amber", "number", 2),
    "red": ("col.red", "number", 2),
    "status": ("col.status", "status", 1),
    "previous": ("col.previous", "number", 2),
    "change": ("col.change", "signed", 2),
    "n": ("col.n", "int", 1),
    "min_n": ("col.min_n", "int", 1),
    "code": ("col.code", "text", 1),
    "stage_name": ("col.stage", "text", 1),
    "department_name": ("col.department", "text", 1),
    "share": ("col.share", "percent", 1),
    "late_orders": ("col.late_orders", "int", 1),
    "mean_excess_hours": ("col.excess_hours", "number", 1),
}


def _columns(t: Callable[..., str], *specs: str | Column) -> list[Column]:
    """Table columns: a row key names a column of ``_COLUMNS``; a ``Column`` is one of this table's own."""
    return [
        spec if isinstance(spec, Column) else Column(spec, t(_COLUMNS[spec][0]), *_COLUMNS[spec][1:])
        for spec in specs
    ]


def _url(path: str, **params: Any) -> str:
    query = {k: v for k, v in params.items() if v not in (None, "")}
    return f"{path}?{urlencode(query)}" if query else path


def _stage(t: Callable[..., str], stage: str | None) -> str:
    return t(f"stage.{stage}") if stage else "—"


# --- overview -------------------------------------------------------------------------------------


@router.get("/")
def overview_page(user: DepartmentReader, dash: DashboardDep) -> Response:
    """The month at a glance: headline indicators, status, change, trend, and the focus complaints."""
    db_session, locale, t = dash.db_session, dash.locale, dash.t
    department = _scope_department(user)
    data = metrics.overview(db_session=db_session, month=dash.month, department=department, lang=locale)
    cards = metrics.scorecards(db_session=db_session, month=data.month, department=department, lang=locale)
    trends = {i.code: i.trend for card in cards.departments for i in card.indicators}
    tiles: list[dict[str, Any]] = []
    for value in data.indicators:
        trend = trends.get(value.indicator, [])
        tiles.append(
            {
                "value": value,
                "department": _department_name(value.owner, locale),
                "chart": charts.sparkline([(p.period, p.value) for p in trend], value.status)
                if trend
                else None,
                "improved": None
                if value.change is None or value.change == 0
                else (value.change > 0) == (value.direction == "higher_better"),
            }
        )
    # Red first, then amber: the first screen should show what needs attention.
    order = {"red": 0, "amber": 1, "green": 2, "grey": 3}
    tiles.sort(key=lambda tile: order.get(tile["value"].status, 4))
    indicators = Table(
        key="indicators",
        title=t("overview.indicators"),
        columns=_columns(
            t,
            Column("name", t("col.indicator")),
            Column("owner", t("col.department")),
            *("value", "unit", "target", "status", "previous", "change", "n"),
        ),
        rows=[{**v.model_dump(), "owner": _department_name(v.owner, locale)} for v in data.indicators],
    )
    experience = _delivery_experience(db_session, data.month, locale)
    return dash.page(
        "metrics/overview.html",
        data.month,
        [indicators, experience],
        "overview",
        data=data,
        tiles=tiles,
        focus=[item for item in data.pareto.items if item.focus],
        department=department and _department_name(department, locale),
    )


# --- Pareto ---------------------------------------------------------------------------------------


@router.get("/pareto")
def pareto_page(user: DepartmentReader, dash: DashboardDep) -> Response:
    """The monthly complaint Pareto: bars, cumulative line, table; a bar or row opens its complaints."""
    locale, t = dash.locale, dash.t
    department = _scope_department(user)
    data = metrics.pareto(db_session=dash.db_session, month=dash.month, department=department)
    name_key = "name_en" if locale == "en" else "name_zh"

    def drill(row: dict[str, Any]) -> str:
        return _url(f"/pareto/{row['aspect']}", month=data.month)

    table = Table(
        key="pareto",
        title=t("pareto.table"),
        columns=_columns(
            t,
            Column("name", t("col.aspect")),
            "department_name",
            "stage_name",
            Column("count", t("col.complaints"), "int"),
            "share",
            Column("cumulative_share", t("col.cumulative"), "percent"),
            Column("previous_count", t("col.previous"), "int"),
            Column("change", t("col.change"), "signed", 0),
            Column("focus_text", t("col.focus")),
        ),
        rows=[
            {
                **item.model_dump(),
                "name": item.model_dump()[name_key],
                "department_name": _department_name(item.department, locale),
                "stage_name": _stage(t, item.stage),
                "focus_text": t("pareto.focus") if item.focus else "",
            }
            for item in data.items
        ],
        row_url=drill,
        row_class=lambda row: "focus" if row["focus"] else "",
    )
    chart = charts.pareto(
        labels=[row["name"] for row in table.rows],
        counts=[item.count for item in data.items],
        cumulative=[item.cumulative_share for item in data.items],
        urls=[drill(row) for row in table.rows],
        focus=[item.focus for item in data.items],
        count_label=t("col.complaints"),
        cumulative_label=t("col.cumulative"),
    )
    return dash.page(
        "metrics/pareto.html",
        data.month,
        [table],
        "pareto",
        data=data,
        chart=chart,
        department=department and _department_name(department, locale),
    )


@router.get("/pareto/{aspect}")
def pareto_drill(
    request: Request,
    aspect: str,
    user: AspectReader,
    db_session: SessionDep,
    month: MonthParam = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    export: ExportParam = None,
) -> Response:
    """The complaints behind one Pareto bar (an htmx fragment, or a full page when opened directly)."""
    locale, t = get_locale(request), _t(request)
    limit = EXPORT_LIMIT if export else COMPLAINTS_PAGE
    page = metrics.pareto_items(
        db_session=db_session, month=month, aspect=aspect, limit=limit, offset=offset,
        personal_data=can_see_contact(user),
    )  # fmt: skip
    aspect_name = _aspect_name(aspect, locale)
    table = Table(
        key="complaints",
        title=t("pareto.complaints_of", aspect=aspect_name),
        columns=[
            Column("occurred_at", t("col.time"), "date"),
            Column("channel", t("col.channel")),
            Column("rating", t("col.rating"), "int"),
            Column("text", t("col.text")),
            Column("evidence", t("col.evidence")),
            Column("order", t("col.order")),
            Column("product", t("col.product")),
            Column("external_id", t("col.feedback_id")),
        ],
        rows=rows_of(page.items),
    )
    if export:
        return export_response(
            [table], export, request.query_params.get("table"), f"complaints-{aspect}-{page.month}"
        )
    context = {
        "page": page,
        "aspect_name": aspect_name,
        "month": page.month,
        "prev_url": _url(request.url.path, month=page.month, offset=max(0, offset - COMPLAINTS_PAGE))
        if offset > 0
        else None,
        "next_url": _url(request.url.path, month=page.month, offset=offset + COMPLAINTS_PAGE)
        if offset + COMPLAINTS_PAGE < page.total
        else None,
        "fragment": is_htmx(request),
        "tables": {table.key: table},
    }
    template = "metrics/_complaints.html" if is_htmx(request) else "metrics/complaints.html"
    return render(request, template, context)


def _aspect_name(aspect: str, locale: str) -> str:
    from cxloop.taxonomy import aspect_info

    try:
        info = aspect_info(aspect)
    except KeyError:
        return aspect
    return info.name_en if locale == "en" else info.name_zh


# --- root cause -----------------------------------------------------------------------------------


def experience_table(data: s.DeliveryExperience, locale: str) -> Table:
    """Satisfaction by delivery outcome and by how late, as one exportable table (overview, journey)."""
    t = lambda key: translate(key, locale)  # noqa: E731
    rows = [
        {**r.model_dump(), "name": r.name_en if locale == "en" else r.name_zh}
        for r in (*data.outcomes, *data.lateness)
    ]
    return Table(
        "delivery_experience",
        t("delivery.experience"),
        [
            Column("name", t("delivery.outcome")),
            Column("orders", t("delivery.orders"), "int"),
            Column("rating", t("delivery.rating"), "number", 2),
            Column("rated", t("delivery.rated"), "int"),
            Column("csat", t("delivery.csat"), "percent"),
            Column("negative_share", t("delivery.negative_share"), "percent"),
            Column("feedback_n", t("delivery.feedback_n"), "int"),
        ],
        rows,
    )


def _delivery_experience(db_session: Any, month: str, locale: str) -> Table:
    """Satisfaction by delivery outcome for the month's orders (cxloop.delivery)."""
    period = Period.month(month)
    data = metrics.delivery_experience(db_session=db_session, start=period.start_at, end=period.end_at)
    return experience_table(data, locale)


def _stage_name(t: Any, stage: str) -> str:
    """A stage, or stages merged where the order lacks the events between them ("拣货 + 分拣")."""
    return " + ".join(t(f"order_stage.{part}") for part in stage_parts(stage))


@router.get("/root-cause")
def root_cause_page(user: DepartmentReader, dash: DashboardDep) -> Response:
    """Late orders split by the stage that was late, by warehouse and carrier, and the complaints."""
    locale, t = dash.locale, dash.t
    department = _scope_department(user)
    data = metrics.root_cause(
        db_session=dash.db_session, month=dash.month, department=department, lang=locale
    )

    def cause_rows(rows: list[Any]) -> list[dict[str, Any]]:
        return [
            {
                **row.model_dump(),
                "stage_name": _stage_name(t, row.stage),
                "department_name": _department_name(row.department, locale),
            }
            for row in rows
        ]

    stage_columns = _columns(t, "stage_name", "department_name", "late_orders", "share", "mean_excess_hours")
    scope_columns = _columns(
        t,
        "stage_name",
        Column("label", t("col.where")),
        "late_orders",
        Column("rate", t("col.late_rate"), "percent"),
        "share",
        "mean_excess_hours",
    )
    complaint_columns = _columns(
        t, "stage_name", "department_name", Column("complaints", t("col.complaints"), "int"), "share"
    )
    tables = [
        Table("by_stage", t("root.by_stage"), stage_columns, cause_rows(data.by_stage)),
        Table("findings", t("root.findings"), scope_columns, cause_rows(data.findings)),
        Table("by_scope", t("root.by_scope"), scope_columns, cause_rows(data.by_scope)),
        Table("complaints", t("root.complaints"), complaint_columns, cause_rows(data.complaints)),
    ]
    chart = charts.bars(
        [row["stage_name"] for row in tables[0].rows],
        [row["late_orders"] for row in tables[0].rows],
        t("col.late_orders"),
        horizontal=True,
    )
    return dash.page("metrics/root_cause.html", data.month, tables, "root-cause", data=data, chart=chart)


# --- journey emotion map --------------------------------------------------------------------------


@router.get("/journey")
def journey_page(user: MetricsReader, dash: DashboardDep) -> Response:
    """Sentiment along the customer journey with the stage weights and the peak-end summary."""
    t = dash.t
    data = metrics.emotion_map(db_session=dash.db_session, month=dash.month)
    rows = [
        {**stage.model_dump(), "stage_name": _stage(t, stage.stage), "weight_pct": stage.weight * 100}
        for stage in data.stages
    ]
    table = Table(
        "stages",
        t("journey.table"),
        _columns(
            t,
            "stage_name",
            Column("weight_pct", t("col.weight"), "percent", 0),
            Column("mentions", t("col.mentions"), "int"),
            Column("positive_share", t("col.positive"), "percent"),
            Column("negative_share", t("col.negative"), "percent"),
            Column("score", t("col.score"), "number", 3),
        ),
        rows,
    )
    chart = charts.emotion_line(
        [row["stage_name"] for row in rows],
        [row["positive_share"] for row in rows],
        [row["negative_share"] for row in rows],
        [row["weight"] for row in rows],
        (t("col.positive"), t("col.negative"), t("col.weight")),
    )
    experience = _delivery_experience(dash.db_session, data.month, dash.locale)
    return dash.page(
        "metrics/journey.html", data.month, [table, experience], "journey", data=data, chart=chart
    )


# --- department scorecards ------------------------------------------------------------------------


def _scorecard_table(card: Any, t: Callable[..., str]) -> Table:
    return Table(
        f"scorecard-{card.department}",
        t("departments.indicators"),
        _columns(t, Column("name", t("col.indicator")), "value", "unit", "target", "status", "previous", "n"),
        [{k: v for k, v in i.model_dump().items() if k != "trend"} for i in card.indicators],
    )


@router.get("/departments")
def departments_page(user: DepartmentReader, dash: DashboardDep) -> Response:
    """Every department's scorecard (department members go straight to their own)."""
    locale, t = dash.locale, dash.t
    own = _scope_department(user)
    if user.role == "department_member":
        if own is None:
            raise HTTPException(status.HTTP_403_FORBIDDEN, detail="no department assigned")
        return RedirectResponse(_url(f"/departments/{own}", month=dash.month), status_code=303)
    data = metrics.scorecards(db_session=dash.db_session, month=dash.month, lang=locale)
    table = Table(
        "departments",
        t("departments.title"),
        _columns(
            t,
            Column("name", t("col.department")),
            Column("score", t("col.score"), "number"),
            "status",
            *(Column(s, t(f"status.{s}"), "int") for s in ("green", "amber", "red")),
        ),
        [
            {
                "code": card.department,
                "name": card.name_en if locale == "en" else card.name_zh,
                "score": card.score,
                "status": card.status,
                **{s: sum(1 for i in card.indicators if i.status == s) for s in ("green", "amber", "red")},
            }
            for card in data.departments
        ],
        row_url=lambda row: _url(f"/departments/{row['code']}", month=data.month),
    )
    chart = charts.bars([r["name"] for r in table.rows], [r["score"] for r in table.rows], t("col.score"))
    return dash.page("metrics/departments.html", data.month, [table], "scorecards", data=data, chart=chart)


@router.get("/departments/{code}")
def department_page(code: str, user: DepartmentPageReader, dash: DashboardDep) -> Response:
    """One department's scorecard with six-month trends; members may open only their own."""
    if code not in DEPARTMENTS:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="no such department")
    data = metrics.scorecards(db_session=dash.db_session, month=dash.month, department=code, lang=dash.locale)
    card = data.departments[0]
    trends = [
        {"indicator": i, "chart": charts.sparkline([(p.period, p.value) for p in i.trend], i.status)}
        for i in card.indicators
    ]
    return dash.page(
        "metrics/department.html",
        data.month,
        [_scorecard_table(card, dash.t)],
        f"scorecard-{code}",
        data=data,
        card=card,
        trends=trends,
    )


# --- indicators -----------------------------------------------------------------------------------


@router.get("/indicators")
def indicators_page(
    user: DepartmentReader,
    dash: DashboardDep,
    indicator: str | None = None,
    by: str | None = None,
    saved: bool = False,
    target_error: str | None = None,
) -> Response:
    """The indicator registry with this month's values and targets; pick one to break it down."""
    db_session, locale, t = dash.db_session, dash.locale, dash.t
    department = _scope_department(user)
    definitions = metrics.list_indicators(department=department)
    data = metrics.indicator_page(db_session=db_session, month=dash.month, department=department, lang=locale)
    values = {v.indicator: v for v in data.indicators}
    rows = []
    for d in definitions:
        value = values.get(d.code)
        rows.append(
            {
                **d.model_dump(),
                "name": d.name_en if locale == "en" else d.name_zh,
                "owner_name": _department_name(d.owner, locale),
                "value": value.value if value else None,
                "n": value.n if value else None,
                # The effective lines: an edited target wins over the registry's default.
                **({"target": value.target, "amber": value.amber, "red": value.red} if value else {}),
                "status": value.status if value else None,
                "scopes_text": ", ".join(t(f"scope.{s}") for s in d.scopes),
            }
        )
    table = Table(
        "indicators",
        t("indicators.title"),
        _columns(
            t,
            Column("name", t("col.indicator")),
            Column("owner_name", t("col.department")),
            *("unit", "value", "target", "amber", "red", "status", "n", "min_n", "code"),
        ),
        rows,
        row_url=lambda row: _url("/indicators", month=data.month, indicator=row["code"]),
    )
    tables = [table]
    selected = next((d for d in definitions if d.code == indicator), None)
    breakdown_rows: list[dict[str, Any]] = []
    if selected is not None and selected.scopes:
        by = by if by in selected.scopes else selected.scopes[0]
        period = Period.month(data.month)
        breakdown_rows = rows_of(
            metrics.breakdown(
                db_session=db_session, indicator=selected.code, period=period, by=by, lang=locale
            )
        )
        tables.append(
            Table(
                "breakdown",
                t("indicators.breakdown"),
                _columns(t, Column("label", t(f"scope.{by}")), "value", "target", "status", "previous", "n"),
                breakdown_rows,
                filename=f"breakdown-{selected.code}-{by}-{data.month}",
            )
        )
    current = values.get(selected.code) if selected is not None else None
    return dash.page(
        "metrics/indicators.html",
        data.month,
        tables,
        "indicators",
        data=data,
        selected=selected,
        # The effective thresholds (an edited target wins over the registry's default).
        selected_target=current if current is not None and current.target is not None else selected,
        can_edit_targets=can(user, "metrics", "configure"),
        target_error=target_error,
        saved=saved,
        by=by,
        breakdown_chart=charts.bars(
            [r["label"] for r in breakdown_rows],
            [r["value"] for r in breakdown_rows],
            t("col.value"),
            horizontal=True,
        )
        if breakdown_rows
        else None,
    )


@router.post("/indicators/{code}/target")
async def save_target(
    request: Request,
    code: str,
    db_session: SessionDep,
    user: MetricsConfigurer,
) -> Response:
    """Save the target and amber/red lines of an indicator (all scopes), then show the indicator."""
    form = await request.form()
    month = str(form.get("month") or "") or None
    t = _t(request)

    def back(error: str) -> Response:
        # Show the form again with the reason instead of a bare error page: nothing was saved.
        url = _url("/indicators", month=month, indicator=code, target_error=error)
        return RedirectResponse(url, status_code=status.HTTP_303_SEE_OTHER)

    try:
        values = {name: float(str(form.get(name, ""))) for name in ("target", "amber", "red")}
    except ValueError:
        return back(t("indicators.target_invalid"))
    try:
        metrics.set_target(db_session=db_session, target_in=TargetIn(indicator=code, **values))
    except KeyError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no indicator {code!r}") from None
    except ValueError as exc:  # the service's own check: red must be worse than amber
        return back(t("indicators.red_worse") if "red threshold" in str(exc) else str(exc))
    url = _url("/indicators", month=month, indicator=code, saved="1")
    return RedirectResponse(url, status_code=status.HTTP_303_SEE_OTHER)


# --- competitors ----------------------------------------------------------------------------------


@router.get("/competitors")
def competitors_page(user: MetricsReader, dash: DashboardDep) -> Response:
    """Own brands against each competitor: mentions and negative share per aspect."""
    locale, t = dash.locale, dash.t
    data = metrics.competitors(db_session=dash.db_session, month=dash.month, lang=locale)
    labels: dict[str, str] = {}
    for row in data.rows:
        for cell in row.cells:
            labels.setdefault(cell.brand, cell.label)
    columns = [Column("name", t("col.aspect"))]
    for brand in data.brands:
        columns.append(
            Column(f"neg:{brand}", t("competitors.neg_of", brand=labels.get(brand, brand)), "percent")
        )
        columns.append(Column(f"n:{brand}", t("competitors.n_of", brand=labels.get(brand, brand)), "int"))
    rows = []
    for row in data.rows:
        entry: dict[str, Any] = {"name": row.name_en if locale == "en" else row.name_zh}
        for cell in row.cells:
            entry[f"neg:{cell.brand}"] = cell.negative_share
            entry[f"n:{cell.brand}"] = cell.mentions
        rows.append(entry)
    table = Table("competitors", t("competitors.table"), columns, rows)
    chart = charts.grouped_bars(
        [r["name"] for r in rows],
        [(labels.get(b, b), [r.get(f"neg:{b}") for r in rows]) for b in data.brands],
        t("col.negative"),
    )
    return dash.page(
        "metrics/competitors.html",
        data.month,
        [table],
        "competitors",
        data=data,
        chart=chart if rows else None,
    )
