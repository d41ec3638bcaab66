"""JSON API of the metrics service (mounted under /api/v1; authentication is added by the app)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query
from sqlalchemy.orm import Session

from cxloop.auth.models import User
from cxloop.auth.policy import allow, can_see_contact, department_filter, department_query
from cxloop.deps import SessionDep
from cxloop.metrics import schemas as s
from cxloop.metrics import service
from cxloop.periods import GRAINS, SCOPE_KINDS, Period, Scope

router = APIRouter(tags=["metrics"])


# --- policy: who may read which numbers (pages import these too, so both doors answer alike) ------


def indicator_department(code: str) -> str | None:
    """Scope of an indicator route: the indicator's owning department (None when unknown: 404 later)."""
    from cxloop.metrics.registry import registry

    indicator = registry().get(code)
    return indicator.owner if indicator is not None else None


def aspect_department(aspect: str) -> str:
    """Scope of a complaint drill-down: the department that owns the aspect."""
    from cxloop.taxonomy import aspect_info

    return aspect_info(aspect).department


#: Shop-wide numbers (journey, competitors, stage weights); department members see them too.
MetricsReader = Annotated[User, allow("metrics", "read")]
#: Numbers of the department named by ?department= (members: only their own; none named: narrowed).
DepartmentReader = Annotated[User, allow("metrics", "read", scope=department_query)]
IndicatorReader = Annotated[User, allow("metrics", "read", scope=indicator_department)]
AspectReader = Annotated[User, allow("metrics", "read", scope=aspect_department)]
#: Targets and stage weights feed scorecards used for bonuses: managers only.
MetricsConfigurer = Annotated[User, allow("metrics", "configure")]


def narrowed(user: User, department: str | None) -> str | None:
    """The department asked for, or the only one the caller may see when none was asked for."""
    return department or department_filter(user, "metrics")


MonthQ = Annotated[str | None, Query(description="YYYY-MM; default: the latest complete month with data")]
DeptQ = Annotated[str | None, Query(description="Only this department's part (department code)")]
LangQ = Annotated[str, Query(pattern="^(zh|en)$")]


@dataclass
class ReportQuery:
    """What a monthly report is asked for: the month, a department and the language of the names."""

    month: str | None
    department: str | None
    lang: str

    def asked(self, narrowed_for: User | None = None) -> dict[str, Any]:
        """The service's keyword arguments; ``narrowed_for``: the department that user may see when
        none was asked for."""
        department = narrowed(narrowed_for, self.department) if narrowed_for else self.department
        return {"month": self.month, "department": department, "lang": self.lang}


def _report_query(month: MonthQ = None, department: DeptQ = None, lang: LangQ = "zh") -> ReportQuery:
    return ReportQuery(month, department, lang)


ReportQ = Annotated[ReportQuery, Depends(_report_query)]


@contextmanager
def _client_errors() -> Iterator[None]:
    """Bad input (unknown indicator, scope or month) is the caller's error (404, 422), not a server failure."""
    try:
        yield
    except KeyError as exc:
        raise HTTPException(status_code=404, detail=str(exc.args[0] if exc.args else exc)) from None
    except ValueError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from None


def _period(db_session: Session, period: str | None) -> Period:
    """The period asked for (YYYY-MM, YYYY-Www, YYYY-MM-DD), else the latest complete month with data."""
    return Period.parse(period) if period else Period.month(service.default_month(db_session=db_session))


@router.get("/metrics/indicators", response_model=list[s.IndicatorDef])
def get_indicators(user: DepartmentReader, department: DeptQ = None) -> list[s.IndicatorDef]:
    """The indicator registry (department members: their own department's indicators)."""
    return service.list_indicators(department=narrowed(user, department))


@router.get("/metrics/values", response_model=s.IndicatorTable)
def get_values(report: ReportQ, _user: DepartmentReader, db_session: SessionDep) -> s.IndicatorTable:
    """Every indicator of the registry for one month (the registry page's numbers)."""
    with _client_errors():
        return service.indicator_page(db_session=db_session, **report.asked())


@router.get("/metrics/indicators/{code}", response_model=s.IndicatorValue)
def get_indicator_value(
    _user: IndicatorReader,
    db_session: SessionDep,
    code: str,
    period: Annotated[str | None, Query(description="YYYY-MM, YYYY-Www or YYYY-MM-DD")] = None,
    scope: Annotated[str | None, Query(description="kind:key, e.g. carrier:CR-SD")] = None,
    lang: LangQ = "zh",
) -> s.IndicatorValue:
    """One indicator for a period and scope, with target and status."""
    with _client_errors():
        return service.compute(
            db_session=db_session,
            indicator=code,
            period=_period(db_session, period),
            scope=Scope.parse(scope),
            lang=lang,
        )


@router.get("/metrics/indicators/{code}/series", response_model=list[s.SeriesPoint])
def get_series(
    _user: IndicatorReader,
    db_session: SessionDep,
    code: str,
    start: date,
    end: date,
    grain: Annotated[str, Query(pattern="^(" + "|".join(GRAINS) + ")$")] = "month",
    scope: str | None = None,
) -> list[s.SeriesPoint]:
    """The indicator per day, week or month between two dates."""
    with _client_errors():
        return service.series(
            db_session=db_session, indicator=code, start=start, end=end, grain=grain, scope=Scope.parse(scope)
        )


@router.get("/metrics/indicators/{code}/breakdown", response_model=list[s.BreakdownRow])
def get_breakdown(
    _user: IndicatorReader,
    db_session: SessionDep,
    code: str,
    by: Annotated[str, Query(pattern="^(" + "|".join(SCOPE_KINDS) + ")$")],
    period: str | None = None,
    lang: LangQ = "zh",
) -> list[s.BreakdownRow]:
    """The indicator per warehouse, carrier, shift ... for a period, worst first."""
    with _client_errors():
        return service.breakdown(
            db_session=db_session,
            indicator=code,
            period=_period(db_session, period),
            by=by,
            lang=lang,
        )


@router.get("/metrics/overview", response_model=s.Overview)
def get_overview(report: ReportQ, user: DepartmentReader, db_session: SessionDep) -> s.Overview:
    """The month at a glance.

    Every indicator with status and change, the Pareto with its focus items, late rate and emotion score.
    """
    with _client_errors():
        return service.overview(db_session=db_session, **report.asked(narrowed_for=user))


@router.get("/metrics/pareto", response_model=s.Pareto)
def get_pareto(
    user: DepartmentReader,
    db_session: SessionDep,
    month: MonthQ = None,
    brand: str | None = None,
    department: DeptQ = None,
) -> s.Pareto:
    """The monthly complaint Pareto with its focus items."""
    department = narrowed(user, department)
    with _client_errors():
        return service.pareto(db_session=db_session, month=month, brand=brand, department=department)


@router.get("/metrics/pareto/{aspect}/items", response_model=s.ComplaintPage)
def get_pareto_items(
    user: AspectReader,
    db_session: SessionDep,
    aspect: str,
    month: MonthQ = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
    brand: str | None = None,
) -> s.ComplaintPage:
    """The complaints behind one Pareto bar."""
    personal_data = can_see_contact(user)
    with _client_errors():
        return service.pareto_items(
            db_session=db_session, month=month, aspect=aspect, limit=limit, offset=offset, brand=brand,
            personal_data=personal_data,
        )  # fmt: skip


@router.get("/metrics/root-cause", response_model=s.RootCause)
def get_root_cause(
    user: DepartmentReader, db_session: SessionDep, month: MonthQ = None, department: DeptQ = None
) -> s.RootCause:
    """Late orders and late-delivery complaints put down to stage, warehouse and carrier."""
    department = narrowed(user, department)
    with _client_errors():
        return service.root_cause(db_session=db_session, month=month, department=department)


@router.get("/metrics/emotion-map", response_model=s.EmotionMap)
def get_emotion_map(_user: MetricsReader, db_session: SessionDep, month: MonthQ = None) -> s.EmotionMap:
    """Sentiment along the journey and the peak-end summary."""
    with _client_errors():
        return service.emotion_map(db_session=db_session, month=month)


@router.get("/metrics/customers/{customer}/journey", response_model=s.CustomerJourney)
def get_customer_journey(
    _user: Annotated[User, allow("customers", "read")],
    db_session: SessionDep,
    customer: str,
    month: MonthQ = None,
) -> s.CustomerJourney:
    """One customer's moments with peak and end."""
    with _client_errors():
        return service.customer_journey(db_session=db_session, customer=customer, month=month)


@router.get("/metrics/scorecards", response_model=s.Scorecards)
def get_scorecards(report: ReportQ, user: DepartmentReader, db_session: SessionDep) -> s.Scorecards:
    """Department scorecards for the monthly review."""
    with _client_errors():
        return service.scorecards(db_session=db_session, **report.asked(narrowed_for=user))


@router.get("/metrics/competitors", response_model=s.Competitors)
def get_competitors(
    _user: MetricsReader, db_session: SessionDep, month: MonthQ = None, lang: LangQ = "zh"
) -> s.Competitors:
    """Own brands against competitor brands per aspect."""
    with _client_errors():
        return service.competitors(db_session=db_session, month=month, lang=lang)


@router.get("/metrics/targets", response_model=list[s.TargetOut])
def get_targets(_user: MetricsReader, db_session: SessionDep) -> list[s.TargetOut]:
    """The edited targets (registry defaults apply where none is set)."""
    return service.list_targets(db_session=db_session)


@router.put("/metrics/targets", response_model=s.TargetOut)
def put_target(_user: MetricsConfigurer, db_session: SessionDep, body: s.TargetIn) -> s.TargetOut:
    """Set a target and amber/red thresholds for an indicator and scope."""
    with _client_errors():
        return service.set_target(db_session=db_session, target_in=body)


@router.get("/metrics/stage-weights", response_model=dict[str, float])
def get_stage_weights(_user: MetricsReader, db_session: SessionDep) -> dict[str, float]:
    """The journey stage weights of the emotion map."""
    return service.get_stage_weights(db_session=db_session)


@router.put("/metrics/stage-weights", response_model=dict[str, float])
def put_stage_weights(
    _user: MetricsConfigurer, db_session: SessionDep, body: dict[str, float]
) -> dict[str, float]:
    """Replace the journey stage weights."""
    with _client_errors():
        return service.set_stage_weights(db_session=db_session, weights=body)
