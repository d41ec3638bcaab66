"""Web pages of journeys: the list with live figures, a journey's steps, templates, control result, editor."""

from __future__ import annotations

from typing import Any

from fastapi import Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from cxloop.auth.deps import PageUser
from cxloop.auth.policy import allow, roles_allowed
from cxloop.deps import SessionDep
from cxloop.journeys import service
from cxloop.messaging.templates import registry
from cxloop.messaging.yamlspan import ConfigFileError
from cxloop.web.templating import NavItem, page_router, render

router = page_router(
    __file__, NavItem("journeys", "/journeys", roles_allowed("journeys", "read"), order=39, group="care")
)
Reader = allow("journeys", "read")
Manager = allow("journeys", "write")


@router.get("/journeys", response_class=HTMLResponse, dependencies=[Reader])
def journeys_page(request: Request, user: PageUser, db_session: SessionDep) -> HTMLResponse:
    """Every journey with its live figures."""
    journeys, figures = service.overview(db_session=db_session)
    return render(request, "journeys/list.html", {"journeys": journeys, "figures": figures})


def _detail(
    request: Request,
    db_session: Any,
    key: str,
    problems: list[str] | None = None,
    text: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    try:
        journey = service.get_journey(db_session=db_session, key=key)
    except KeyError as exc:
        raise HTTPException(404, detail=str(exc)) from None
    spec = journey.definition
    templates = sorted(
        {i["args"]["template"] for i in spec["instructions"] if i["op"] == "action" and i["type"] == "send"}
    )
    return render(
        request,
        "journeys/detail.html",
        {
            "journey": journey,
            "spec": spec,
            "figures": service.figures(db_session=db_session).get(key, {}),
            "outcomes": service.steps_summary(db_session=db_session, key=key),
            "control": service.control_result(db_session=db_session, key=key),
            "templates": [registry()[t] for t in templates if t in registry()],
            "runs": service.runs_of(db_session=db_session, key=key, limit=30),
            "problems": problems or [],
            "yaml": text if text is not None else journey.source_yaml,
        },
        status_code=status_code,
    )


@router.get("/journeys/{key}", response_class=HTMLResponse, dependencies=[Reader])
def journey_page(request: Request, key: str, user: PageUser, db_session: SessionDep) -> HTMLResponse:
    """A journey's steps, templates, per-step outcomes, control-group result and YAML."""
    return _detail(request, db_session, key)


@router.post("/journeys/{key}", response_class=HTMLResponse, dependencies=[Manager])
def journey_save(
    request: Request, key: str, user: PageUser, db_session: SessionDep, yaml: str = Form(...)
) -> Any:
    """Save the edited YAML; an invalid journey is refused whole and shown with its problems."""
    try:
        service.save_journey(db_session=db_session, key=key, text=yaml)
    except ConfigFileError as exc:
        return _detail(request, db_session, key, problems=exc.problems, text=yaml, status_code=422)
    return RedirectResponse(f"/journeys/{key}", status_code=303)


@router.post("/journeys/{key}/toggle", dependencies=[Manager])
def journey_toggle(key: str, user: PageUser, db_session: SessionDep) -> RedirectResponse:
    """Switch a journey on or off."""
    try:
        service.set_enabled(db_session=db_session, key=key)
    except KeyError as exc:
        raise HTTPException(404, detail=str(exc)) from None
    return RedirectResponse(f"/journeys/{key}", status_code=303)
