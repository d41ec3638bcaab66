"""REST API of journeys (mounted under /api/v1/journeys) and the JSON event endpoint."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, status

from cxloop.auth.policy import allow
from cxloop.deps import SessionDep
from cxloop.journeys import service
from cxloop.journeys.models import Journey
from cxloop.journeys.schemas import EventAccepted, EventIn, JourneyDetail, JourneyOut, JourneyYaml, SimulateIn
from cxloop.messaging.yamlspan import ConfigFileError

router = APIRouter(prefix="/journeys", tags=["journeys"])
#: Reading journeys and their figures: the CX team and analysts; changing them: the CX managers.
# What each caller may do is the policy's answer (cxloop.auth.policy, resource "journeys").
Reader = allow("journeys", "read")
Manager = allow("journeys", "write")


def _out(journey: Journey, figures: dict[str, dict[str, int]]) -> JourneyOut:
    # Every field but the figures is a column of the journey under the same name.
    columns = {name: getattr(journey, name) for name in JourneyOut.model_fields if name != "figures"}
    return JourneyOut(**columns, figures=figures.get(journey.key, {}))


def _switch(db_session: Any, key: str, enabled: bool) -> JourneyOut:
    try:
        journey = service.set_enabled(db_session=db_session, key=key, enabled=enabled)
    except KeyError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(exc).strip("'\"")) from None
    return _out(journey, {})


def _journey(db_session: Any, key: str) -> Journey:
    try:
        return service.get_journey(db_session=db_session, key=key)
    except KeyError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(exc).strip("'\"")) from None


@router.get("", response_model=list[JourneyOut], dependencies=[Reader])
def list_journeys(db_session: SessionDep) -> list[JourneyOut]:
    """Every journey with its live figures (entered, waiting, sent, skipped, tasks, control)."""
    journeys, figures = service.overview(db_session=db_session)
    return [_out(j, figures) for j in journeys]


@router.get("/{key}", response_model=JourneyDetail, dependencies=[Reader])
def get_journey(key: str, db_session: SessionDep) -> JourneyDetail:
    """One journey: YAML, compiled steps, outcomes per step and the control-group result."""
    journey = _journey(db_session, key)
    control = service.control_result(db_session=db_session, key=key)
    base = _out(journey, service.figures(db_session=db_session))
    return JourneyDetail(
        **base.model_dump(),
        yaml=journey.source_yaml,
        definition=journey.definition,
        steps=service.steps_summary(db_session=db_session, key=key),
        control=control.as_dict() if control else None,
    )


@router.put("/{key}", response_model=JourneyOut, dependencies=[Manager])
def put_journey(key: str, body: JourneyYaml, db_session: SessionDep) -> JourneyOut:
    """Create or replace one journey from its YAML; refused whole with line and reason when invalid."""
    try:
        journey = service.save_journey(db_session=db_session, key=key, text=body.yaml)
    except ConfigFileError as exc:
        raise HTTPException(422, detail={"problems": exc.problems}) from None
    return _out(journey, {})


@router.post("/{key}/enable", response_model=JourneyOut, dependencies=[Manager])
def enable(key: str, db_session: SessionDep) -> JourneyOut:
    """Switch a journey on."""
    return _switch(db_session, key, True)


@router.post("/{key}/disable", response_model=JourneyOut, dependencies=[Manager])
def disable(key: str, db_session: SessionDep) -> JourneyOut:
    """Switch a journey off (customers already in it continue)."""
    return _switch(db_session, key, False)


@router.post("/{key}/simulate", response_model=service.Simulation, dependencies=[Manager])
def simulate(key: str, body: SimulateIn, db_session: SessionDep) -> service.Simulation:
    """Dry run over past events: what the journey would have sent; nothing is sent or kept."""
    _journey(db_session, key)
    if body.end <= body.start:
        raise HTTPException(422, detail="'to' must be after 'from'")
    return service.simulate(db_session, key=key, start=body.start, end=body.end)


@router.post("/events", status_code=202, response_model=EventAccepted, dependencies=[Manager])
def post_event(body: EventIn, db_session: SessionDep) -> EventAccepted:
    """An event from the shop's systems; journeys it triggers start at once, waits for it wake up."""
    try:
        service.receive_event(db_session=db_session, **body.model_dump())
    except ValueError as exc:
        raise HTTPException(422, detail=str(exc)) from None
    except LookupError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(exc)) from None
    return EventAccepted(accepted=True)
