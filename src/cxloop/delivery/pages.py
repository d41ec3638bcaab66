"""HTML pages of the delivery domain: outcomes and satisfaction, orders at risk, distributions,
promises and carriers. Pages only parse, call the service and render."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, Response

from cxloop.auth.deps import PageUser
from cxloop.auth.policy import allow, department_filter
from cxloop.delivery import service
from cxloop.deps import SessionDep
from cxloop.i18n import translate
from cxloop.metrics import service as metrics
from cxloop.metrics.pages import experience_table
from cxloop.orders import outcomes
from cxloop.web import charts
from cxloop.web.tables import export_response
from cxloop.web.templating import NavItem, get_locale, page_router, render

#: Delivery pages show metrics (cxloop.auth.policy); the at-risk list narrows itself for members.
router = page_router(
    __file__,
    NavItem("delivery", "/delivery", order=17, group="analysis"),
    dependencies=[allow("metrics", "read")],
)


def _t(request: Request) -> Any:
    locale = get_locale(request)
    return lambda key, **kw: translate(key, locale, **kw)


def _month_bounds(month: str | None) -> tuple[datetime | None, datetime | None]:
    from cxloop.periods import Period

    if not month:
        return None, None
    period = Period.month(month)
    return period.start_at, period.end_at


def _date_param(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


@dataclass
class DateRange:
    """A page's ``?start=&end=`` (ISO dates or date-times; empty or unreadable = open-ended)."""

    start: str | None = None
    end: str | None = None

    @property
    def since(self) -> datetime | None:
        """The start as a datetime (None = from the first data)."""
        return _date_param(self.start)

    @property
    def until(self) -> datetime | None:
        """The end as a datetime (None = to the last data)."""
        return _date_param(self.end)


@dataclass
class DeliveryQuery(DateRange):
    """The /delivery page's query: a month or a date range, an indicator over it, an export format."""

    month: str | None = None
    indicator: str | None = None
    format: str | None = None


RangeQuery = Annotated[DateRange, Depends()]


@dataclass
class ParcelQuery:
    """The carriers page's parcel: a recommendation is made when region and weight are given."""

    region: str | None = None
    weight_kg: float | None = None
    value: float | None = None
    urgency: str = "standard"


@router.get("/delivery", response_class=HTMLResponse)
def delivery_page(
    request: Request, user: PageUser, db_session: SessionDep, q: Annotated[DeliveryQuery, Depends()]
) -> Response:
    """Delivery outcomes and what customers said about each, for a month, a date range or all periods;
    any indicator over the same range; links to the delivery decisions."""
    locale = get_locale(request)
    since, until, month = q.since, q.until, q.month
    try:
        first, last = _month_bounds(month)
    except ValueError:
        first, last, month = None, None, None
    data = metrics.delivery_experience(db_session=db_session, start=since or first, end=until or last)
    table = experience_table(data, locale)
    if q.format:
        return export_response([table], q.format, "delivery_experience", "delivery-experience")
    # Indicators over the range: members choose among their own department's (the policy).
    choices = metrics.range_indicators(department=department_filter(user, "metrics"))
    value, error = None, None
    if q.indicator:
        if q.indicator not in {code for code, _, _ in choices}:
            error = translate("delivery.unknown_indicator", locale)
        else:
            try:
                value = metrics.indicator_over_range(db_session=db_session, indicator=q.indicator,
                                                     start=since and since.date(), end=until and until.date())  # fmt: skip
            except (KeyError, ValueError) as exc:
                error = str(exc)
    return render(
        request,
        "delivery/index.html",
        {"tables": {table.key: table}, "month": month, "data": data, "start": q.start or "", "end": q.end or "",
         "indicator": q.indicator or "", "choices": choices, "range_value": value, "range_error": error},
    )  # fmt: skip


@router.get("/delivery/at-risk", response_class=HTMLResponse)
def at_risk_page(request: Request, user: PageUser, db_session: SessionDep) -> HTMLResponse:
    """Open orders likely to miss their promise, grouped by the department owning the risky stage;
    department members see their own department's (the policy's department filter)."""
    try:
        groups = service.orders_at_risk(db_session=db_session, department=department_filter(user, "metrics"))
        missing_model = False
    except LookupError:
        groups, missing_model = [], True
    locale = get_locale(request)
    named = [
        (
            g.name_en if locale == "en" else g.name_zh,
            [{"risk": r, "stage": outcomes.stage_label(r.late_stage, locale)} for r in g.orders],
        )
        for g in groups
    ]
    return render(
        request,
        "delivery/at_risk.html",
        {"groups": named, "missing_model": missing_model, "threshold": service.warning_threshold()},
    )


@router.get("/delivery/distributions", response_class=HTMLResponse)
def distributions_page(
    request: Request, user: PageUser, db_session: SessionDep, rng: RangeQuery, stage: str = "carrier"
) -> HTMLResponse:
    """Median, p90 and mean of every stage duration, and the chosen stage's distribution as a chart."""
    locale = get_locale(request)
    t = _t(request)
    stats = service.all_duration_stats(db_session=db_session, start=rng.since, end=rng.until)
    chosen = next((s for s in stats if s.stage == stage), stats[-1])
    chart = charts.bars([f"≤{edge:g}h" for edge in chosen.bins], list(chosen.counts), t("delivery.orders"))
    rows = [{**s.model_dump(), "name": translate(f"order_stage.{s.stage}", locale)} for s in stats]
    return render(
        request,
        "delivery/distributions.html",
        {"rows": rows, "chosen": chosen, "chart": chart, "start": rng.start or "", "end": rng.end or "",
         "stages": [s.stage for s in stats]},
    )  # fmt: skip


@router.get("/delivery/promises", response_class=HTMLResponse)
def promises_page(
    request: Request, user: PageUser, db_session: SessionDep, route: int = 0, target: float | None = None
) -> HTMLResponse:
    """Recommended promise per route and the trade-off curve of the chosen route."""
    t = _t(request)
    goal = target if target is not None and 0 < target < 1 else None
    report = service.promise_report(db_session=db_session, target=goal)
    chosen = report.routes[route] if 0 <= route < len(report.routes) else None
    chart = None
    if chosen is not None:
        chart = charts.bars(
            [f"{p.days}d" for p in chosen.curve],
            [p.on_time for p in chosen.curve],
            t("delivery.expected_on_time"),
        )
    return render(request, "delivery/promises.html", {"report": report, "chosen": chosen, "chart": chart,
                                                       "route": route})  # fmt: skip


@router.get("/delivery/carriers", response_class=HTMLResponse)
def carriers_page(
    request: Request, user: PageUser, db_session: SessionDep, p: Annotated[ParcelQuery, Depends()]
) -> HTMLResponse:
    """Carrier scorecard, and a recommendation for a parcel when region and weight are given."""
    region, weight_kg, value, urgency = p.region, p.weight_kg, p.value, p.urgency
    cards = service.carrier_scorecard(db_session=db_session, region=region or None)
    recommendation, error = None, None
    if region and weight_kg:
        try:
            recommendation = service.recommend_carrier(
                db_session=db_session, region=region, weight_kg=weight_kg, value=value, urgency=urgency
            )
        except ValueError as exc:
            error = str(exc)
    return render(
        request,
        "delivery/carriers.html",
        {"cards": cards, "recommendation": recommendation, "error": error, "region": region or "",
         "weight_kg": weight_kg or "", "value": value or "", "urgency": urgency},
    )  # fmt: skip
